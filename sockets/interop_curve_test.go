package sockets_test

// CURVE and ZAP against a real libzmq (4.3.x through pyzmq): our socket as
// the CURVE server and as the client, for PUSH/PULL, REQ/REP, PUB/SUB and
// DEALER/ROUTER over tcp and ipc, carrying the bulkShapes runs (10,000
// small messages, multipart messages, 1 MiB frames) of the NULL interop
// tests; subscriptions seen not to cross in the clear, both ways;
// refusals (a wrong server key, an
// unknown client key, a wrong password) with 0 messages delivered and a
// handshake-failed event that says why; and PLAIN against pyzmq's ZAP
// authenticator and against ours served the libzmq way. Heartbeats over
// CURVE are in interop_heartbeat_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

func newKeys(t testing.TB) curve.KeyPair {
	t.Helper()
	kp, err := curve.NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// curveKeys are the permanent keys of one test: the server's and the
// client's.
type curveKeys struct{ server, client curve.KeyPair }

func newCurveKeys(t testing.TB) curveKeys { return curveKeys{newKeys(t), newKeys(t)} }

// libClientArgs are the peer.py flags of a libzmq CURVE client (keys as
// --flag=KEY: a Z85 key may start with "-").
func (k curveKeys) libClientArgs() []string {
	return []string{"--curve-serverkey=" + k.server.Public.String(),
		"--curve-public=" + k.client.Public.String(), "--curve-secret=" + k.client.Secret.String()}
}

// libServerArgs are those of a libzmq CURVE server (no ZAP handler: any
// client that knows the key).
func (k curveKeys) libServerArgs() []string {
	return []string{"--curve-server", "--curve-secret=" + k.server.Secret.String()}
}

// withCurve returns c with CURVE on both sides, ours in the server role
// or the client role.
func withCurve(c libCombo, k curveKeys, oursServer bool) libCombo {
	c.oursOpts = slices.Clone(c.oursOpts)
	c.libArgs = slices.Clone(c.libArgs)
	if oursServer {
		c.oursOpts = append(c.oursOpts, sockets.WithCurveServer(k.server.Secret))
		c.libArgs = append(c.libArgs, k.libClientArgs()...)
	} else {
		c.oursOpts = append(c.oursOpts, sockets.WithCurveClient(k.client, k.server.Public))
		c.libArgs = append(c.libArgs, k.libServerArgs()...)
	}
	return c
}

// curveCombos are the pairs of the CURVE matrix.
var curveCombos = []string{
	"PUSH-PULL", "PULL-PUSH", "REQ-REP", "REP-REQ", "PUB-SUB", "SUB-PUB", "DEALER-ROUTER", "ROUTER-DEALER",
}

// TestLibzmqCurve runs the pairs with CURVE: ours as the server and
// binding, and ours as the client with libzmq binding, over tcp and ipc;
// and, over tcp, PUSH/PULL and REQ/REP with the server connecting.
func TestLibzmqCurve(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	byName := map[string]libCombo{}
	for _, c := range libCombos() {
		byName[c.name] = c
	}
	type run struct {
		oursServer, oursBinds bool
		transport             string
	}
	for _, name := range curveCombos {
		base, ok := byName[name]
		if !ok {
			t.Fatalf("no combo %s", name)
		}
		runs := []run{{true, true, "tcp"}, {true, true, "ipc"}, {false, false, "tcp"}, {false, false, "ipc"}}
		if name == "PUSH-PULL" || name == "REQ-REP" {
			runs = append(runs, run{true, false, "tcp"}, run{false, true, "tcp"})
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var wg sync.WaitGroup
			for _, r := range runs {
				role, side := "ours-server", "ours-binds"
				if !r.oursServer {
					role = "ours-client"
				}
				if !r.oursBinds {
					side = "libzmq-binds"
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					t.Run(role+"/"+side+"/"+r.transport, func(t *testing.T) {
						c := withCurve(base, newCurveKeys(t), r.oursServer)
						e := startLibEnv(t, c, r.oursBinds, r.transport)
						c.run(t, e)
						for _, ev := range drain(e.events) {
							if ev.Type == sockets.EventHandshakeFailed {
								t.Errorf("a handshake failed: %v", ev)
							}
						}
					})
				}()
			}
			wg.Wait()
		})
	}
}

// drain returns the events queued in ch.
func drain(ch chan sockets.Event) []sockets.Event {
	var evs []sockets.Event
	for {
		select {
		case ev := <-ch:
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

// TestLibzmqCurveOnTheWire: a libzmq SUB (CURVE client) subscribes, through
// a forwarder that records the traffic, to our PUB (CURVE server): the
// subscription and the messages arrive, yet neither the topic nor the
// payload appears on the wire. With NULL they do (the control).
func TestLibzmqCurveOnTheWire(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	const topic, payload = "topic-only-the-ends-know", "payload-only-the-ends-know"
	for _, secure := range []bool{true, false} {
		name := "CURVE"
		if !secure {
			name = "NULL-control"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 30*time.Second)
			k := newCurveKeys(t)
			var libArgs []string
			pubOpts := []sockets.Option{sockets.WithSendHWM(0)}
			if secure {
				pubOpts = append(pubOpts, sockets.WithCurveServer(k.server.Secret))
				libArgs = k.libClientArgs()
			}
			pub := newTestSocket(t, sockets.PUB, pubOpts...)
			rec := newRecorder(t, bindTestSocket(t, pub, "tcp"))
			sub := libzmqpeer.Start(t, libzmqpeer.Options{Type: "SUB", Connect: []string{rec.endpoint()},
				Args: append(libArgs, "--rcvtimeo", "100")})
			if err := sub.Subscribe([]byte(topic)); err != nil {
				t.Fatal(err)
			}
			var got [][]byte
			for ctx.Err() == nil {
				if err := pub.Send(ctx, sockets.NewMsgString(topic, payload)); err != nil {
					t.Fatal(err)
				}
				var err error
				if got, err = sub.Recv(); err == nil {
					break
				}
			}
			if err := equalFrames(got, [][]byte{[]byte(topic), []byte(payload)}); err != nil {
				t.Fatalf("libzmq SUB received: %v", err)
			}
			if secure && (rec.seen(topic) || rec.seen(payload)) {
				t.Fatal("the topic or the payload crossed the wire in the clear under CURVE")
			}
			if !secure && !(rec.seen(topic) && rec.seen(payload)) {
				t.Fatal("the NULL control did not see the topic and the payload on the wire: the recorder records nothing")
			}
		})
	}
}

// isCurveMessage reports whether a recorded frame is a CURVE MESSAGE: after
// the handshake every frame is one, sent as a message frame (its real
// flags are in the box).
func isCurveMessage(f wireFrame) bool {
	return f.flags&zmtp.FlagCommand == 0 && bytes.HasPrefix(f.body, []byte("\x07MESSAGE"))
}

// TestLibzmqCurveSubscriptionOnTheWire: our SUB subscribes to a libzmq PUB
// through a forwarder that records the traffic, over CURVE with ours as the
// client (libzmq binds) and as the server (ours binds). The subscription
// works: of the two topics libzmq publishes, only the subscribed one
// arrives. And it travelled encrypted: the topic never appears on the wire,
// either way; after the handshake ours sent exactly one frame, a CURVE
// MESSAGE (the SUBSCRIBE command in its box), and libzmq sent exactly one
// MESSAGE per frame of the messages we received, none for those of the
// other topic, so libzmq filtered with the subscription it decrypted. With
// NULL (the control) the counts are the same and the SUBSCRIBE command
// carries the topic in the clear.
func TestLibzmqCurveSubscriptionOnTheWire(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	const (
		topic = "sub-topic-only-the-ends-know"
		noise = "other-topic-nobody-wants"
		n     = 100
	)
	for _, run := range []struct {
		name               string
		secure, oursServer bool
	}{
		{"CURVE/ours-client", true, false},
		{"CURVE/ours-server", true, true},
		{"NULL-control", false, false},
	} {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 30*time.Second)
			k := newCurveKeys(t)
			var oursOpts []sockets.Option
			var libArgs []string
			switch {
			case run.secure && run.oursServer:
				oursOpts, libArgs = []sockets.Option{sockets.WithCurveServer(k.server.Secret)}, k.libClientArgs()
			case run.secure:
				oursOpts, libArgs = []sockets.Option{sockets.WithCurveClient(k.client, k.server.Public)}, k.libServerArgs()
			}
			sub := newTestSocket(t, sockets.SUB, oursOpts...)
			var peer *libzmqpeer.Peer
			var rec *recorder
			if run.oursServer {
				rec = newRecorder(t, bindTestSocket(t, sub, "tcp"))
				peer = libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUB", Connect: []string{rec.endpoint()}, Args: libArgs})
			} else {
				peer = libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUB", Bind: []string{"tcp://127.0.0.1:0"}, Args: libArgs})
				rec = newRecorder(t, peer.Endpoint())
				if err := sub.Connect(rec.endpoint()); err != nil {
					t.Fatal(err)
				}
			}
			if err := sub.Subscribe([]byte(topic)); err != nil {
				t.Fatal(err)
			}
			received := 0
			recv := func(rctx context.Context) ([][]byte, error) {
				m, err := sub.Recv(rctx)
				if err != nil {
					return nil, err
				}
				received++
				if len(m.Frames) != 2 || string(m.Frames[0]) != topic {
					return nil, fmt.Errorf("our SUB received %s, want only %q messages", showFrames(m.Frames), topic)
				}
				return m.Frames, nil
			}
			// Publish both topics until one arrives: the subscription
			// has then reached libzmq.
			for {
				for _, tp := range []string{noise, topic} {
					if err := peer.Send([]byte(tp), []byte("sync")); err != nil {
						t.Fatal(err)
					}
				}
				short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				_, err := recv(short)
				cancel()
				if err == nil {
					break
				}
				if !isTimeout(err) || ctx.Err() != nil {
					t.Fatalf("no message from the libzmq PUB: %v", err)
				}
			}
			if err := peer.SendN(n, 8, []byte(noise)); err != nil {
				t.Fatal(err)
			}
			if err := peer.SendN(n, 8, []byte(topic)); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; {
				frames, err := recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(frames[1]) == "sync" {
					continue
				}
				if err := libzmqpeer.CheckPayload(uint64(i), 8, frames[1]); err != nil {
					t.Fatal(err)
				}
				i++
			}
			// The last message libzmq sent has arrived: the record holds
			// all it sent.
			up, down := rec.streams()
			fromOurs, fromLib := up, down
			if run.oursServer {
				fromOurs, fromLib = down, up
			}
			oursFrames := mustWireFrames(t, "recorded from ours", fromOurs)
			libFrames := mustWireFrames(t, "recorded from libzmq", fromLib)
			count := func(frames []wireFrame, keep func(wireFrame) bool) int {
				c := 0
				for _, f := range frames {
					if keep(f) {
						c++
					}
				}
				return c
			}
			isData := func(f wireFrame) bool { return f.flags&zmtp.FlagCommand == 0 }
			if !run.secure {
				isSubscribe := func(f wireFrame) bool { return f.command() == "SUBSCRIBE" && string(f.data()) == topic }
				if c := count(oursFrames, isSubscribe); c != 1 {
					t.Errorf("NULL control: %d SUBSCRIBE %q commands seen from ours, want 1: the recorder or the reader is broken", c, topic)
				}
				if c := count(libFrames, isData); c != 2*received {
					t.Errorf("libzmq sent %d message frames for the %d messages (2 frames each) we received", c, received)
				}
				return
			}
			if rec.seen(topic) || rec.seen(noise) {
				t.Error("a topic crossed the wire in the clear under CURVE")
			}
			if c := count(oursFrames, isData); c != 1 || count(oursFrames, isCurveMessage) != 1 {
				t.Errorf("after the handshake ours sent %d frames (%d CURVE MESSAGEs), want exactly 1: the encrypted subscription",
					c, count(oursFrames, isCurveMessage))
			}
			if c := count(libFrames, isData); c != 2*received || count(libFrames, isCurveMessage) != c {
				t.Errorf("libzmq sent %d frames (%d CURVE MESSAGEs) after the handshake for the %d messages (2 frames each) we received",
					c, count(libFrames, isCurveMessage), received)
			}
			t.Logf("ours sent 1 encrypted subscription; libzmq sent %d MESSAGEs for %d messages delivered, none of the %d+ on %q",
				2*received, received, n, noise)
		})
	}
}

// noDelivery checks that nothing reaches our socket within d.
func noDelivery(t *testing.T, ctx context.Context, s *sockets.Socket, d time.Duration) {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if m, err := s.Recv(short); !isTimeout(err) {
		t.Fatalf("Recv = %s, %v; want nothing delivered", showFrames(m.Frames), err)
	}
}

// libNoDelivery checks that the libzmq peer (started with a short
// --rcvtimeo) receives nothing.
func libNoDelivery(t *testing.T, peer *libzmqpeer.Peer) {
	t.Helper()
	if got, err := peer.Recv(); err == nil || !strings.Contains(err.Error(), "TIMEOUT") {
		t.Fatalf("libzmq received %s, %v; want nothing delivered", showFrames(got), err)
	}
}

// TestLibzmqCurveRefusals: a wrong server key and an unknown client key,
// ours in either role. Nothing is delivered and our handshake-failed
// event says why. A server that hangs up after HELLO (what a wrong server
// key gets) is retried, as libzmq retries; an ERROR from the server's ZAP
// handler stops our dialer.
func TestLibzmqCurveRefusals(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()

	t.Run("ours-client/wrong-server-key", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		k := newCurveKeys(t)
		peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: []string{"tcp://127.0.0.1:0"},
			Args: append(k.libServerArgs(), "--rcvtimeo", "300", "--monitor")})
		events := newMonitor()
		push := newTestSocket(t, sockets.PUSH, sockets.WithMonitor(events), sockets.WithLinger(0),
			sockets.WithReconnectInterval(50*time.Millisecond, 0),
			sockets.WithCurveClient(k.client, newKeys(t).Public))
		if err := push.Connect(peer.Endpoint()); err != nil {
			t.Fatal(err)
		}
		if err := push.Send(ctx, sockets.NewMsgString("must not arrive")); err != nil {
			t.Fatal(err)
		}
		ev, err := waitForEvent(ctx, events, sockets.EventHandshakeFailed, sockets.EventHandshakeSucceeded)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(ev.Err, curve.ErrNoWelcome) {
			t.Errorf("handshake failed with %v; want curve.ErrNoWelcome", ev.Err)
		}
		if _, err := waitForEvent(ctx, events, sockets.EventConnectRetried, sockets.EventReconnectStopped); err != nil {
			t.Errorf("after a server that hung up: %v", err)
		}
		libNoDelivery(t, peer)
		// The libzmq server could not open our HELLO box: its monitor
		// says so, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC (0x11000001).
		evs := waitLibEvent(t, peer, "HANDSHAKE_FAILED_PROTOCOL:285212673")
		if countPrefix(evs, "HANDSHAKE_SUCCEEDED") != 0 {
			t.Fatalf("libzmq saw a handshake succeed: %q", evs)
		}
	})

	t.Run("ours-server/wrong-server-key", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		k := newCurveKeys(t)
		events := newMonitor()
		pull := newTestSocket(t, sockets.PULL, sockets.WithMonitor(events), sockets.WithCurveServer(k.server.Secret))
		wrong := curveKeys{server: newKeys(t), client: k.client}
		// Through a gate: the messages are queued at libzmq before any
		// handshake (see gatedLibClient).
		peer := gatedLibClient(t, bindTestSocket(t, pull, "tcp"), append(wrong.libClientArgs(), "--monitor"), 5)
		ev, err := waitForEvent(ctx, events, sockets.EventHandshakeFailed, sockets.EventHandshakeSucceeded)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(ev.Err, curve.ErrCrypto) {
			t.Errorf("handshake failed with %v; want curve.ErrCrypto (the HELLO box does not open)", ev.Err)
		}
		// We hang up without a word (as libzmq does): the libzmq client
		// sees its handshake cut short, and retries.
		evs := waitLibEvent(t, peer, "HANDSHAKE_FAILED_NO_DETAIL")
		if countPrefix(evs, "HANDSHAKE_SUCCEEDED") != 0 {
			t.Fatalf("libzmq saw a handshake succeed: %q", evs)
		}
		noDelivery(t, ctx, pull, 300*time.Millisecond)
	})

	t.Run("ours-client/unknown-client-key", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		k := newCurveKeys(t)
		peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: []string{"tcp://127.0.0.1:0"},
			Args: append(k.libServerArgs(), "--curve-allow="+newKeys(t).Public.String(), "--rcvtimeo", "300", "--monitor")})
		events := newMonitor()
		push := newTestSocket(t, sockets.PUSH, sockets.WithMonitor(events), sockets.WithLinger(0),
			sockets.WithCurveClient(k.client, k.server.Public))
		if err := push.Connect(peer.Endpoint()); err != nil {
			t.Fatal(err)
		}
		if err := push.Send(ctx, sockets.NewMsgString("must not arrive")); err != nil {
			t.Fatal(err)
		}
		ev, err := waitForEvent(ctx, events, sockets.EventHandshakeFailed, sockets.EventHandshakeSucceeded)
		if err != nil {
			t.Fatal(err)
		}
		var pe *zmtp.PeerError
		if !errors.As(ev.Err, &pe) || pe.Reason != "400" {
			t.Errorf("handshake failed with %v; want libzmq's ERROR 400 from its ZAP handler", ev.Err)
		}
		if _, err := waitForEvent(ctx, events, sockets.EventReconnectStopped, sockets.EventConnectRetried); err != nil {
			t.Errorf("after ERROR 400: %v", err)
		}
		libNoDelivery(t, peer)
		evs, err := peer.Events()
		if err != nil {
			t.Fatal(err)
		}
		if countPrefix(evs, "HANDSHAKE_FAILED_AUTH:400") == 0 {
			t.Errorf("libzmq events %q; want HANDSHAKE_FAILED_AUTH:400", evs)
		}
	})

	t.Run("ours-client/allowed-client-key", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		k := newCurveKeys(t)
		peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: []string{"tcp://127.0.0.1:0"},
			Args: append(k.libServerArgs(), "--curve-allow="+k.client.Public.String())})
		push := newTestSocket(t, sockets.PUSH, sockets.WithCurveClient(k.client, k.server.Public))
		if err := push.Connect(peer.Endpoint()); err != nil {
			t.Fatal(err)
		}
		if err := push.Send(ctx, sockets.NewMsgString("let in")); err != nil {
			t.Fatal(err)
		}
		got, err := peer.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if err := equalFrames(got, [][]byte{[]byte("let in")}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ours-server/unknown-client-key", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 30*time.Second)
		k := newCurveKeys(t)
		auth := sockets.NewAuth()
		auth.AllowCurve(newKeys(t).Public)
		events := newMonitor()
		pull := newTestSocket(t, sockets.PULL, sockets.WithMonitor(events),
			sockets.WithCurveServer(k.server.Secret), sockets.WithZAP(auth))
		peer := gatedLibClient(t, bindTestSocket(t, pull, "tcp"), append(k.libClientArgs(), "--monitor"), 5)
		ev, err := waitForEvent(ctx, events, sockets.EventHandshakeFailed, sockets.EventHandshakeSucceeded)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(ev.Err, zmtp.ErrAuth) || !strings.Contains(ev.Err.Error(), "status 400 CURVE key not allowed") {
			t.Errorf("handshake failed with %v; want Auth's refusal, \"status 400 CURVE key not allowed\"", ev.Err)
		}
		// Our ERROR 400 reached libzmq's CURVE client, which reports
		// the status.
		evs := waitLibEvent(t, peer, "HANDSHAKE_FAILED_AUTH:400")
		if countPrefix(evs, "HANDSHAKE_SUCCEEDED") != 0 {
			t.Fatalf("libzmq saw a handshake succeed: %q", evs)
		}
		noDelivery(t, ctx, pull, 300*time.Millisecond)
	})
}

// gatedLibClient starts a libzmq PUSH (with args) connecting to ep through
// a gate that holds the connection, has it send n messages, which libzmq
// queues on its connect-side pipe (SendN returns OK), and only then opens
// the gate: the messages are waiting before the handshake starts, so
// whether any arrives is the handshake's doing. A libzmq client refused
// with an ERROR drops its pipe: without the gate, a refusal before the
// messages were queued would block SendN instead.
func gatedLibClient(t *testing.T, ep string, args []string, n int) *libzmqpeer.Peer {
	t.Helper()
	gate := newGatedRecorder(t, ep)
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUSH", Connect: []string{gate.endpoint()}, Args: args})
	if err := peer.SendN(n, 16); err != nil {
		t.Fatal(err)
	}
	gate.open()
	return peer
}

// TestLibzmqPlainZAPHandler: a libzmq PLAIN client against our PLAIN
// server that has no authenticator of its own and asks the ZAP handler
// bound at ZAPEndpoint, here ServeZAP with an Auth (the other direction,
// our client against pyzmq's ZAP authenticator, is TestLibzmqPlain's
// libzmq-server runs). Not parallel: while a handler is bound at the
// well-known endpoint, every server of the process without an
// authenticator asks it.
func TestLibzmqPlainZAPHandler(t *testing.T) {
	libzmqpeer.Require(t)
	auth := sockets.NewAuth()
	auth.SetPassword("admin", "secret")
	h, err := sockets.ServeZAP(sockets.ZAPEndpoint, auth)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, pass := range []string{"secret", "wrong"} {
		t.Run("password-"+pass, func(t *testing.T) {
			ctx := testContext(t, 30*time.Second)
			events := newMonitor()
			pull := newTestSocket(t, sockets.PULL, sockets.WithMonitor(events), sockets.WithPlainServer(nil))
			peer := gatedLibClient(t, bindTestSocket(t, pull, "tcp"),
				[]string{"--plain-user", "admin", "--plain-pass", pass, "--monitor"}, 3)
			if pass == "wrong" {
				ev, err := waitForEvent(ctx, events, sockets.EventHandshakeFailed, sockets.EventHandshakeSucceeded)
				if err != nil {
					t.Fatal(err)
				}
				// The status and its text came back over ZAP from the
				// handler's Auth.
				if !errors.Is(ev.Err, zmtp.ErrAuth) || !strings.Contains(ev.Err.Error(), "status 400 wrong username or password") {
					t.Errorf("handshake failed with %v; want the handler's \"status 400 wrong username or password\"", ev.Err)
				}
				// libzmq's PLAIN client does not know a well-spelt ERROR
				// (see TestLibzmqPlain): a protocol failure,
				// ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND.
				evs := waitLibEvent(t, peer, "HANDSHAKE_FAILED_PROTOCOL:268435457")
				if countPrefix(evs, "HANDSHAKE_SUCCEEDED") != 0 {
					t.Fatalf("libzmq saw a handshake succeed: %q", evs)
				}
				noDelivery(t, ctx, pull, 300*time.Millisecond)
				return
			}
			for i := range 3 {
				m, err := pull.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := libzmqpeer.CheckPayload(uint64(i), 16, m.Frames[0]); err != nil {
					t.Fatal(err)
				}
				if m.Peer == nil || m.Peer.UserID != "admin" {
					t.Fatalf("Peer = %+v, want User-Id admin from the handler", m.Peer)
				}
			}
		})
	}
}
