package sockets_test

// Interop tests against a real libzmq (4.3.x through pyzmq, driven by
// internal/libzmqpeer). Every pair of socket types that may talk runs with
// our socket on either side of the bind, over tcp and ipc, and carries the
// bulkShapes runs (10,000 small messages, multipart messages with empty and
// 255/256-octet frames, 1 MiB frames) in each direction the pattern allows.
// Further tests cover PUSH round-robin and PLAIN in both roles; heartbeats
// are in interop_heartbeat_test.go.
//
// Test-side settings that avoid drops by design (not bugs): PUB, ROUTER and
// REP drop at the send high-water mark, so the bulk runs give those senders
// an unlimited HWM (ours: WithSendHWM(0), libzmq: --hwm 0) or make ROUTER
// mandatory.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Identities used by the router tests.
var (
	oursDealerID = []byte("dd-dealer")
	oursRouterID = []byte("dd-router")
	oursReqID    = []byte("dd-req")
	libDealerID  = []byte("lib-dealer")
	libRouterID  = []byte("lib-router")
	libReqID     = []byte("lib-req")
)

// Pub/sub topics: data is published under dataTopic (subscription
// dataSub, a proper prefix of it), noise under noiseTopic, which nobody
// subscribes to, and syncTopic/syncSub only until the subscription is
// known to have arrived.
var (
	dataSub    = []byte("a")
	dataTopic  = []byte("a/data")
	noiseTopic = []byte("b/noise")
	syncSub    = []byte("S")
	syncTopic  = []byte("Sync")
)

// libEnv is one of our sockets connected to one libzmq peer.
type libEnv struct {
	ctx     context.Context
	ours    *sockets.Socket
	peer    *libzmqpeer.Peer
	events  chan sockets.Event
	libType string // the peer's socket type
}

// libCombo is a pair of socket types: ours and libzmq's, with the options
// each needs and the traffic to run between them.
type libCombo struct {
	name     string
	ours     sockets.Type
	oursOpts []sockets.Option
	lib      string
	libArgs  []string
	run      func(t *testing.T, e *libEnv)
}

func hexID(id []byte) string { return hex.EncodeToString(id) }

func libCombos() []libCombo {
	var (
		unlimited = []string{"--hwm", "0"}
		empty     = [][]byte{{}}
	)
	return []libCombo{
		{
			name: "PUSH-PULL", ours: sockets.PUSH, lib: "PULL",
			run: func(t *testing.T, e *libEnv) { e.oursToLib(t, nil, nil) },
		},
		{
			name: "PULL-PUSH", ours: sockets.PULL, lib: "PUSH",
			run: func(t *testing.T, e *libEnv) { e.libToOurs(t, nil, nil, nil) },
		},
		{
			name: "PUB-SUB", ours: sockets.PUB, oursOpts: []sockets.Option{sockets.WithSendHWM(0)}, lib: "SUB",
			run: func(t *testing.T, e *libEnv) { e.pubToLibSub(t, false) },
		},
		{
			name: "XPUB-SUB", ours: sockets.XPUB, oursOpts: []sockets.Option{sockets.WithSendHWM(0)}, lib: "SUB",
			run: func(t *testing.T, e *libEnv) { e.pubToLibSub(t, true) },
		},
		{
			name: "PUB-XSUB", ours: sockets.PUB, oursOpts: []sockets.Option{sockets.WithSendHWM(0)}, lib: "XSUB",
			run: func(t *testing.T, e *libEnv) { e.pubToLibSub(t, false) },
		},
		{
			name: "XPUB-XSUB", ours: sockets.XPUB, oursOpts: []sockets.Option{sockets.WithSendHWM(0)}, lib: "XSUB",
			run: func(t *testing.T, e *libEnv) { e.pubToLibSub(t, true) },
		},
		{
			name: "SUB-PUB", ours: sockets.SUB, lib: "PUB", libArgs: unlimited,
			run: func(t *testing.T, e *libEnv) { e.libPubToSub(t, false) },
		},
		{
			name: "XSUB-PUB", ours: sockets.XSUB, lib: "PUB", libArgs: unlimited,
			run: func(t *testing.T, e *libEnv) { e.libPubToSub(t, false) },
		},
		{
			name: "SUB-XPUB", ours: sockets.SUB, lib: "XPUB", libArgs: unlimited,
			run: func(t *testing.T, e *libEnv) { e.libPubToSub(t, true) },
		},
		{
			name: "XSUB-XPUB", ours: sockets.XSUB, lib: "XPUB", libArgs: unlimited,
			run: func(t *testing.T, e *libEnv) { e.libPubToSub(t, true) },
		},
		{
			name: "REQ-REP", ours: sockets.REQ, lib: "REP",
			run: func(t *testing.T, e *libEnv) {
				e.hello(t, nil, nil, nil, nil)
				e.oursReqEcho(t)
			},
		},
		{
			name: "REP-REQ", ours: sockets.REP, oursOpts: []sockets.Option{sockets.WithSendHWM(0)}, lib: "REQ",
			run: func(t *testing.T, e *libEnv) {
				e.libHello(t, nil, nil)
				e.libReqEcho(t, nil)
			},
		},
		{
			name: "REQ-ROUTER", ours: sockets.REQ, oursOpts: []sockets.Option{sockets.WithIdentity(oursReqID)},
			lib: "ROUTER", libArgs: []string{"--hwm", "0", "--router-mandatory"},
			run: func(t *testing.T, e *libEnv) {
				e.hello(t, nil, [][]byte{oursReqID, {}}, [][]byte{oursReqID, {}}, nil)
				e.oursReqEcho(t)
			},
		},
		{
			name: "ROUTER-REQ", ours: sockets.ROUTER, oursOpts: []sockets.Option{sockets.WithSendHWM(0)},
			lib: "REQ", libArgs: []string{"--identity", hexID(libReqID)},
			run: func(t *testing.T, e *libEnv) {
				e.libHello(t, nil, [][]byte{libReqID, {}})
				e.libReqEcho(t, [][]byte{libReqID, {}})
			},
		},
		{
			name: "DEALER-REP", ours: sockets.DEALER, oursOpts: []sockets.Option{sockets.WithRecvHWM(0)},
			lib: "REP", libArgs: unlimited,
			run: func(t *testing.T, e *libEnv) {
				e.hello(t, empty, nil, nil, empty)
				e.oursDealerEcho(t)
			},
		},
		{
			name: "REP-DEALER", ours: sockets.REP, oursOpts: []sockets.Option{sockets.WithSendHWM(0)},
			lib: "DEALER", libArgs: unlimited,
			run: func(t *testing.T, e *libEnv) {
				e.libHello(t, empty, nil)
				e.libDealerEcho(t)
			},
		},
		{
			name: "DEALER-ROUTER", ours: sockets.DEALER, oursOpts: []sockets.Option{sockets.WithIdentity(oursDealerID)},
			lib: "ROUTER", libArgs: []string{"--hwm", "0", "--router-mandatory"},
			run: func(t *testing.T, e *libEnv) {
				// The ROUTER learns our identity from the first message.
				e.hello(t, nil, [][]byte{oursDealerID}, [][]byte{oursDealerID}, nil)
				e.oursToLib(t, nil, [][]byte{oursDealerID})
				e.libToOurs(t, [][]byte{oursDealerID}, nil, nil)
			},
		},
		{
			name: "ROUTER-DEALER", ours: sockets.ROUTER, oursOpts: []sockets.Option{sockets.WithRouterMandatory()},
			lib: "DEALER", libArgs: []string{"--identity", hexID(libDealerID)},
			run: func(t *testing.T, e *libEnv) {
				e.libHello(t, nil, [][]byte{libDealerID})
				e.libToOurs(t, nil, [][]byte{libDealerID}, nil)
				e.oursToLib(t, [][]byte{libDealerID}, nil)
			},
		},
		{
			name: "DEALER-DEALER", ours: sockets.DEALER, lib: "DEALER",
			run: func(t *testing.T, e *libEnv) {
				e.oursToLib(t, nil, nil)
				e.libToOurs(t, nil, nil, nil)
			},
		},
		{
			name: "ROUTER-ROUTER", ours: sockets.ROUTER,
			oursOpts: []sockets.Option{sockets.WithIdentity(oursRouterID), sockets.WithRouterMandatory()},
			lib:      "ROUTER", libArgs: []string{"--identity", hexID(libRouterID), "--hwm", "0", "--router-mandatory"},
			run: func(t *testing.T, e *libEnv) {
				// Each ROUTER knows the other's identity once connected;
				// ours speaks first, so libzmq has surely seen us when it
				// answers.
				if _, err := waitForEvent(e.ctx, e.events, sockets.EventHandshakeSucceeded, 0); err != nil {
					t.Fatal(err)
				}
				e.hello(t, [][]byte{libRouterID}, [][]byte{oursRouterID}, [][]byte{oursRouterID}, [][]byte{libRouterID})
				e.oursToLib(t, [][]byte{libRouterID}, [][]byte{oursRouterID})
				e.libToOurs(t, [][]byte{oursRouterID}, [][]byte{libRouterID}, nil)
			},
		},
		{
			name: "PAIR-PAIR", ours: sockets.PAIR, lib: "PAIR",
			run: func(t *testing.T, e *libEnv) {
				e.oursToLib(t, nil, nil)
				e.libToOurs(t, nil, nil, nil)
			},
		},
	}
}

// TestLibzmqInterop runs every pair of libCombos with our socket binding
// and libzmq connecting, and the other way round, over tcp and ipc.
//
// The four runs of a pair go at once, each in its own goroutine (t.Run
// allows it): they spend most of their time waiting on the Python peers,
// so the -parallel limit (the number of CPUs) would leave the machine idle.
func TestLibzmqInterop(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	t.Logf("libzmq %s", libzmqpeer.Version())
	for _, c := range libCombos() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var wg sync.WaitGroup
			for _, oursBinds := range []bool{true, false} {
				side := "ours-binds"
				if !oursBinds {
					side = "libzmq-binds"
				}
				for _, tr := range []string{"tcp", "ipc"} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						t.Run(side+"/"+tr, func(t *testing.T) {
							e := startLibEnv(t, c, oursBinds, tr)
							c.run(t, e)
						})
					}()
				}
			}
			wg.Wait()
		})
	}
}

// startLibEnv creates our socket and the libzmq peer and connects them.
func startLibEnv(t *testing.T, c libCombo, oursBinds bool, transport string) *libEnv {
	t.Helper()
	e := &libEnv{ctx: testContext(t, 60*time.Second), events: newMonitor(), libType: c.lib}
	opts := append([]sockets.Option{sockets.WithMonitor(e.events)}, c.oursOpts...)
	e.ours = newTestSocket(t, c.ours, opts...)
	o := libzmqpeer.Options{Type: c.lib, Args: c.libArgs}
	if oursBinds {
		o.Connect = []string{bindTestSocket(t, e.ours, transport)}
		e.peer = libzmqpeer.Start(t, o)
	} else {
		o.Bind = []string{localEndpoint(t, transport, "lib")}
		e.peer = libzmqpeer.Start(t, o)
		if err := e.ours.Connect(e.peer.Endpoint()); err != nil {
			t.Fatalf("Connect %s: %v", e.peer.Endpoint(), err)
		}
	}
	return e
}

// eachShape runs f for every bulk shape in a subtest, stopping at the first
// failure (what is left in the queues would confuse the next one).
func eachShape(t *testing.T, prefix string, f func(t *testing.T, sh bulkShape)) {
	t.Helper()
	for _, sh := range bulkShapes {
		if !t.Run(prefix+"-"+sh.name, func(t *testing.T) { f(t, sh) }) {
			t.FailNow()
		}
	}
}

// libRecvShape has the libzmq peer receive the shape's messages, each behind
// the envelope pre, and compare each exactly: frame count, envelope, extra
// frames and payload.
func libRecvShape(peer *libzmqpeer.Peer, pre [][]byte, sh bulkShape) error {
	if err := peer.RecvCheck(sh.n, sh.size, concat(pre, sh.extra)...); err != nil {
		return fmt.Errorf("libzmq received: %w", err)
	}
	return nil
}

// libSend has the peer send the shape's messages behind pre, in a
// goroutine.
func libSend(peer *libzmqpeer.Peer, pre [][]byte, sh bulkShape) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- peer.SendN(sh.n, sh.size, concat(pre, sh.extra)...) }()
	return errc
}

// oursToLib sends every shape from our socket behind oursPre; libzmq
// receives each behind libPre.
func (e *libEnv) oursToLib(t *testing.T, oursPre, libPre [][]byte) {
	t.Helper()
	eachShape(t, "ours-to-libzmq", func(t *testing.T, sh bulkShape) {
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		sent := sendBulk(ctx, e.ours, oursPre, sh)
		lerr := libRecvShape(e.peer, libPre, sh)
		if lerr != nil {
			cancel()
		}
		if err := firstErr(lerr, <-sent); err != nil {
			t.Fatal(err)
		}
	})
}

// libToOurs has libzmq send every shape behind libPre; our socket receives
// each behind oursPre, ignoring messages skip accepts.
func (e *libEnv) libToOurs(t *testing.T, libPre, oursPre [][]byte, skip func([][]byte) bool) {
	t.Helper()
	eachShape(t, "libzmq-to-ours", func(t *testing.T, sh bulkShape) {
		sent := libSend(e.peer, libPre, sh)
		rerr := recvBulk(e.ctx, e.ours, oursPre, sh, skip)
		if rerr != nil {
			e.peer.Kill() // it may be stuck at its high-water mark
		}
		if err := firstErr(rerr, <-sent); err != nil {
			t.Fatal(err)
		}
	})
}

// hello sends "hello" from ours behind oursPre and checks libzmq gets it
// behind libPre; libzmq answers "world" behind libReplyPre, and ours must
// get it behind oursReplyPre. The envelopes check identities both ways.
func (e *libEnv) hello(t *testing.T, oursPre, libPre, libReplyPre, oursReplyPre [][]byte) {
	t.Helper()
	hello, world := [][]byte{[]byte("hello")}, [][]byte{[]byte("world")}
	if err := e.ours.Send(e.ctx, sockets.NewMsg(concat(oursPre, hello)...)); err != nil {
		t.Fatal(err)
	}
	got, err := e.peer.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := equalFrames(got, concat(libPre, hello)); err != nil {
		t.Fatalf("libzmq received: %v", err)
	}
	if err := e.peer.Send(concat(libReplyPre, world)...); err != nil {
		t.Fatal(err)
	}
	m, err := e.ours.Recv(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := equalFrames(m.Frames, concat(oursReplyPre, world)); err != nil {
		t.Fatalf("ours received: %v", err)
	}
	e.checkPeerInfo(t, m)
}

// checkPeerInfo checks the metadata our socket attached to a message from
// the libzmq peer.
func (e *libEnv) checkPeerInfo(t *testing.T, m sockets.Msg) {
	t.Helper()
	if m.Peer == nil || m.Peer.SocketType != e.libType {
		t.Fatalf("message Peer = %+v, want Socket-Type %s", m.Peer, e.libType)
	}
	if st, ok := m.Peer.Get("socket-type"); !ok || st != e.libType {
		t.Fatalf("Peer.Get(socket-type) = %q, %v", st, ok)
	}
}

// libHello is hello the other way: libzmq sends "hello" behind libPre, ours
// gets it behind oursPre and answers "world" behind the same envelope.
func (e *libEnv) libHello(t *testing.T, libPre, oursPre [][]byte) {
	t.Helper()
	if err := e.peer.Send(concat(libPre, [][]byte{[]byte("hello")})...); err != nil {
		t.Fatal(err)
	}
	m, err := e.ours.Recv(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := equalFrames(m.Frames, concat(oursPre, [][]byte{[]byte("hello")})); err != nil {
		t.Fatalf("ours received: %v", err)
	}
	e.checkPeerInfo(t, m)
	if err := e.ours.Send(e.ctx, sockets.NewMsg(concat(oursPre, [][]byte{[]byte("world")})...)); err != nil {
		t.Fatal(err)
	}
	got, err := e.peer.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := equalFrames(got, concat(libPre, [][]byte{[]byte("world")})); err != nil {
		t.Fatalf("libzmq received: %v", err)
	}
}

// oursReqEcho: our REQ sends each shape's messages one request at a time,
// all of them (10,000 round trips for the small shape); the libzmq REP or
// ROUTER echoes them, and each reply must be the request again.
func (e *libEnv) oursReqEcho(t *testing.T) {
	t.Helper()
	eachShape(t, "round-trips", func(t *testing.T, sh bulkShape) {
		echoed := make(chan error, 1)
		go func() { echoed <- e.peer.Echo(sh.n) }()
		var err error
		for i := range sh.n {
			if err = e.ours.Send(e.ctx, sockets.NewMsg(sh.frames(nil, i)...)); err != nil {
				break
			}
			var m sockets.Msg
			if m, err = e.ours.Recv(e.ctx); err != nil {
				break
			}
			if err = sh.check(m.Frames, nil, i); err != nil {
				err = fmt.Errorf("reply: %w", err)
				break
			}
		}
		if err != nil {
			e.peer.Kill() // it waits for requests that will not come
		}
		if err := firstErr(err, <-echoed); err != nil {
			t.Fatal(err)
		}
	})
}

// oursDealerEcho: our DEALER sends each shape's messages as requests to the
// libzmq REP without waiting for replies; the REP echoes them.
func (e *libEnv) oursDealerEcho(t *testing.T) {
	t.Helper()
	delim := [][]byte{{}}
	eachShape(t, "pipelined-requests", func(t *testing.T, sh bulkShape) {
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		echoed := make(chan error, 1)
		go func() { echoed <- e.peer.Echo(sh.n) }()
		sent := sendBulk(ctx, e.ours, delim, sh)
		rerr := recvBulk(ctx, e.ours, delim, sh, nil)
		if rerr != nil {
			cancel()
			e.peer.Kill()
		}
		if err := firstErr(rerr, <-sent, <-echoed); err != nil {
			t.Fatal(err)
		}
	})
}

// echoOurs answers the shape's n messages on our REP or ROUTER with the
// same frames, in a goroutine, after checking that message i is exactly
// message i of the shape behind the envelope pre.
func echoOurs(ctx context.Context, s *sockets.Socket, pre [][]byte, sh bulkShape) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for i := range sh.n {
			m, err := s.Recv(ctx)
			if err != nil {
				errc <- fmt.Errorf("echo: Recv %d of %d: %w", i, sh.n, err)
				return
			}
			if err := sh.check(m.Frames, pre, i); err != nil {
				errc <- fmt.Errorf("echo: %w", err)
				return
			}
			if err := s.Send(ctx, sockets.NewMsg(m.Frames...)); err != nil {
				errc <- fmt.Errorf("echo: Send %d of %d: %w", i, sh.n, err)
				return
			}
		}
		errc <- nil
	}()
	return errc
}

// libReqEcho: the libzmq REQ makes every round trip of each shape by itself
// (ReqN: 10,000 for the small shape), checking that each reply is its
// request; our REP or ROUTER (whose messages carry oursPre) checks each
// request exactly and echoes it.
func (e *libEnv) libReqEcho(t *testing.T, oursPre [][]byte) {
	t.Helper()
	eachShape(t, "round-trips", func(t *testing.T, sh bulkShape) {
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		echoed := echoOurs(ctx, e.ours, oursPre, sh)
		err := e.peer.ReqN(sh.n, sh.size, sh.extra...)
		if err != nil {
			cancel()
		}
		if err := firstErr(err, <-echoed); err != nil {
			t.Fatal(err)
		}
	})
}

// libDealerEcho: the libzmq DEALER sends every request first, then takes
// every reply; our REP echoes them.
func (e *libEnv) libDealerEcho(t *testing.T) {
	t.Helper()
	delim := [][]byte{{}}
	eachShape(t, "pipelined-requests", func(t *testing.T, sh bulkShape) {
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		echoed := echoOurs(ctx, e.ours, nil, sh)
		err := e.peer.SendN(sh.n, sh.size, concat(delim, sh.extra)...)
		if err == nil {
			err = libRecvShape(e.peer, delim, sh)
		}
		if err != nil {
			cancel()
		}
		if err := firstErr(err, <-echoed); err != nil {
			t.Fatal(err)
		}
	})
}

// subscribeOurs subscribes our SUB (Subscribe) or XSUB (a 0x01 message).
func (e *libEnv) subscribeOurs(t *testing.T, topic []byte, on bool) {
	t.Helper()
	var err error
	switch {
	case e.ours.Type() == sockets.XSUB:
		flag := byte(0)
		if on {
			flag = 1
		}
		err = e.ours.Send(e.ctx, sockets.NewMsg(append([]byte{flag}, topic...)))
	case on:
		err = e.ours.Subscribe(topic)
	default:
		err = e.ours.Unsubscribe(topic)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// pubToLibSub: our PUB or XPUB publishes to the libzmq SUB or XSUB. The
// subscription must reach us (we publish until libzmq gets something),
// only subscribed topics may arrive, then every shape goes through under
// the data topic.
func (e *libEnv) pubToLibSub(t *testing.T, xpub bool) {
	for _, topic := range [][]byte{dataSub, syncSub} {
		if err := e.peer.Subscribe(topic); err != nil {
			t.Fatal(err)
		}
	}
	// Publish the sync topic until libzmq receives it: the subscription
	// has then reached our PUB.
	stop := make(chan struct{})
	published := make(chan error, 1)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if err := e.ours.Send(e.ctx, sockets.NewMsg(syncTopic)); err != nil {
				published <- err
				return
			}
			select {
			case <-stop:
				published <- nil
				return
			case <-tick.C:
			case <-e.ctx.Done():
				published <- e.ctx.Err()
				return
			}
		}
	}()
	got, err := e.peer.Recv() // within the peer's receive timeout (10 s)
	close(stop)
	if err := firstErr(err, <-published); err != nil {
		t.Fatalf("the subscription never reached our PUB: %v", err)
	}
	if err := equalFrames(got, [][]byte{syncTopic}); err != nil {
		t.Fatalf("libzmq received: %v", err)
	}
	if xpub {
		// The XPUB has passed each new subscription up, in the form of
		// a 0x01-prefixed message; libzmq may send them in either order.
		// (Only now: a bound libzmq SUB attaches a new connection, and
		// sends it the subscriptions, when its application thread next
		// uses the socket, here in the Recv above.)
		var got []string
		for range 2 {
			m, err := e.ours.Recv(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, showFrames(m.Frames))
		}
		slices.Sort(got)
		want := []string{showFrames([][]byte{append([]byte{1}, syncSub...)}), showFrames([][]byte{append([]byte{1}, dataSub...)})}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("XPUB received subscriptions %q, want %q", got, want)
		}
	}

	// A libzmq SUB filters what it has queued too: no sync message after
	// this. (An XSUB does not; see the filter step.)
	if err := e.peer.Unsubscribe(syncSub); err != nil {
		t.Fatal(err)
	}
	if xpub {
		m, err := e.ours.Recv(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := equalFrames(m.Frames, [][]byte{append([]byte{0}, syncSub...)}); err != nil {
			t.Fatalf("XPUB received: %v", err)
		}
	}

	t.Run("filter", func(t *testing.T) {
		const n = 100
		for i := range n {
			for _, topic := range [][]byte{noiseTopic, dataTopic} {
				if err := e.ours.Send(e.ctx, sockets.NewMsg(topic, libzmqpeer.Payload(uint64(i), 8))); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A libzmq XSUB does not filter what it receives (a SUB does), so
		// sync messages published before the unsubscription may come
		// first; they are skipped here.
		var msgs [][][]byte
		for len(msgs) < n {
			got, err := e.peer.RecvN(n - len(msgs))
			if err != nil {
				t.Fatalf("received %d of %d: %v", len(msgs)+len(got), n, err)
			}
			for _, m := range got {
				if len(msgs) == 0 && equalFrames(m, [][]byte{syncTopic}) == nil {
					continue
				}
				msgs = append(msgs, m)
			}
		}
		for i, m := range msgs {
			if err := equalFrames(m, [][]byte{dataTopic, libzmqpeer.Payload(uint64(i), 8)}); err != nil {
				t.Fatalf("libzmq message %d: %v", i, err)
			}
		}
	})
	e.oursToLib(t, [][]byte{dataTopic}, [][]byte{dataTopic})
}

// libPubToSub: the libzmq PUB or XPUB publishes to our SUB or XSUB. With a
// libzmq XPUB the subscription is seen arriving; with a PUB we have libzmq
// publish until something arrives.
func (e *libEnv) libPubToSub(t *testing.T, libXPub bool) {
	e.subscribeOurs(t, dataSub, true)
	isSync := func(frames [][]byte) bool { return bytes.Equal(frames[0], syncTopic) }
	if libXPub {
		got, err := e.peer.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if err := equalFrames(got, [][]byte{append([]byte{1}, dataSub...)}); err != nil {
			t.Fatalf("libzmq XPUB received: %v", err)
		}
	} else {
		e.subscribeOurs(t, syncSub, true)
		for {
			if err := e.peer.Send(syncTopic); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
			m, err := e.ours.Recv(ctx)
			cancel()
			if err == nil {
				if !isSync(m.Frames) {
					t.Fatalf("ours received %s before the sync message", showFrames(m.Frames))
				}
				break
			}
			if !isTimeout(err) || e.ctx.Err() != nil {
				t.Fatalf("no sync message from the libzmq PUB: %v", err)
			}
		}
		// Sync messages already queued may still come: recvBulk skips them.
		e.subscribeOurs(t, syncSub, false)
	}

	t.Run("filter", func(t *testing.T) {
		noise := bulkShape{n: 100, size: 8}
		if err := e.peer.SendN(noise.n, noise.size, noiseTopic); err != nil {
			t.Fatal(err)
		}
		sent := libSend(e.peer, [][]byte{dataTopic}, noise)
		if err := firstErr(recvBulk(e.ctx, e.ours, [][]byte{dataTopic}, noise, isSync), <-sent); err != nil {
			t.Fatal(err)
		}
	})
	e.libToOurs(t, [][]byte{dataTopic}, [][]byte{dataTopic}, isSync)
	if libXPub {
		// The cancellation reaches libzmq too (a CANCEL command, or a
		// 0x00 message, whichever the peer speaks).
		e.subscribeOurs(t, dataSub, false)
		got, err := e.peer.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if err := equalFrames(got, [][]byte{append([]byte{0}, dataSub...)}); err != nil {
			t.Fatalf("libzmq XPUB received: %v", err)
		}
	}
}

// TestLibzmqPushRoundRobin: our PUSH, connected to two libzmq PULLs, deals
// 100 messages out alternately: each PULL gets 50, one the even indices and
// the other the odd ones, in order.
func TestLibzmqPushRoundRobin(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	ctx := testContext(t, 30*time.Second)
	events := newMonitor()
	push := newTestSocket(t, sockets.PUSH, sockets.WithMonitor(events))
	var pulls []*libzmqpeer.Peer
	for range 2 {
		p := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: []string{"tcp://127.0.0.1:0"}})
		if err := push.Connect(p.Endpoint()); err != nil {
			t.Fatal(err)
		}
		pulls = append(pulls, p)
	}
	for range 2 {
		if _, err := waitForEvent(ctx, events, sockets.EventHandshakeSucceeded, 0); err != nil {
			t.Fatal(err)
		}
	}
	const n = 100
	for i := range n {
		if err := push.Send(ctx, sockets.NewMsg(libzmqpeer.Payload(uint64(i), 8))); err != nil {
			t.Fatal(err)
		}
	}
	parity := map[int]int{}
	for k, p := range pulls {
		msgs, err := p.RecvN(n / 2)
		if err != nil {
			t.Fatalf("PULL %d received %d of %d: %v", k, len(msgs), n/2, err)
		}
		first := -1
		for j, m := range msgs {
			if len(m) != 1 || len(m[0]) != 8 {
				t.Fatalf("PULL %d message %d: %s", k, j, showFrames(m))
			}
			idx := int(m[0][7])
			if first < 0 {
				first = idx
			}
			if err := libzmqpeer.CheckPayload(uint64(first+2*j), 8, m[0]); err != nil {
				t.Fatalf("PULL %d (started at index %d): %v", k, first, err)
			}
		}
		parity[first%2]++
	}
	if parity[0] != 1 || parity[1] != 1 {
		t.Fatalf("both PULLs got the same parity of indices: %v", parity)
	}
}

// TestLibzmqPlain runs PLAIN with our socket as the server and as the
// client, with the right password and a wrong one.
func TestLibzmqPlain(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	const n = 10

	// oursServer binds our PLAIN PULL; a libzmq PUSH connects to it with
	// pass through a gate that holds the connection: its n messages are
	// queued on its connect-side pipe (SendN returns OK) before any
	// handshake, so the handshake alone decides whether they arrive.
	oursServer := func(t *testing.T, pass string) (pull *sockets.Socket, events chan sockets.Event, calls *atomic.Int32, peer *libzmqpeer.Peer) {
		calls = new(atomic.Int32)
		auth := zmtp.AuthenticatorFunc(func(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
			calls.Add(1)
			if r.Mechanism != "PLAIN" {
				return zmtp.AuthResult{Status: zmtp.StatusInternal, StatusText: "mechanism " + r.Mechanism}, nil
			}
			if r.Username == "admin" && r.Password == "secret" {
				return zmtp.AuthResult{Status: zmtp.StatusOK, UserID: "admin"}, nil
			}
			return zmtp.AuthResult{Status: zmtp.StatusDenied, StatusText: "wrong password"}, nil
		})
		events = newMonitor()
		pull = newTestSocket(t, sockets.PULL, sockets.WithPlainServer(auth), sockets.WithMonitor(events))
		gate := newGatedRecorder(t, bindTestSocket(t, pull, "tcp"))
		peer = libzmqpeer.Start(t, libzmqpeer.Options{
			Type: "PUSH", Connect: []string{gate.endpoint()},
			Args: []string{"--plain-user", "admin", "--plain-pass", pass, "--monitor"},
		})
		if err := peer.SendN(n, 16); err != nil {
			t.Fatal(err)
		}
		gate.open()
		return pull, events, calls, peer
	}

	t.Run("ours-server/right-password", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		pull, _, calls, _ := oursServer(t, "secret")
		for i := range n {
			m, err := pull.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := libzmqpeer.CheckPayload(uint64(i), 16, m.Frames[0]); err != nil || len(m.Frames) != 1 {
				t.Fatalf("message %d: %s: %v", i, showFrames(m.Frames), err)
			}
			if m.Peer == nil || m.Peer.UserID != "admin" {
				t.Fatalf("message %d: Peer = %+v, want User-Id admin", i, m.Peer)
			}
		}
		if c := calls.Load(); c != 1 {
			t.Errorf("authenticator called %d times, want 1", c)
		}
	})

	t.Run("ours-server/wrong-password", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		pull, events, calls, peer := oursServer(t, "wrong")
		ev, err := waitForEvent(ctx, events, sockets.EventHandshakeFailed, sockets.EventHandshakeSucceeded)
		if err != nil {
			t.Fatal(err)
		}
		// The reason: our authenticator's refusal, status and text.
		if !errors.Is(ev.Err, zmtp.ErrAuth) || !strings.Contains(ev.Err.Error(), "status 400 wrong password") {
			t.Errorf("handshake failed with %v; want zmtp.ErrAuth with \"status 400 wrong password\"", ev.Err)
		}
		if calls.Load() == 0 {
			t.Error("authenticator never called")
		}
		// libzmq's PLAIN client looks for the ERROR command under its
		// own misspelling ("\x5eRROR", see libzmq-server/wrong-password),
		// so our ERROR 400, spelt as RFC 23 says, reaches it as an
		// unknown command: its monitor reports a protocol failure,
		// ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND (0x10000001), not
		// the status. It stops all the same (no reconnect).
		evs := waitLibEvent(t, peer, "HANDSHAKE_FAILED_PROTOCOL:268435457")
		if countPrefix(evs, "HANDSHAKE_SUCCEEDED") != 0 {
			t.Errorf("libzmq saw a handshake succeed: %q", evs)
		}
		// The n messages libzmq had queued never arrive.
		noDelivery(t, ctx, pull, 300*time.Millisecond)
	})

	libServer := func(t *testing.T, pass string) (*sockets.Socket, chan sockets.Event, *libzmqpeer.Peer) {
		peer := libzmqpeer.Start(t, libzmqpeer.Options{
			Type: "PULL", Bind: []string{"tcp://127.0.0.1:0"},
			Args: []string{"--plain-server", "--plain-users", "admin:secret", "--rcvtimeo", "500", "--monitor"},
		})
		events := newMonitor()
		push := newTestSocket(t, sockets.PUSH, sockets.WithPlainClient("admin", pass),
			sockets.WithMonitor(events), sockets.WithLinger(0))
		if err := push.Connect(peer.Endpoint()); err != nil {
			t.Fatal(err)
		}
		return push, events, peer
	}

	t.Run("libzmq-server/right-password", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		push, _, peer := libServer(t, "secret")
		for i := range n {
			if err := push.Send(ctx, sockets.NewMsg(libzmqpeer.Payload(uint64(i), 16))); err != nil {
				t.Fatal(err)
			}
		}
		msgs, err := peer.RecvN(n)
		if err != nil {
			t.Fatalf("libzmq received %d of %d: %v", len(msgs), n, err)
		}
		for i, m := range msgs {
			if err := equalFrames(m, [][]byte{libzmqpeer.Payload(uint64(i), 16)}); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
	})

	t.Run("libzmq-server/wrong-password", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		push, events, peer := libServer(t, "wrong")
		for i := range n {
			if err := push.Send(ctx, sockets.NewMsg(libzmqpeer.Payload(uint64(i), 16))); err != nil {
				t.Fatal(err)
			}
		}
		ev, err := waitForEvent(ctx, events, sockets.EventHandshakeFailed, sockets.EventHandshakeSucceeded)
		if err != nil {
			t.Fatal(err)
		}
		got, err := peer.Recv()
		if err == nil || !strings.Contains(err.Error(), "TIMEOUT") {
			t.Fatalf("libzmq received %s, %v; want nothing delivered", showFrames(got), err)
		}
		// libzmq (4.3.4 and others) spells the PLAIN ERROR command
		// "\x5eRROR" on the wire: its source writes "\x05ERROR", which C
		// reads as the hex escape \x05E. Its own client expects that
		// spelling; ours must understand it too, or it takes the refusal
		// for a protocol error, and a temporary one at that. The reason
		// it carries is pyzmq's ZAP status.
		var pe *zmtp.PeerError
		if !errors.As(ev.Err, &pe) || pe.Reason != "400" || !errors.Is(ev.Err, zmtp.ErrAuth) {
			t.Errorf("handshake failed with %v; want the server's ERROR 400 (a zmtp.PeerError wrapping zmtp.ErrAuth; "+
				"libzmq's PLAIN ERROR command reads \x5eRROR on the wire)", ev.Err)
		}
		waitLibEvent(t, peer, "HANDSHAKE_FAILED_AUTH:400")
	})
}

// waitLibEvent polls the monitor events of a peer started with --monitor
// until one starts with prefix (e.g. "HANDSHAKE_FAILED_AUTH:400"), and
// returns them all; the test fails if none does within 10 s.
func waitLibEvent(t *testing.T, peer *libzmqpeer.Peer, prefix string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		evs, err := peer.Events()
		if err != nil {
			t.Fatal(err)
		}
		if countPrefix(evs, prefix) > 0 {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("libzmq's monitor saw no %s; it saw %q", prefix, evs)
		}
		<-tick.C
	}
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}
