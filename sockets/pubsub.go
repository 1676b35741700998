package sockets

import (
	"context"
	"sync"
)

// pubSocket sends each message to every subscriber whose subscription
// prefixes its first frame, dropping for subscribers at their high-water
// mark; it never blocks (RFC 29). An XPUB also hands subscriptions to the
// application and takes messages from subscribers.
type pubSocket struct {
	base
	xpub bool
	mu   sync.Mutex
	subs subscriptions
}

func newPubSocket(s *Socket, xpub bool) *pubSocket {
	return &pubSocket{base: base{s: s}, xpub: xpub, subs: newSubscriptions()}
}

func (ps *pubSocket) send(_ context.Context, m Msg) error {
	out := outMsg{frames: m.Frames}
	ps.mu.Lock()
	ps.subs.match(m.Frames[0], func(p *pipe) {
		if !p.tryPush(out) {
			ps.s.stats.dropped.Add(1)
		}
	})
	ps.mu.Unlock()
	return nil
}

func (ps *pubSocket) recv(ctx context.Context) (Msg, error) {
	if !ps.xpub {
		return Msg{}, ErrNotSupported
	}
	return ps.base.recv(ctx)
}

// inbound takes subscriptions (0x01/0x00 + topic, whichever form the peer
// sent them in) and, on an XPUB, passes them on: the first subscription
// and the last cancellation of a topic, or all of them when verbose; an
// XPUB passes other messages on too.
func (ps *pubSocket) inbound(ctx context.Context, p *pipe, msgs [][][]byte) bool {
	keep := msgs[:0]
	for _, frames := range msgs {
		if len(frames) == 1 && len(frames[0]) > 0 && frames[0][0] <= 1 {
			topic := frames[0][1:]
			ps.mu.Lock()
			pass := false
			if frames[0][0] == 1 {
				total := ps.subs.add(topic, p)
				pass = total == 1 || ps.s.opts.xpubVerbose
			} else {
				had, total := ps.subs.remove(topic, p)
				pass = had && total == 0
			}
			ps.mu.Unlock()
			if ps.xpub && pass {
				keep = append(keep, frames)
			} else {
				p.discard(frames)
			}
			continue
		}
		if ps.xpub {
			keep = append(keep, frames)
		} else {
			p.discard(frames) // RFC 29 U4: a PUB discards what subscribers send
		}
	}
	if len(keep) == 0 {
		return true
	}
	return ps.s.in.push(ctx, p, keep)
}

// pipeDisconnected forgets the subscriber's subscriptions; an XPUB tells
// the application about each topic nobody wants any more (RFC 29 U8).
func (ps *pubSocket) pipeDisconnected(p *pipe) {
	ps.mu.Lock()
	gone := ps.subs.removePipe(p)
	ps.mu.Unlock()
	if !ps.xpub {
		return
	}
	for _, topic := range gone {
		msg := append([]byte{0}, topic...)
		ps.s.in.forcePush(p, [][]byte{msg})
	}
}

func (ps *pubSocket) pipeRemoved(p *pipe) { ps.pipeDisconnected(p) }

// subSocket keeps counted subscriptions, sends them to every publisher
// (again after each reconnection), and passes on messages that match one
// (RFC 29). An XSUB takes subscriptions as messages (0x01/0x00 + topic) and
// sends other messages to every publisher.
type subSocket struct {
	base
	xsub   bool
	mu     sync.Mutex
	filter subscriptions // this socket's subscriptions, counted (self is the subscriber)
	live   map[*pipe]struct{}
	self   *pipe // stands for this socket in filter
}

func newSubSocket(s *Socket, xsub bool) *subSocket {
	return &subSocket{
		base: base{s: s}, xsub: xsub, filter: newSubscriptions(), live: make(map[*pipe]struct{}), self: &pipe{},
	}
}

// subscribe counts a subscription change and tells publishers when a
// topic is first wanted or no longer wanted.
func (ss *subSocket) subscribe(topic []byte, on bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	kind := outSubscribe
	if on {
		if ss.filter.add(topic, ss.self) > 1 {
			return
		}
	} else {
		if had, total := ss.filter.remove(topic, ss.self); !had || total > 0 {
			return
		}
		kind = outUnsubscribe
	}
	t := append([]byte(nil), topic...)
	for p := range ss.live {
		p.forcePush(outMsg{frames: [][]byte{t}, kind: kind})
	}
}

// pipeConnected sends every current subscription to the new publisher
// before anything else, replacing subscription changes queued for an
// earlier connection of the pipe (RFC 29 U10).
func (ss *subSocket) pipeConnected(p *pipe) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.live[p] = struct{}{}
	topics := ss.filter.list()
	p.mu.Lock()
	p.out.filter(isMessage)
	for i := len(topics) - 1; i >= 0; i-- {
		p.out.pushFront(outMsg{frames: [][]byte{topics[i]}, kind: outSubscribe})
	}
	p.mu.Unlock()
}

func (ss *subSocket) pipeDisconnected(p *pipe) {
	ss.mu.Lock()
	delete(ss.live, p)
	ss.mu.Unlock()
}

func (ss *subSocket) pipeRemoved(p *pipe) { ss.pipeDisconnected(p) }

// inbound keeps only messages whose first frame matches a subscription.
func (ss *subSocket) inbound(ctx context.Context, p *pipe, msgs [][][]byte) bool {
	keep := msgs[:0]
	ss.mu.Lock()
	for _, frames := range msgs {
		if ss.filter.matches(frames[0]) {
			keep = append(keep, frames)
		} else {
			p.discard(frames)
		}
	}
	ss.mu.Unlock()
	if len(keep) == 0 {
		return true
	}
	return ss.s.in.push(ctx, p, keep)
}

// send is XSUB only: subscription messages update the subscriptions;
// anything else goes to every publisher.
func (ss *subSocket) send(_ context.Context, m Msg) error {
	if !ss.xsub {
		return ErrNotSupported
	}
	if len(m.Frames) == 1 && len(m.Frames[0]) > 0 && m.Frames[0][0] <= 1 {
		ss.subscribe(m.Frames[0][1:], m.Frames[0][0] == 1)
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for p := range ss.live {
		if !p.tryPush(outMsg{frames: m.Frames}) {
			ss.s.stats.dropped.Add(1)
		}
	}
	return nil
}
