package sockets

// R09, the ZAP matrix (reliability matrix §7 R09, §8 item 14): an
// application's own REP bound as the ZAP handler answers in every way
// RFC 27 allows and in the ways it does not, for NULL, PLAIN and CURVE
// servers. No connection may become ready without a "200"; every other
// case must close with a named error and a handshake-failed event that
// says why.
//
// Each test binds its handler at an endpoint of its own (withZAPEndpoint)
// so that the cases can run in parallel; TestZAPWellKnownEndpoint uses the
// real ZAPEndpoint and so does not run in parallel.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// withZAPEndpoint points a socket's ZAP client at another inproc name.
func withZAPEndpoint(ep string) Option {
	return func(o *options) error { o.zapEndpoint = ep; return nil }
}

func zapTestEndpoint() string { return fmt.Sprintf("inproc://zap-test-%d", relUniq()) }

func zapKeyPair() curve.KeyPair {
	kp, err := curve.NewKeyPair()
	if err != nil {
		panic(err)
	}
	return kp
}

var (
	zapServerKeys = zapKeyPair()
	zapClientKeys = zapKeyPair()
)

// zapMech is one mechanism of the matrix: the options of a server that
// has no authenticator of its own, those of its client, and the
// credential frames the handler must be sent.
type zapMech struct {
	name   string
	server []Option
	client []Option
	creds  [][]byte
}

func zapMechs() []zapMech {
	return []zapMech{
		{name: "NULL"},
		{
			name:   "PLAIN",
			server: []Option{WithPlainServer(nil)},
			client: []Option{WithPlainClient("admin", "secret")},
			creds:  [][]byte{[]byte("admin"), []byte("secret")},
		},
		{
			name:   "CURVE",
			server: []Option{WithCurveServer(zapServerKeys.Secret)},
			client: []Option{WithCurveClient(zapClientKeys, zapServerKeys.Public)},
			creds:  [][]byte{zapClientKeys.Public[:]},
		},
	}
}

// What a test handler does with requests.
type zapMode int

const (
	zapAnswer zapMode = iota // reply with the case's reply
	zapDeaf                  // bound, never receives
	zapMute                  // receives, never replies
	zapVanish                // receives one request, then closes
)

// zapCase is one row of the matrix.
type zapCase struct {
	name  string
	mode  zapMode
	reply func(req [][]byte) [][]byte // REP-level frames, for zapAnswer
	// want is the sentinel the server's handshake failure must wrap; nil
	// means the client must get in.
	want error
	// status is the ERROR reason the client must be sent.
	status string
}

var zapOKMetadata = zmtp.Metadata{{Name: "X-Role", Value: []byte("admin")}}

func zapOK(req [][]byte) [][]byte {
	return [][]byte{[]byte("1.0"), req[1], []byte("200"), []byte("OK"), []byte("alice"), zmtp.AppendMetadata(nil, zapOKMetadata)}
}

func zapStatus(status string) func([][]byte) [][]byte {
	return func(req [][]byte) [][]byte {
		return [][]byte{[]byte("1.0"), req[1], []byte(status), []byte("because"), {}, {}}
	}
}

func zapCases() []zapCase {
	with := func(f func([][]byte) [][]byte, i int, v []byte) func([][]byte) [][]byte {
		return func(req [][]byte) [][]byte {
			r := f(req)
			r[i] = v
			return r
		}
	}
	return []zapCase{
		{name: "200", reply: zapOK},
		{name: "300", reply: zapStatus("300"), want: zmtp.ErrAuth, status: "300"},
		{name: "400", reply: zapStatus("400"), want: zmtp.ErrAuth, status: "400"},
		{name: "500", reply: zapStatus("500"), want: zmtp.ErrAuth, status: "500"},
		{name: "version 1.1", reply: with(zapOK, 0, []byte("1.1")), want: ErrZAPVersion, status: "300"},
		{name: "wrong request id", reply: with(zapOK, 1, []byte("not-it")), want: ErrZAPRequestID, status: "300"},
		{name: "status 2", reply: with(zapOK, 2, []byte("2")), want: ErrZAPStatus, status: "300"},
		{name: "status 999", reply: with(zapOK, 2, []byte("999")), want: ErrZAPStatus, status: "300"},
		{name: "7 frames", reply: func(req [][]byte) [][]byte { return append(zapOK(req), []byte("extra")) },
			want: ErrZAPMalformed, status: "300"},
		{name: "5 frames", reply: func(req [][]byte) [][]byte { return zapOK(req)[:5] },
			want: ErrZAPMalformed, status: "300"},
		{name: "garbage metadata", reply: with(zapOK, 5, []byte("\x05X-Bad\x00\x00\x01\x00")),
			want: ErrZAPMetadata, status: "300"},
		{name: "disconnected", mode: zapVanish, want: ErrZAPDisconnected, status: "300"},
		{name: "never receives", mode: zapDeaf, want: ErrZAPTimeout, status: "300"},
		{name: "never sends", mode: zapMute, want: ErrZAPTimeout, status: "300"},
	}
}

// startZAPHandler binds an application-style REP handler at ep that
// behaves as c says, and returns the requests it received.
func startZAPHandler(t *testing.T, ep string, c zapCase) <-chan [][]byte {
	t.Helper()
	rep := relNew(t, REP, WithLinger(0))
	if err := rep.Bind(ep); err != nil {
		t.Fatal(err)
	}
	reqs := make(chan [][]byte, 64)
	if c.mode == zapDeaf {
		return reqs
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := rep.Recv(ctx)
			if err != nil {
				return
			}
			reqs <- m.Frames
			switch c.mode {
			case zapMute:
				<-ctx.Done()
				return
			case zapVanish:
				rep.Close()
				return
			}
			if len(m.Frames) < 2 {
				return // the test checks the request
			}
			if err := rep.Send(ctx, NewMsg(c.reply(m.Frames)...)); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return reqs
}

// TestR09ZAPMatrix: every case × NULL, PLAIN, CURVE, over tcp.
func TestR09ZAPMatrix(t *testing.T) {
	t.Parallel()
	for _, m := range zapMechs() {
		for _, c := range zapCases() {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				runZAPCase(t, m, c)
			})
		}
	}
}

func runZAPCase(t *testing.T, m zapMech, c zapCase) {
	ep := zapTestEndpoint()
	reqs := startZAPHandler(t, ep, c)
	srvEvs, srvMon := newRelEvents(t)
	cliEvs, cliMon := newRelEvents(t)
	const zapTimeout = 300 * time.Millisecond
	srv := relNew(t, PULL, append([]Option{srvMon, WithLinger(0), WithZAPDomain("test"),
		WithZAPTimeout(zapTimeout), withZAPEndpoint(ep)}, m.server...)...)
	addr := relBind(t, srv, TCP)
	// One attempt only: what a retry meets once a handler has gone is
	// the no-handler policy, tested apart.
	cli := relNew(t, PUSH, append([]Option{cliMon, WithLinger(0), WithReconnectInterval(-1, 0)}, m.client...)...)
	if err := cli.Connect(addr); err != nil {
		t.Fatal(err)
	}
	// The message waits on the connect-side pipe; or, when the refusal
	// came first and took the pipe with it (the client does not
	// reconnect), Send finds no peer and times out. Either way nothing
	// may be delivered, which the checks below assert.
	if err := relSendT(cli, time.Second, NewMsgString("hello")); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}

	var req [][]byte
	if c.mode != zapDeaf {
		select {
		case req = <-reqs:
		case <-time.After(10 * time.Second):
			t.Fatalf("the handler got no request; server events:\n%s", srvEvs)
		}
		checkZAPRequest(t, m, req)
	}

	if c.want == nil {
		msg, err := relRecvT(srv, 10*time.Second)
		if err != nil {
			t.Fatalf("Recv: %v; server events:\n%s", err, srvEvs)
		}
		if len(msg.Frames) != 1 || string(msg.Frames[0]) != "hello" {
			t.Fatalf("received %q", msg.Frames)
		}
		if msg.Peer == nil || msg.Peer.UserID != "alice" {
			t.Fatalf("Peer = %+v, want User-Id alice from the ZAP reply", msg.Peer)
		}
		if v, ok := msg.Peer.Get("User-Id"); !ok || v != "alice" {
			t.Errorf(`Peer.Get("User-Id") = %q, %v`, v, ok)
		}
		if v, ok := msg.Peer.Get("x-role"); !ok || v != "admin" {
			t.Errorf(`Peer.Get("x-role") = %q, %v; want the ZAP reply's metadata`, v, ok)
		}
		return
	}

	e, ok := srvEvs.wait(10*time.Second, 1, relIs(EventHandshakeFailed))
	if !ok {
		t.Fatalf("no handshake-failed event on the server:\n%s", srvEvs)
	}
	if !errors.Is(e.Err, c.want) || !errors.Is(e.Err, zmtp.ErrAuth) {
		t.Fatalf("server handshake failed with %v; want an error wrapping %v and zmtp.ErrAuth", e.Err, c.want)
	}
	if c.want == zmtp.ErrAuth && !bytes.Contains([]byte(e.Err.Error()), []byte("status "+c.status)) {
		t.Errorf("server handshake failed with %v; want it to name status %s", e.Err, c.status)
	}
	if c.want == ErrZAPTimeout {
		// The ZAP timeout starts after the accept: the failure cannot
		// come sooner than that after it.
		acc, ok := srvEvs.wait(0, 1, relIs(EventAccepted))
		if !ok {
			t.Fatalf("a ZAP timeout without an accept before it:\n%s", srvEvs)
		}
		if d := e.Time.Sub(acc.Time); d < zapTimeout {
			t.Errorf("timed out %v after the accept, before the ZAP timeout of %v", d, zapTimeout)
		}
	}
	ce, ok := cliEvs.wait(5*time.Second, 1, relIs(EventHandshakeFailed))
	var pe *zmtp.PeerError
	if !ok || !errors.As(ce.Err, &pe) || pe.Reason != c.status {
		t.Fatalf("client handshake failure %v (%v); want the server's ERROR %q:\n%s", ce.Err, ok, c.status, cliEvs)
	}
	// Both sides saw the one connection the client makes (it does not
	// reconnect) fail: nothing could have been delivered, and nothing
	// was.
	for _, l := range []*relEvents{srvEvs, cliEvs} {
		if n := l.count(EventHandshakeSucceeded); n != 0 {
			t.Fatalf("a connection became ready without a 200:\n%s", l)
		}
	}
	if n := srvEvs.count(EventAccepted); n != 1 {
		t.Fatalf("%d connections accepted; want the client's one:\n%s", n, srvEvs)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now())
	defer cancel()
	if msg, err := srv.Recv(expired); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("received %q (%v) without a 200", msg.Frames, err)
	}
}

// checkZAPRequest checks a request as the REP handler sees it: version,
// request id, domain, address, identity, mechanism, credentials.
func checkZAPRequest(t *testing.T, m zapMech, req [][]byte) {
	t.Helper()
	want := append([][]byte{[]byte("1.0"), nil, []byte("test"), []byte("127.0.0.1"), {}, []byte(m.name)}, m.creds...)
	if len(req) != len(want) {
		t.Fatalf("request of %d frames %q, want %d", len(req), req, len(want))
	}
	for i, w := range want {
		if i == 1 {
			if len(req[1]) == 0 {
				t.Errorf("empty request id")
			}
			continue
		}
		if !bytes.Equal(req[i], w) {
			t.Errorf("request frame %d = %q, want %q", i, req[i], w)
		}
	}
}
