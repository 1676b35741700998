package sockets

import (
	"context"
	"fmt"
	"sync"
)

// pushSocket sends round-robin to PULL peers with room and never receives
// (RFC 30).
type pushSocket struct{ lbSocket }

func (*pushSocket) recv(context.Context) (Msg, error) { return Msg{}, ErrNotSupported }

// Inbound messages to a PUSH are discarded.
func (*pushSocket) inbound(_ context.Context, p *pipe, msgs [][][]byte) bool {
	for _, frames := range msgs {
		p.discard(frames)
	}
	return true
}

// pullSocket fair-queues from PUSH peers and never sends (RFC 30).
type pullSocket struct{ base }

// dealerSocket load-balances sends and fair-queues receives (RFC 28).
type dealerSocket struct{ lbSocket }

// pairSocket talks to exactly one peer (RFC 31): a second connection is
// refused while one is live, during its handshake where it can be
// (claimer), after it otherwise (admitter).
type pairSocket struct {
	lbSocket
	mu     sync.Mutex
	holder *claim // the connection that has, or is about to have, the peer slot
}

func (ps *pairSocket) claim(c *claim) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.holder != nil && ps.holder != c {
		return false
	}
	ps.holder = c
	return true
}

func (ps *pairSocket) unclaim(c *claim) {
	ps.mu.Lock()
	if ps.holder == c {
		ps.holder = nil
	}
	ps.mu.Unlock()
}

// admit refuses a second live peer (RFC 31 A1).
func (ps *pairSocket) admit(p *pipe) error {
	if !ps.claim(p.claim) {
		return fmt.Errorf("%w: PAIR already has a peer", ErrState)
	}
	return nil
}
