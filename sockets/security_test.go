package sockets

// The security options, the policy of servers without an authenticator,
// CURVE failures, the ZAP timeout, and ServeZAP.

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

func TestSecurityOptionErrors(t *testing.T) {
	t.Parallel()
	other := zapKeyPair()
	for _, c := range []struct {
		name string
		opt  Option
		want string
	}{
		{"CURVE server, zero secret", WithCurveServer(curve.Key{}), "secret key"},
		{"CURVE client, zero server key", WithCurveClient(zapClientKeys, curve.Key{}), "server's public key"},
		{"CURVE client, zero pair", WithCurveClient(curve.KeyPair{}, zapServerKeys.Public), "key pair"},
		{"CURVE client, public key of another pair", WithCurveClient(curve.KeyPair{Public: other.Public, Secret: zapClientKeys.Secret}, zapServerKeys.Public), "does not belong"},
		{"WithZAP(nil)", WithZAP(nil), "WithZAP"},
		{"ZAP timeout 0", WithZAPTimeout(0), "ZAP timeout"},
		{"ZAP domain over 255 octets", WithZAPDomain(strings.Repeat("d", 256)), "ZAP domain"},
	} {
		_, err := New(PULL, c.opt)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v; want ErrInvalid saying %q", c.name, err, c.want)
		}
	}
	// A pair given by its secret half alone gets its public half.
	s, err := New(PUSH, WithCurveClient(curve.KeyPair{Secret: zapClientKeys.Secret}, zapServerKeys.Public))
	if err != nil {
		t.Fatalf("CURVE client from a secret key alone: %v", err)
	}
	s.Close()
	if _, err := ServeZAP(zapTestEndpoint(), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("ServeZAP(nil) = %v, want ErrInvalid", err)
	}
}

// secPair connects a client to a server over tcp and returns both with
// their event logs. The client tries once unless retry is set.
func secPair(t *testing.T, retry bool, srvOpts, cliOpts []Option) (srv, cli *Socket, srvEvs, cliEvs *relEvents) {
	t.Helper()
	srvEvs, srvMon := newRelEvents(t)
	cliEvs, cliMon := newRelEvents(t)
	srv = relNew(t, PULL, append([]Option{srvMon, WithLinger(0)}, srvOpts...)...)
	addr := relBind(t, srv, TCP)
	ivl := time.Duration(-1)
	if retry {
		ivl = 20 * time.Millisecond
	}
	cli = relNew(t, PUSH, append([]Option{cliMon, WithLinger(0), WithReconnectInterval(ivl, 0)}, cliOpts...)...)
	if err := cli.Connect(addr); err != nil {
		t.Fatal(err)
	}
	return srv, cli, srvEvs, cliEvs
}

// secDelivered sends one message and reports whether it arrived in d.
func secDelivered(t *testing.T, srv, cli *Socket, d time.Duration) bool {
	t.Helper()
	if err := relSendT(cli, time.Second, NewMsgString("secret message")); err != nil {
		t.Fatal(err)
	}
	m, err := relRecvT(srv, d)
	if err == nil && (len(m.Frames) != 1 || string(m.Frames[0]) != "secret message") {
		t.Fatalf("received %q", m.Frames)
	}
	return err == nil
}

// secRefused checks that the server refused the client with want and the
// client was told reason, and that nothing got through.
func secRefused(t *testing.T, srv, cli *Socket, srvEvs, cliEvs *relEvents, want error, reason string) {
	t.Helper()
	if secDelivered(t, srv, cli, 300*time.Millisecond) {
		t.Fatal("a message was delivered to a refused client's server")
	}
	e, ok := srvEvs.wait(5*time.Second, 1, relIs(EventHandshakeFailed))
	if !ok || !errors.Is(e.Err, want) {
		t.Fatalf("server handshake failure: %v (%v); want %v:\n%s", e.Err, ok, want, srvEvs)
	}
	ce, ok := cliEvs.wait(5*time.Second, 1, relIs(EventHandshakeFailed))
	var pe *zmtp.PeerError
	if reason != "" && (!ok || !errors.As(ce.Err, &pe) || pe.Reason != reason) {
		t.Fatalf("client handshake failure: %v (%v); want ERROR %q:\n%s", ce.Err, ok, reason, cliEvs)
	}
	if srvEvs.count(EventHandshakeSucceeded)+cliEvs.count(EventHandshakeSucceeded) != 0 {
		t.Fatalf("a refused connection became ready:\n%s\n%s", srvEvs, cliEvs)
	}
}

func curveClient(kp curve.KeyPair) Option { return WithCurveClient(kp, zapServerKeys.Public) }

// TestNoAuthenticatorPolicy pins what servers without an authenticator do
// when no ZAP handler is bound (libzmq 4.3's behaviour): PLAIN refuses,
// CURVE lets in any client that knows its key, NULL with a ZAP domain
// lets everyone in, and WithZAPEnforce makes them all refuse.
func TestNoAuthenticatorPolicy(t *testing.T) {
	t.Parallel()
	nobody := withZAPEndpoint(zapTestEndpoint()) // never bound
	t.Run("PLAIN refuses", func(t *testing.T) {
		t.Parallel()
		srv, cli, se, ce := secPair(t, false, []Option{nobody, WithPlainServer(nil)}, []Option{WithPlainClient("u", "p")})
		secRefused(t, srv, cli, se, ce, ErrNoAuthenticator, "500")
	})
	t.Run("CURVE lets in a client that knows the key", func(t *testing.T) {
		t.Parallel()
		srv, cli, se, _ := secPair(t, false, []Option{nobody, WithCurveServer(zapServerKeys.Secret)}, []Option{curveClient(zapKeyPair())})
		if !secDelivered(t, srv, cli, 10*time.Second) {
			t.Fatalf("nothing delivered:\n%s", se)
		}
	})
	t.Run("CURVE with WithZAPEnforce refuses", func(t *testing.T) {
		t.Parallel()
		srv, cli, se, ce := secPair(t, false, []Option{nobody, WithZAPEnforce(), WithCurveServer(zapServerKeys.Secret)}, []Option{curveClient(zapClientKeys)})
		secRefused(t, srv, cli, se, ce, ErrNoAuthenticator, "500")
	})
	t.Run("NULL with a domain lets in", func(t *testing.T) {
		t.Parallel()
		srv, cli, se, _ := secPair(t, false, []Option{nobody, WithZAPDomain("d")}, nil)
		if !secDelivered(t, srv, cli, 10*time.Second) {
			t.Fatalf("nothing delivered:\n%s", se)
		}
	})
	t.Run("NULL with a domain and WithZAPEnforce refuses", func(t *testing.T) {
		t.Parallel()
		srv, cli, se, ce := secPair(t, false, []Option{nobody, WithZAPDomain("d"), WithZAPEnforce()}, nil)
		secRefused(t, srv, cli, se, ce, ErrNoAuthenticator, "500")
	})
	t.Run("NULL without a domain does not ask a bound handler", func(t *testing.T) {
		t.Parallel()
		ep := zapTestEndpoint()
		reqs := startZAPHandler(t, ep, zapCase{reply: zapStatus("400")})
		srv, cli, se, _ := secPair(t, false, []Option{withZAPEndpoint(ep)}, nil)
		if !secDelivered(t, srv, cli, 10*time.Second) {
			t.Fatalf("nothing delivered:\n%s", se)
		}
		if len(reqs) != 0 {
			t.Fatalf("the handler was asked %d times", len(reqs))
		}
	})
}

// TestCurveRefusals: a wrong server key, an unknown client key. The
// dialer keeps retrying after a server that hangs up without a word (a
// HELLO for another key looks like a network failure) and stops after an
// ERROR from the authenticator.
func TestCurveRefusals(t *testing.T) {
	t.Parallel()
	t.Run("wrong server key", func(t *testing.T) {
		t.Parallel()
		wrong := zapKeyPair().Public
		srv, cli, se, ce := secPair(t, true, []Option{WithCurveServer(zapServerKeys.Secret)},
			[]Option{WithCurveClient(zapClientKeys, wrong)})
		secRefused(t, srv, cli, se, ce, curve.ErrCrypto, "")
		e, _ := ce.wait(5*time.Second, 1, relIs(EventHandshakeFailed))
		if !errors.Is(e.Err, curve.ErrNoWelcome) {
			t.Errorf("client handshake failed with %v; want curve.ErrNoWelcome", e.Err)
		}
		if _, ok := ce.wait(5*time.Second, 2, relIs(EventConnectRetried)); !ok {
			t.Fatalf("the client stopped retrying after a server that hung up:\n%s", ce)
		}
		if n := ce.count(EventReconnectStopped); n != 0 {
			t.Fatalf("reconnect stopped:\n%s", ce)
		}
	})
	t.Run("unknown client key", func(t *testing.T) {
		t.Parallel()
		auth := NewAuth()
		auth.AllowCurve(zapClientKeys.Public)
		srv, cli, se, ce := secPair(t, true, []Option{WithCurveServer(zapServerKeys.Secret), WithZAP(auth)},
			[]Option{curveClient(zapKeyPair())})
		secRefused(t, srv, cli, se, ce, zmtp.ErrAuth, "400")
		if _, ok := ce.wait(5*time.Second, 1, relIs(EventReconnectStopped)); !ok {
			t.Fatalf("the dialer did not stop after ERROR 400:\n%s", ce)
		}
	})
	t.Run("known client key", func(t *testing.T) {
		t.Parallel()
		auth := NewAuth()
		auth.AllowCurve(zapClientKeys.Public)
		srv, cli, se, _ := secPair(t, false, []Option{WithCurveServer(zapServerKeys.Secret), WithZAP(auth)},
			[]Option{curveClient(zapClientKeys)})
		if err := relSendT(cli, time.Second, NewMsgString("x")); err != nil {
			t.Fatal(err)
		}
		m, err := relRecvT(srv, 10*time.Second)
		if err != nil {
			t.Fatalf("%v:\n%s", err, se)
		}
		if m.Peer == nil || m.Peer.UserID != zapClientKeys.Public.String() {
			t.Fatalf("Peer = %+v; want the client key in Z85 as User-Id", m.Peer)
		}
	})
}

// TestZAP300BoundedSend: a server whose authenticator says 300 keeps
// turning the client away; the client retries, and a sender waiting for a
// peer gets its context's error in time, never a permanent hang (libzmq
// #2329).
func TestZAP300BoundedSend(t *testing.T) {
	t.Parallel()
	const wait = 300 * time.Millisecond
	for _, typ := range []Type{PUSH, REQ} {
		t.Run(typ.String(), func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			busy := zmtp.AuthenticatorFunc(func(context.Context, *zmtp.AuthRequest) (zmtp.AuthResult, error) {
				calls.Add(1)
				return zmtp.AuthResult{Status: zmtp.StatusTemporary, StatusText: "busy"}, nil
			})
			srvEvs, srvMon := newRelEvents(t)
			cliEvs, cliMon := newRelEvents(t)
			srvType := PULL
			if typ == REQ {
				srvType = REP
			}
			srv := relNew(t, srvType, srvMon, WithLinger(0), WithCurveServer(zapServerKeys.Secret), WithZAP(busy))
			addr := relBind(t, srv, TCP)
			cli := relNew(t, typ, cliMon, WithLinger(0), WithImmediate(), WithReconnectInterval(20*time.Millisecond, 0), curveClient(zapClientKeys))
			if err := cli.Connect(addr); err != nil {
				t.Fatal(err)
			}
			if _, ok := srvEvs.wait(5*time.Second, 2, relIs(EventHandshakeFailed)); !ok {
				t.Fatalf("no second refused attempt:\n%s", srvEvs)
			}
			start := time.Now()
			err := relSendT(cli, wait, NewMsgString("req"))
			if typ == REQ && err == nil {
				_, err = relRecvT(cli, wait)
			}
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("blocked call returned %v; want the context's error", err)
			}
			if took > wait+time.Second {
				t.Fatalf("blocked call took %v with a %v context", took, wait)
			}
			if n := cliEvs.count(EventHandshakeSucceeded); n != 0 {
				t.Fatalf("connected despite 300:\n%s", cliEvs)
			}
			if n := calls.Load(); n < 2 {
				t.Errorf("authenticator called %d times; the client should keep retrying", n)
			}
		})
	}
}

// TestZAPTimeoutOwnAuthenticator: an authenticator that does not answer
// within the ZAP timeout refuses the client with 300 and the server's
// handshake fails with ErrZAPTimeout.
func TestZAPTimeoutOwnAuthenticator(t *testing.T) {
	t.Parallel()
	stuck := zmtp.AuthenticatorFunc(func(ctx context.Context, _ *zmtp.AuthRequest) (zmtp.AuthResult, error) {
		<-ctx.Done()
		return zmtp.AuthResult{}, ctx.Err()
	})
	srv, cli, se, ce := secPair(t, false, []Option{WithPlainServer(stuck), WithZAPTimeout(200 * time.Millisecond)},
		[]Option{WithPlainClient("u", "p")})
	secRefused(t, srv, cli, se, ce, ErrZAPTimeout, "300")
}

// TestServeZAP serves an Auth as the ZAP handler of servers that have no
// authenticator, as a libzmq application's handler thread would.
func TestServeZAP(t *testing.T) {
	t.Parallel()
	ep := zapTestEndpoint()
	auth := NewAuth()
	auth.SetPassword("admin", "secret")
	auth.AllowCurve(zapClientKeys.Public)
	h, err := ServeZAP(ep, auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if _, err := ServeZAP(ep, auth); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("second ServeZAP at %s: %v; want ErrAddrInUse", ep, err)
	}
	via := withZAPEndpoint(ep)
	for _, c := range []struct {
		name     string
		srv, cli []Option
		user     string // "" means refused with 400
	}{
		{"PLAIN, right password", []Option{WithPlainServer(nil)}, []Option{WithPlainClient("admin", "secret")}, "admin"},
		{"PLAIN, wrong password", []Option{WithPlainServer(nil)}, []Option{WithPlainClient("admin", "guess")}, ""},
		{"CURVE, allowed key", []Option{WithCurveServer(zapServerKeys.Secret)}, []Option{curveClient(zapClientKeys)}, zapClientKeys.Public.String()},
		{"CURVE, unknown key", []Option{WithCurveServer(zapServerKeys.Secret)}, []Option{curveClient(zapKeyPair())}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv, cli, se, ce := secPair(t, false, append(c.srv, via), c.cli)
			if c.user == "" {
				secRefused(t, srv, cli, se, ce, zmtp.ErrAuth, "400")
				return
			}
			if err := relSendT(cli, time.Second, NewMsgString("x")); err != nil {
				t.Fatal(err)
			}
			m, err := relRecvT(srv, 10*time.Second)
			if err != nil {
				t.Fatalf("%v:\n%s", err, se)
			}
			if m.Peer == nil || m.Peer.UserID != c.user {
				t.Fatalf("Peer = %+v, want User-Id %q", m.Peer, c.user)
			}
		})
	}
	t.Run("malformed requests", func(t *testing.T) {
		t.Parallel()
		d := relNew(t, DEALER, WithLinger(0))
		if err := d.Connect(ep); err != nil {
			t.Fatal(err)
		}
		ask := func(frames ...string) []string {
			t.Helper()
			if err := relSendT(d, time.Second, NewMsgString(frames...)); err != nil {
				t.Fatal(err)
			}
			m, err := relRecvT(d, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range m.Frames {
				got = append(got, string(f))
			}
			return got
		}
		for _, c := range []struct {
			name string
			req  []string
		}{
			{"version 2.0", []string{"", "2.0", "id1", "d", "1.2.3.4", "", "NULL"}},
			{"PLAIN without a password", []string{"", "1.0", "id2", "d", "1.2.3.4", "", "PLAIN", "admin"}},
			{"CURVE key of 5 octets", []string{"", "1.0", "id3", "d", "1.2.3.4", "", "CURVE", "short"}},
		} {
			got := ask(c.req...)
			if len(got) != 7 || got[0] != "" || got[1] != "1.0" || got[2] != c.req[2] || got[3] != "500" || got[5] != "" {
				t.Errorf("%s: reply %q; want status 500 for request id %q", c.name, got, c.req[2])
			}
		}
		// A request behind two routing ids (a proxy's) is answered
		// behind the same envelope.
		got := ask("hop", "", "1.0", "id4", "d", "1.2.3.4", "", "PLAIN", "admin", "secret")
		if len(got) != 8 || got[0] != "hop" || got[1] != "" || got[4] != "200" || got[6] != "admin" {
			t.Errorf("proxied request: reply %q", got)
		}
	})
}

// TestZAPWellKnownEndpoint: the real ZAPEndpoint. Not parallel: while a
// handler is bound there, every server of the process without an
// authenticator asks it.
func TestZAPWellKnownEndpoint(t *testing.T) {
	auth := NewAuth()
	auth.SetPassword("admin", "secret")
	if err := auth.Deny("127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	h, err := ServeZAP(ZAPEndpoint, auth)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := h.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("second Close: %v, want ErrClosed", err)
		}
	}()
	srv, cli, se, ce := secPair(t, false, []Option{WithPlainServer(nil)}, []Option{WithPlainClient("admin", "secret")})
	secRefused(t, srv, cli, se, ce, zmtp.ErrAuth, "400")
	e, _ := se.wait(time.Second, 1, relIs(EventHandshakeFailed))
	if !strings.Contains(e.Err.Error(), "address denied") {
		t.Errorf("server handshake failed with %v; want the handler's status text", e.Err)
	}
}

// TestCurveInprocUnsecured pins DEVIATIONS.md entry 29: inproc runs no
// handshake, so a CURVE server takes an inproc peer that has no keys at
// all, as libzmq does.
func TestCurveInprocUnsecured(t *testing.T) {
	t.Parallel()
	srv := relNew(t, PULL, WithCurveServer(zapServerKeys.Secret), WithZAPEnforce(), WithLinger(0))
	ep := relBind(t, srv, Inproc)
	cli := relNew(t, PUSH, WithLinger(0))
	if err := cli.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if !secDelivered(t, srv, cli, 10*time.Second) {
		t.Fatal("nothing delivered over inproc")
	}
}
