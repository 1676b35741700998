package sockets

import (
	"context"
	"slices"
	"sync"
)

// subscriptions maps topics (byte prefixes) to the pipes subscribed to
// them, each with a count: subscribing twice needs two cancels (RFC 29,
// 37). Matching looks up the message's first frame cut at each distinct
// topic length, so it costs one map lookup per length in use, allocates
// nothing, and no operation recurses, whatever the topics' size.
type subscriptions struct {
	topics  map[string]*subEntry
	lengths []int       // distinct topic lengths, ascending
	byLen   map[int]int // topics per length
	epoch   uint64
}

type subEntry struct {
	pipes map[*pipe]int
	total int
}

func newSubscriptions() subscriptions {
	return subscriptions{topics: make(map[string]*subEntry), byLen: make(map[int]int)}
}

// add counts a subscription of p to topic and returns the topic's new
// total.
func (ss *subscriptions) add(topic []byte, p *pipe) int {
	e := ss.topics[string(topic)]
	if e == nil {
		e = &subEntry{pipes: make(map[*pipe]int)}
		ss.topics[string(topic)] = e
		if ss.byLen[len(topic)] == 0 {
			i, _ := slices.BinarySearch(ss.lengths, len(topic))
			ss.lengths = slices.Insert(ss.lengths, i, len(topic))
		}
		ss.byLen[len(topic)]++
	}
	e.pipes[p]++
	e.total++
	return e.total
}

// remove takes back one subscription of p to topic. It reports whether p
// had one, and the topic's new total.
func (ss *subscriptions) remove(topic []byte, p *pipe) (bool, int) {
	e := ss.topics[string(topic)]
	if e == nil || e.pipes[p] == 0 {
		return false, 0
	}
	e.pipes[p]--
	if e.pipes[p] == 0 {
		delete(e.pipes, p)
	}
	e.total--
	if e.total == 0 {
		ss.drop(string(topic))
	}
	return true, e.total
}

func (ss *subscriptions) drop(topic string) {
	delete(ss.topics, topic)
	ss.byLen[len(topic)]--
	if ss.byLen[len(topic)] == 0 {
		delete(ss.byLen, len(topic))
		if i, ok := slices.BinarySearch(ss.lengths, len(topic)); ok {
			ss.lengths = slices.Delete(ss.lengths, i, i+1)
		}
	}
}

// removePipe drops every subscription of p and returns the topics whose
// total fell to zero.
func (ss *subscriptions) removePipe(p *pipe) (gone []string) {
	for topic, e := range ss.topics {
		n := e.pipes[p]
		if n == 0 {
			continue
		}
		delete(e.pipes, p)
		e.total -= n
		if e.total == 0 {
			ss.drop(topic)
			gone = append(gone, topic)
		}
	}
	return gone
}

// match calls f once for each pipe with a subscription that prefixes msg.
func (ss *subscriptions) match(msg []byte, f func(*pipe)) {
	ss.epoch++
	for _, n := range ss.lengths {
		if n > len(msg) {
			break
		}
		e := ss.topics[string(msg[:n])]
		if e == nil {
			continue
		}
		for p := range e.pipes {
			if p.mark != ss.epoch {
				p.mark = ss.epoch
				f(p)
			}
		}
	}
}

// matches reports whether any subscription prefixes msg.
func (ss *subscriptions) matches(msg []byte) bool {
	for _, n := range ss.lengths {
		if n > len(msg) {
			return false
		}
		if _, ok := ss.topics[string(msg[:n])]; ok {
			return true
		}
	}
	return false
}

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
// and the last cancellation of a topic, or all of them when verbose.
func (ps *pubSocket) inbound(ctx context.Context, p *pipe, frames [][]byte) bool {
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
			return ps.s.in.push(ctx, p, frames)
		}
		return true
	}
	if ps.xpub {
		return ps.s.in.push(ctx, p, frames)
	}
	return true // RFC 29 U4: a PUB discards what subscribers send
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
	slices.Sort(gone)
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
	counts map[string]int
	filter subscriptions // one entry per topic, for local matching
	live   map[*pipe]struct{}
	self   *pipe // stands for this socket in filter
}

func newSubSocket(s *Socket, xsub bool) *subSocket {
	return &subSocket{
		base: base{s: s}, xsub: xsub, counts: make(map[string]int),
		filter: newSubscriptions(), live: make(map[*pipe]struct{}), self: &pipe{},
	}
}

// subscribe counts a subscription change and tells publishers when a
// topic is first wanted or no longer wanted.
func (ss *subSocket) subscribe(topic []byte, on bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	kind := outSubscribe
	if on {
		ss.counts[string(topic)]++
		if ss.counts[string(topic)] > 1 {
			return
		}
		ss.filter.add(topic, ss.self)
	} else {
		if ss.counts[string(topic)] == 0 {
			return
		}
		ss.counts[string(topic)]--
		if ss.counts[string(topic)] > 0 {
			return
		}
		delete(ss.counts, string(topic))
		ss.filter.remove(topic, ss.self)
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
	topics := make([]string, 0, len(ss.counts))
	for t := range ss.counts {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	p.mu.Lock()
	fresh := make([]outMsg, 0, len(topics)+p.out.len())
	for _, t := range topics {
		fresh = append(fresh, outMsg{frames: [][]byte{[]byte(t)}, kind: outSubscribe})
	}
	for _, m := range p.out.items() {
		if m.kind == outMessage {
			fresh = append(fresh, m)
		}
	}
	p.out.set(fresh)
	p.mu.Unlock()
}

func (ss *subSocket) pipeDisconnected(p *pipe) {
	ss.mu.Lock()
	delete(ss.live, p)
	ss.mu.Unlock()
}

func (ss *subSocket) pipeRemoved(p *pipe) { ss.pipeDisconnected(p) }

// inbound keeps only messages whose first frame matches a subscription.
func (ss *subSocket) inbound(ctx context.Context, p *pipe, frames [][]byte) bool {
	ss.mu.Lock()
	ok := ss.filter.matches(frames[0])
	ss.mu.Unlock()
	if !ok {
		return true
	}
	return ss.s.in.push(ctx, p, frames)
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
