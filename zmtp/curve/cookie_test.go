package curve

// Reliability row R31 (cookie key expiry, under testing/synctest) and RFC
// 26 C3: the server keeps minimal state before a valid INITIATE, and drops
// its cookie key after about 60 s.

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// initiateAfter runs HELLO/WELCOME, waits d (fake time), sends the
// INITIATE and returns the server's handshake error.
func initiateAfter(t *testing.T, srv *Server, d time.Duration) error {
	a, b := testkit.Pipe(0)
	out := make(chan serverOutcome, 1)
	go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: srv, HandshakeTimeout: -1}, out)
	c := newRawClient(t, a, clientPair(t), serverPair(t).Public)
	greetAndHello(t, c, nil)
	c.welcome()
	time.Sleep(d) // advances the bubble's fake clock
	if err := c.writeCommand(cmdInitiate, c.initiate(pullMeta, nil)); err != nil {
		t.Fatal(err)
	}
	name, _, err := c.readCommand()
	if err == nil && name != cmdReady {
		t.Fatalf("server answered %s", name)
	}
	a.Close()
	return (<-out).hsErr
}

func TestR31CookieKeyExpiry(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		ok   bool
	}{
		{0, true},
		{CookieKeyLifetime - time.Second, true},
		{CookieKeyLifetime + time.Second, true}, // the key retired, but still opens
		{2*CookieKeyLifetime - time.Millisecond, true},
		{2 * CookieKeyLifetime, false},
		{10 * time.Minute, false},
	} {
		synctest.Test(t, func(t *testing.T) {
			srv := newTestServer(t, nil)
			err := initiateAfter(t, srv, tc.wait)
			if tc.ok && err != nil {
				t.Errorf("INITIATE %v after WELCOME refused: %v", tc.wait, err)
			}
			if !tc.ok && !errors.Is(err, ErrCookie) {
				t.Errorf("INITIATE %v after WELCOME: %v, want ErrCookie (expired)", tc.wait, err)
			}
		})
	}
}

// TestR31CookieKeyRotation: a new key every CookieKeyLifetime; a retired
// key is wiped once it can no longer open cookies.
func TestR31CookieKeyRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newTestServer(t, nil)
		var tr, ts Key
		seed := byte(0)
		seal := func() {
			seed++
			if _, err := srv.jar.seal(detRand(seed), &tr, &ts); err != nil {
				t.Fatal(err)
			}
		}
		seal()
		first := srv.jar.cur
		time.Sleep(CookieKeyLifetime - time.Nanosecond)
		seal()
		if srv.jar.cur != first {
			t.Fatal("cookie key replaced before its lifetime")
		}
		time.Sleep(time.Nanosecond)
		seal()
		second := srv.jar.cur
		if second == first || srv.jar.prev != first || second.key == first.key {
			t.Fatal("cookie key not replaced after its lifetime")
		}
		time.Sleep(CookieKeyLifetime)
		seal() // the second retires; the first can no longer open anything
		if srv.jar.prev != second || first.key != ([32]byte{}) {
			t.Fatalf("expired cookie key kept (prev is second: %v; first wiped: %v)", srv.jar.prev == second, first.key == [32]byte{})
		}
		// Without new cookies, opening also expires keys.
		time.Sleep(2 * CookieKeyLifetime)
		if _, _, _, err := srv.jar.open(make([]byte, cookieSize)); !errors.Is(err, ErrCookie) {
			t.Fatal(err)
		}
		if keys, _ := srv.jar.stats(); keys != 0 || second.key != ([32]byte{}) {
			t.Fatalf("%d cookie keys held 4 lifetimes after the last cookie", keys)
		}
	})
}

// TestRFC26C3MinimalServerState: HELLOs that never come back with an
// INITIATE leave nothing behind in the server; a valid INITIATE spends its
// cookie, which cannot be used again.
func TestRFC26C3MinimalServerState(t *testing.T) {
	srv := newTestServer(t, nil)
	for range 100 {
		a, b := testkit.Pipe(0)
		out := make(chan serverOutcome, 1)
		go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: srv}, out)
		c := newRawClient(t, a, clientPair(t), serverPair(t).Public)
		greetAndHello(t, c, nil)
		c.welcome()
		a.Close()
		<-out
	}
	if keys, spent := srv.jar.stats(); keys != 1 || spent != 0 {
		t.Fatalf("after 100 HELLOs: %d cookie keys and %d spent cookies, want 1 and 0", keys, spent)
	}

	// A full handshake, recorded.
	a, b := testkit.Pipe(0)
	out := make(chan serverOutcome, 1)
	go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: srv}, out)
	c := newRawClient(t, a, clientPair(t), serverPair(t).Public)
	if _, err := c.greet(false); err != nil {
		t.Fatal(err)
	}
	hello := c.hello()
	if err := c.writeCommand(cmdHello, hello); err != nil {
		t.Fatal(err)
	}
	c.welcome()
	initiate := c.initiate(pullMeta, nil)
	if err := c.writeCommand(cmdInitiate, initiate); err != nil {
		t.Fatal(err)
	}
	c.ready()
	a.Close()
	if o := <-out; o.hsErr != nil {
		t.Fatal(o.hsErr)
	}
	if _, spent := srv.jar.stats(); spent != 1 {
		t.Fatalf("%d spent cookies after one INITIATE", spent)
	}

	replay := func(hello, initiate []byte) error {
		a, b := testkit.Pipe(0)
		out := make(chan serverOutcome, 1)
		go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: srv}, out)
		p := newRawPeer(t, a)
		if _, err := p.greet(false); err != nil {
			t.Fatal(err)
		}
		if err := p.writeCommand(cmdHello, hello); err != nil {
			t.Fatal(err)
		}
		p.expect(cmdWelcome)
		if err := p.writeCommand(cmdInitiate, initiate); err != nil {
			t.Fatal(err)
		}
		if err := p.waitClosed(); !isClosedErr(err) {
			t.Fatal(err)
		}
		a.Close()
		return (<-out).hsErr
	}
	// The recorded HELLO and INITIATE, replayed on a new connection: every
	// box opens, but the cookie was spent.
	if err := replay(hello, initiate); !errors.Is(err, ErrReplay) {
		t.Errorf("replayed HELLO+INITIATE: %v, want ErrReplay", err)
	}
	// The recorded INITIATE after another client's HELLO: the cookie is
	// not for this connection's C'.
	other := newRawClient(t, nil, clientPair(t), serverPair(t).Public)
	if err := replay(other.hello(), initiate); !errors.Is(err, ErrCookie) {
		t.Errorf("INITIATE after another HELLO: %v, want ErrCookie", err)
	}
}

// TestCookieSpentLimitRotatesEarly: the memory of spent cookies is bounded:
// a key that served maxSpent INITIATEs is retired early.
func TestCookieSpentLimitRotatesEarly(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.jar.maxSpent = 3
	cli := newTestClient(t, nil)
	var first *cookieKey
	for i := range 7 {
		mustPair(t, zmtp.Config{SocketType: zmtp.Push, Mechanism: cli}, zmtp.Config{SocketType: zmtp.Pull, Mechanism: srv})
		if i == 0 {
			first = srv.jar.cur
		}
		keys, spent := srv.jar.stats()
		if spent > 2*srv.jar.maxSpent || keys > 2 {
			t.Fatalf("after %d handshakes: %d keys, %d spent cookies", i+1, keys, spent)
		}
	}
	if srv.jar.cur == first || srv.jar.prev == first {
		t.Fatal("the first cookie key is still in use after 7 INITIATEs with a limit of 3")
	}
}
