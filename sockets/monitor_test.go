package sockets

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// TestMonitorEvents follows one connection's life on both sockets'
// monitors, over each transport: listening, accepted and connected,
// handshake succeeded on both sides, disconnected on both when the client
// goes, closed for the client's dialer and for the listener on Unbind.
func TestMonitorEvents(t *testing.T) {
	for _, tr := range []string{TCP, IPC, Inproc} {
		t.Run(tr, func(t *testing.T) {
			sevs, smon := newRelEvents(t)
			cevs, cmon := newRelEvents(t)
			srv := relNew(t, PULL, smon)
			ep := relBind(t, srv, tr)
			if e, ok := sevs.wait(5*time.Second, 1, relIs(EventListening)); !ok || e.Endpoint != ep {
				t.Fatalf("listening: %v %v (endpoint %s)", e, ok, ep)
			}
			cli := relNew(t, PUSH, cmon, WithLinger(0))
			if err := cli.Connect(ep); err != nil {
				t.Fatal(err)
			}
			for _, w := range []struct {
				evs *relEvents
				typ EventType
			}{{cevs, EventConnected}, {sevs, EventAccepted}, {cevs, EventHandshakeSucceeded}, {sevs, EventHandshakeSucceeded}} {
				e, ok := w.evs.wait(5*time.Second, 1, relIs(w.typ))
				if !ok {
					t.Fatalf("no %v event; server:\n%sclient:\n%s", w.typ, sevs, cevs)
				}
				if e.Time.IsZero() || e.Endpoint == "" {
					t.Errorf("event %v lacks its time or endpoint", e)
				}
				if tr != Inproc && w.typ != EventConnected && e.Peer == "" {
					t.Errorf("event %v lacks the peer's address", e)
				}
			}
			cli.Close()
			if _, ok := sevs.wait(5*time.Second, 1, relIs(EventDisconnected)); !ok {
				t.Fatalf("the server saw no disconnect:\n%s", sevs)
			}
			if _, ok := cevs.wait(5*time.Second, 1, relIs(EventDisconnected)); !ok {
				t.Fatalf("the client saw no disconnect:\n%s", cevs)
			}
			if e, ok := cevs.wait(5*time.Second, 1, relIs(EventClosed)); !ok || e.Endpoint != ep {
				t.Fatalf("the client's dialer did not report closed:\n%s", cevs)
			}
			if err := srv.Unbind(ep); err != nil {
				t.Fatal(err)
			}
			if e, ok := sevs.wait(5*time.Second, 1, relIs(EventClosed)); !ok || e.Endpoint != ep {
				t.Fatalf("the listener did not report closed:\n%s", sevs)
			}
			if tr == IPC {
				if _, err := os.Stat(strings.TrimPrefix(ep, "ipc://")); !os.IsNotExist(err) {
					t.Errorf("the ipc socket file is still there after Unbind: %v", err)
				}
			}
		})
	}
}

// TestMonitorFailures: each failure is reported with its reason.
func TestMonitorFailures(t *testing.T) {
	t.Run("handshake failed: socket types that cannot talk", func(t *testing.T) {
		for _, tr := range []string{TCP, IPC, Inproc} {
			sevs, smon := newRelEvents(t)
			cevs, cmon := newRelEvents(t)
			pub := relNew(t, PUB, smon)
			ep := relBind(t, pub, tr)
			push := relNew(t, PUSH, cmon, WithLinger(0))
			relConnect(t, push, ep)
			for name, evs := range map[string]*relEvents{"server": sevs, "client": cevs} {
				e, ok := evs.wait(5*time.Second, 1, relIs(EventHandshakeFailed))
				if !ok {
					t.Fatalf("%s: %s: no handshake-failed event:\n%s", tr, name, evs)
				}
				// Each side reads the other's READY (sent before either
				// reads) and refuses it itself.
				if !errors.Is(e.Err, zmtp.ErrSocketType) {
					t.Errorf("%s: %s: handshake failed with %v; want zmtp.ErrSocketType", tr, name, e.Err)
				}
			}
		}
	})
	t.Run("bind failed: address in use", func(t *testing.T) {
		a := relNew(t, PULL)
		ep := relBind(t, a, TCP)
		evs, mon := newRelEvents(t)
		b := relNew(t, PULL, mon)
		err := b.Bind(ep)
		if !errors.Is(err, ErrAddrInUse) {
			t.Fatalf("Bind of a taken endpoint: %v; want ErrAddrInUse", err)
		}
		if e, ok := evs.wait(time.Second, 1, relIs(EventBindFailed)); !ok || !errors.Is(e.Err, ErrAddrInUse) {
			t.Fatalf("bind-failed event: %v %v", e, ok)
		}
	})
	t.Run("connect delayed and retried, with the dial error", func(t *testing.T) {
		evs, mon := newRelEvents(t)
		s := relNew(t, PUSH, mon, WithReconnectInterval(10*time.Millisecond, 0), WithLinger(0))
		relConnect(t, s, "ipc://"+relTempDir(t)+"/nobody.sock")
		e, ok := evs.wait(5*time.Second, 2, relIs(EventConnectDelayed))
		if !ok || e.Err == nil {
			t.Fatalf("connect-delayed: %v %v; want the dial error as its reason", e, ok)
		}
		if _, ok := evs.wait(5*time.Second, 2, relIs(EventConnectRetried)); !ok {
			t.Fatalf("no connect-retried:\n%s", evs)
		}
	})
	t.Run("reconnect stopped: the peer refused us for good", func(t *testing.T) {
		srv := relNew(t, PULL, WithPlainServer(zmtp.AuthenticatorFunc(func(context.Context, *zmtp.AuthRequest) (zmtp.AuthResult, error) {
			return zmtp.AuthResult{Status: zmtp.StatusDenied}, nil
		})))
		ep := relBind(t, srv, TCP)
		evs, mon := newRelEvents(t)
		cli := relNew(t, PUSH, mon, WithPlainClient("u", "p"), WithLinger(0), WithReconnectInterval(10*time.Millisecond, 0))
		relConnect(t, cli, ep)
		e, ok := evs.wait(5*time.Second, 1, relIs(EventReconnectStopped))
		if !ok || !errors.Is(e.Err, zmtp.ErrAuth) {
			t.Fatalf("reconnect-stopped: %v %v; want it, with the refusal as the reason:\n%s", e, ok, evs)
		}
		if n := evs.count(EventConnectRetried); n != 0 {
			t.Errorf("%d retries after a permanent refusal", n)
		}
	})
	t.Run("events that do not fit are counted, never block", func(t *testing.T) {
		ch := make(chan Event, 1)
		s := relNew(t, PUSH, WithMonitor(ch), WithReconnectInterval(time.Millisecond, 0), WithLinger(0))
		relConnect(t, s, "ipc://"+relTempDir(t)+"/nobody.sock")
		if !relWaitUntil(5*time.Second, func() bool { return s.Stats().EventsDropped > 0 }) {
			t.Fatal("Stats().EventsDropped stayed 0 with a full monitor channel")
		}
	})
}

func TestEventNames(t *testing.T) {
	for typ := EventListening; typ <= EventReconnectStopped; typ++ {
		if n := typ.String(); n == "" || strings.HasPrefix(n, "EventType(") {
			t.Errorf("event type %d has no name", typ)
		}
	}
	if n := EventType(200).String(); n != "EventType(200)" {
		t.Errorf("unknown event type: %q", n)
	}
	e := Event{Type: EventDisconnected, Endpoint: "tcp://x:1", Peer: "y:2", Err: errors.New("gone")}
	if got := e.String(); got != "disconnected tcp://x:1 peer y:2: gone" {
		t.Errorf("Event.String() = %q", got)
	}
}
