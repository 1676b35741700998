package sockets

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// roundTrip connects a PUSH to ep and checks that a message reaches pull.
func roundTrip(t *testing.T, pull *Socket, ep string) {
	t.Helper()
	push := relNew(t, PUSH, WithLinger(0))
	if err := push.Connect(ep); err != nil {
		t.Fatalf("Connect %s: %v", ep, err)
	}
	if err := relSendT(push, 5*time.Second, NewMsgString("over", ep)); err != nil {
		t.Fatal(err)
	}
	m, err := relRecvT(pull, 5*time.Second)
	if err != nil || string(m.Frames[1]) != ep {
		t.Fatalf("via %s: %v %q", ep, err, m.Frames)
	}
}

// TestTCPEndpoints: port 0 and "*" bind a real port that Endpoints shows;
// IPv4 and IPv6; Unbind takes the endpoint as given or as resolved.
func TestTCPEndpoints(t *testing.T) {
	for _, c := range []struct{ bind, connectHost string }{
		{"tcp://127.0.0.1:0", "127.0.0.1"},
		{"tcp://*:0", "127.0.0.1"},
		{"tcp://*:*", "127.0.0.1"},
		{"tcp://[::1]:0", "[::1]"},
	} {
		t.Run(c.bind, func(t *testing.T) {
			if strings.Contains(c.bind, "::1") {
				// The one reason to skip: the machine itself cannot
				// bind ::1 (no IPv6 loopback), checked here with the
				// standard library, not with our code.
				ln, err := net.Listen("tcp6", "[::1]:0")
				if err != nil {
					t.Skipf("skipped: ::1 cannot be bound on this machine (no IPv6 loopback): net.Listen(tcp6, [::1]:0): %v", err)
				}
				ln.Close()
			}
			pull := relNew(t, PULL)
			if err := pull.Bind(c.bind); err != nil {
				t.Fatal(err)
			}
			eps := pull.Endpoints()
			if len(eps) != 1 {
				t.Fatalf("Endpoints() = %q", eps)
			}
			_, port, err := net.SplitHostPort(strings.TrimPrefix(eps[0], "tcp://"))
			if err != nil || port == "0" || port == "" {
				t.Fatalf("Endpoints() = %q: no real port", eps)
			}
			roundTrip(t, pull, "tcp://"+net.JoinHostPort(strings.Trim(c.connectHost, "[]"), port))
			if err := pull.Unbind(c.bind); err != nil {
				t.Fatalf("Unbind(%q) as given: %v", c.bind, err)
			}
			if n := len(pull.Endpoints()); n != 0 {
				t.Fatalf("%d endpoints after Unbind", n)
			}
			if err := pull.Unbind(c.bind); !errors.Is(err, ErrNotBound) {
				t.Fatalf("second Unbind: %v; want ErrNotBound", err)
			}
		})
	}
	t.Run("Unbind by the resolved endpoint", func(t *testing.T) {
		pull := relNew(t, PULL)
		ep := relBind(t, pull, TCP)
		if err := pull.Unbind(ep); err != nil {
			t.Fatal(err)
		}
		if _, err := net.Dial("tcp", relTCPAddr(ep)); err == nil {
			t.Fatal("still listening after Unbind")
		}
	})
	t.Run("connect needs a host and a port", func(t *testing.T) {
		s := relNew(t, PUSH)
		for _, ep := range []string{"tcp://*:5555", "tcp://127.0.0.1:0"} {
			if err := s.Connect(ep); !errors.Is(err, ErrInvalid) {
				t.Errorf("Connect(%q): %v; want ErrInvalid", ep, err)
			}
		}
	})
}

// TestIPCEndpoints (reliability matrix R28): abstract names; the socket
// file is removed on Unbind and on Close; a stale file is replaced; a
// live one is in use.
func TestIPCEndpoints(t *testing.T) {
	t.Run("abstract name", func(t *testing.T) {
		pull := relNew(t, PULL)
		ep := fmt.Sprintf("ipc://@dripdrop-test-%d-%d", os.Getpid(), relUniq())
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		if got := pull.Endpoints(); len(got) != 1 || got[0] != ep {
			t.Fatalf("Endpoints() = %q", got)
		}
		roundTrip(t, pull, ep)
	})
	t.Run("socket file removed on Close", func(t *testing.T) {
		path := filepath.Join(relTempDir(t), "c.sock")
		pull, err := New(PULL)
		if err != nil {
			t.Fatal(err)
		}
		if err := pull.Bind("ipc://" + path); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("no socket file after Bind: %v", err)
		}
		roundTrip(t, pull, "ipc://"+path)
		pull.Close()
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("socket file still there after Close: %v", err)
		}
	})
	t.Run("stale socket file replaced, live one in use", func(t *testing.T) {
		path := filepath.Join(relTempDir(t), "s.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close() // leaves the file behind, as a crashed process would
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("no stale file: %v", err)
		}
		pull := relNew(t, PULL)
		if err := pull.Bind("ipc://" + path); err != nil {
			t.Fatalf("Bind over a stale socket file: %v", err)
		}
		roundTrip(t, pull, "ipc://"+path)
		other := relNew(t, PULL)
		if err := other.Bind("ipc://" + path); !errors.Is(err, ErrAddrInUse) {
			t.Fatalf("Bind over a live socket: %v; want ErrAddrInUse", err)
		}
		roundTrip(t, pull, "ipc://"+path) // the first is untouched
	})
	t.Run("a regular file is not replaced", func(t *testing.T) {
		path := filepath.Join(relTempDir(t), "regular")
		if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		pull := relNew(t, PULL)
		if err := pull.Bind("ipc://" + path); !errors.Is(err, ErrAddrInUse) {
			t.Fatalf("Bind over a regular file: %v; want ErrAddrInUse", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "keep" {
			t.Fatal("the regular file was replaced")
		}
	})
}

// TestDisconnectOneOfTwo (reliability matrix R29): after Disconnect of one
// endpoint, everything goes to the other; Disconnect and Unbind of an
// endpoint the socket does not have fail with ErrNotBound.
func TestDisconnectOneOfTwo(t *testing.T) {
	for _, tr := range []string{Inproc, TCP} {
		t.Run(tr, func(t *testing.T) {
			a, b := relNew(t, PULL), relNew(t, PULL)
			epA, epB := relBind(t, a, tr), relBind(t, b, tr)
			push := relNew(t, PUSH, WithLinger(0))
			relConnect(t, push, epA)
			relConnect(t, push, epB)
			if !relWaitUntil(5*time.Second, func() bool { return specConnected(push) == 2 }) {
				t.Fatal("not connected to both")
			}
			if err := push.Disconnect(epA); err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				if err := relSendT(push, 5*time.Second, NewMsgString(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 20 {
				if m, err := relRecvT(b, 5*time.Second); err != nil || string(m.Frames[0]) != fmt.Sprint(i) {
					t.Fatalf("message %d: %v %q", i, err, m.Frames)
				}
			}
			if m, err := relRecvT(a, 100*time.Millisecond); err == nil {
				t.Fatalf("the disconnected endpoint got %q", m.Frames)
			}
			if err := push.Disconnect(epA); !errors.Is(err, ErrNotBound) {
				t.Errorf("second Disconnect: %v; want ErrNotBound", err)
			}
			if err := push.Unbind(epA); !errors.Is(err, ErrNotBound) {
				t.Errorf("Unbind of a connected endpoint: %v; want ErrNotBound", err)
			}
		})
	}
}

// TestInprocConnectBeforeBindPubSub (reliability matrix R29): a SUB that
// connects before its PUB binds gets its subscription there.
func TestInprocConnectBeforeBindPubSub(t *testing.T) {
	ep := fmt.Sprintf("inproc://cbb-%d", relUniq())
	sub := relNew(t, SUB)
	relSubscribe(t, sub, []byte("t"))
	relConnect(t, sub, ep)
	pub := relNew(t, PUB)
	if err := pub.Bind(ep); err != nil {
		t.Fatal(err)
	}
	if !relWaitUntil(5*time.Second, func() bool { return specPubHas(pub, "t") }) {
		t.Fatal("the subscription never reached the PUB")
	}
	if err := pub.Send(relCtx(t, time.Second), NewMsgString("u-no")); err != nil {
		t.Fatal(err)
	}
	if err := pub.Send(relCtx(t, time.Second), NewMsgString("t-yes")); err != nil {
		t.Fatal(err)
	}
	if m, err := relRecvT(sub, 5*time.Second); err != nil || string(m.Frames[0]) != "t-yes" {
		t.Fatalf("got %q, %v", m.Frames, err)
	}
}
