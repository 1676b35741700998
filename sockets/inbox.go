package sockets

import (
	"context"
	"math"
	"sync"
)

// inMsg is a received message waiting for Recv.
type inMsg struct {
	p      *pipe
	frames [][]byte
}

// inQueue is one pipe's share of the inbox: what that peer sent, in order.
// It is guarded by the inbox's lock.
type inQueue struct {
	q      [][][]byte
	head   int
	active bool // in the inbox's turn list
}

func (q *inQueue) len() int { return len(q.q) - q.head }

func (q *inQueue) pop() [][]byte {
	f := q.q[q.head]
	q.q[q.head] = nil
	q.head++
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.q) {
		n := copy(q.q, q.q[q.head:])
		clear(q.q[n:])
		q.q, q.head = q.q[:n], 0
	}
	return f
}

func (q *inQueue) reset() {
	clear(q.q)
	q.q, q.head = q.q[:0], 0
}

// inbox is the socket's inbound side. Each pipe has its own queue, bounded
// by the receive high-water mark (its reader waits at the mark, so TCP
// pushes back on that peer alone), and Recv takes one message from each
// pipe with messages in turn: fair queuing, as libzmq's fq and RFC 28/30
// ask, so a peer's backlog cannot hold back the others.
type inbox struct {
	mu       sync.Mutex
	turns    []*pipe // pipes with messages, in the order they are served
	head     int
	total    int // messages queued, all pipes
	hwm      int
	conflate bool
	ready    signal // notified on push
	closed   bool
}

// room reports how many more messages p may queue now (at least 1 when
// there is no limit, or the inbox is closed and push would fail at once).
func (in *inbox) room(p *pipe) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || in.conflate || in.hwm == 0 {
		return math.MaxInt
	}
	return max(in.hwm-p.in.len(), 0)
}

// push adds a message from p, waiting while p is at the high-water mark.
// It returns false if the inbox or the context closes first.
func (in *inbox) push(ctx context.Context, p *pipe, frames [][]byte) bool {
	for {
		in.mu.Lock()
		if in.closed {
			in.mu.Unlock()
			return false
		}
		if in.conflate || in.hwm == 0 || p.in.len() < in.hwm {
			in.addLocked(p, frames)
			in.mu.Unlock()
			in.ready.Notify()
			return true
		}
		in.mu.Unlock()
		select {
		case <-p.inSpace:
		case <-ctx.Done():
			return false
		}
	}
}

// forcePush adds a message from p whatever the high-water mark: for the
// few messages the socket makes itself (XPUB's unsubscriptions when a
// subscriber goes), which must neither be lost nor block.
func (in *inbox) forcePush(p *pipe, frames [][]byte) {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return
	}
	in.addLocked(p, frames)
	in.mu.Unlock()
	in.ready.Notify()
}

func (in *inbox) addLocked(p *pipe, frames [][]byte) {
	q := &p.in
	if in.conflate && q.len() > 0 {
		// Only the newest message of each peer is kept (libzmq's
		// ZMQ_CONFLATE); it takes the place of the one not yet read.
		in.total -= q.len()
		q.reset()
	}
	q.q = append(q.q, frames)
	in.total++
	if !q.active {
		q.active = true
		in.turns = append(in.turns, p)
	}
}

// tryPop takes the next message in turn, if any.
func (in *inbox) tryPop() (inMsg, bool) {
	in.mu.Lock()
	if in.total == 0 {
		in.mu.Unlock()
		return inMsg{}, false
	}
	p := in.nextTurnLocked()
	q := &p.in
	wasFull := !in.conflate && in.hwm != 0 && q.len() == in.hwm
	frames := q.pop()
	in.total--
	if q.len() > 0 {
		in.turns = append(in.turns, p) // back of the line
	} else {
		q.active = false
	}
	in.mu.Unlock()
	if wasFull {
		p.inSpace.poke()
	}
	return inMsg{p: p, frames: frames}, true
}

// nextTurnLocked removes and returns the pipe whose turn it is. Called
// with in.mu held and in.total > 0.
func (in *inbox) nextTurnLocked() *pipe {
	p := in.turns[in.head]
	in.turns[in.head] = nil
	in.head++
	if in.head == len(in.turns) {
		in.turns, in.head = in.turns[:0], 0
	} else if in.head > 64 && in.head*2 > len(in.turns) {
		n := copy(in.turns, in.turns[in.head:])
		clear(in.turns[n:])
		in.turns, in.head = in.turns[:n], 0
	}
	return p
}

// purge drops every message queued from p.
func (in *inbox) purge(p *pipe) {
	in.mu.Lock()
	q := &p.in
	n := q.len()
	wasFull := !in.conflate && in.hwm != 0 && n >= in.hwm
	in.total -= n
	q.reset()
	if q.active {
		q.active = false
		for i := in.head; i < len(in.turns); i++ {
			if in.turns[i] == p {
				in.turns = append(in.turns[:i], in.turns[i+1:]...)
				break
			}
		}
	}
	in.mu.Unlock()
	if wasFull {
		p.inSpace.poke()
	}
}

// pop waits for a message until ctx or done ends.
func (in *inbox) pop(ctx context.Context, done <-chan struct{}) (inMsg, error) {
	for {
		if m, ok := in.tryPop(); ok {
			return m, nil
		}
		c := in.ready.C()
		if m, ok := in.tryPop(); ok {
			return m, nil
		}
		select {
		case <-c:
		case <-ctx.Done():
			// What arrived as ctx ended is still taken.
			if m, ok := in.tryPop(); ok {
				return m, nil
			}
			return inMsg{}, ctx.Err()
		case <-done:
			return inMsg{}, ErrClosed
		}
	}
}

// len reports how many messages wait for Recv.
func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.total
}

// close makes every later push fail. Messages already queued stay
// readable.
func (in *inbox) close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
}
