package sockets

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
)

// routerSocket routes each outgoing message by its first frame, the peer's
// identity, and prefixes each incoming message with it (RFC 28).
type routerSocket struct {
	base
	mu     sync.Mutex
	byID   map[string]*pipe
	nextID uint32
}

func newRouterSocket(s *Socket) *routerSocket {
	return &routerSocket{base: base{s: s}, byID: make(map[string]*pipe), nextID: 1}
}

// admit gives the peer its routing identity: the one it announced, or a
// generated one (0x00 + a 32-bit counter, as libzmq; one in use is
// skipped). A duplicate takes over with RouterHandover and is refused
// otherwise, never silently blackholed. Identities starting with 0x00 are
// reserved for generated ones (RFC 37): a peer may announce one that is
// free, but never takes one over, so it cannot hijack an anonymous peer's
// routing.
func (r *routerSocket) admit(p *pipe) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := p.info.Identity
	if len(id) == 0 {
		id = make([]byte, 5)
		for {
			binary.BigEndian.PutUint32(id[1:], r.nextID)
			r.nextID++
			if _, taken := r.byID[string(id)]; !taken {
				break
			}
		}
	}
	if old, dup := r.byID[string(id)]; dup && old != p {
		if !r.s.opts.routerHandover || id[0] == 0 {
			return fmt.Errorf("%w: identity %q is already in use", ErrState, id)
		}
		old.kill()
		delete(r.byID, string(id))
	}
	p.identity = id
	r.byID[string(id)] = p
	return nil
}

func (r *routerSocket) forget(p *pipe) {
	r.mu.Lock()
	if r.byID[string(p.identity)] == p {
		delete(r.byID, string(p.identity))
	}
	r.mu.Unlock()
}

func (r *routerSocket) pipeDisconnected(p *pipe) { r.forget(p) }
func (r *routerSocket) pipeRemoved(p *pipe)      { r.forget(p) }

// headroom: the reader leaves a slot before each message for the identity.
func (r *routerSocket) headroom() {}

// inbound fills in the identity frame of each message.
func (r *routerSocket) inbound(ctx context.Context, p *pipe, msgs [][][]byte) bool {
	for _, frames := range msgs {
		frames[0] = p.identity
	}
	return r.s.in.push(ctx, p, msgs)
}

// recv returns the messages as inbound left them: identity first.
func (r *routerSocket) recv(ctx context.Context) (Msg, error) {
	m, err := r.s.in.pop(ctx, r.s.done)
	if err != nil {
		return Msg{}, err
	}
	return Msg{Frames: m.frames, Peer: m.p.info}, nil
}

// send routes by the first frame. An unknown identity or a full peer drops
// the message, or, with RouterMandatory, fails with ErrHostUnreachable or
// waits for room until ctx ends (then ErrWouldBlock). It never blocks
// otherwise (RFC 28 O3, O4).
func (r *routerSocket) send(ctx context.Context, m Msg) error {
	if len(m.Frames) < 2 {
		return invalid("ROUTER needs an identity frame and at least one more")
	}
	id, rest := m.Frames[0], m.Frames[1:]
	mandatory := r.s.opts.routerMandatory
	for {
		r.mu.Lock()
		p := r.byID[string(id)]
		r.mu.Unlock()
		if p == nil {
			if mandatory {
				return fmt.Errorf("%w: %q", ErrHostUnreachable, id)
			}
			r.s.stats.dropped.Add(1)
			return nil
		}
		if p.tryPush(outMsg{frames: rest}) {
			return nil
		}
		if !mandatory {
			r.s.stats.dropped.Add(1)
			return nil
		}
		// Room may come, or the peer go, from here on: look again
		// before waiting.
		w := r.s.sendSig.wait()
		r.mu.Lock()
		again := r.byID[string(id)]
		r.mu.Unlock()
		if again != p || p.tryPush(outMsg{frames: rest}) {
			r.s.sendSig.done(w)
			if again == p {
				return nil
			}
			continue
		}
		err := r.s.waitForRoom(ctx, w)
		r.s.sendSig.done(w)
		if err != nil {
			if err == ErrClosed {
				return err
			}
			return fmt.Errorf("%w: %w", ErrWouldBlock, err)
		}
	}
}
