package sockets

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Lending a connection to Recv.
//
// A reader hands what it reads to Recv through the inbox. When Recv runs
// on another CPU, every message — its slab, its frame list, its place in
// the queue — crosses between the two, and that is most of what a small
// message costs (docs/PERFORMANCE.md). So on a PULL socket, when whole
// messages are buffered and a Recv waits, the reader lends its connection
// to Recv: it queues a loan marker (an inMsg without frames) behind what it
// handed over and pauses; Recv, having returned everything queued before
// the marker, takes the next messages from the connection itself, one per
// call, on its own CPU. Recv never waits for the network: it takes a
// message only when one is whole in the buffer, after at most one read of
// what the network already has (zmtp's MsgReady and ReadNow), and a read
// error stays in the connection for the reader to find. Recv gives the
// connection back as soon as nothing whole is there or another message
// waits in the inbox (fair queuing); the reader takes it back after
// loanMax regardless, or when its context ends, so that a receiver that
// stops calling Recv does not stop its connections from being read
// (heartbeats, the end of the connection).
//
// Recv carves under the inbox's cmu, and only while on is set; the reader
// sets on before it lends and clears it under cmu when it takes the
// connection back, so the two never read the connection at once.
//
// On REQ and REP, whose messages alternate with replies, Recv also waits
// for the network on the lent connection (zmtp's WaitRead) when nothing
// whole is buffered: the reply a REQ waits for wakes the Recv itself, not
// a reader that then wakes Recv, a goroutine hand-off fewer per message,
// which costs more than the rest of a round trip when the hand-off
// crosses CPUs (docs/PERFORMANCE.md). The reader lends as soon as it has
// handed a message to a waiting Recv, and the loan lasts over the next
// calls; Recv gives up waiting, and the loan, when the reader takes the
// connection back (it interrupts the wait first), when another pipe's
// messages come (inbox.push interrupts it), when its context ends, and on
// a REQ when the reply it waits for would come from another peer. A REQ
// about to send a request drops what the lent connections hold
// (dropLentLocked), which came before the request, as the reader drops
// what comes while no request is out.
type loanState struct {
	on   atomic.Bool   // a loan is open
	back chan struct{} // Recv gives the connection back (one slot)
	// The connection and its carver, for Recv; set before a loan. conn
	// is atomic because interrupt reads it from any goroutine, even as
	// the next loan sets it.
	conn atomic.Pointer[zmtp.Conn]
	fc   *frameCarver

	// For a Recv that waits on the connection (REQ, REP).
	until time.Time     // when the reader takes it back; set before a loan
	stop  atomic.Uint32 // non-zero: a wait must end (the stop* bits)
	// cancelFn is cancel, made once: for context.AfterFunc, a method
	// value made per call would allocate.
	cancelFn func()
}

// The reasons a Recv waiting on a lent connection stops, in loanState.stop.
const (
	stopRecall uint32 = 1 << iota // the reader takes the connection back
	stopOthers                    // another pipe's messages came
	stopCancel                    // the waiting Recv's context ended
)

// interrupt makes a Recv waiting on the lent connection give up.
func (l *loanState) interrupt(why uint32) {
	l.stop.Or(why)
	if zc := l.conn.Load(); zc != nil {
		zc.Interrupt()
	}
}

// whole reports whether a whole message is buffered in the lent
// connection, after one read of what the network already has if readNow
// and none was. Called with cmu held, while the loan holds.
func (l *loanState) whole(readNow bool) bool {
	zc := l.conn.Load()
	return zc.MsgReady() || (readNow && zc.ReadNow() && zc.MsgReady())
}

// cancel is interrupt for context.AfterFunc.
func (l *loanState) cancel() { l.interrupt(stopCancel) }

// loanMax bounds how long a reader leaves its connection with Recv.
const loanMax = 20 * time.Millisecond

// lendable reports whether a socket's readers lend their connections: its
// messages go to the inbox as they are (PULL), one at a time, or Recv
// waits on the connection (REQ, REP: inbox.waitOn).
func (s *Socket) lendable() bool {
	return (s.typ == PULL || s.in.waitOn != nil) && !s.opts.conflate
}

// waitLender is implemented by the types whose Recv waits on a lent
// connection (REQ, REP): mayWaitOn reports whether it may wait on p's.
type waitLender interface {
	mayWaitOn(p *pipe) bool
}

// lend lends p's connection to Recv until it is given back, loanMax has
// passed or ctx ends. Called by p's reader with nothing held back from the
// inbox. readAt is in.requests as it was just after the reader's last
// read: on a REQ whose Send has begun a request since, what the
// connection holds was read before that request went, and cannot be its
// reply, but Send found no loan to drop it from (newRequest): it is
// dropped here.
func (s *Socket) lend(ctx context.Context, p *pipe, zc *zmtp.Conn, fc *frameCarver, t *time.Timer, readAt uint64) {
	l := &p.loan
	in := &s.in
	l.conn.Store(zc)
	l.fc = fc
	if in.waitOn != nil {
		l.until = time.Now().Add(loanMax)
		l.stop.Store(0)
		in.cmu.Lock()
		if in.requests.Load() != readAt {
			s.stats.dropped.Add(uint64(dropBuffered(p, false)))
		}
		in.lentOn = append(in.lentOn, p)
		l.on.Store(true)
		in.cmu.Unlock()
	} else {
		l.on.Store(true)
	}
	s.stats.loans.Add(1)
	in.forcePush(p, nil) // the marker, behind what was handed over
	t.Reset(loanMax)
	select {
	case <-l.back:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	if in.waitOn != nil {
		l.interrupt(stopRecall) // a Recv waiting on it holds cmu
	}
	in.cmu.Lock() // no Recv carves from it past this
	if in.waitOn != nil && !in.waitOn(p) {
		// On a REQ with no request out to p, what p's connection holds
		// came while none was: dropped now, before a request can go
		// (dropLentLocked drops it while the loan is open). Not what
		// the network has: a request may be going out right now, and
		// its reply with it.
		s.stats.dropped.Add(uint64(dropBuffered(p, false)))
	}
	l.on.Store(false)
	if in.loan == p {
		in.loan = nil
	}
	if i := slices.Index(in.lentOn, p); i >= 0 {
		in.lentOn = slices.Delete(in.lentOn, i, i+1)
	}
	in.cmu.Unlock()
	select {
	case <-l.back:
	default:
	}
}

// borrowLocked takes the next message of the lent connection, if the
// loan holds and one is whole in its buffer, or, with wait (a Recv that
// would wait with ctx otherwise), comes in while it waits (waitLocked);
// otherwise it ends the loan. Called with cmu held and in.loan set.
func (in *inbox) borrowLocked(ctx context.Context, wait bool) (inMsg, bool) {
	p := in.loan
	l := &p.loan
	if !l.on.Load() || in.chead != len(in.cache) || in.totalHint.Load() != 0 {
		in.endLoanLocked() // over, or others' messages first
		return inMsg{}, false
	}
	if !l.whole(true) && (!wait || !in.waitLocked(ctx, p)) {
		in.endLoanLocked() // the reader waits for the network
		return inMsg{}, false
	}
	frames, err := l.fc.read(l.conn.Load())
	if err != nil {
		in.endLoanLocked() // the reader will find it again
		return inMsg{}, false
	}
	in.borrowed++
	return inMsg{p: p, frames: frames}, true
}

// waitLocked waits on p's lent connection until a whole message is
// buffered, for a Recv with ctx on a type that waits there (waitOn). It
// gives up when ctx ends or the loan's time is up, or when interrupted:
// the reader takes the connection back, another pipe's messages come
// (push), the context is cancelled. Called with cmu held.
func (in *inbox) waitLocked(ctx context.Context, p *pipe) bool {
	if in.waitOn == nil || !in.waitOn(p) || ctx.Err() != nil {
		return false
	}
	l := &p.loan
	deadline := l.until
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	in.waiter.Store(p)
	if in.totalHint.Load() != 0 { // push may have looked for a waiter already
		in.waiter.Store(nil)
		return false
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, l.cancelFn)
	}
	zc := l.conn.Load()
	whole := false
	for !whole && zc.WaitRead(deadline, &l.stop) {
		whole = zc.MsgReady()
	}
	if stop != nil {
		stop()
	}
	in.waiter.Store(nil)
	l.stop.And(^(stopOthers | stopCancel)) // a recall stays
	return whole
}

// interruptWaiter makes a Recv waiting on another pipe's lent connection
// give up, now that p has messages: they take their turn.
func (in *inbox) interruptWaiter(p *pipe) {
	if q := in.waiter.Load(); q != nil && q != p {
		q.loan.interrupt(stopOthers)
		in.interrupted.Add(1)
	}
}

// dropLentLocked drops the whole messages the lent connections hold or
// the network already has for them: for a REQ about to send a request,
// whose reply must not be something that came before it. It reports how
// many it dropped. Called with cmu held.
func (in *inbox) dropLentLocked() int {
	n := 0
	for _, p := range in.lentOn {
		if p.loan.on.Load() {
			n += dropBuffered(p, true)
		}
	}
	return n
}

// dropBuffered drops the whole messages p's lent connection holds and,
// with readNow, those the network already has for it, and reports how
// many. Called with cmu held, by the connection's borrower or, as the
// loan ends, its reader.
func dropBuffered(p *pipe, readNow bool) int {
	l := &p.loan
	n := 0
	for ; n < maxDroppedLent && l.whole(readNow); n++ {
		frames, err := l.fc.read(l.conn.Load())
		if err != nil {
			break // the reader will find it again
		}
		p.discard(frames)
	}
	return n
}

// newRequest is called by REQ's Send before its request goes: it counts
// the request (requests, which lend reads) and drops what the lent
// connections hold (dropLentLocked), in one hold of cmu. It reports how
// many messages it dropped.
func (in *inbox) newRequest() int {
	in.cmu.Lock()
	defer in.cmu.Unlock()
	in.requests.Add(1)
	return in.dropLentLocked()
}

// maxDroppedLent bounds what dropLentLocked drops from one connection:
// a peer that keeps sending must not keep a Send from sending.
const maxDroppedLent = 1024

// endLoanLocked ends the loan, giving the connection back to its reader
// if it still waits. Called with cmu held.
func (in *inbox) endLoanLocked() {
	p := in.loan
	in.loan = nil
	if p != nil && p.loan.on.CompareAndSwap(true, false) {
		select {
		case p.loan.back <- struct{}{}:
		default:
		}
	}
}
