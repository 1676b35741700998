package curve

// Helpers for the libzmq interop tests: a libzmq 4.3 peer (pyzmq, through
// internal/libzmqpeer) on tcp or ipc, in either TCP role, with our engine
// on the other end.

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// interopTimeout bounds each wait of the interop tests.
const interopTimeout = 20 * time.Second

// lzLink is one connection between our engine and a libzmq peer.
type lzLink struct {
	transport string // "tcp" or "ipc"
	weListen  bool   // we accept, the peer connects (else the peer binds)
	peerType  string
	peerArgs  []string
	cfg       zmtp.Config
}

// lzResult is a link's outcome: the peer always; the Conn or our
// handshake error; the tap of our side of the wire.
type lzResult struct {
	c    *zmtp.Conn
	err  error
	peer *libzmqpeer.Peer
	tap  *tapConn
}

// ipcPath returns a short socket path (sun_path has 108 octets).
func ipcPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ddcurve")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

// linkLibzmq starts the peer, opens the connection and runs our handshake.
func linkLibzmq(t testing.TB, l lzLink) lzResult {
	t.Helper()
	libzmqpeer.Require(t)
	var out lzResult
	var nc net.Conn
	network, addr := "tcp", "127.0.0.1:0"
	if l.transport == "ipc" {
		network, addr = "unix", ipcPath(t)
	}
	if l.weListen {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ep := "tcp://" + ln.Addr().String()
		if network == "unix" {
			ep = "ipc://" + addr
		}
		out.peer = libzmqpeer.Start(t, libzmqpeer.Options{Type: l.peerType, Connect: []string{ep}, Args: l.peerArgs})
		switch ln := ln.(type) {
		case *net.TCPListener:
			_ = ln.SetDeadline(time.Now().Add(interopTimeout))
		case *net.UnixListener:
			_ = ln.SetDeadline(time.Now().Add(interopTimeout))
		}
		if nc, err = ln.Accept(); err != nil {
			t.Fatalf("accept the libzmq %s: %v\npeer stderr:\n%s", l.peerType, err, out.peer.Stderr())
		}
	} else {
		ep := "tcp://127.0.0.1:0"
		if network == "unix" {
			ep = "ipc://" + addr
		}
		out.peer = libzmqpeer.Start(t, libzmqpeer.Options{Type: l.peerType, Bind: []string{ep}, Args: l.peerArgs})
		if network == "tcp" {
			addr = strings.TrimPrefix(out.peer.Endpoint(), "tcp://")
		}
		var err error
		if nc, err = net.DialTimeout(network, addr, interopTimeout); err != nil {
			t.Fatalf("dial the libzmq %s at %s: %v", l.peerType, addr, err)
		}
	}
	out.tap = &tapConn{Conn: nc}
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	out.c, out.err = zmtp.Handshake(ctx, out.tap, l.cfg)
	if out.c != nil {
		c := out.c
		t.Cleanup(func() { _ = c.Close() })
	}
	return out
}

// mustLink is linkLibzmq for links that must come up.
func mustLink(t testing.TB, l lzLink) lzResult {
	t.Helper()
	r := linkLibzmq(t, l)
	if r.err != nil {
		t.Fatalf("handshake as %s with a libzmq %s over %s: %v\npeer stderr:\n%s", l.cfg.SocketType, l.peerType, l.transport, r.err, r.peer.Stderr())
	}
	return r
}

// peerCurveServer are the peer.py flags of a libzmq CURVE server. Keys
// go in the --flag=value form: a Z85 key may start with "-".
func peerCurveServer(secret Key, extra ...string) []string {
	return append([]string{"--curve-server", "--curve-secret=" + secret.String()}, extra...)
}

// peerCurveClient are the peer.py flags of a libzmq CURVE client.
func peerCurveClient(keys KeyPair, serverKey Key, extra ...string) []string {
	return append([]string{"--curve-serverkey=" + serverKey.String(), "--curve-public=" + keys.Public.String(), "--curve-secret=" + keys.Secret.String()}, extra...)
}

// msgReader reads a Conn in the background.
type msgReader struct {
	ch chan readResult
}

type readResult struct {
	msg [][]byte
	err error
}

// startReading reads c until it fails; the cleanup closes c and waits.
func startReading(t testing.TB, c *zmtp.Conn) *msgReader {
	r := &msgReader{ch: make(chan readResult, 64)}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			m, err := c.ReadMsg(nil)
			select {
			case r.ch <- readResult{m, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		close(done)
		<-exited
	})
	return r
}

func (r *msgReader) next(t testing.TB) [][]byte {
	t.Helper()
	select {
	case res := <-r.ch:
		if res.err != nil {
			t.Fatalf("ReadMsg: %v", res.err)
		}
		return res.msg
	case <-time.After(interopTimeout):
		t.Fatalf("no message within %v", interopTimeout)
		return nil
	}
}

// waitUntil polls cond every 20 ms until it holds or interopTimeout passes.
func waitUntil(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(interopTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, interopTimeout)
		}
		<-tick.C
	}
}

// dialTCP connects to addr; the cleanup closes the connection.
func dialTCP(t testing.TB, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, interopTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}
