package sockets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// TestOptionDefaults: New applies the documented defaults (options.go,
// DESIGN.md D3): HWM 1000 both ways, a finite linger, reconnect every
// 100 ms without growth, a 30 s handshake timeout, no size limit, no
// heartbeats.
func TestOptionDefaults(t *testing.T) {
	s := relNew(t, DEALER)
	o := s.opts
	if DefaultHWM != 1000 || o.sendHWM != DefaultHWM || o.recvHWM != DefaultHWM {
		t.Errorf("HWM %d/%d (DefaultHWM %d); want 1000", o.sendHWM, o.recvHWM, DefaultHWM)
	}
	if o.linger != DefaultLinger || DefaultLinger <= 0 {
		t.Errorf("linger %v (DefaultLinger %v); want a finite, positive default", o.linger, DefaultLinger)
	}
	if o.reconnectIvl != 100*time.Millisecond || o.reconnectIvlMax != 0 {
		t.Errorf("reconnect %v max %v; want 100ms, 0", o.reconnectIvl, o.reconnectIvlMax)
	}
	if DefaultHandshakeTimeout != 30*time.Second || o.handshakeTimeout != DefaultHandshakeTimeout {
		t.Errorf("handshake timeout %v", o.handshakeTimeout)
	}
	if o.maxMsgSize >= 0 {
		t.Errorf("max message size %d; want unlimited (negative)", o.maxMsgSize)
	}
	if o.heartbeatIvl != 0 || o.heartbeatTimeout != 0 || o.heartbeatTTL != 0 {
		t.Errorf("heartbeats on by default: %v %v %v", o.heartbeatIvl, o.heartbeatTimeout, o.heartbeatTTL)
	}
	if o.routerMandatory || o.routerHandover || o.conflate || o.immediate || o.xpubVerbose {
		t.Error("a boolean option is on by default")
	}
}

// TestOptionValidation: a bad value makes New fail with ErrInvalid.
func TestOptionValidation(t *testing.T) {
	cases := []struct {
		name string
		typ  Type
		opt  Option
	}{
		{"negative send HWM", PUSH, WithSendHWM(-1)},
		{"negative receive HWM", PULL, WithRecvHWM(-1)},
		{"reconnect interval 0", PUSH, WithReconnectInterval(0, 0)},
		{"negative heartbeat", PUSH, WithHeartbeat(-time.Second, 0, 0)},
		{"handshake timeout 0", PUSH, WithHandshakeTimeout(0)},
		{"identity starting 0x00", DEALER, WithIdentity([]byte{0, 'a'})},
		{"identity of 256 octets", DEALER, WithIdentity(bytes.Repeat([]byte{'i'}, 256))},
		{"nil monitor", PUSH, WithMonitor(nil)},
		{"nil logger", PUSH, WithLogger(nil)},
		{"PLAIN password over 255 octets", PUSH, WithPlainClient("u", strings.Repeat("p", 256))},
		{"nil mechanism", PUSH, WithMechanism(nil, nil)},
		{"metadata name with a space", PUSH, WithMetadata(zmtp.Metadata{{Name: "X Bad", Value: []byte("v")}})},
	}
	for _, typ := range []Type{REQ, REP, ROUTER, PAIR, XPUB, XSUB} {
		cases = append(cases, struct {
			name string
			typ  Type
			opt  Option
		}{"conflate on " + typ.String(), typ, WithConflate()})
	}
	for _, c := range cases {
		s, err := New(c.typ, c.opt)
		if err == nil {
			s.Close()
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid", c.name, err)
		}
	}
	if _, err := New(Type(99)); !errors.Is(err, ErrInvalid) {
		t.Errorf("New(Type(99)): %v", err)
	}
	for _, typ := range []Type{PUB, SUB, PUSH, PULL, DEALER} {
		s, err := New(typ, WithConflate())
		if err != nil {
			t.Errorf("conflate on %s: %v", typ, err)
			continue
		}
		s.Close()
	}
}

// reconnectGaps connects to an ipc path nobody serves and returns the
// waits between each connect-delayed event and its connect-retried, on the
// bubble's fake clock.
func reconnectGaps(t *testing.T, n int, opts ...Option) []time.Duration {
	evs, mon := newRelEvents(t)
	s := relNew(t, PUSH, append([]Option{mon, WithLinger(0)}, opts...)...)
	relConnect(t, s, "ipc://"+relTempDir(t)+"/nobody.sock")
	if _, ok := evs.wait(time.Hour, n, relIs(EventConnectRetried)); !ok {
		t.Fatalf("fewer than %d retries:\n%s", n, evs)
	}
	var gaps []time.Duration
	var delayed time.Time
	for _, e := range evs.all() {
		switch e.Type {
		case EventConnectDelayed:
			delayed = e.Time
		case EventConnectRetried:
			gaps = append(gaps, e.Time.Sub(delayed))
		}
	}
	return gaps[:n]
}

// TestReconnectBackoff: the reconnect wait is the interval, jittered by
// ±25 %, doubling after each failure up to the maximum (exact on the fake
// clock of a synctest bubble).
func TestReconnectBackoff(t *testing.T) {
	check := func(t *testing.T, gaps, nominal []time.Duration) {
		t.Helper()
		jittered := false
		for i, g := range gaps {
			lo, hi := nominal[i]*3/4, nominal[i]*5/4
			if g < lo || g > hi {
				t.Errorf("wait %d: %v; want %v ±25 %% [%v, %v]", i, g, nominal[i], lo, hi)
			}
			if g != nominal[i] {
				jittered = true
			}
		}
		if !jittered {
			t.Errorf("waits %v are exactly the nominal ones: no jitter", gaps)
		}
		t.Logf("waits %v", gaps)
	}
	t.Run("default: 100 ms, no growth", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gaps := reconnectGaps(t, 8)
			nominal := make([]time.Duration, 8)
			for i := range nominal {
				nominal[i] = DefaultReconnectInterval
			}
			check(t, gaps, nominal)
		})
	})
	t.Run("100 ms doubling up to 800 ms", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gaps := reconnectGaps(t, 7, WithReconnectInterval(100*time.Millisecond, 800*time.Millisecond))
			ms := time.Millisecond
			check(t, gaps, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 800 * ms, 800 * ms, 800 * ms})
		})
	})
}

// TestConflate (reliability matrix R30): with WithConflate a receiver
// keeps only the newest message, whole, and a sender's queue only the
// newest message too.
func TestConflate(t *testing.T) {
	const n = 20
	msg := func(i int) Msg { return NewMsgString("seq", fmt.Sprint(i), "end") }
	for _, tr := range []string{Inproc, TCP} {
		for _, rt := range []Type{PULL, SUB} {
			t.Run(tr+"/"+rt.String(), func(t *testing.T) {
				r := relNew(t, rt, WithConflate())
				if rt == SUB {
					relSubscribe(t, r, nil)
				}
				ep := relBind(t, r, tr)
				st := PUSH
				if rt == SUB {
					st = PUB
				}
				s := relNew(t, st, WithLinger(0))
				relConnect(t, s, ep)
				if rt == SUB {
					// Until the subscription is in, the PUB drops.
					if !relWaitUntil(5*time.Second, func() bool {
						if err := s.Send(context.Background(), NewMsgString("probe")); err != nil {
							t.Fatal(err)
						}
						_, err := relRecvT(r, 5*time.Millisecond)
						return err == nil
					}) {
						t.Fatal("subscription never arrived")
					}
				}
				for i := range n {
					if err := relSendT(s, time.Second, msg(i)); err != nil {
						t.Fatal(err)
					}
				}
				last := fmt.Sprint(n - 1)
				if !relWaitUntil(5*time.Second, func() bool {
					return specInboxHas(r, func(f []string) bool { return len(f) == 3 && f[1] == last })
				}) {
					t.Fatal("the last message never arrived")
				}
				m, err := relRecvT(r, time.Second)
				if err != nil || len(m.Frames) != 3 || string(m.Frames[1]) != last || string(m.Frames[2]) != "end" {
					t.Fatalf("got %q, %v; want the last message, whole", m.Frames, err)
				}
				if m, err := relRecvT(r, 100*time.Millisecond); err == nil {
					t.Fatalf("a second message %q: conflate keeps one", m.Frames)
				}
			})
		}
	}
	t.Run("inproc/outbound PUSH queue", func(t *testing.T) {
		push := relNew(t, PUSH, WithConflate(), WithLinger(0))
		ep := "inproc://conflate-out-" + fmt.Sprint(relUniq())
		relConnect(t, push, ep)
		for i := range n {
			if err := relSendT(push, time.Second, msg(i)); err != nil {
				t.Fatalf("send %d to a conflating queue: %v (it never fills)", i, err)
			}
		}
		pull := relNew(t, PULL)
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		m, err := relRecvT(pull, 5*time.Second)
		if err != nil || string(m.Frames[1]) != fmt.Sprint(n-1) {
			t.Fatalf("got %q, %v; want only the last", m.Frames, err)
		}
		if m, err := relRecvT(pull, 100*time.Millisecond); err == nil {
			t.Fatalf("a second message %q", m.Frames)
		}
	})
}

// TestImmediate: with WithImmediate a connect-side peer takes messages only
// while connected: none are queued for an endpoint nobody serves, and with
// no connected peer Send waits.
func TestImmediate(t *testing.T) {
	for _, tr := range []string{Inproc, TCP} {
		t.Run(tr, func(t *testing.T) {
			evs, mon := newRelEvents(t)
			push := relNew(t, PUSH, WithImmediate(), WithLinger(0), mon)
			dead := specEndpoint(t, tr)
			relConnect(t, push, dead)
			// With only an absent peer no pipe takes a message: a
			// non-blocking send (expired context) fails at once.
			expired, cancel := context.WithDeadline(context.Background(), time.Now())
			cancel()
			if err := push.Send(expired, NewMsgString("x")); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send with only an absent peer: %v; want DeadlineExceeded", err)
			}
			pull := relNew(t, PULL)
			relConnect(t, push, relBind(t, pull, tr))
			for i := range 10 {
				if err := relSendT(push, 5*time.Second, NewMsgString(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 10 {
				m, err := relRecvT(pull, 5*time.Second)
				if err != nil || string(m.Frames[0]) != fmt.Sprint(i) {
					t.Fatalf("message %d went elsewhere: %v %q", i, err, m.Frames)
				}
			}
			// The absent peer appears. Once the PUSH is connected to it
			// (its handshake event comes after the pipe joins the load
			// balancer), four markers go out round-robin, two to each
			// peer; a connection keeps its order, so the late peer's
			// first message is a marker unless something was queued
			// for it while it was absent.
			late := relNew(t, PULL)
			specBindAt(t, late, dead)
			if _, ok := evs.wait(10*time.Second, 1, func(e Event) bool {
				return e.Type == EventHandshakeSucceeded && e.Endpoint == dead
			}); !ok {
				t.Fatalf("the PUSH never connected to the late peer; events:\n%s", evs)
			}
			for i := range 4 {
				if err := relSendT(push, 5*time.Second, NewMsgString(fmt.Sprint("marker-", i))); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				m, err := relRecvT(late, 5*time.Second)
				if err != nil {
					t.Fatalf("the late peer got no marker: %v", err)
				}
				if !strings.HasPrefix(string(m.Frames[0]), "marker-") {
					t.Fatalf("the late peer got %q, queued while it was absent", m.Frames)
				}
			}
			for range 2 {
				if m, err := relRecvT(pull, 5*time.Second); err != nil || !strings.HasPrefix(string(m.Frames[0]), "marker-") {
					t.Fatalf("the first peer: %v %q; want a marker", err, m.Frames)
				}
			}
		})
	}
}

// TestMaxMsgSize: a peer that sends more than WithMaxMsgSize (counting
// zmtp.FrameOverhead per frame) is disconnected, the message is not
// delivered, and what fits still arrives.
func TestMaxMsgSize(t *testing.T) {
	const limit = 1000
	evs, mon := newRelEvents(t)
	pull := relNew(t, PULL, WithMaxMsgSize(limit), mon)
	ep := relBind(t, pull, TCP)
	push := relNew(t, PUSH, WithReconnectInterval(10*time.Millisecond, 0))
	relConnect(t, push, ep)
	ctx := relCtx(t, 10*time.Second)
	fits := NewMsg(make([]byte, limit-zmtp.FrameOverhead))
	tooBig := NewMsg(make([]byte, limit))
	manyFrames := Msg{Frames: make([][]byte, limit/zmtp.FrameOverhead+1)} // empty frames
	for i, m := range []Msg{tooBig, manyFrames} {
		if err := push.Send(ctx, fits); err != nil {
			t.Fatal(err)
		}
		got, err := pull.Recv(ctx)
		if err != nil || len(got.Frames) != 1 || len(got.Frames[0]) != limit-zmtp.FrameOverhead {
			t.Fatalf("a message that fits: %v", err)
		}
		if err := push.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		e, ok := evs.wait(5*time.Second, i+1, relIs(EventDisconnected))
		if !ok || !errors.Is(e.Err, zmtp.ErrMsgTooLarge) {
			t.Fatalf("over the limit: %v %v; want a disconnect for ErrMsgTooLarge\n%s", e, ok, evs)
		}
		if got, err := relRecvT(pull, 100*time.Millisecond); err == nil {
			t.Fatalf("a message over the limit was delivered: %d frames", len(got.Frames))
		}
	}
	// The peer reconnects and what fits goes on arriving.
	if err := push.Send(ctx, fits); err != nil {
		t.Fatal(err)
	}
	if _, err := pull.Recv(ctx); err != nil {
		t.Fatal(err)
	}
}
