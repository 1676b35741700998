package sockets

import (
	"sync"
)

// outKind says what an outbound queue entry is.
type outKind uint8

const (
	outMessage     outKind = iota
	outSubscribe           // frames[0] is the topic
	outUnsubscribe         // frames[0] is the topic
)

// outMsg is one entry of a pipe's outbound queue.
type outMsg struct {
	frames [][]byte
	kind   outKind
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

	// Set when a connection attaches (under s.mu); read by the socket's
	// routing code under s.mu.
	identity []byte    // routing identity (ROUTER)
	info     *PeerInfo // metadata of the current connection

	mu        sync.Mutex
	out       []outMsg // queued, not yet taken by the writer
	inflight  int      // taken by the writer, not yet written
	hwm       int      // 0: unlimited
	connected bool     // a writer is running
	closed    bool     // the pipe is gone: nothing more is queued
	killConn  func()   // closes the current connection
	wake      kick     // wakes the writer
	idle      signal   // notified when the queue empties and is flushed

	// Inbound accounting, guarded by s.in.mu.
	inCount int
	inSpace kick // wakes the reader blocked at the receive HWM

	// Matching state for PUB fan-out, guarded by the PUB's lock.
	mark uint64
}

func newPipe(s *Socket, endpoint string, bindSide bool) *pipe {
	return &pipe{
		s:        s,
		id:       s.nextPipeID.Add(1),
		endpoint: endpoint,
		bindSide: bindSide,
		hwm:      s.opts.sendHWM,
		wake:     newKick(),
		inSpace:  newKick(),
	}
}

// hasRoom reports whether one more message fits. Called with p.mu held.
func (p *pipe) hasRoomLocked() bool {
	return !p.closed && (p.hwm == 0 || len(p.out)+p.inflight < p.hwm)
}

// tryPush queues a message if there is room; it never blocks.
func (p *pipe) tryPush(m outMsg) bool {
	p.mu.Lock()
	if !p.hasRoomLocked() {
		p.mu.Unlock()
		return false
	}
	p.out = append(p.out, m)
	p.mu.Unlock()
	p.wake.poke()
	return true
}

// forcePush queues a message whatever the high-water mark (subscriptions
// must not be lost to it).
func (p *pipe) forcePush(m outMsg) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.out = append(p.out, m)
	p.mu.Unlock()
	p.wake.poke()
	return true
}

// take moves every queued message into batch for the writer.
func (p *pipe) take(batch []outMsg) []outMsg {
	p.mu.Lock()
	batch = append(batch, p.out...)
	clear(p.out)
	p.out = p.out[:0]
	p.inflight = len(batch)
	p.mu.Unlock()
	return batch
}

// written tells the pipe the writer finished its batch. It reports whether
// senders may have been waiting for room.
func (p *pipe) written(flushed bool) (wasFull bool) {
	p.mu.Lock()
	wasFull = p.hwm != 0 && len(p.out)+p.inflight >= p.hwm
	p.inflight = 0
	empty := len(p.out) == 0
	p.mu.Unlock()
	if empty && flushed {
		p.idle.Notify()
	}
	return wasFull
}

// pending reports how many messages wait to be written.
func (p *pipe) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.out) + p.inflight
}

// drop discards every queued message.
func (p *pipe) drop() {
	p.mu.Lock()
	clear(p.out)
	p.out = p.out[:0]
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
