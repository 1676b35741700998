package sockets

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
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
	q.drop(1)
	return f
}

// drop removes the n oldest messages.
func (q *inQueue) drop(n int) {
	clear(q.q[q.head : q.head+n])
	q.head += n
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.q) {
		n := copy(q.q, q.q[q.head:])
		clear(q.q[n:])
		q.q, q.head = q.q[:n], 0
	}
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
//
// Readers hand messages over in batches under mu. Recv takes up to
// recvBatch of them at once, in the order fair queuing gives, into a
// consumer-side cache under cmu, and serves the next calls from there
// without touching mu: a message in the cache still counts against its
// pipe's high-water mark (pipe.lent) until Recv returns it, so the marks
// stay exact. Lock order: cmu, then mu.
type inbox struct {
	mu       sync.Mutex
	turns    []*pipe // pipes with messages, in the order they are served
	head     int
	total    int // messages queued, all pipes, not counting the cache
	hwm      int
	conflate bool
	ready    signal // notified on push
	closed   bool

	cmu      sync.Mutex
	cache    []inMsg // taken from the queues, not yet returned by Recv
	chead    int
	retPipe  *pipe // the pipe of the last messages returned...
	retCount int64 // ...and how many, not yet taken off its lent
	loan     *pipe // the pipe whose connection Recv carves from (loan.go)...
	borrowed int   // ...and how many messages it has carved so far

	totalHint atomic.Int64 // total as last set under mu, for borrowLocked

	// Recv waiting on a lent connection (loan.go). waitOn is set once,
	// for the types whose Recv does (REQ, REP); nil for the others.
	waitOn func(*pipe) bool
	// took, if set (REQ), is told of each message Recv takes, cached or
	// borrowed, under cmu: set once.
	took func(inMsg)
	// requests counts the requests a REQ's Send has begun (newRequest),
	// for a reader about to lend its connection (lend).
	requests atomic.Uint64
	waiter   atomic.Pointer[pipe] // the pipe whose connection a Recv waits on
	lentOn   []*pipe              // pipes whose connections are lent, under cmu
	// interrupted counts the waits interruptWaiter ended, for tests.
	interrupted atomic.Uint64
}

// recvBatch is how many messages Recv moves to its cache at once. It
// bounds how long a pipe that gains messages waits behind the cache for
// its turn.
const recvBatch = 32

// heldLocked is how many of p's messages count against the high-water
// mark: queued plus cached. Called with mu held.
func (in *inbox) heldLocked(p *pipe) int { return p.in.len() + int(p.lent.Load()) }

// room reports how many more messages p may queue now (at least 1 when
// there is no limit, or the inbox is closed and push would fail at once).
// When there is none, the caller is taken to wait on p.inSpace.
func (in *inbox) room(p *pipe) int {
	if in.conflate || in.hwm == 0 {
		return math.MaxInt
	}
	if p.lent.Load() > 0 && in.hwm-int(p.inLen.Load()+p.lent.Load()) <= 0 {
		// Recv may have returned messages it has not counted yet.
		in.cmu.Lock()
		in.settle()
		in.cmu.Unlock()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return math.MaxInt
	}
	if n := in.hwm - in.heldLocked(p); n > 0 {
		return n
	}
	p.inBlocked.Store(true)
	// Recv may have returned a cached message meanwhile.
	if n := in.hwm - in.heldLocked(p); n > 0 {
		p.inBlocked.Store(false)
		return n
	}
	return 0
}

// push adds messages from p, in order, waiting while p is at the
// high-water mark. It returns false if the inbox or the context closes
// first. A batch that fits is added under one hold of the lock, with one
// notification.
func (in *inbox) push(ctx context.Context, p *pipe, msgs [][][]byte) bool {
	ok, _ := in.pushIf(ctx, p, msgs, nil)
	return ok
}

// pushIf is push for messages that are still wanted only while admit(p)
// holds (REQ: while p's reply is awaited). admit is asked under the lock
// that Recv takes them under, so that none gets in after a Recv ended the
// wait (took) and the queue was purged; those are discarded instead, and
// counted in dropped.
func (in *inbox) pushIf(ctx context.Context, p *pipe, msgs [][][]byte, admit func(*pipe) bool) (ok bool, dropped int) {
	for len(msgs) > 0 {
		n := in.room(p)
		if n == 0 {
			select {
			case <-p.inSpace:
				continue
			case <-ctx.Done():
				return false, dropped
			}
		}
		in.mu.Lock()
		if in.closed {
			in.mu.Unlock()
			return false, dropped
		}
		if admit != nil && !admit(p) {
			in.mu.Unlock()
			for _, frames := range msgs {
				p.discard(frames)
			}
			return true, dropped + len(msgs)
		}
		n = min(n, len(msgs))
		for _, frames := range msgs[:n] {
			in.addLocked(p, frames)
		}
		p.inLen.Store(int64(p.in.len()))
		in.totalHint.Store(int64(in.total))
		in.mu.Unlock()
		in.ready.Notify()
		in.interruptWaiter(p)
		msgs = msgs[n:]
	}
	return true, dropped
}

// roomHint estimates how many more messages p may queue now, without the
// lock (at least 1: a reader always takes the next message).
func (in *inbox) roomHint(p *pipe) int {
	if in.conflate || in.hwm == 0 {
		return math.MaxInt
	}
	return max(in.hwm-int(p.inLen.Load()+p.lent.Load()), 1)
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
	p.inLen.Store(int64(p.in.len()))
	in.totalHint.Store(int64(in.total))
	in.mu.Unlock()
	in.ready.Notify()
	in.interruptWaiter(p)
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

// tryPop takes the next message in turn, if any: from the cache, or from
// a connection lent to Recv (loan.go).
func (in *inbox) tryPop() (inMsg, bool) { return in.tryPopOn(context.Background(), false) }

// tryPopWaiting is tryPop for a Recv that would wait with ctx otherwise:
// it may wait on a lent connection instead (loan.go).
func (in *inbox) tryPopWaiting(ctx context.Context) (inMsg, bool) { return in.tryPopOn(ctx, true) }

func (in *inbox) tryPopOn(ctx context.Context, wait bool) (inMsg, bool) {
	in.cmu.Lock()
	for {
		if in.loan != nil {
			if m, ok := in.borrowLocked(ctx, wait); ok {
				if in.took != nil {
					in.took(m)
				}
				in.cmu.Unlock()
				return m, true
			}
		}
		if in.chead == len(in.cache) && !in.refill() {
			in.cmu.Unlock()
			return inMsg{}, false
		}
		m := in.cache[in.chead]
		in.cache[in.chead] = inMsg{}
		in.chead++
		in.returned(m.p)
		if in.chead == len(in.cache) {
			in.settle() // and forget the pipe: it may be going
		}
		if m.frames == nil { // a loan marker
			in.endLoanLocked()
			in.loan = m.p
			continue
		}
		if in.took != nil {
			in.took(m)
		}
		in.cmu.Unlock()
		return m, true
	}
}

// refill moves up to recvBatch messages (one with conflate, which must
// keep only the newest) from the queues into the empty cache, in turn.
// Called with cmu held; it reports whether it took any.
func (in *inbox) refill() bool {
	in.settle()
	in.cache, in.chead = in.cache[:0], 0
	in.mu.Lock()
	n := min(in.total, recvBatch)
	if in.conflate {
		n = min(n, 1)
	}
	if len(in.turns)-in.head == 1 {
		// One pipe has messages: fair queuing has no one else to take
		// turns with, so its messages are taken as a run.
		in.refillRunLocked(n)
		in.totalHint.Store(int64(in.total))
		in.mu.Unlock()
		return true
	}
	var run *pipe // lent is counted per run of one pipe's messages
	k := int64(0)
	for range n {
		p := in.nextTurnLocked()
		if p != run {
			if run != nil {
				run.lent.Add(k)
				run.inLen.Store(int64(run.in.len()))
			}
			run, k = p, 0
		}
		q := &p.in
		in.cache = append(in.cache, inMsg{p: p, frames: q.pop()})
		k++
		in.total--
		if q.len() > 0 {
			in.turns = append(in.turns, p) // back of the line
		} else {
			q.active = false
		}
	}
	if run != nil {
		run.lent.Add(k)
		run.inLen.Store(int64(run.in.len()))
	}
	in.totalHint.Store(int64(in.total))
	in.mu.Unlock()
	return n > 0
}

// refillRunLocked moves n messages of the one pipe that has any (n ≤ its
// queue) into the cache. Called with cmu and mu held.
func (in *inbox) refillRunLocked(n int) {
	p := in.nextTurnLocked()
	q := &p.in
	for _, frames := range q.q[q.head : q.head+n] {
		in.cache = append(in.cache, inMsg{p: p, frames: frames})
	}
	q.drop(n)
	in.total -= n
	if q.len() > 0 {
		in.turns = append(in.turns, p)
	} else {
		q.active = false
	}
	p.lent.Add(int64(n))
	p.inLen.Store(int64(q.len()))
}

// returned accounts for a message of p leaving the cache for its caller.
// The count is kept here and given back to p (lent) in one go when the
// cache moves on to another pipe or refills, unless p's reader waits for
// room: then at once, waking it if p's share is down to the low-water
// mark. Called with cmu held.
func (in *inbox) returned(p *pipe) {
	if p != in.retPipe {
		in.settle()
		in.retPipe = p
	}
	in.retCount++
	if p.inBlocked.Load() {
		if p.lent.Load()-in.retCount+p.inLen.Load() <= int64(in.lowWater(p)) {
			in.settle()
			if p.inBlocked.CompareAndSwap(true, false) {
				p.inSpace.poke()
			}
		}
	}
}

// settle gives the returned count back to its pipe. Called with cmu held.
func (in *inbox) settle() {
	if in.retCount > 0 {
		in.retPipe.lent.Add(-in.retCount)
		in.retCount = 0
	}
	in.retPipe = nil
}

// lowWater is the number of messages p's share must fall to before a
// reader blocked at the high-water mark is woken. A network reader waits
// until half of it is free (libzmq's low-water mark), so that it wakes to
// a batch and not to every message; the inproc pump is woken by every
// Recv, so that an inproc pipe holds exactly the sum of the high-water
// marks.
func (in *inbox) lowWater(p *pipe) int {
	if p.shared {
		return in.hwm - 1
	}
	return in.hwm / 2
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

// purge drops every message queued or cached from p. A loan marker stays
// (REQ's Recv may still claim the connection through it), and so does a
// loan: what the lent connection holds is dropped when the next request
// goes (dropLentLocked).
func (in *inbox) purge(p *pipe) {
	in.cmu.Lock()
	in.settle()
	kept := in.cache[:in.chead]
	for _, m := range in.cache[in.chead:] {
		if m.p == p && m.frames != nil {
			p.lent.Add(-1)
		} else {
			kept = append(kept, m)
		}
	}
	clear(in.cache[len(kept):])
	in.cache = kept
	in.mu.Lock()
	q := &p.in
	marker := slices.ContainsFunc(q.q[q.head:], func(f [][]byte) bool { return f == nil })
	in.total -= q.len()
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
	if marker {
		in.addLocked(p, nil)
	}
	p.inLen.Store(int64(q.len()))
	in.totalHint.Store(int64(in.total))
	in.mu.Unlock()
	in.cmu.Unlock()
	if p.inBlocked.CompareAndSwap(true, false) {
		p.inSpace.poke()
	}
}

// errInterrupted is popOr's error when its interrupt channel fired.
var errInterrupted = errors.New("dripdrop: interrupted")

// pop waits for a message until ctx or done ends.
func (in *inbox) pop(ctx context.Context, done <-chan struct{}) (inMsg, error) {
	return in.popOr(ctx, done, nil)
}

// popOr is pop that also gives up, with errInterrupted, when interrupt
// delivers while it waits (a message already there is taken first).
func (in *inbox) popOr(ctx context.Context, done, interrupt <-chan struct{}) (inMsg, error) {
	for {
		if m, ok := in.tryPopWaiting(ctx); ok {
			return m, nil
		}
		w := in.ready.wait()
		if m, ok := in.tryPop(); ok {
			in.ready.done(w)
			return m, nil
		}
		select {
		case <-w.c:
			in.ready.done(w)
		case <-ctx.Done():
			in.ready.done(w)
			// What arrived as ctx ended is still taken.
			if m, ok := in.tryPop(); ok {
				return m, nil
			}
			return inMsg{}, ctx.Err()
		case <-done:
			in.ready.done(w)
			return inMsg{}, ErrClosed
		case <-interrupt:
			in.ready.done(w)
			return inMsg{}, errInterrupted
		}
	}
}

// waiting reports whether a Recv waits for a message (a hint: it may
// start or stop waiting at any time).
func (in *inbox) waiting() bool { return in.ready.n.Load() != 0 }

// len reports how many messages wait for Recv, not counting loan markers
// (loan.go), which are none. It walks the queues: for tests.
func (in *inbox) len() int {
	in.cmu.Lock()
	defer in.cmu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	n := in.total + len(in.cache) - in.chead
	for _, m := range in.cache[in.chead:] {
		if m.frames == nil {
			n--
		}
	}
	for _, p := range in.turns[in.head:] {
		for _, f := range p.in.q[p.in.head:] {
			if f == nil {
				n--
			}
		}
	}
	return n
}

// close makes every later push fail. Messages already queued stay
// readable.
func (in *inbox) close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
}
