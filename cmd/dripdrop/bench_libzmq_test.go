package main

// dripdrop bench against a real libzmq (pyzmq) socket on the other side:
// skipped when none is installed, failed in CI (libzmqpeer.Require). The
// bench module (bench/) runs the same pairs against libzmq's C API.

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
)

// Our remote-thr into a libzmq PULL: exactly COUNT messages of SIZE zero
// octets arrive.
func TestBenchRemoteThrIntoLibzmq(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: loopback, Args: []string{"--rcvtimeo", "200"}})
	remote := startBench(t, "remote-thr", peer.Endpoint(), "32", "500")
	msgs, err := peer.RecvN(500)
	if err != nil {
		t.Fatalf("libzmq received %d of 500: %v", len(msgs), err)
	}
	for i, m := range msgs {
		if len(m) != 1 || !bytes.Equal(m[0], make([]byte, 32)) {
			t.Fatalf("message %d: %x", i, m)
		}
	}
	remote.waitOK(t)
	if extra, err := peer.Recv(); err == nil {
		t.Fatalf("a 501st message arrived: %x", extra)
	}
}

// A libzmq PUSH into our local-thr, which prints local_thr's lines.
func TestBenchLibzmqIntoLocalThr(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	local := startBench(t, "local-thr", "tcp://127.0.0.1:0", "64", "800")
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUSH", Connect: []string{local.boundEndpoint(t)}})
	if err := peer.SendN(800, 64); err != nil {
		t.Fatal(err)
	}
	checkThr(t, local.waitOK(t), 64, 800)
}

// Our remote-lat against a libzmq REP that echoes.
func TestBenchRemoteLatAgainstLibzmq(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "REP", Bind: loopback})
	remote := startBench(t, "remote-lat", peer.Endpoint(), "10", "100")
	if err := peer.Echo(100); err != nil {
		t.Fatal(err)
	}
	checkLat(t, remote.waitOK(t), 10, 100)
}

// A libzmq REQ against our local-lat: every reply is the request.
func TestBenchLibzmqAgainstLocalLat(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	local := startBench(t, "local-lat", "tcp://127.0.0.1:0", "8", "20")
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "REQ", Connect: []string{local.boundEndpoint(t)}})
	for i := range 20 {
		req := []byte(fmt.Sprintf("req-%04d", i))
		if err := peer.Send(req); err != nil {
			t.Fatal(err)
		}
		rep, err := peer.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(rep) != 1 || !bytes.Equal(rep[0], req) {
			t.Fatalf("reply %d: %q, want %q", i, rep, req)
		}
	}
	if out := local.waitOK(t); out != "" {
		t.Errorf("local-lat printed %q", out)
	}
}
