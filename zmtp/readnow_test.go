package zmtp

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// ReadNow never waits: false with nothing there; once the peer's message
// has arrived it brings it in whole, and ReadMsg returns it without
// waiting; after the peer closes, the end of the stream is kept for
// ReadMsg.
func TestReadNow(t *testing.T) {
	tx, rx := tcpPair(t, Push, Pull)
	defer tx.Close()
	defer rx.Close()
	if rx.ReadNow() {
		t.Fatal("ReadNow brought something in before anything was sent")
	}
	if rx.MsgReady() {
		t.Fatal("MsgReady before anything was sent")
	}
	want := [][]byte{[]byte("head"), bytes.Repeat([]byte{'b'}, 3000)}
	if err := tx.WriteMsg(want); err != nil {
		t.Fatal(err)
	}
	if err := tx.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !rx.MsgReady() {
		if time.Now().After(deadline) {
			t.Fatal("the message never became whole through ReadNow")
		}
		if !rx.ReadNow() {
			<-time.After(time.Millisecond) // polling: nothing there yet
		}
	}
	got, err := rx.ReadMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
		t.Fatalf("got %q, want %q", got, want)
	}
	tx.Close()
	for rx.rd.err == nil { // ReadNow meets the end of the stream and keeps it
		if time.Now().After(deadline) {
			t.Fatal("ReadNow never met the end of the stream")
		}
		if rx.ReadNow() {
			t.Fatal("ReadNow brought octets in after the peer closed")
		}
		<-time.After(time.Millisecond) // polling: the close is on its way
	}
	if _, err := rx.ReadMsg(nil); !errors.Is(err, io.EOF) {
		t.Fatalf("after the peer closed: ReadMsg error %v, want the end of the stream", err)
	}
}

// ReadNow on a connection without raw reads (not a network connection)
// reads nothing and never blocks.
func TestReadNowWithoutRaw(t *testing.T) {
	c, _ := dialRaw(t, Config{SocketType: Pull}, Push, rawPeerOpts{})
	if c.ReadNow() {
		t.Fatal("ReadNow read a connection without raw reads")
	}
}
