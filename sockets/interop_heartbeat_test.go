package sockets_test

// Heartbeats against a real libzmq (4.3.x through pyzmq), over NULL and
// over CURVE: a connection left idle for many intervals, with us sending
// the PINGs and with libzmq sending them, passes through a recorder, so the
// tests see the heartbeats themselves cross the wire, not only that the
// connection survived.
//
// When we ping we give a TTL, and libzmq holds us to it: at each PING it
// arms a timer of that length and drops the connection when the timer
// fires; any message it decodes cancels the timer (stream_engine_base.cpp,
// decode_and_push; the next PING arms it again). A connection that stays up
// for several TTLs with nothing but our PINGs on the wire is libzmq's own
// evidence that they arrived in time. TestLibzmqHeartbeatTTLControl shows
// the timer at work: a peer that PINGs once and goes quiet is dropped.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// hbInterval is the heartbeat interval of every run.
const hbInterval = 100 * time.Millisecond

// idleRun is one run of the heartbeat tests: our DEALER and a libzmq
// DEALER, with the options and peer.py flags given.
type idleRun struct {
	oursOpts  []sockets.Option
	libArgs   []string
	oursBinds bool
	window    time.Duration // how long the connection stays idle
}

// idleWindow connects our DEALER and the libzmq DEALER through a recorder,
// exchanges a message, leaves the connection idle for the window while our
// monitor must report no drop, exchanges another message, checks that
// libzmq's monitor saw one handshake and no drop, and returns the frames
// each side sent during the window.
func idleWindow(t *testing.T, r idleRun) (fromOurs, fromLib []wireFrame) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	events := newMonitor()
	ours := newTestSocket(t, sockets.DEALER, append(slices.Clone(r.oursOpts), sockets.WithMonitor(events))...)
	o := libzmqpeer.Options{Type: "DEALER", Args: append(slices.Clone(r.libArgs), "--monitor")}
	var peer *libzmqpeer.Peer
	var rec *recorder
	if r.oursBinds {
		rec = newRecorder(t, bindTestSocket(t, ours, "tcp"))
		o.Connect = []string{rec.endpoint()}
		peer = libzmqpeer.Start(t, o)
	} else {
		o.Bind = []string{"tcp://127.0.0.1:0"}
		peer = libzmqpeer.Start(t, o)
		rec = newRecorder(t, peer.Endpoint())
		if err := ours.Connect(rec.endpoint()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := waitForEvent(ctx, events, sockets.EventHandshakeSucceeded, sockets.EventHandshakeFailed); err != nil {
		t.Fatal(err)
	}
	exchange := func(what string) {
		t.Helper()
		if err := ours.Send(ctx, sockets.NewMsgString("ping", what)); err != nil {
			t.Fatal(err)
		}
		if err := peer.Echo(1); err != nil {
			t.Fatal(err)
		}
		m, err := ours.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := equalFrames(m.Frames, [][]byte{[]byte("ping"), []byte(what)}); err != nil {
			t.Fatal(err)
		}
	}
	// The recorder writes down what it forwards before forwarding it: once
	// the echo is back, the record holds it, and what is recorded from
	// here on belongs to the idle window.
	exchange("before")
	up0, down0 := rec.lens()
	timer := time.NewTimer(r.window)
	defer timer.Stop()
watch:
	for {
		select {
		case ev := <-events:
			if ev.Type == sockets.EventDisconnected || ev.Type == sockets.EventHandshakeSucceeded {
				t.Fatalf("connection dropped during the idle window: %v", ev)
			}
		case <-timer.C:
			break watch
		}
	}
	up1, down1 := rec.lens()
	exchange("after")
	evs, err := peer.Events()
	if err != nil {
		t.Fatal(err)
	}
	if countPrefix(evs, "DISCONNECTED")+countPrefix(evs, "HANDSHAKE_FAILED") != 0 || countPrefix(evs, "HANDSHAKE_SUCCEEDED") != 1 {
		t.Fatalf("libzmq saw the connection drop: %q", evs)
	}
	up, down := rec.streams()
	upFrames := between(mustWireFrames(t, "recorded toward the bound side", up), up0, up1)
	downFrames := between(mustWireFrames(t, "recorded toward the connecting side", down), down0, down1)
	if r.oursBinds {
		return downFrames, upFrames
	}
	return upFrames, downFrames
}

// goRun runs f as the subtest name in a goroutine, done once t.Run has
// returned (as it must before the parent's function does). The runs of a
// heartbeat test mostly wait, so they go at once rather than two at a time
// under the -parallel limit.
func goRun(t *testing.T, wg *sync.WaitGroup, name string, f func(t *testing.T)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.Run(name, f)
	}()
}

// sides runs f for each side of the bind, at once.
func sides(t *testing.T, wg *sync.WaitGroup, name string, f func(t *testing.T, oursBinds bool)) {
	for _, oursBinds := range []bool{true, false} {
		side := "ours-binds"
		if !oursBinds {
			side = "libzmq-binds"
		}
		goRun(t, wg, name+"/"+side, func(t *testing.T) { f(t, oursBinds) })
	}
}

// checkBeats checks the heartbeats of an idle window: the pinger sent at
// least min frames, the answerer as many back (give or take the one on
// either edge of the window), and every frame is what isPing or isPong
// accepts.
func checkBeats(t *testing.T, pinger, answerer string, pings, pongs []wireFrame, min int, isPing, isPong func(wireFrame) error) {
	t.Helper()
	for _, f := range pings {
		if err := isPing(f); err != nil {
			t.Errorf("%s sent during the idle window: %v", pinger, err)
		}
	}
	for _, f := range pongs {
		if err := isPong(f); err != nil {
			t.Errorf("%s sent during the idle window: %v", answerer, err)
		}
	}
	t.Logf("idle window: %d frames from %s (pings), %d from %s (answers)", len(pings), pinger, len(pongs), answerer)
	if len(pings) < min {
		t.Errorf("%s sent %d PINGs in the idle window, want at least %d", pinger, len(pings), min)
	}
	if d := len(pings) - len(pongs); d < -1 || d > 1 {
		t.Errorf("%d PINGs but %d PONGs in the idle window", len(pings), len(pongs))
	}
}

// plainCommand returns a check that a frame is the command name; for a
// PING, also that it carries the TTL ttl (when ttl >= 0).
func plainCommand(name string, ttl time.Duration) func(wireFrame) error {
	return func(f wireFrame) error {
		if got := f.command(); got != name {
			return fmt.Errorf("a frame (flags %#x, %d octets, command %q), want only %s commands", f.flags, len(f.body), got, name)
		}
		if name == zmtp.CmdPing && ttl >= 0 {
			got, _, err := zmtp.ParsePing(f.data())
			if err != nil || got != ttl {
				return fmt.Errorf("a PING with TTL %v (%v), want %v", got, err, ttl)
			}
		}
		return nil
	}
}

// TestLibzmqHeartbeat keeps a NULL connection idle for 22 intervals, with
// us sending the PINGs (TTL 1 s) and with libzmq sending them: the link
// stays up on both sides, messages flow after, and in the idle window the
// pinger sent at least one PING per two intervals (ours each with its TTL),
// the other side a PONG for each, and nothing else crossed.
//
// It does not run in parallel with the other tests: a 300 ms heartbeat
// timeout is short enough for a loaded machine to starve a peer past it.
func TestLibzmqHeartbeat(t *testing.T) {
	libzmqpeer.Require(t)
	const window = 22 * hbInterval
	const ttl = time.Second
	min := int(window / hbInterval / 2)
	var wg sync.WaitGroup
	sides(t, &wg, "ours-pings", func(t *testing.T, oursBinds bool) {
		fromOurs, fromLib := idleWindow(t, idleRun{
			oursOpts: []sockets.Option{sockets.WithHeartbeat(hbInterval, 3*hbInterval, ttl)}, oursBinds: oursBinds, window: window})
		checkBeats(t, "ours", "libzmq", fromOurs, fromLib, min, plainCommand(zmtp.CmdPing, ttl), plainCommand(zmtp.CmdPong, -1))
	})
	sides(t, &wg, "libzmq-pings", func(t *testing.T, oursBinds bool) {
		fromOurs, fromLib := idleWindow(t, idleRun{
			libArgs: []string{"--heartbeat-ivl", "100", "--heartbeat-timeout", "300"}, oursBinds: oursBinds, window: window})
		checkBeats(t, "libzmq", "ours", fromLib, fromOurs, min, plainCommand(zmtp.CmdPing, -1), plainCommand(zmtp.CmdPong, -1))
	})
	wg.Wait()
}

// curveMessage returns a check that a frame is a CURVE MESSAGE whose box
// holds a command of bodyLen octets (with the flags octet, the 16-octet MAC
// and the 8-octet short nonce around it): what an encrypted PING with its
// TTL (7 octets) or an encrypted PONG without context (5) comes to. After
// the handshake every frame is a MESSAGE sent as a plain final frame (RFC
// 26; the real flags, COMMAND included, are inside the box).
func curveMessage(what string, bodyLen int) func(wireFrame) error {
	const overhead = 8 + 8 + 16 + 1 // "\x07MESSAGE", nonce, MAC, flags
	return func(f wireFrame) error {
		if f.flags != 0 || !bytes.HasPrefix(f.body, []byte("\x07MESSAGE")) {
			return fmt.Errorf("a frame (flags %#x, %d octets, %q...), want only CURVE MESSAGEs", f.flags, len(f.body), f.body[:min(len(f.body), 8)])
		}
		if len(f.body) != overhead+bodyLen {
			return fmt.Errorf("a MESSAGE of %d octets, want %d (an encrypted %s)", len(f.body), overhead+bodyLen, what)
		}
		return nil
	}
}

// TestLibzmqCurveHeartbeat keeps a CURVE connection idle for 12 intervals,
// with us sending the (encrypted) PINGs, TTL 500 ms, and with libzmq
// sending them, ours as the CURVE server and as the client: no side sees
// it drop, messages still flow after, and the record of the idle window
// holds only CURVE MESSAGEs of a PING's size from the pinger, at least one
// per two intervals, and as many of a PONG's size back. Not parallel, as
// TestLibzmqHeartbeat.
func TestLibzmqCurveHeartbeat(t *testing.T) {
	libzmqpeer.Require(t)
	const window = 12 * hbInterval
	min := int(window / hbInterval / 2)
	hb := []sockets.Option{sockets.WithHeartbeat(hbInterval, 5*hbInterval, 5*hbInterval)}
	libHB := []string{"--heartbeat-ivl", "100", "--heartbeat-timeout", "500"}
	ping, pong := curveMessage("PING", 1+4+2), curveMessage("PONG", 1+4)
	var wg sync.WaitGroup
	for _, oursServer := range []bool{true, false} {
		role := "ours-server"
		if !oursServer {
			role = "ours-client"
		}
		// withKeys adds CURVE to a run; the server binds.
		withKeys := func(t *testing.T, r idleRun) idleRun {
			k := newCurveKeys(t)
			r.oursBinds = oursServer
			if oursServer {
				r.oursOpts = append(slices.Clone(r.oursOpts), sockets.WithCurveServer(k.server.Secret))
				r.libArgs = append(slices.Clone(r.libArgs), k.libClientArgs()...)
			} else {
				r.oursOpts = append(slices.Clone(r.oursOpts), sockets.WithCurveClient(k.client, k.server.Public))
				r.libArgs = append(slices.Clone(r.libArgs), k.libServerArgs()...)
			}
			return r
		}
		goRun(t, &wg, "ours-pings/"+role, func(t *testing.T) {
			fromOurs, fromLib := idleWindow(t, withKeys(t, idleRun{oursOpts: hb, window: window}))
			checkBeats(t, "ours", "libzmq", fromOurs, fromLib, min, ping, pong)
		})
		goRun(t, &wg, "libzmq-pings/"+role, func(t *testing.T) {
			fromOurs, fromLib := idleWindow(t, withKeys(t, idleRun{libArgs: libHB, window: window}))
			checkBeats(t, "libzmq", "ours", fromLib, fromOurs, min, ping, pong)
		})
	}
	wg.Wait()
}

// readRawFrame reads one frame from r, refusing a body over 64 KiB before
// allocating it.
func readRawFrame(r io.Reader) (wireFrame, error) {
	var h [9]byte
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		return wireFrame{}, err
	}
	size := uint64(h[1])
	if h[0]&zmtp.FlagLong != 0 {
		if _, err := io.ReadFull(r, h[2:]); err != nil {
			return wireFrame{}, err
		}
		size = binary.BigEndian.Uint64(h[1:])
	}
	if size > 64<<10 {
		return wireFrame{}, fmt.Errorf("a frame of %d octets", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return wireFrame{}, err
	}
	return wireFrame{flags: h[0], body: body}, nil
}

// TestLibzmqHeartbeatTTLControl is the control of the heartbeat tests: a
// hand-driven NULL peer PINGs a libzmq DEALER once, with a TTL of 1 s, and
// then says nothing. libzmq answers the PING and drops the connection once
// the TTL has passed (not before), so the heartbeat runs in which it kept a
// connection for several TTLs with only our PINGs on the wire show it got
// them in time.
func TestLibzmqHeartbeatTTLControl(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	const ttl = time.Second
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "DEALER", Bind: []string{"tcp://127.0.0.1:0"}, Args: []string{"--monitor"}})
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(peer.Endpoint(), "tcp://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	hello := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: zmtp.VersionMajor, Minor: zmtp.VersionMinor, Mechanism: "NULL"})
	hello = zmtp.AppendReady(hello, zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("DEALER")}})
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	var greeting [zmtp.GreetingSize]byte
	if _, err := io.ReadFull(c, greeting[:]); err != nil {
		t.Fatalf("libzmq's greeting: %v", err)
	}
	if f, err := readRawFrame(c); err != nil || f.command() != zmtp.CmdReady {
		t.Fatalf("libzmq's READY: %q, %v", f.body, err)
	}
	waitLibEvent(t, peer, "HANDSHAKE_SUCCEEDED")

	start := time.Now()
	if _, err := c.Write(zmtp.AppendPing(nil, ttl, []byte("once"))); err != nil {
		t.Fatal(err)
	}
	var pong bool
	for {
		f, err := readRawFrame(c)
		if err == nil {
			if f.command() != zmtp.CmdPong || !bytes.Equal(f.data(), []byte("once")) {
				t.Fatalf("libzmq sent %q, want only a PONG echoing \"once\"", f.body)
			}
			pong = true
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("libzmq kept a connection silent for %v after a PING with a TTL of %v", time.Since(start), ttl)
		}
		break // closed by libzmq
	}
	took := time.Since(start)
	t.Logf("dropped %v after the PING (TTL %v)", took, ttl)
	if !pong {
		t.Error("libzmq never answered the PING")
	}
	if took < ttl-100*time.Millisecond {
		t.Errorf("libzmq closed the connection %v after the PING, before its TTL of %v: something else closed it", took, ttl)
	}
	waitLibEvent(t, peer, "DISCONNECTED")
}
