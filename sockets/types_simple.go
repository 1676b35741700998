package sockets

import (
	"context"
	"fmt"
)

// pushSocket sends round-robin to PULL peers with room and never receives
// (RFC 30).
type pushSocket struct{ lbSocket }

func (*pushSocket) recv(context.Context) (Msg, error) { return Msg{}, ErrNotSupported }

// Inbound messages to a PUSH are discarded.
func (*pushSocket) inbound(context.Context, *pipe, [][]byte) bool { return true }

// pullSocket fair-queues from PUSH peers and never sends (RFC 30).
type pullSocket struct{ base }

// dealerSocket load-balances sends and fair-queues receives (RFC 28).
type dealerSocket struct{ lbSocket }

// pairSocket talks to exactly one peer (RFC 31): a second connection is
// refused while one is live.
type pairSocket struct{ lbSocket }

// admit refuses a second live peer (RFC 31 A1).
func (ps *pairSocket) admit(p *pipe) error {
	ps.s.mu.Lock()
	defer ps.s.mu.Unlock()
	for other := range ps.s.pipes {
		if other != p && other.isConnected() {
			return fmt.Errorf("%w: PAIR already has a peer", ErrState)
		}
	}
	return nil
}
