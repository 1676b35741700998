package zmtp

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// WaitRead gives up at its deadline without failing the connection, which
// then reads on as before; it waits for a message sent while it waits and
// brings it in whole; after the peer closes, the end of the stream is kept
// for ReadMsg.
func TestWaitRead(t *testing.T) {
	tx, rx := tcpPair(t, Push, Pull)
	defer tx.Close()
	defer rx.Close()
	var stop atomic.Uint32
	start := time.Now()
	if rx.WaitRead(start.Add(20*time.Millisecond), &stop) {
		t.Fatal("WaitRead brought something in before anything was sent")
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("WaitRead gave up after %v, before its deadline", waited)
	}
	if rx.Err() != nil || rx.MsgReady() {
		t.Fatalf("the passed deadline failed the connection: %v", rx.Err())
	}
	want := [][]byte{[]byte("head"), bytes.Repeat([]byte{'b'}, 3000)}
	sent := make(chan error, 1)
	go func() {
		err := tx.WriteMsg(want)
		if err == nil {
			err = tx.Flush()
		}
		sent <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !rx.MsgReady() {
		if !rx.WaitRead(deadline, &stop) {
			t.Fatal("WaitRead gave up before the message was whole")
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	got, err := rx.ReadMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
		t.Fatalf("got %q, want %q", got, want)
	}
	tx.Close()
	if rx.WaitRead(deadline, &stop) {
		t.Fatal("WaitRead brought octets in after the peer closed")
	}
	if _, err := rx.ReadMsg(nil); !errors.Is(err, io.EOF) {
		t.Fatalf("after the peer closed: ReadMsg error %v, want the end of the stream", err)
	}
}

// Interrupt ends a WaitRead that waits, without failing the connection;
// a stop word set before WaitRead begins keeps it from waiting at all.
func TestWaitReadInterrupt(t *testing.T) {
	tx, rx := tcpPair(t, Push, Pull)
	defer tx.Close()
	defer rx.Close()
	var stop atomic.Uint32
	done := make(chan bool, 1)
	go func() { done <- rx.WaitRead(time.Time{}, &stop) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rx.Interrupt() // repeated: the first may come before WaitRead waits
		select {
		case got := <-done:
			if got {
				t.Fatal("an interrupted WaitRead reported octets")
			}
		case <-time.After(time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("Interrupt never ended the WaitRead")
			}
			continue
		}
		break
	}
	stop.Store(1)
	start := time.Now()
	if rx.WaitRead(time.Time{}, &stop) {
		t.Fatal("WaitRead with its stop word set reported octets")
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("WaitRead with its stop word set waited %v", waited)
	}
	stop.Store(0)
	if err := tx.WriteMsg([][]byte{[]byte("after")}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := rx.ReadMsg(nil) // the interrupts left no deadline behind
	if err != nil || len(got) != 1 || string(got[0]) != "after" {
		t.Fatalf("ReadMsg after the interrupts: %q, %v", got, err)
	}
}

// WaitRead on a connection without raw reads gives up at once.
func TestWaitReadWithoutRaw(t *testing.T) {
	c, _ := dialRaw(t, Config{SocketType: Pull}, Push, rawPeerOpts{})
	var stop atomic.Uint32
	if c.WaitRead(time.Time{}, &stop) {
		t.Fatal("WaitRead read a connection without raw reads")
	}
}
