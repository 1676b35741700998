package sockets

import (
	"context"
	"slices"
	"sync"
)

// behaviour is what makes one socket type differ from another: how it
// sends, receives, and reacts to peers coming and going.
type behaviour interface {
	send(ctx context.Context, m Msg) error
	recv(ctx context.Context) (Msg, error)
	// pipeAdded: a connect-side pipe was created (no connection yet).
	pipeAdded(p *pipe)
	// pipeConnected: a connection is ready on p; p.info is set.
	pipeConnected(p *pipe)
	// pipeDisconnected: p's connection ended.
	pipeDisconnected(p *pipe)
	// pipeRemoved: p is gone for good.
	pipeRemoved(p *pipe)
	// inbound handles a message read from p's peer. It may block (at the
	// receive high-water mark) and returns false if ctx ended first.
	inbound(ctx context.Context, p *pipe, frames [][]byte) bool
}

// subscriber is implemented by SUB and XSUB.
type subscriber interface {
	subscribe(topic []byte, on bool)
}

func newBehaviour(s *Socket) behaviour {
	switch s.typ {
	case PUSH:
		return &pushSocket{lbSocket: newLBSocket(s)}
	case PULL:
		return &pullSocket{base: base{s: s}}
	case DEALER:
		return &dealerSocket{lbSocket: newLBSocket(s)}
	case PAIR:
		return &pairSocket{lbSocket: newLBSocket(s)}
	case REQ:
		return newReqSocket(s)
	case REP:
		return newRepSocket(s)
	case ROUTER:
		return newRouterSocket(s)
	case PUB:
		return newPubSocket(s, false)
	case XPUB:
		return newPubSocket(s, true)
	case SUB:
		return newSubSocket(s, false)
	case XSUB:
		return newSubSocket(s, true)
	}
	panic("unreachable: type checked in New")
}

// base holds the defaults: fair-queued receive through the inbox, and
// nothing to do when pipes come and go.
type base struct {
	s *Socket
}

func (b *base) send(context.Context, Msg) error { return ErrNotSupported }

func (b *base) recv(ctx context.Context) (Msg, error) {
	m, err := b.s.in.pop(ctx, b.s.done)
	if err != nil {
		return Msg{}, err
	}
	return Msg{Frames: m.frames, Peer: m.p.info}, nil
}

func (b *base) inbound(ctx context.Context, p *pipe, frames [][]byte) bool {
	return b.s.in.push(ctx, p, frames)
}

func (b *base) pipeAdded(*pipe)        {}
func (b *base) pipeConnected(*pipe)    {}
func (b *base) pipeDisconnected(*pipe) {}
func (b *base) pipeRemoved(*pipe)      {}

// loadBalancer round-robins messages over pipes with room (RFC 28/30).
type loadBalancer struct {
	s     *Socket
	mu    sync.Mutex
	pipes []*pipe
	next  int
}

func (l *loadBalancer) add(p *pipe) {
	l.mu.Lock()
	if !slices.Contains(l.pipes, p) {
		l.pipes = append(l.pipes, p)
	}
	l.mu.Unlock()
	l.s.sendSig.Notify()
}

func (l *loadBalancer) remove(p *pipe) {
	l.mu.Lock()
	if i := slices.Index(l.pipes, p); i >= 0 {
		l.pipes = slices.Delete(l.pipes, i, i+1)
		if l.next > i {
			l.next--
		}
	}
	l.mu.Unlock()
}

// tryPush queues m on the next pipe with room, if any, calling queued
// (if set) with that pipe before its writer can see m.
func (l *loadBalancer) tryPush(m outMsg, queued func(*pipe)) *pipe {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.pipes)
	for i := 0; i < n; i++ {
		j := (l.next + i) % n
		if p := l.pipes[j]; p.tryPushThen(m, queued) {
			l.next = (j + 1) % n
			return p
		}
	}
	return nil
}

// push queues m on the next pipe with room, waiting for one while ctx
// allows. It never drops (RFC 28 D5, RFC 30 L2).
func (l *loadBalancer) push(ctx context.Context, m outMsg) (*pipe, error) {
	return l.pushThen(ctx, m, nil)
}

// pushThen is push, calling queued as tryPush does.
func (l *loadBalancer) pushThen(ctx context.Context, m outMsg, queued func(*pipe)) (*pipe, error) {
	for {
		if p := l.tryPush(m, queued); p != nil {
			return p, nil
		}
		c := l.s.sendSig.C()
		if p := l.tryPush(m, queued); p != nil {
			return p, nil
		}
		if err := l.s.waitForRoom(ctx, c); err != nil {
			return nil, err
		}
	}
}

// lbSocket is the shared shape of PUSH, DEALER and PAIR: load-balanced
// sends to routable pipes, fair-queued receives.
type lbSocket struct {
	base
	lb loadBalancer
}

func newLBSocket(s *Socket) lbSocket {
	return lbSocket{base: base{s: s}, lb: loadBalancer{s: s}}
}

func (l *lbSocket) send(ctx context.Context, m Msg) error {
	_, err := l.lb.push(ctx, outMsg{frames: m.Frames})
	return err
}

// A connect-side pipe takes messages from its creation on, unless the
// socket is Immediate; a bind-side one once it is connected.
func (l *lbSocket) pipeAdded(p *pipe) {
	if !l.s.opts.immediate {
		l.lb.add(p)
	}
}

func (l *lbSocket) pipeConnected(p *pipe) {
	if p.bindSide || l.s.opts.immediate {
		l.lb.add(p)
	}
}

func (l *lbSocket) pipeDisconnected(p *pipe) {
	if l.s.opts.immediate && !p.bindSide {
		l.lb.remove(p)
	}
}

func (l *lbSocket) pipeRemoved(p *pipe) { l.lb.remove(p) }
