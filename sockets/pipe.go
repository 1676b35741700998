package sockets

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// outKind says what an outbound queue entry is.
type outKind uint8

const (
	outMessage     outKind = iota
	outRequest             // a REQ's request: an empty delimiter frame, then frames
	outSubscribe           // frames[0] is the topic
	outUnsubscribe         // frames[0] is the topic
)

// outMsg is one entry of a pipe's outbound queue.
type outMsg struct {
	frames [][]byte
	kind   outKind
	// owned: the list (not the frames) is the socket's own, cut from a
	// chunk (a REP's reply), and is cleared once written.
	owned bool
}

// pipe is the socket's side of one peer: its outbound queue, bounded by the
// send high-water mark, and its share of the inbound queue. A connect-side
// pipe exists from Connect on and outlives reconnections; a bind-side pipe
// lives and dies with its connection.
type pipe struct {
	s        *Socket
	id       uint64
	bindSide bool
	endpoint string
	// shared: received messages' frame lists are the sender's own
	// (inproc), not the reader's, so dropping one must leave it as is.
	shared bool

	// Set when a connection attaches (under s.mu); read by the socket's
	// routing code under s.mu.
	identity []byte    // routing identity (ROUTER)
	info     *PeerInfo // metadata of the current connection
	claim    *claim    // the current connection's claim (claimer types)

	mu        sync.Mutex
	out       outQueue   // queued, not yet taken by the writer
	inflight  int        // taken by the writer, not yet written
	hwm       int        // 0: unlimited
	connected bool       // a writer is running
	closed    bool       // the pipe is gone: nothing more is queued
	asleep    bool       // the writer found the queue empty: poke it on push
	directing bool       // a sender writes a message itself (tryPushDirect)
	zc        *zmtp.Conn // the current connection, for tryPushDirect
	unflushed bool       // the writer holds encoded octets not yet written
	killConn  func()     // closes the current connection
	wake      kick       // wakes the writer
	idle      signal     // notified when the queue empties and is flushed
	// peerIn, on an inproc connection, is the receiving socket's pipe
	// for what this one sends: its share of that socket's inbox counts
	// against hwm, which is then SNDHWM + the peer's RCVHWM, as libzmq's
	// inproc pipe (see linkInproc). peerHeld is that share as last seen:
	// never less than it is, less what inflight counts (see fullLocked).
	peerIn   *pipe
	peerHeld int

	// Inbound queue, guarded by s.in.mu.
	in        inQueue
	inLen     atomic.Int64 // in.len(), for the reader's batch limit without the lock
	lent      atomic.Int64 // messages of p in the inbox's Recv cache
	inSpace   kick         // wakes the reader blocked at the receive HWM
	inBlocked atomic.Bool  // the reader waits on inSpace
	loan      loanState    // lending the connection to Recv (loan.go)

	// Matching state for PUB fan-out, guarded by the PUB's lock.
	mark uint64
}

func newPipe(s *Socket, endpoint string, bindSide bool) *pipe {
	p := &pipe{
		s:        s,
		id:       s.nextPipeID.Add(1),
		endpoint: endpoint,
		bindSide: bindSide,
		shared:   strings.HasPrefix(endpoint, "inproc://"),
		wake:     newKick(),
		inSpace:  newKick(),
		loan:     loanState{back: make(chan struct{}, 1)},
	}
	p.loan.cancelFn = p.loan.cancel
	p.setHWMLocked(s.opts.sendHWM)
	return p
}

// setHWMLocked sets the pipe's high-water mark, and with it how many
// emptied chunks its queue keeps. Called with p.mu held (or before the
// pipe is shared).
func (p *pipe) setHWMLocked(n int) {
	p.hwm = n
	p.out.keepSpares(sparesFor(n))
}

// fullLocked reports whether the pipe is at its high-water mark. Called
// with p.mu held. Whatever turns it from true to false must notify
// s.sendSig, where senders wait for room (written, takeN and
// tryPushThen's catching up do).
//
// On an inproc connection the mark covers the peer's share of its inbox
// too (peerHeld), which the pump sets in written, in the same hold of
// p.mu in which it gives the batch it delivered its place in this pipe
// back: a message on its way is counted once, in inflight or in peerHeld,
// never twice and never not at all. The receiver reads meanwhile, so
// peerHeld may be more than the peer holds, never less; the pump reads it
// afresh as it takes a batch (takeN), and catchUpLocked when a sender
// finds the pipe full.
func (p *pipe) fullLocked() bool {
	return p.hwm != 0 && p.out.len()+p.inflight+p.peerHeld >= p.hwm
}

// catchUpLocked is called when the pipe looks full: on an inproc
// connection it reads the peer's share of its inbox afresh, which Recv
// may have lowered since the pump last looked, and reports whether that
// made room. It does so only while the pump holds no batch (inflight):
// one on its way may be in the peer's inbox already and counted twice.
// Called with p.mu held.
func (p *pipe) catchUpLocked() bool {
	q := p.peerIn
	if q == nil || p.inflight != 0 {
		return false
	}
	if n := q.inShare(); n < p.peerHeld {
		p.peerHeld = n
		return !p.fullLocked()
	}
	return false
}

// inShare is how many of p's messages its socket's inbox holds, queued or
// in Recv's cache: never less than that, though a Recv under way may have
// taken some already. inLen is read first: refill adds to lent before it
// takes from inLen.
func (p *pipe) inShare() int {
	n := int(p.inLen.Load())
	return n + int(p.lent.Load())
}

// tryPush queues a message if there is room; it never blocks.
func (p *pipe) tryPush(m outMsg) bool { return p.tryPushThen(m, nil) }

// tryPushThen is tryPush, calling queued (if set) once the message is sure
// to be queued but before the writer can see it.
func (p *pipe) tryPushThen(m outMsg, queued func(*pipe)) bool {
	p.mu.Lock()
	caughtUp := false // room found by catching up, which others may share
	if !p.closed && !p.s.opts.conflate && p.fullLocked() {
		if !p.catchUpLocked() {
			p.mu.Unlock()
			return false
		}
		caughtUp = true
	}
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if queued != nil {
		queued(p)
	}
	if p.s.opts.conflate {
		// Only the newest message waits (libzmq's ZMQ_CONFLATE);
		// subscriptions queued with it are kept.
		p.out.dropMessages()
	}
	p.out.push(m)
	poke := p.asleep && !p.directing // a direct write pokes when it is done
	if poke {
		p.asleep = false
	}
	p.mu.Unlock()
	if poke {
		p.wake.poke()
	}
	if caughtUp {
		p.s.sendSig.Notify()
	}
	return true
}

// tryPushDirect is tryPushThen for the latency path of REQ and REP, which
// send one message and then wait for the other side: when the writer
// sleeps with nothing queued or buffered, the message is written from the
// caller's goroutine (zmtp's SendNow, which never waits) instead of
// waking the writer, one goroutine hand-off fewer per message. Meanwhile
// the message counts against the high-water mark, other pushes wait in
// the queue behind it, and the writer takes nothing; if it cannot be
// written at once it goes to the front of the queue after all.
func (p *pipe) tryPushDirect(m outMsg, queued func(*pipe)) bool {
	p.mu.Lock()
	zc := p.zc
	if zc == nil || !p.asleep || p.directing || p.unflushed || p.out.len() != 0 || p.inflight != 0 ||
		p.closed || p.s.opts.conflate || (m.kind != outMessage && m.kind != outRequest) {
		p.mu.Unlock()
		return p.tryPushThen(m, queued)
	}
	if queued != nil {
		queued(p)
	}
	p.directing = true
	p.inflight++
	p.mu.Unlock()
	var head [][]byte
	if m.kind == outRequest {
		head = requestHead
	}
	taken, flushed, _ := zc.SendNow(head, m.frames)
	if taken && m.owned {
		clear(m.frames)
	}
	p.mu.Lock()
	p.directing = false
	p.inflight--
	if !taken && !p.closed {
		p.out.pushFront(m) // what was pushed meanwhile came after it
	}
	if taken && !flushed {
		p.unflushed = true // the writer flushes the rest
	}
	poke := p.asleep && (p.out.len() > 0 || p.unflushed)
	if poke {
		p.asleep = false
	}
	idle := p.out.len() == 0 && p.inflight == 0 && !p.unflushed
	p.mu.Unlock()
	if poke {
		p.wake.poke()
	}
	if idle {
		p.idle.Notify()
	}
	return true
}

// setConn tells the pipe which connection its writer writes to (nil when
// it has none), for tryPushDirect.
func (p *pipe) setConn(zc *zmtp.Conn) {
	p.mu.Lock()
	p.zc = zc
	p.mu.Unlock()
}

// discard lets go of a received message that is dropped: a list cut from
// the reader's chunk is cleared, so that the chunk does not keep its
// frames alive.
func (p *pipe) discard(frames [][]byte) {
	if !p.shared {
		clear(frames)
	}
}

// forcePush queues a message whatever the high-water mark (subscriptions
// must not be lost to it).
func (p *pipe) forcePush(m outMsg) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.out.push(m)
	poke := p.asleep && !p.directing
	if poke {
		p.asleep = false
	}
	p.mu.Unlock()
	if poke {
		p.wake.poke()
	}
	return true
}

// maxWriteBatch bounds the messages one take moves: a queue of millions
// (no high-water mark, a peer that lags) goes out a chunk at a time, so the
// writer's batch never grows to a second copy of it.
const maxWriteBatch = outChunkLen

// take moves queued messages, up to maxWriteBatch, into batch for the
// writer.
func (p *pipe) take(batch []outMsg) []outMsg { return p.takeN(batch, maxWriteBatch) }

// takeN moves up to n queued messages into batch (which must be empty).
// Finding nothing, it marks the writer asleep: the next push pokes p.wake,
// which the writer waits on.
func (p *pipe) takeN(batch []outMsg, n int) []outMsg {
	p.mu.Lock()
	freed := false
	if q := p.peerIn; q != nil && p.inflight == 0 {
		// Nothing is on its way: what the peer holds is read afresh,
		// so that the mark follows its reads batch by batch. Senders
		// waiting for room are told if that made some.
		full := p.fullLocked()
		p.peerHeld = min(p.peerHeld, q.inShare())
		freed = full && !p.fullLocked()
	}
	if !p.directing { // a direct write goes first
		batch = p.out.take(batch, n)
	}
	p.inflight += len(batch)
	p.asleep = len(batch) == 0
	p.mu.Unlock()
	if freed {
		p.s.sendSig.Notify()
	}
	return batch
}

// putBack returns messages taken but not delivered to the front of the
// queue, in order: an inproc connection that ends has written nothing of
// them, so a connect-side pipe keeps them for its next peer.
func (p *pipe) putBack(ms []outMsg) {
	if len(ms) == 0 {
		return
	}
	p.mu.Lock()
	if !p.closed {
		for i := len(ms) - 1; i >= 0; i-- {
			p.out.pushFront(ms[i])
		}
	}
	p.mu.Unlock()
}

// written tells the pipe the writer finished its batch. It reports whether
// senders may have been waiting for room.
func (p *pipe) written(flushed bool) (wasFull bool) {
	p.mu.Lock()
	wasFull = p.fullLocked()
	p.inflight = 0
	if q := p.peerIn; q != nil {
		p.peerHeld = q.inShare() // now with the batch just delivered
	}
	empty := p.out.len() == 0
	p.mu.Unlock()
	if empty && flushed {
		p.idle.Notify()
	}
	return wasFull
}

// isUnflushed reports whether encoded octets wait to be written.
func (p *pipe) isUnflushed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unflushed
}

// encoded tells the pipe the writer has encoded n messages of its batch
// into the connection's buffer: their room goes back to senders, as
// libzmq's pipe forgets what its encoder has taken, so that senders refill
// the queue while the writer writes. The pipe stays pending until
// flushed. It reports whether senders may have been waiting for room, and
// how many messages are queued now (for the writer's decision to flush,
// under the same hold of the lock).
func (p *pipe) encoded(n int) (wasFull bool, queued int) {
	p.mu.Lock()
	wasFull = p.fullLocked()
	p.inflight -= n
	p.unflushed = true
	queued = p.out.len()
	p.mu.Unlock()
	return wasFull, queued
}

// flushed tells the pipe the writer's buffer is written out.
func (p *pipe) flushed() {
	p.mu.Lock()
	p.unflushed = false
	idle := p.out.len() == 0 && p.inflight == 0
	p.mu.Unlock()
	if idle {
		p.idle.Notify()
	}
}

// pending reports how many messages wait to be written (encoded octets not
// yet written count as one).
func (p *pipe) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.out.len() + p.inflight
	if p.unflushed {
		n++
	}
	return n
}

// drop discards every queued message.
func (p *pipe) drop() {
	p.mu.Lock()
	p.out.reset()
	p.mu.Unlock()
	p.idle.Notify()
}

func (p *pipe) isConnected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected
}

// kill closes the pipe's current connection, if any.
func (p *pipe) kill() {
	p.mu.Lock()
	k := p.killConn
	p.mu.Unlock()
	if k != nil {
		k()
	}
}

func (p *pipe) setKill(k func()) {
	p.mu.Lock()
	p.killConn = k
	p.mu.Unlock()
}
