package sockets

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
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
	// inbound handles messages read from p's peer, in order. It may block
	// (at the receive high-water mark) and returns false if ctx ended or
	// the socket closed first. It may reorder msgs' entries in place.
	inbound(ctx context.Context, p *pipe, msgs [][][]byte) bool
}

// headroomer is implemented by types that prefix every received message
// with a frame of their own (ROUTER: the peer's identity). The reader
// leaves one free slot before the frames of each message it reads, so
// that inbound can fill it in without a new slice: inbound gets the
// messages with the slot as their first frame.
type headroomer interface {
	headroom()
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

func (b *base) inbound(ctx context.Context, p *pipe, msgs [][][]byte) bool {
	return b.s.in.push(ctx, p, msgs)
}

func (b *base) pipeAdded(*pipe)        {}
func (b *base) pipeConnected(*pipe)    {}
func (b *base) pipeDisconnected(*pipe) {}
func (b *base) pipeRemoved(*pipe)      {}

// loadBalancer round-robins messages over pipes with room (RFC 28/30).
// Senders read the pipes from an immutable snapshot, replaced whole when a
// pipe comes or goes, so a send takes no lock of the load balancer: with
// one peer, the pipe's own lock is the only one.
type loadBalancer struct {
	s     *Socket
	mu    sync.Mutex // serialises add and remove
	pipes atomic.Pointer[[]*pipe]
	next  atomic.Uint32
}

func (l *loadBalancer) add(p *pipe) {
	l.mu.Lock()
	var cur []*pipe
	if ps := l.pipes.Load(); ps != nil {
		cur = *ps
	}
	if !slices.Contains(cur, p) {
		ps := append(slices.Clip(cur), p)
		l.pipes.Store(&ps)
	}
	l.mu.Unlock()
	l.s.sendSig.Notify()
}

func (l *loadBalancer) remove(p *pipe) {
	l.mu.Lock()
	if ps := l.pipes.Load(); ps != nil {
		if i := slices.Index(*ps, p); i >= 0 {
			rest := slices.Concat((*ps)[:i], (*ps)[i+1:])
			l.pipes.Store(&rest)
			if n := l.next.Load(); n > uint32(i) {
				l.next.Store(n - 1)
			}
		}
	}
	l.mu.Unlock()
}

// tryPushVia queues m on the next pipe with room, if any, with push
// (tryPushThen or tryPushDirect), calling queued (if set) with that pipe
// before its writer can see m.
func (l *loadBalancer) tryPushVia(m outMsg, queued func(*pipe), push func(*pipe, outMsg, func(*pipe)) bool) *pipe {
	ps := l.pipes.Load()
	if ps == nil {
		return nil
	}
	pipes := *ps
	n := uint32(len(pipes))
	switch n {
	case 0:
		return nil
	case 1:
		if p := pipes[0]; push(p, m, queued) {
			return p
		}
		return nil
	}
	start := l.next.Load()
	for i := range n {
		j := (start + i) % n
		if p := pipes[j]; push(p, m, queued) {
			l.next.Store((j + 1) % n)
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
	return l.pushVia(ctx, m, queued, (*pipe).tryPushThen)
}

// pushVia is pushThen, queueing with push.
func (l *loadBalancer) pushVia(ctx context.Context, m outMsg, queued func(*pipe), push func(*pipe, outMsg, func(*pipe)) bool) (*pipe, error) {
	for {
		if p := l.tryPushVia(m, queued, push); p != nil {
			return p, nil
		}
		w := l.s.sendSig.wait()
		if p := l.tryPushVia(m, queued, push); p != nil {
			l.s.sendSig.done(w)
			return p, nil
		}
		err := l.s.waitForRoom(ctx, w)
		l.s.sendSig.done(w)
		if err != nil {
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
