package sockets

import (
	"context"
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
type loanState struct {
	on   atomic.Bool   // a loan is open
	back chan struct{} // Recv gives the connection back (one slot)
	zc   *zmtp.Conn    // the connection and its carver, for Recv; set before a loan
	fc   *frameCarver
}

// loanMax bounds how long a reader leaves its connection with Recv.
const loanMax = 20 * time.Millisecond

// lendable reports whether a socket's readers lend their connections: its
// messages go to the inbox as they are (PULL), one at a time.
func (s *Socket) lendable() bool { return s.typ == PULL && !s.opts.conflate }

// lend lends p's connection to Recv until it is given back, loanMax has
// passed or ctx ends. Called by p's reader with nothing held back from the
// inbox.
func (s *Socket) lend(ctx context.Context, p *pipe, zc *zmtp.Conn, fc *frameCarver, t *time.Timer) {
	l := &p.loan
	l.zc, l.fc = zc, fc
	l.on.Store(true)
	s.stats.loans.Add(1)
	s.in.forcePush(p, nil) // the marker, behind what was handed over
	t.Reset(loanMax)
	select {
	case <-l.back:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	in := &s.in
	in.cmu.Lock() // no Recv carves from it past this
	l.on.Store(false)
	if in.loan == p {
		in.loan = nil
	}
	in.cmu.Unlock()
	select {
	case <-l.back:
	default:
	}
}

// borrowLocked takes the next message of the lent connection, if the
// loan holds and one is whole in its buffer; otherwise it ends the loan.
// Called with cmu held and in.loan set.
func (in *inbox) borrowLocked() (inMsg, bool) {
	p := in.loan
	l := &p.loan
	if !l.on.Load() || in.chead != len(in.cache) || in.totalHint.Load() != 0 {
		in.endLoanLocked() // over, or others' messages first
		return inMsg{}, false
	}
	if !l.zc.MsgReady() && (!l.zc.ReadNow() || !l.zc.MsgReady()) {
		in.endLoanLocked() // the reader waits for the network
		return inMsg{}, false
	}
	frames, err := l.fc.read(l.zc)
	if err != nil {
		in.endLoanLocked() // the reader will find it again
		return inMsg{}, false
	}
	in.borrowed++
	return inMsg{p: p, frames: frames}, true
}

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
