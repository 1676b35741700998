package main

// dripdrop cat's CURVE and PLAIN flags (DESIGN.md's CLI contract):
// -curve-server -curve-secret; -curve-public -curve-secret
// -curve-serverkey; -plain-user -plain-pass [-plain-server]. Through run(),
// against our own sockets and against libzmq.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

func catKeys(t *testing.T) curve.KeyPair {
	t.Helper()
	kp, err := curve.NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// dashKeys returns a key pair whose secret key's Z85 starts with "-", as
// one in 85 does: it must still be taken as the flag's value.
func dashKeys(t *testing.T) curve.KeyPair {
	t.Helper()
	for range 100000 {
		if kp := catKeys(t); strings.HasPrefix(kp.Secret.String(), "-") {
			return kp
		}
	}
	t.Fatal("no secret key starting with '-'")
	return curve.KeyPair{}
}

func TestCatCurveServer(t *testing.T) {
	t.Parallel()
	srv, cli := dashKeys(t), catKeys(t)
	t.Run("client with the server key", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		push := newSocket(t, sockets.PUSH, sockets.WithCurveClient(cli, srv.Public))
		ep := bindLocal(t, push)
		c := startCat(t, strings.NewReader(""), "-curve-server", "-curve-secret", srv.Secret.String(), "-n", "1", "-connect", ep, "PULL")
		send(t, ctx, push, "sealed", "frames")
		c.waitOK(t)
		c.wantStdout(t, "sealed|frames\n")
	})
	// cat, the server, cannot open the client's HELLO (sealed for another
	// key) and closes the connection without a word (RFC 26): the client
	// is refused right after HELLO, and cat gets no message.
	t.Run("client with another server key", func(t *testing.T) {
		t.Parallel()
		events := make(chan sockets.Event, 64)
		push := newSocket(t, sockets.PUSH, sockets.WithCurveClient(cli, catKeys(t).Public), sockets.WithMonitor(events))
		ep := bindLocal(t, push)
		c := startCat(t, strings.NewReader(""), "-curve-server", "-curve-secret="+srv.Secret.String(),
			"-timeout", "500ms", "-n", "1", "-connect", ep, "PULL")
		background(t, func(ctx context.Context) { push.Send(ctx, sockets.NewMsgString("leak")) })
		if err := firstHandshakeFailure(t, events); !errors.Is(err, curve.ErrNoWelcome) {
			t.Fatalf("our client's handshake failed with %v, want %v", err, curve.ErrNoWelcome)
		}
		err := c.wait(t)
		checkRefused(t, c, err)
	})
}

func TestCatCurveClient(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv, cli := catKeys(t), dashKeys(t)
	auth := sockets.NewAuth()
	auth.AllowCurve(cli.Public)
	pull := newSocket(t, sockets.PULL, sockets.WithCurveServer(srv.Secret), sockets.WithZAP(auth))
	ep := bindLocal(t, pull)
	c := startCat(t, strings.NewReader("hello|curve\n"), "-curve-public", cli.Public.String(),
		"-curve-secret", cli.Secret.String(), "-curve-serverkey", srv.Public.String(), "-connect", ep, "PUSH")
	c.waitOK(t)
	m, err := pull.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := frames(m); len(got) != 2 || got[0] != "hello" || got[1] != "curve" {
		t.Fatalf("received %q", got)
	}
	if m.Peer == nil || m.Peer.UserID != cli.Public.String() {
		t.Fatalf("peer %+v, want User-Id %s (cat's public key)", m.Peer, cli.Public)
	}
}

// firstHandshakeFailure returns the error of the first failed handshake
// among a socket's monitor events.
func firstHandshakeFailure(t *testing.T, events <-chan sockets.Event) error {
	t.Helper()
	timeout := time.After(catDeadline)
	for {
		select {
		case e := <-events:
			switch e.Type {
			case sockets.EventHandshakeFailed:
				return e.Err
			case sockets.EventHandshakeSucceeded:
				t.Fatalf("the handshake succeeded: %v", e)
			}
		case <-timeout:
			t.Fatal("no handshake failed")
		}
	}
}

// checkRefused checks how a cat whose peer was refused ends: exit 1 after
// its -timeout, nothing printed, and no secret of its command line in the
// error or on stderr.
func checkRefused(t *testing.T, c *catProc, err error) {
	t.Helper()
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != 1 || !strings.Contains(err.Error(), "no message within") {
		t.Fatalf("cat %q = %v: exit %d, want 1: no message within its -timeout", c.args, err, code)
	}
	c.wantStdout(t, "")
	noSecretShown(t, c.args, err.Error(), stderr.String(), c.stderr.String())
}

// secretFlags are the flags whose values are secrets.
var secretFlags = []string{"-curve-secret", "-plain-pass"}

// secrets returns the values of the secret flags in a command line, in
// both the "-flag value" and the "-flag=value" forms.
func secrets(args []string) []string {
	var out []string
	for i, a := range args {
		for _, f := range secretFlags {
			switch {
			case a == f && i+1 < len(args):
				out = append(out, args[i+1])
			case strings.HasPrefix(a, f+"="):
				out = append(out, a[len(f)+1:])
			}
		}
	}
	return out
}

// leakLen is the length of the shortest piece of a secret that counts as
// shown: 20 characters of a 40-character key are half of it.
const leakLen = 20

// noSecretShown fails the test if any output holds leakLen characters in a
// row of a secret in args (all of a shorter secret).
func noSecretShown(t *testing.T, args []string, outputs ...string) {
	t.Helper()
	for _, sec := range secrets(args) {
		n := min(leakLen, len(sec))
		for i := 0; i+n <= len(sec); i++ {
			piece := sec[i : i+n]
			for _, out := range outputs {
				if strings.Contains(out, piece) {
					t.Fatalf("output shows %q of the secret %q:\n%s", piece, sec, out)
				}
			}
		}
	}
}

func TestSecrets(t *testing.T) {
	got := secrets([]string{"-curve-secret", "a", "-curve-secret=b", "-plain-pass", "c", "-plain-pass=d", "-curve-public", "e", "-plain-pass"})
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("secrets = %q, want %q", got, want)
	}
}

// cat against libzmq CURVE peers: cat as the server of a libzmq PUSH, and
// as the client of a libzmq PULL whose ZAP handler (pyzmq's) allows only
// cat's key.
func TestCatCurveLibzmq(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	t.Run("cat-server", func(t *testing.T) {
		t.Parallel()
		srv, cli := catKeys(t), catKeys(t)
		peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUSH", Bind: loopback, Args: []string{
			"--curve-serverkey=" + srv.Public.String(), "--curve-public=" + cli.Public.String(), "--curve-secret=" + cli.Secret.String()}})
		c := startCat(t, strings.NewReader(""), "-curve-server", "-curve-secret", srv.Secret.String(),
			"-n", "1", "-connect", peer.Endpoint(), "PULL")
		if err := peer.Send([]byte("from"), []byte("libzmq")); err != nil {
			t.Fatal(err)
		}
		c.waitOK(t)
		c.wantStdout(t, "from|libzmq\n")
	})
	t.Run("cat-client", func(t *testing.T) {
		t.Parallel()
		srv, cli := catKeys(t), catKeys(t)
		peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: loopback, Args: []string{
			"--curve-server", "--curve-secret=" + srv.Secret.String(), "--curve-allow=" + cli.Public.String()}})
		c := startCat(t, strings.NewReader("to|libzmq\n"), "-curve-public", cli.Public.String(),
			"-curve-secret", cli.Secret.String(), "-curve-serverkey", srv.Public.String(), "-connect", peer.Endpoint(), "PUSH")
		c.waitOK(t)
		got, err := peer.Recv()
		if err != nil {
			t.Fatal(err)
		}
		equalFrames(t, got, "to", "libzmq")
	})
	t.Run("cat-plain-server", func(t *testing.T) {
		t.Parallel()
		peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUSH", Bind: loopback, Args: []string{
			"--plain-user", "admin", "--plain-pass", "secret"}})
		c := startCat(t, strings.NewReader(""), "-plain-server", "-plain-user", "admin", "-plain-pass", "secret",
			"-n", "1", "-connect", peer.Endpoint(), "PULL")
		if err := peer.Send([]byte("plain")); err != nil {
			t.Fatal(err)
		}
		c.waitOK(t)
		c.wantStdout(t, "plain\n")
	})
}

func TestCatSecurityUsageErrors(t *testing.T) {
	t.Parallel()
	srv, cli, other := catKeys(t), catKeys(t), catKeys(t)
	s, p, k := srv.Secret.String(), cli.Public.String(), srv.Public.String()
	zero := curve.Key{}.String()
	const pass = "correct horse battery staple"
	for _, tc := range []struct {
		name  string
		flags []string
		want  string // in the error
	}{
		{"server without secret", []string{"-curve-server"}, "-curve-server needs -curve-secret"},
		{"server with serverkey", []string{"-curve-server", "-curve-secret", s, "-curve-serverkey", k}, "-curve-serverkey"},
		{"server with public", []string{"-curve-server", "-curve-secret", s, "-curve-public", p}, "-curve-public"},
		{"secret alone", []string{"-curve-secret", s}, "need -curve-server"},
		{"public alone", []string{"-curve-public", p}, "need -curve-server"},
		{"client without public", []string{"-curve-secret", cli.Secret.String(), "-curve-serverkey", k}, "needs -curve-public"},
		{"client without secret", []string{"-curve-public", p, "-curve-serverkey", k}, "needs -curve-public"},
		{"serverkey alone", []string{"-curve-serverkey", k}, "needs -curve-public"},
		{"public of another pair", []string{"-curve-public", other.Public.String(), "-curve-secret", cli.Secret.String(), "-curve-serverkey", k}, "is not the public key"},
		{"short key", []string{"-curve-server", "-curve-secret", s[:39]}, "39 characters"},
		{"long key", []string{"-curve-server", "-curve-secret", s + "0"}, "41 characters"},
		{"not Z85", []string{"-curve-server", "-curve-secret", strings.Repeat("~", 40)}, "-curve-secret"},
		{"zero key", []string{"-curve-server", "-curve-secret", zero}, "all zeros"},
		{"bad serverkey", []string{"-curve-public", p, "-curve-secret", cli.Secret.String(), "-curve-serverkey", "nope"}, "-curve-serverkey"},
		{"CURVE with PLAIN", []string{"-curve-server", "-curve-secret", s, "-plain-user", "u", "-plain-pass", pass}, "do not go together"},
		{"CURVE with plain-server", []string{"-curve-server", "-curve-secret", s, "-plain-server", "-plain-user", "u"}, "do not go together"},
		{"plain-pass without plain-user", []string{"-plain-pass", pass}, "-plain-pass needs -plain-user"},
		{"plain-pass with an unknown flag", []string{"-plain-user", "u", "-plain-pass=" + pass, "-bogus"}, "-bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ep := inprocEP(t)
			var stdout, stderr bytes.Buffer
			argv := append(append([]string{"cat"}, tc.flags...), "-bind", ep, "PULL")
			err := run(testCtx(t), argv, strings.NewReader(""), &stdout, &stderr)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("cat %q = %v; want a usage error saying %q", argv[1:], err, tc.want)
			}
			if code := exitCode(err, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if stdout.Len() != 0 {
				t.Errorf("wrote to stdout: %q", stdout.String())
			}
			noSecretShown(t, tc.flags, err.Error(), stderr.String())
		})
	}
}
