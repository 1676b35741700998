package main

// dripdrop cat against a real libzmq (pyzmq) peer; skipped when none is
// installed, failed in CI (libzmqpeer.Require).

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
)

var loopback = []string{"tcp://127.0.0.1:0"}

func equalFrames(t *testing.T, got [][]byte, want ...string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = string(got[i]) == want[i]
	}
	if !ok {
		t.Fatalf("libzmq peer received %q, want %q", got, want)
	}
}

// cat PULL connects to a libzmq PUSH that binds and sends the sendn
// messages, then a two-frame text message.
func TestCatLibzmqPull(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUSH", Bind: loopback})
	c := startCat(t, strings.NewReader(""), "-n", "4", "-connect", peer.Endpoint(), "PULL")
	// Size 8: message i is i as 8 big-endian octets, no newline among them
	// for i < 3.
	if err := peer.SendN(3, 8); err != nil {
		t.Fatal(err)
	}
	if err := peer.Send([]byte("hello"), []byte("libzmq")); err != nil {
		t.Fatal(err)
	}
	c.waitOK(t)
	var want bytes.Buffer
	for i := range uint64(3) {
		want.Write(libzmqpeer.Payload(i, 8))
		want.WriteByte('\n')
	}
	want.WriteString("hello|libzmq\n")
	c.wantStdout(t, want.String())
}

// cat PUSH connects to a libzmq PULL that binds; what cat queued before the
// connection is delivered before it exits.
func TestCatLibzmqPush(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: loopback})
	c := startCat(t, strings.NewReader("hello|world\n\nbye\n"), "-connect", peer.Endpoint(), "PUSH")
	c.waitOK(t)
	msgs, err := peer.RecvN(3)
	if err != nil {
		t.Fatal(err)
	}
	equalFrames(t, msgs[0], "hello", "world")
	equalFrames(t, msgs[1], "")
	equalFrames(t, msgs[2], "bye")
}

// cat REQ connects to a libzmq REP that echoes two requests.
func TestCatLibzmqReq(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "REP", Bind: loopback})
	echoed := make(chan error, 1)
	go func() { echoed <- peer.Echo(2) }()
	c := startCat(t, strings.NewReader("q1\nq2|x\n"), "-connect", peer.Endpoint(), "REQ")
	c.waitOK(t)
	if err := <-echoed; err != nil { // Echo is bounded by the peer's timeouts
		t.Fatal(err)
	}
	c.wantStdout(t, "q1\nq2|x\n")
}

// cat DEALER -echo connects to a libzmq ROUTER, which learns cat's
// -identity from the handshake.
func TestCatLibzmqDealerEcho(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "ROUTER", Bind: loopback, Args: []string{"--router-mandatory"}})
	c := startCat(t, strings.NewReader(""), "-echo", "-n", "1", "-identity", "cat1", "-connect", peer.Endpoint(), "DEALER")
	// With ROUTER_MANDATORY the send fails until cat has connected; retry
	// until it goes through (bounded by the test's deadline).
	deadline := time.Now().Add(catDeadline)
	for {
		err := peer.Send([]byte("cat1"), []byte("ping"))
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "EHOSTUNREACH") {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("cat never connected to the libzmq ROUTER")
		}
		if _, err := peer.Cmd("sleep 5"); err != nil { // pace the retries
			t.Fatal(err)
		}
	}
	msg, err := peer.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalFrames(t, msg, "cat1", "ping")
	c.waitOK(t)
	c.wantStdout(t, "ping\n")
}
