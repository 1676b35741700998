package sockets

import (
	"context"
	"sync"
)

// inMsg is a received message waiting for Recv.
type inMsg struct {
	p      *pipe
	frames [][]byte
}

// inbox is the socket's inbound queue, shared by all pipes in arrival
// order. Each pipe may hold at most the receive high-water mark of entries
// in it; its reader waits at the mark, so one busy peer cannot crowd out
// the others, and TCP pushes back on it.
type inbox struct {
	mu       sync.Mutex
	q        []inMsg
	head     int
	hwm      int
	conflate bool
	ready    signal // notified on push
	closed   bool
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
		if in.conflate {
			in.q = append(in.q[:0], inMsg{p, frames})
			in.head = 0
			in.mu.Unlock()
			in.ready.Notify()
			return true
		}
		if in.hwm == 0 || p.inCount < in.hwm {
			p.inCount++
			in.q = append(in.q, inMsg{p, frames})
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

// tryPop takes the oldest message, if any.
func (in *inbox) tryPop() (inMsg, bool) {
	in.mu.Lock()
	if in.head == len(in.q) {
		in.mu.Unlock()
		return inMsg{}, false
	}
	m := in.q[in.head]
	in.q[in.head] = inMsg{}
	in.head++
	if in.head == len(in.q) {
		in.q, in.head = in.q[:0], 0
	} else if in.head > 1024 && in.head*2 > len(in.q) {
		n := copy(in.q, in.q[in.head:])
		clear(in.q[n:])
		in.q, in.head = in.q[:n], 0
	}
	wasFull := !in.conflate && in.hwm != 0 && m.p.inCount == in.hwm
	if !in.conflate {
		m.p.inCount--
	}
	in.mu.Unlock()
	if wasFull {
		m.p.inSpace.poke()
	}
	return m, true
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
			return inMsg{}, ctx.Err()
		case <-done:
			return inMsg{}, ErrClosed
		}
	}
}

// close makes every later push fail. Messages already queued stay
// readable.
func (in *inbox) close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
}
