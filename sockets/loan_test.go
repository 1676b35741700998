package sockets

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// borrowedCount is how many messages Recv carved from lent connections.
func borrowedCount(s *Socket) int {
	s.in.cmu.Lock()
	defer s.in.cmu.Unlock()
	return s.in.borrowed
}

// burstWire is count messages as one write: small ones, and every fifth
// a multipart of two.
func burstWire(count int) []byte {
	var wire []byte
	for k := range count {
		if k%5 == 0 {
			wire = append(wire, relFrame(true, releasePattern(k, k%40))...)
			wire = append(wire, relFrame(false, releasePattern(k+1, 1+k%300))...)
			continue
		}
		wire = append(wire, relFrame(false, releasePattern(k, 1+k%64))...)
	}
	return wire
}

// checkBurstMsg fails unless m is message k of burstWire.
func checkBurstMsg(t *testing.T, k int, m Msg) {
	t.Helper()
	want := [][]byte{releasePattern(k, 1+k%64)}
	if k%5 == 0 {
		want = [][]byte{releasePattern(k, k%40), releasePattern(k+1, 1+k%300)}
	}
	checkFrames(t, fmt.Sprintf("message %d", k), m.Frames, want)
}

// checkFrames fails unless got is want, frame by frame; what names the
// message.
func checkFrames(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames, want %d", what, len(got), len(want))
	}
	for j := range want {
		if !bytes.Equal(got[j], want[j]) {
			t.Fatalf("%s, frame %d, differs from what was sent", what, j)
		}
	}
}

// burstIntoWaitingRecv binds pull, has a raw PUSH peer connect, starts a
// Recv, and once it waits, writes count messages in one go: the reader
// then has whole messages buffered while a Recv waits, and lends its
// connection. It returns the first message.
func burstIntoWaitingRecv(t *testing.T, pull *Socket, count int) Msg {
	t.Helper()
	rp := relDialRaw(t, relBind(t, pull, TCP))
	if err := rp.handshake("PUSH"); err != nil {
		t.Fatal(err)
	}
	first := recvLater(t, pull)
	specEventually(t, 10*time.Second, "Recv waits", pull.in.waiting)
	if _, err := rp.Write(burstWire(count)); err != nil {
		t.Fatal(err)
	}
	return <-first
}

// A burst received through a lent connection arrives whole and in order,
// released or held.
func TestLoanBurstIsExact(t *testing.T) {
	const count = 2000
	pull := relNew(t, PULL)
	checkBurstMsg(t, 0, burstIntoWaitingRecv(t, pull, count))
	for k := 1; k < count; k++ {
		m, err := relRecvT(pull, 10*time.Second)
		if err != nil {
			t.Fatalf("recv %d: %v", k, err)
		}
		checkBurstMsg(t, k, m)
		if k%3 != 0 {
			m.Release()
		}
	}
	if pull.stats.loans.Load() == 0 {
		t.Error("the reader never lent its connection")
	}
	if borrowedCount(pull) == 0 {
		t.Error("Recv never took a message from a lent connection")
	}
}

// A long stream of small, large and multipart messages, with Recv pausing
// longer than a loan may last now and then, arrives whole and in order
// over tcp and ipc however the connection goes back and forth between the
// reader and Recv.
func TestLoanStreamIsExact(t *testing.T) {
	const count = 30_000
	frames := func(k int) [][]byte {
		switch {
		case k%997 == 0:
			return [][]byte{releasePattern(k, 70_000)} // larger than the read buffer
		case k%5 == 0:
			return [][]byte{releasePattern(k, k%40), releasePattern(k+1, 1+k%300)}
		}
		return [][]byte{releasePattern(k, 1+k%64)}
	}
	for _, tr := range []string{TCP, IPC} {
		t.Run(tr, func(t *testing.T) {
			pull := relNew(t, PULL)
			push := relNew(t, PUSH)
			relConnect(t, push, relBind(t, pull, tr))
			sent := relSendAll(push, count, frames)
			for k := range count {
				if k%7919 == 0 {
					// A receiver busy for longer than a loan may
					// last (not synchronisation: the stream must be
					// exact whatever the timing).
					<-time.After(2 * loanMax)
				}
				m, err := relRecvT(pull, 10*time.Second)
				if err != nil {
					t.Fatalf("recv %d: %v", k, err)
				}
				checkFrames(t, fmt.Sprintf("message %d", k), m.Frames, frames(k))
				if k%3 != 0 {
					m.Release()
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A receiver that stops calling Recv during a loan does not stop its
// connection from being read: the reader takes it back after loanMax and
// queues what arrives, in order.
func TestLoanTakenBack(t *testing.T) {
	const count = 300
	pull := relNew(t, PULL)
	checkBurstMsg(t, 0, burstIntoWaitingRecv(t, pull, count))
	if pull.stats.loans.Load() == 0 {
		t.Fatal("the reader never lent its connection")
	}
	// Nobody calls Recv now: the rest must reach the inbox anyway (a
	// loan marker may be queued too).
	specEventually(t, 10*time.Second, "the rest queued", func() bool { return specInboxLen(pull) >= count-1 })
	for k := 1; k < count; k++ {
		m, err := relRecvT(pull, 10*time.Second)
		if err != nil {
			t.Fatalf("recv %d: %v", k, err)
		}
		checkBurstMsg(t, k, m)
	}
}

// Closing a socket whose reader has lent its connection returns, with
// every goroutine gone (goleak checks the rest).
func TestLoanClose(t *testing.T) {
	pull := relNew(t, PULL)
	checkBurstMsg(t, 0, burstIntoWaitingRecv(t, pull, 300))
	if pull.stats.loans.Load() == 0 {
		t.Fatal("the reader never lent its connection")
	}
	specWithin(t, 10*time.Second, "Close", func() {
		if err := pull.Close(); err != nil {
			t.Error(err)
		}
	})
}
