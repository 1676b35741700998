package zmtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
)

type hsOut struct {
	c   *Conn
	err error
}

// handshakePair runs Handshake on both ends of a testkit.Pipe at once and
// returns both outcomes. Whatever succeeds is closed when the test ends.
func handshakePair(t *testing.T, ca, cb Config) (a, b hsOut) {
	t.Helper()
	na, nb := testkit.Pipe(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch := make(chan hsOut, 1)
	go func() {
		c, err := Handshake(ctx, nb, cb)
		ch <- hsOut{c, err}
	}()
	c, err := Handshake(ctx, na, ca)
	a = hsOut{c, err}
	b = <-ch
	t.Cleanup(func() {
		for _, o := range []hsOut{a, b} {
			if o.c != nil {
				o.c.Close()
			}
		}
		na.Close()
		nb.Close()
	})
	return a, b
}

// exchange sends one message each way and checks it arrives.
func exchange(t *testing.T, a, b *Conn) {
	t.Helper()
	for _, dir := range []struct {
		from, to *Conn
		msg      string
	}{{a, b, "ping a->b"}, {b, a, "pong b->a"}} {
		if err := dir.from.Send([][]byte{[]byte(dir.msg), {}}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got, err := dir.to.ReadMsg(nil)
		if err != nil {
			t.Fatalf("ReadMsg: %v", err)
		}
		if len(got) != 2 || string(got[0]) != dir.msg || len(got[1]) != 0 {
			t.Fatalf("got %q, want [%q \"\"]", got, dir.msg)
		}
	}
}

func TestHandshakeNullDealerRouter(t *testing.T) {
	a, b := handshakePair(t,
		Config{SocketType: Dealer, Identity: []byte("client-1"),
			Metadata: Metadata{{Name: "X-Colour", Value: []byte("blue")}}},
		Config{SocketType: Router, Identity: []byte("router-1")})
	if a.err != nil || b.err != nil {
		t.Fatalf("handshake: dealer %v, router %v", a.err, b.err)
	}
	dealer, router := a.c, b.c
	if got := router.PeerSocketType(); got != Dealer {
		t.Errorf("router sees %q", got)
	}
	if got := dealer.PeerSocketType(); got != Router {
		t.Errorf("dealer sees %q", got)
	}
	if got := router.PeerIdentity(); string(got) != "client-1" {
		t.Errorf("router sees identity %q", got)
	}
	if got := dealer.PeerIdentity(); string(got) != "router-1" {
		t.Errorf("dealer sees identity %q", got)
	}
	md := router.PeerMetadata()
	if md.String("socket-type") != "DEALER" || md.String("x-colour") != "blue" || md.String("Identity") != "client-1" {
		t.Errorf("router sees metadata %q", md)
	}
	for _, c := range []*Conn{dealer, router} {
		g := c.PeerGreeting()
		if g != (Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}) {
			t.Errorf("peer greeting %+v", g)
		}
		if !c.PeerSpeaks31() {
			t.Errorf("PeerSpeaks31 false for a 3.1 peer")
		}
		if c.UserID() != "" || c.AuthMetadata() != nil {
			t.Errorf("NULL without authenticator has user %q, auth metadata %q", c.UserID(), c.AuthMetadata())
		}
		if c.Err() != nil {
			t.Errorf("Err() = %v on an open connection", c.Err())
		}
	}
	if dealer.RemoteAddr() == nil || dealer.LocalAddr() == nil ||
		dealer.RemoteAddr().String() != router.LocalAddr().String() {
		t.Errorf("addresses: dealer local %v remote %v, router local %v", dealer.LocalAddr(), dealer.RemoteAddr(), router.LocalAddr())
	}
	if nc := dealer.NetConn(); nc == nil || nc.LocalAddr().String() != dealer.LocalAddr().String() {
		t.Errorf("NetConn() = %v, not the connection the dealer runs over", nc)
	}
	exchange(t, dealer, router)
}

// An anonymous DEALER still sends an empty Identity; the peer sees none.
func TestHandshakeNullAnonymous(t *testing.T) {
	a, b := handshakePair(t, Config{SocketType: Dealer}, Config{SocketType: Router})
	if a.err != nil || b.err != nil {
		t.Fatalf("handshake: %v, %v", a.err, b.err)
	}
	if id := b.c.PeerIdentity(); len(id) != 0 {
		t.Errorf("identity %q", id)
	}
	if _, ok := b.c.PeerMetadata().Get("Identity"); !ok {
		t.Errorf("DEALER did not send an (empty) Identity property: %q", b.c.PeerMetadata())
	}
}

// Only REQ, DEALER and ROUTER announce an Identity (libzmq; RFC 37 "The
// Identity Property").
func TestHandshakeIdentityOnlyFromRoutingTypes(t *testing.T) {
	a, b := handshakePair(t, Config{SocketType: Pub, Identity: []byte("pub")}, Config{SocketType: Sub})
	if a.err != nil || b.err != nil {
		t.Fatalf("handshake: %v, %v", a.err, b.err)
	}
	if v, ok := b.c.PeerMetadata().Get("Identity"); ok {
		t.Errorf("PUB sent Identity %q", v)
	}
	if v, ok := a.c.PeerMetadata().Get("Identity"); ok {
		t.Errorf("SUB sent Identity %q", v)
	}
}

func TestHandshakeNullCompatiblePairs(t *testing.T) {
	for _, p := range [][2]SocketType{
		{Req, Rep}, {Req, Router}, {Dealer, Rep}, {Dealer, Dealer}, {Router, Router},
		{Pub, Sub}, {Pub, XSub}, {XPub, Sub}, {XPub, XSub}, {Push, Pull}, {Pair, Pair},
		{Client, Server}, {Radio, Dish}, {Scatter, Gather}, {Peer, Peer}, {Channel, Channel},
	} {
		t.Run(fmt.Sprintf("%s-%s", p[0], p[1]), func(t *testing.T) {
			a, b := handshakePair(t, Config{SocketType: p[0]}, Config{SocketType: p[1]})
			if a.err != nil || b.err != nil {
				t.Fatalf("handshake: %v, %v", a.err, b.err)
			}
			if a.c.PeerSocketType() != p[1] || b.c.PeerSocketType() != p[0] {
				t.Fatalf("peer types %s %s", a.c.PeerSocketType(), b.c.PeerSocketType())
			}
		})
	}
}

func TestHandshakeSocketTypeMismatch(t *testing.T) {
	for _, p := range [][2]SocketType{{Pub, Push}, {Req, Req}, {Sub, Sub}, {Pair, Dealer}, {Client, Client}} {
		t.Run(fmt.Sprintf("%s-%s", p[0], p[1]), func(t *testing.T) {
			a, b := handshakePair(t, Config{SocketType: p[0]}, Config{SocketType: p[1]})
			for _, o := range []hsOut{a, b} {
				if o.c != nil {
					t.Fatalf("handshake succeeded between %s and %s", p[0], p[1])
				}
				if !errors.Is(o.err, ErrSocketType) {
					t.Fatalf("error %v, want ErrSocketType", o.err)
				}
			}
		})
	}
}

func TestHandshakePlain(t *testing.T) {
	reqs := make(chan AuthRequest, 4)
	auth := AuthenticatorFunc(func(ctx context.Context, r *AuthRequest) (AuthResult, error) {
		reqs <- *r
		if r.Username == "admin" && r.Password == "secret" {
			return AuthResult{Status: StatusOK, UserID: "user-42",
				Metadata: Metadata{{Name: "X-Role", Value: []byte("ops")}}}, nil
		}
		return AuthResult{Status: StatusDenied, StatusText: "bad password"}, nil
	})
	server := Config{SocketType: Router, Identity: []byte("srv"), Mechanism: PlainServer{},
		Authenticator: auth, Domain: "global"}

	t.Run("right password", func(t *testing.T) {
		a, b := handshakePair(t,
			Config{SocketType: Dealer, Identity: []byte("cli"), Mechanism: PlainClient{Username: "admin", Password: "secret"}},
			server)
		if a.err != nil || b.err != nil {
			t.Fatalf("handshake: client %v, server %v", a.err, b.err)
		}
		r := <-reqs
		if r.Mechanism != "PLAIN" || r.Username != "admin" || r.Password != "secret" || r.Domain != "global" {
			t.Errorf("AuthRequest %+v", r)
		}
		if want := hostOnly(b.c.RemoteAddr().String()); r.Address != want {
			t.Errorf("AuthRequest.Address %q, want %q", r.Address, want)
		}
		if string(r.Identity) != "srv" {
			t.Errorf("AuthRequest.Identity %q, want the server socket's own identity", r.Identity)
		}
		if r.ClientKey != nil {
			t.Errorf("AuthRequest.ClientKey % x for PLAIN", r.ClientKey)
		}
		if got := b.c.UserID(); got != "user-42" {
			t.Errorf("server UserID %q", got)
		}
		if got := b.c.AuthMetadata().String("X-Role"); got != "ops" {
			t.Errorf("server AuthMetadata %q", b.c.AuthMetadata())
		}
		if got := b.c.PeerIdentity(); string(got) != "cli" {
			t.Errorf("server sees identity %q", got)
		}
		if got := a.c.PeerSocketType(); got != Router {
			t.Errorf("client sees %q", got)
		}
		if a.c.PeerGreeting().Mechanism != "PLAIN" || !a.c.PeerGreeting().AsServer || b.c.PeerGreeting().AsServer {
			t.Errorf("greetings: client sees %+v, server sees %+v", a.c.PeerGreeting(), b.c.PeerGreeting())
		}
		if len(reqs) != 0 {
			t.Errorf("authenticator called %d more times", len(reqs))
		}
		exchange(t, a.c, b.c)
	})

	t.Run("wrong password", func(t *testing.T) {
		a, b := handshakePair(t,
			Config{SocketType: Dealer, Mechanism: PlainClient{Username: "admin", Password: "guess"}},
			server)
		<-reqs
		if a.c != nil || b.c != nil {
			t.Fatalf("handshake succeeded with a wrong password")
		}
		var pe *PeerError
		if !errors.As(a.err, &pe) {
			t.Fatalf("client error %v is not a *PeerError", a.err)
		}
		if pe.Reason != "400" {
			t.Errorf("client PeerError reason %q, want 400", pe.Reason)
		}
		if !errors.Is(a.err, ErrAuth) {
			t.Errorf("client error %v does not wrap ErrAuth", a.err)
		}
		if !errors.Is(b.err, ErrAuth) {
			t.Errorf("server error %v does not wrap ErrAuth", b.err)
		}
	})

	t.Run("authenticator error is status 500", func(t *testing.T) {
		failing := server
		failing.Authenticator = AuthenticatorFunc(func(context.Context, *AuthRequest) (AuthResult, error) {
			return AuthResult{}, errors.New("backend down")
		})
		a, b := handshakePair(t,
			Config{SocketType: Dealer, Mechanism: PlainClient{Username: "admin", Password: "secret"}}, failing)
		var pe *PeerError
		if !errors.As(a.err, &pe) || pe.Reason != "500" {
			t.Fatalf("client error %v, want a *PeerError with reason 500", a.err)
		}
		if !errors.Is(b.err, ErrAuth) {
			t.Errorf("server error %v does not wrap ErrAuth", b.err)
		}
	})

	t.Run("server without authenticator refuses", func(t *testing.T) {
		a, b := handshakePair(t,
			Config{SocketType: Dealer, Mechanism: PlainClient{Username: "admin", Password: "secret"}},
			Config{SocketType: Router, Mechanism: PlainServer{}})
		if a.c != nil || b.c != nil {
			t.Fatalf("PLAIN server without Authenticator accepted a client")
		}
		if !errors.Is(b.err, ErrAuth) {
			t.Errorf("server error %v does not wrap ErrAuth", b.err)
		}
		var pe *PeerError
		if !errors.As(a.err, &pe) || !errors.Is(a.err, ErrAuth) {
			t.Errorf("client error %v, want a *PeerError wrapping ErrAuth", a.err)
		}
	})

	t.Run("credentials over 255 octets", func(t *testing.T) {
		a, _ := handshakePair(t,
			Config{SocketType: Dealer, Mechanism: PlainClient{Username: strings.Repeat("u", 256), Password: "x"}},
			server)
		if a.c != nil || a.err == nil {
			t.Fatalf("client with a 256-octet username: %v", a.err)
		}
		select {
		case r := <-reqs:
			t.Fatalf("authenticator was asked about %q", r.Username[:8])
		default:
		}
	})
}

func TestHandshakeMechanismMismatch(t *testing.T) {
	plainClient := PlainClient{Username: "u", Password: "p"}
	for _, tc := range []struct {
		name   string
		ma, mb Mechanism
	}{
		{"NULL vs PLAIN client", Null{}, plainClient},
		{"NULL vs PLAIN server", Null{}, PlainServer{}},
		{"PLAIN server vs NULL", PlainServer{}, nil},
		{"both PLAIN servers", PlainServer{}, PlainServer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := AuthenticatorFunc(func(context.Context, *AuthRequest) (AuthResult, error) {
				return AuthResult{Status: StatusOK}, nil
			})
			a, b := handshakePair(t,
				Config{SocketType: Dealer, Mechanism: tc.ma, Authenticator: auth},
				Config{SocketType: Router, Mechanism: tc.mb, Authenticator: auth})
			for i, o := range []hsOut{a, b} {
				if o.c != nil {
					t.Fatalf("side %d: handshake succeeded", i)
				}
				if !errors.Is(o.err, ErrMechanism) {
					t.Fatalf("side %d: error %v, want ErrMechanism", i, o.err)
				}
			}
		})
	}
}

func TestHandshakeNullAuthenticator(t *testing.T) {
	t.Run("refusing", func(t *testing.T) {
		reqs := make(chan AuthRequest, 1)
		auth := AuthenticatorFunc(func(ctx context.Context, r *AuthRequest) (AuthResult, error) {
			reqs <- *r
			return AuthResult{Status: StatusDenied}, nil
		})
		a, b := handshakePair(t, Config{SocketType: Dealer}, Config{SocketType: Router, Authenticator: auth})
		if r := <-reqs; r.Mechanism != "NULL" || r.Username != "" {
			t.Errorf("AuthRequest %+v", r)
		}
		if a.c != nil || b.c != nil {
			t.Fatalf("handshake succeeded")
		}
		// The client's READY races the server's ERROR and close, so the
		// client may fail writing READY before it reads the ERROR; the
		// deterministic form of this is TestHandshakePeerErrorAfterWriteFailure.
		var pe *PeerError
		if errors.As(a.err, &pe) {
			if pe.Reason != "400" || !errors.Is(a.err, ErrAuth) {
				t.Errorf("client error %v, want a *PeerError 400 wrapping ErrAuth", a.err)
			}
		} else if !isClosedErr(a.err) {
			t.Errorf("client error %v, want a *PeerError 400 (or a write on the closed connection)", a.err)
		}
		if !errors.Is(b.err, ErrAuth) {
			t.Errorf("server error %v does not wrap ErrAuth", b.err)
		}
	})
	t.Run("accepting", func(t *testing.T) {
		auth := AuthenticatorFunc(func(ctx context.Context, r *AuthRequest) (AuthResult, error) {
			return AuthResult{Status: StatusOK, UserID: "anon"}, nil
		})
		a, b := handshakePair(t, Config{SocketType: Dealer}, Config{SocketType: Router, Authenticator: auth})
		if a.err != nil || b.err != nil {
			t.Fatalf("handshake: %v, %v", a.err, b.err)
		}
		if b.c.UserID() != "anon" {
			t.Errorf("UserID %q", b.c.UserID())
		}
		exchange(t, a.c, b.c)
	})
}

func TestHandshakeTimeoutSilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := testkit.Pipe(0)
		defer b.Close()
		start := time.Now()
		c, err := Handshake(context.Background(), a, Config{SocketType: Dealer, HandshakeTimeout: time.Second})
		elapsed := time.Since(start)
		if c != nil {
			c.Close()
			t.Fatal("handshake with a silent peer succeeded")
		}
		if !errors.Is(err, ErrHandshakeTimeout) {
			t.Fatalf("error %v, want ErrHandshakeTimeout", err)
		}
		if elapsed != time.Second {
			t.Fatalf("gave up after %v, want 1s", elapsed)
		}
		// Our greeting went out first, then the connection was closed.
		p := &rawPeer{nc: b}
		p.mustExpect(t, goldenNullGreeting31)
		if _, err := p.readN(1); err != io.EOF {
			t.Fatalf("after the greeting: %v, want EOF (connection closed)", err)
		}
	})
}

func TestHandshakeTimeoutStalledPeer(t *testing.T) {
	for _, sent := range [][]byte{
		goldenNullGreeting31[:11], // signature and major only
		goldenNullGreeting31,      // greeting, no READY
		slices.Concat(goldenNullGreeting31, goldenRouterReady[:10]), // half a READY
	} {
		synctest.Test(t, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			defer b.Close()
			if _, err := b.Write(sent); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			c, err := Handshake(context.Background(), a, Config{SocketType: Dealer, HandshakeTimeout: 3 * time.Second})
			if c != nil {
				c.Close()
				t.Fatal("handshake succeeded")
			}
			if !errors.Is(err, ErrHandshakeTimeout) || time.Since(start) != 3*time.Second {
				t.Fatalf("after %d octets: %v after %v, want ErrHandshakeTimeout after 3s", len(sent), err, time.Since(start))
			}
		})
	}
}

func TestHandshakeContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := testkit.Pipe(0)
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		ch := make(chan hsOut, 1)
		go func() {
			c, err := Handshake(ctx, a, Config{SocketType: Dealer, HandshakeTimeout: -1})
			ch <- hsOut{c, err}
		}()
		synctest.Wait()
		select {
		case r := <-ch:
			t.Fatalf("Handshake returned before the cancel: %v", r.err)
		default:
		}
		start := time.Now()
		cancel()
		r := <-ch
		if r.c != nil {
			r.c.Close()
			t.Fatal("handshake succeeded")
		}
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("error %v does not wrap context.Canceled", r.err)
		}
		if time.Since(start) != 0 {
			t.Fatalf("took %v to notice the cancel", time.Since(start))
		}
	})
}

func TestHandshakeContextCancelCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := testkit.Pipe(0)
		defer b.Close()
		cause := errors.New("socket closing")
		ctx, cancel := context.WithCancelCause(context.Background())
		ch := make(chan hsOut, 1)
		go func() {
			c, err := Handshake(ctx, a, Config{SocketType: Dealer})
			ch <- hsOut{c, err}
		}()
		synctest.Wait()
		cancel(cause)
		r := <-ch
		if r.c != nil {
			r.c.Close()
		}
		if !errors.Is(r.err, cause) {
			t.Fatalf("error %v does not wrap the cancel cause", r.err)
		}
	})
}

func TestHandshakeContextAlreadyCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := testkit.Pipe(0)
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c, err := Handshake(ctx, a, Config{SocketType: Dealer})
		if c != nil {
			c.Close()
			t.Fatal("handshake succeeded with a cancelled context")
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v does not wrap context.Canceled", err)
		}
	})
}

func TestHandshakeContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := testkit.Pipe(0)
		defer b.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		c, err := Handshake(ctx, a, Config{SocketType: Dealer, HandshakeTimeout: 10 * time.Second})
		if c != nil {
			c.Close()
			t.Fatal("handshake succeeded")
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrHandshakeTimeout) {
			t.Fatalf("error %v, want the context deadline or ErrHandshakeTimeout", err)
		}
		if time.Since(start) != 500*time.Millisecond {
			t.Fatalf("gave up after %v, want the context's 500ms", time.Since(start))
		}
	})
}

// gateConn holds a SetDeadline call that expires the connection (a deadline
// in the past, which is how Handshake reacts to its context) until release
// is closed.
type gateConn struct {
	net.Conn
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gateConn) SetDeadline(t time.Time) error {
	if !t.IsZero() && t.Before(time.Now()) {
		g.once.Do(func() { close(g.entered) })
		<-g.release
	}
	return g.Conn.SetDeadline(t)
}

// A context cancelled while the handshake is finishing must either fail
// the handshake or leave a usable Conn. Here the context's AfterFunc is
// caught just before it expires the deadline; the handshake then completes
// and the AfterFunc goes on.
func TestHandshakeCancelRacingCompletion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := testkit.Pipe(0)
		defer b.Close()
		g := &gateConn{Conn: a, entered: make(chan struct{}), release: make(chan struct{})}
		p := &rawPeer{nc: b}
		ctx, cancel := context.WithCancel(context.Background())
		ch := make(chan hsOut, 1)
		go func() {
			c, err := Handshake(ctx, g, Config{SocketType: Dealer})
			ch <- hsOut{c, err}
		}()
		p.mustExpect(t, goldenNullGreeting31)
		cancel()
		<-g.entered
		p.mustWrite(t, rawGreeting(3, 1, "NULL", false), rawReady("Socket-Type", "ROUTER"))
		p.mustExpect(t, goldenDealerReady)
		synctest.Wait()
		close(g.release)
		r := <-ch
		if r.err != nil {
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("handshake failed with %v, which does not wrap context.Canceled", r.err)
			}
			return
		}
		defer r.c.Close()
		rd := readMsgAsync(r.c)
		synctest.Wait()
		p.mustWrite(t, rawFrame(false, []byte("hi")))
		res := <-rd
		if res.err != nil {
			t.Fatalf("Handshake returned a Conn, yet ReadMsg fails: %v (the cancelled context expired its deadline after the handshake cleared it)", res.err)
		}
		if len(res.msg) != 1 || string(res.msg[0]) != "hi" {
			t.Fatalf("ReadMsg = %q", res.msg)
		}
	})
}

func TestHandshakeConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no socket type", Config{}},
		{"unknown socket type", Config{SocketType: "FOO"}},
		{"lower-case socket type", Config{SocketType: "dealer"}},
		{"identity starting with 0x00", Config{SocketType: Dealer, Identity: []byte{0x00, 'a'}}},
		{"identity of one 0x00", Config{SocketType: Dealer, Identity: []byte{0x00}}},
		{"identity of 256 octets", Config{SocketType: Dealer, Identity: bytes.Repeat([]byte{'i'}, 256)}},
		{"Socket-Type in Metadata", Config{SocketType: Dealer,
			Metadata: Metadata{{Name: "Socket-Type", Value: []byte("ROUTER")}}}},
		{"socket-type in Metadata, any case", Config{SocketType: Dealer,
			Metadata: Metadata{{Name: "SOCKET-TYPE", Value: []byte("ROUTER")}}}},
		{"Identity in Metadata", Config{SocketType: Dealer,
			Metadata: Metadata{{Name: "identity", Value: []byte("x")}}}},
		{"empty property name", Config{SocketType: Dealer, Metadata: Metadata{{Name: ""}}}},
		{"negative heartbeat", Config{SocketType: Dealer, HeartbeatInterval: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			defer b.Close()
			c, err := Handshake(context.Background(), a, tc.cfg)
			if c != nil {
				c.Close()
				t.Fatal("Handshake accepted the config")
			}
			if err == nil {
				t.Fatal("no error")
			}
			// Nothing was sent and the connection is closed.
			if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("peer read %d octets, %v; want EOF at once", n, err)
			}
		})
	}
}

func TestValidateIdentity(t *testing.T) {
	for _, id := range [][]byte{nil, {}, {'a'}, {0x01, 0x00}, bytes.Repeat([]byte{0xFF}, 255)} {
		if err := ValidateIdentity(id); err != nil {
			t.Errorf("ValidateIdentity(% x): %v", id, err)
		}
	}
	for _, id := range [][]byte{{0x00}, {0x00, 'a'}, bytes.Repeat([]byte{'a'}, 256)} {
		if err := ValidateIdentity(id); err == nil {
			t.Errorf("ValidateIdentity(% x) accepted it", id)
		}
	}
}

// ZMTP 1.0 and 2.0 peers are refused as soon as their first octets show
// what they are (RFC 37 "Backwards Interoperability", decision D1), not
// at the handshake timeout.
func TestHandshakeRefusesOldVersions(t *testing.T) {
	for _, tc := range []struct {
		name string
		sent []byte
	}{
		{"ZMTP 1.0, short identity frame", []byte{0x01, 0x00}},
		{"ZMTP 1.0, long identity length", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7E}},
		{"ZMTP 2.0 (revision 1)", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7F, 0x01, 0x05}},
		{"version 2", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7F, 0x02}},
		{"version 0", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7F, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := testkit.Pipe(0)
				defer b.Close()
				if _, err := b.Write(tc.sent); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				c, err := Handshake(context.Background(), a, Config{SocketType: Dealer, HandshakeTimeout: 5 * time.Second})
				if c != nil {
					c.Close()
					t.Fatal("handshake succeeded")
				}
				if !errors.Is(err, ErrVersion) {
					t.Fatalf("error %v, want ErrVersion", err)
				}
				if time.Since(start) != 0 {
					t.Fatalf("refused after %v, want at once", time.Since(start))
				}
			})
		})
	}
}

func TestHandshakeAcceptsOtherVersions(t *testing.T) {
	for _, v := range []struct {
		major, minor byte
		speaks31     bool
	}{{3, 0, false}, {3, 1, true}, {3, 2, true}, {4, 0, true}} {
		t.Run(fmt.Sprintf("%d.%d", v.major, v.minor), func(t *testing.T) {
			c, _ := dialRaw(t, Config{SocketType: Dealer}, Router, rawPeerOpts{major: v.major, minor: v.minor})
			g := c.PeerGreeting()
			if g.Major != v.major || g.Minor != v.minor {
				t.Fatalf("PeerGreeting %+v", g)
			}
			if c.PeerSpeaks31() != v.speaks31 {
				t.Fatalf("PeerSpeaks31 = %v", c.PeerSpeaks31())
			}
		})
	}
}

// On the wire, a DEALER with no identity sends exactly RFC 37's worked
// example: the NULL 3.1 greeting, then the 41-octet READY.
func TestHandshakeWireNullDealer(t *testing.T) {
	a, b := testkit.Pipe(0)
	defer b.Close()
	p := &rawPeer{nc: b}
	ch := make(chan hsOut, 1)
	go func() {
		c, err := Handshake(context.Background(), a, Config{SocketType: Dealer})
		ch <- hsOut{c, err}
	}()
	p.mustWrite(t, rawGreeting(3, 1, "NULL", false))
	p.mustExpect(t, slices.Concat(goldenNullGreeting31, goldenDealerReady))
	p.mustWrite(t, goldenRouterReady)
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	if r.c.PeerSocketType() != Router {
		t.Fatalf("peer type %q", r.c.PeerSocketType())
	}
}

func TestHandshakeWireNullPub(t *testing.T) {
	a, b := testkit.Pipe(0)
	defer b.Close()
	p := &rawPeer{nc: b}
	ch := make(chan hsOut, 1)
	go func() {
		c, err := Handshake(context.Background(), a, Config{SocketType: Pub, Identity: []byte("ignored")})
		ch <- hsOut{c, err}
	}()
	p.mustWrite(t, rawGreeting(3, 1, "NULL", false), rawReady("Socket-Type", "SUB"))
	want := slices.Concat(goldenNullGreeting31,
		[]byte{0x04, 25, 0x05}, []byte("READY"), []byte{11}, []byte("Socket-Type"), []byte{0, 0, 0, 3}, []byte("PUB"))
	p.mustExpect(t, want)
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.c.Close()
}

// PLAIN client on the wire (RFC 24): greeting with as-server 0, HELLO,
// then INITIATE with the metadata after WELCOME.
func TestHandshakeWirePlainClient(t *testing.T) {
	a, b := testkit.Pipe(0)
	defer b.Close()
	p := &rawPeer{nc: b}
	ch := make(chan hsOut, 1)
	go func() {
		c, err := Handshake(context.Background(), a, Config{SocketType: Dealer,
			Mechanism: PlainClient{Username: "admin", Password: "secret"}})
		ch <- hsOut{c, err}
	}()
	p.mustWrite(t, rawGreeting(3, 1, "PLAIN", true))
	p.mustExpect(t, rawGreeting(3, 1, "PLAIN", false))
	p.mustExpect(t, slices.Concat([]byte{0x04, 19, 0x05}, []byte("HELLO"),
		[]byte{5}, []byte("admin"), []byte{6}, []byte("secret")))
	p.mustWrite(t, []byte{0x04, 0x08, 0x07, 'W', 'E', 'L', 'C', 'O', 'M', 'E'})
	p.mustExpect(t, slices.Concat([]byte{0x04, 44, 0x08}, []byte("INITIATE"),
		[]byte{11}, []byte("Socket-Type"), []byte{0, 0, 0, 6}, []byte("DEALER"),
		[]byte{8}, []byte("Identity"), []byte{0, 0, 0, 0}))
	p.mustWrite(t, rawReady("Socket-Type", "ROUTER"))
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	if r.c.PeerSocketType() != Router {
		t.Fatalf("peer type %q", r.c.PeerSocketType())
	}
}

// PLAIN server on the wire: greeting with as-server 1, WELCOME after a good
// HELLO, READY after INITIATE; ERROR "400" after a bad one.
func TestHandshakeWirePlainServer(t *testing.T) {
	auth := AuthenticatorFunc(func(ctx context.Context, r *AuthRequest) (AuthResult, error) {
		if r.Password == "secret" {
			return AuthResult{Status: StatusOK}, nil
		}
		return AuthResult{Status: StatusDenied}, nil
	})
	start := func() (*rawPeer, chan hsOut, func()) {
		a, b := testkit.Pipe(0)
		ch := make(chan hsOut, 1)
		go func() {
			c, err := Handshake(context.Background(), a, Config{SocketType: Router,
				Mechanism: PlainServer{}, Authenticator: auth})
			ch <- hsOut{c, err}
		}()
		return &rawPeer{nc: b}, ch, func() { b.Close() }
	}
	hello := func(pass string) []byte {
		return slices.Concat([]byte{0x04, byte(13 + len(pass)), 0x05}, []byte("HELLO"),
			[]byte{5}, []byte("admin"), []byte{byte(len(pass))}, []byte(pass))
	}

	t.Run("accepted", func(t *testing.T) {
		p, ch, done := start()
		defer done()
		p.mustWrite(t, rawGreeting(3, 1, "PLAIN", false), hello("secret"))
		p.mustExpect(t, rawGreeting(3, 1, "PLAIN", true))
		p.mustExpect(t, []byte{0x04, 0x08, 0x07, 'W', 'E', 'L', 'C', 'O', 'M', 'E'})
		p.mustWrite(t, rawCommand("INITIATE", rawProps("Socket-Type", "DEALER", "Identity", "c1")))
		p.mustExpect(t, slices.Concat([]byte{0x04, 41, 0x05}, []byte("READY"),
			[]byte{11}, []byte("Socket-Type"), []byte{0, 0, 0, 6}, []byte("ROUTER"),
			[]byte{8}, []byte("Identity"), []byte{0, 0, 0, 0}))
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.c.Close()
		if string(r.c.PeerIdentity()) != "c1" {
			t.Fatalf("identity %q", r.c.PeerIdentity())
		}
	})
	t.Run("refused", func(t *testing.T) {
		p, ch, done := start()
		defer done()
		p.mustWrite(t, rawGreeting(3, 1, "PLAIN", false), hello("wrong"))
		p.mustExpect(t, rawGreeting(3, 1, "PLAIN", true))
		p.mustExpect(t, slices.Concat([]byte{0x04, 0x0A, 0x05}, []byte("ERROR"), []byte{3}, []byte("400")))
		if _, err := p.readN(1); err != io.EOF {
			t.Fatalf("after ERROR: %v, want EOF", err)
		}
		if r := <-ch; !errors.Is(r.err, ErrAuth) {
			t.Fatalf("server error %v, want ErrAuth", r.err)
		}
	})
}

// A peer whose Socket-Type does not fit gets an ERROR, then the connection
// closes (RFC 37: "it SHOULD handle errors by returning an ERROR command,
// and then disconnecting the peer").
func TestHandshakeWireSocketTypeError(t *testing.T) {
	a, b := testkit.Pipe(0)
	defer b.Close()
	p := &rawPeer{nc: b}
	ch := make(chan hsOut, 1)
	go func() {
		c, err := Handshake(context.Background(), a, Config{SocketType: Pub})
		ch <- hsOut{c, err}
	}()
	p.mustWrite(t, rawGreeting(3, 1, "NULL", false), rawReady("Socket-Type", "PUSH"))
	p.mustExpect(t, goldenNullGreeting31)
	if name, _ := p.mustCommand(t); name != "READY" {
		t.Fatalf("first command %s", name)
	}
	name, data := p.mustCommand(t)
	if name != "ERROR" || len(data) == 0 || int(data[0]) != len(data)-1 {
		t.Fatalf("got %s % x, want an ERROR with a reason", name, data)
	}
	if _, err := p.readN(1); err != io.EOF {
		t.Fatalf("after ERROR: %v, want EOF", err)
	}
	if r := <-ch; !errors.Is(r.err, ErrSocketType) {
		t.Fatalf("error %v, want ErrSocketType", r.err)
	}
}

// What the peer may send instead of a proper READY.
func TestHandshakeBadPeerReady(t *testing.T) {
	for _, tc := range []struct {
		name string
		sent []byte
		want error
	}{
		{"no Socket-Type", rawReady("Identity", ""), ErrSocketType},
		{"two Socket-Types", rawReady("Socket-Type", "ROUTER", "socket-type", "ROUTER"), ErrSocketType},
		{"unknown Socket-Type", rawReady("Socket-Type", "STREAM"), ErrSocketType},
		{"lower-case Socket-Type value", rawReady("Socket-Type", "router"), ErrSocketType},
		{"malformed properties", rawCommand("READY", []byte{11, 'S', 'o', 'c'}), ErrMalformed},
		{"message frame instead of READY", rawFrame(false, []byte("hello")), ErrProtocol},
		{"READY with MORE set", []byte{0x05, 0x06, 0x05, 'R', 'E', 'A', 'D', 'Y'}, ErrProtocol},
		{"another command", rawCommand("WELCOME"), ErrProtocol},
		{"bad command name", []byte{0x04, 0x03, 0x02, 'R', '1'}, ErrMalformed},
		{"peer ERROR", rawCommand("ERROR", []byte{7}, []byte("go away")), ErrAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			defer b.Close()
			ch := make(chan hsOut, 1)
			go func() {
				c, err := Handshake(context.Background(), a, Config{SocketType: Dealer})
				ch <- hsOut{c, err}
			}()
			if _, err := b.Write(slices.Concat(rawGreeting(3, 1, "NULL", false), tc.sent)); err != nil {
				t.Fatal(err)
			}
			r := <-ch
			if r.c != nil {
				r.c.Close()
				t.Fatal("handshake succeeded")
			}
			if !errors.Is(r.err, tc.want) {
				t.Fatalf("error %v, want %v", r.err, tc.want)
			}
			if tc.want == ErrAuth {
				var pe *PeerError
				if !errors.As(r.err, &pe) || pe.Reason != "go away" {
					t.Fatalf("error %v, want *PeerError{go away}", r.err)
				}
			}
		})
	}
}

// A peer that hangs up mid-greeting is an error at once, not a timeout.
func TestHandshakePeerHangsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := testkit.Pipe(0)
		if _, err := b.Write(goldenNullGreeting31[:20]); err != nil {
			t.Fatal(err)
		}
		b.Close()
		start := time.Now()
		c, err := Handshake(context.Background(), a, Config{SocketType: Dealer})
		if c != nil {
			c.Close()
			t.Fatal("handshake succeeded")
		}
		if err == nil || errors.Is(err, ErrHandshakeTimeout) || time.Since(start) != 0 {
			t.Fatalf("error %v after %v, want an immediate I/O error", err, time.Since(start))
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !isClosedErr(err) {
			t.Fatalf("error %v, want unexpected EOF", err)
		}
	})
}

// resetConn lets its first Write through and fails the others, as a TCP
// connection does once the peer has closed it and its RST came back.
type resetConn struct {
	net.Conn
	writes int
}

func (r *resetConn) Write(b []byte) (int, error) {
	r.writes++
	if r.writes > 1 {
		return 0, fmt.Errorf("write: %w", syscall.ECONNRESET)
	}
	return r.Conn.Write(b)
}

// A NULL server that refuses us (ZAP-style) sends ERROR and closes at once,
// possibly before our READY goes out. The ERROR is already in our receive
// buffer: the handshake must report it (a *PeerError: do not reconnect with
// the same credentials, RFC 37 "Error Handling") rather than the failed
// write of our READY.
func TestHandshakePeerErrorAfterWriteFailure(t *testing.T) {
	a, b := testkit.Pipe(0)
	defer b.Close()
	if _, err := b.Write(slices.Concat(rawGreeting(3, 1, "NULL", false),
		rawCommand("ERROR", []byte{3}, []byte("400")))); err != nil {
		t.Fatal(err)
	}
	c, err := Handshake(context.Background(), &resetConn{Conn: a}, Config{SocketType: Dealer})
	if c != nil {
		c.Close()
		t.Fatal("handshake succeeded")
	}
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Reason != "400" || !errors.Is(err, ErrAuth) {
		t.Fatalf("error %v, want the peer's ERROR 400 as a *PeerError wrapping ErrAuth", err)
	}
}

// What a PLAIN client must refuse from its server (RFC 24 grammar:
// welcome = command-size %d7 "WELCOME", with no data).
func TestHandshakeWirePlainClientRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply []byte
		want  error
	}{
		{"WELCOME with data", rawCommand("WELCOME", []byte("x")), ErrMalformed},
		{"READY instead of WELCOME", rawReady("Socket-Type", "ROUTER"), ErrProtocol},
		{"ERROR", rawCommand("ERROR", []byte{3}, []byte("400")), ErrAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			defer b.Close()
			p := &rawPeer{nc: b}
			ch := make(chan hsOut, 1)
			go func() {
				c, err := Handshake(context.Background(), a, Config{SocketType: Dealer,
					Mechanism: PlainClient{Username: "u", Password: "p"}})
				ch <- hsOut{c, err}
			}()
			p.mustWrite(t, rawGreeting(3, 1, "PLAIN", true))
			p.mustExpect(t, rawGreeting(3, 1, "PLAIN", false))
			if name, _ := p.mustCommand(t); name != "HELLO" {
				t.Fatalf("got %s, want HELLO", name)
			}
			p.mustWrite(t, tc.reply)
			r := <-ch
			if r.c != nil {
				r.c.Close()
				t.Fatal("handshake succeeded")
			}
			if !errors.Is(r.err, tc.want) {
				t.Fatalf("error %v, want %v", r.err, tc.want)
			}
		})
	}
}

// What a PLAIN server must refuse from its client.
func TestHandshakeWirePlainServerRefuses(t *testing.T) {
	auth := AuthenticatorFunc(func(context.Context, *AuthRequest) (AuthResult, error) {
		return AuthResult{Status: StatusOK}, nil
	})
	for _, tc := range []struct {
		name string
		sent []byte
		want error
	}{
		{"HELLO with a short password", slices.Concat([]byte{0x04, 0x0A, 0x05}, []byte("HELLO"), []byte{1, 'u', 3, 'p'}), ErrMalformed},
		{"HELLO with a trailing octet", slices.Concat([]byte{0x04, 0x0B, 0x05}, []byte("HELLO"), []byte{1, 'u', 1, 'p', 'x'}), ErrMalformed},
		{"INITIATE before HELLO", rawCommand("INITIATE", rawProps("Socket-Type", "DEALER")), ErrProtocol},
		{"READY instead of HELLO", rawReady("Socket-Type", "DEALER"), ErrProtocol},
		{"data frame instead of HELLO", rawFrame(false, []byte("hi")), ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			defer b.Close()
			ch := make(chan hsOut, 1)
			go func() {
				c, err := Handshake(context.Background(), a, Config{SocketType: Router,
					Mechanism: PlainServer{}, Authenticator: auth, HandshakeTimeout: 5 * time.Second})
				ch <- hsOut{c, err}
			}()
			if _, err := b.Write(slices.Concat(rawGreeting(3, 1, "PLAIN", false), tc.sent)); err != nil {
				t.Fatal(err)
			}
			r := <-ch
			if r.c != nil {
				r.c.Close()
				t.Fatal("handshake succeeded")
			}
			if !errors.Is(r.err, tc.want) {
				t.Fatalf("error %v, want %v", r.err, tc.want)
			}
		})
	}
}
