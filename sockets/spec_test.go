package sockets

// The RFC spec suite (reliability matrix R23): one subtest per statement of
// reliability-matrix.md §3, each over inproc, ipc and tcp. Statements about
// octets on the wire skip inproc, which has none. Tests named *_deviation
// pin a behaviour that differs from the statement on purpose (DESIGN.md D4,
// sockets/DEVIATIONS.md).
//
// Nothing here sleeps to synchronise: tests wait on messages, monitor
// events, contexts with deadlines, or poll a condition with a deadline.
// specQuiet is only ever a window in which something must NOT happen.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

type specCase struct {
	name string
	wire bool // about octets on the wire: not applicable to inproc
	run  func(t *testing.T, tr string)
}

func TestSpec(t *testing.T) {
	for _, c := range specCases {
		t.Run(c.name, func(t *testing.T) {
			for _, tr := range specTransports {
				t.Run(tr, func(t *testing.T) {
					if c.wire && tr == Inproc {
						t.Skip("inproc carries no ZMTP octets; the statement is about the wire")
					}
					c.run(t, tr)
				})
			}
		})
	}
}

var specCases = []specCase{
	// RFC 37 general
	{name: "G1_multipart_atomic", run: specG1},
	{name: "G2_no_duplicates", run: specG2},
	{name: "G3_in_order", run: specG3},
	{name: "G4_bind_or_connect_either_order", run: specG4},
	{name: "G4_reconnect_after_break", run: specG4Reconnect},
	{name: "G5_greeting_versions_and_padding", wire: true, run: specG5},
	{name: "G6_mechanism_mismatch_closes", wire: true, run: specG6Mismatch},
	{name: "G6_ERROR_is_fatal", wire: true, run: specG6ErrorFatal},
	{name: "G6_ERROR_300_reconnects_deviation", wire: true, run: specG6Temporary},
	{name: "G6_unexpected_close_reconnects", run: specG6Reconnect},
	{name: "G7_frame_flags_and_metadata", wire: true, run: specG7},
	{name: "G8_invalid_socket_type_pair", run: specG8Pairing},
	{name: "G8_invalid_socket_type_gets_ERROR", wire: true, run: specG8RawError},
	{name: "G8_identity_0x00_reserved", run: specG8Identity},
	{name: "G9_PING_gets_PONG", wire: true, run: specG9PingPong},
	{name: "G9_silent_peer_is_dead", wire: true, run: specG9Silent},
	{name: "G9_any_traffic_is_life", wire: true, run: specG9Traffic},
	{name: "G9_peer_TTL", wire: true, run: specG9TTL},
	{name: "G10_no_downgrade", wire: true, run: specG10},

	// RFC 28 REQ
	{name: "Q1_REQ_delimiter", run: specQ1},
	{name: "Q2_REQ_round_robin", run: specQ2},
	{name: "Q3_REQ_no_peer_blocks", run: specQ3},
	{name: "Q4_REQ_keeps_unsent", run: specQ4},
	{name: "Q5_REQ_reply_only_from_asked_peer", run: specQ5},
	{name: "Q5_REQ_drops_reply_arriving_while_idle", run: specQ5Idle},
	{name: "Q5_REQ_peer_lost_deviation", run: specQ5PeerLost},
	{name: "Q6_REQ_REP_strict_alternation", run: specQ6},

	// RFC 28 REP
	{name: "P1_REP_fair_queue", run: specP1},
	{name: "P2_REP_envelope", run: specP2},
	{name: "P3_REP_reply_to_originator", run: specP3},
	{name: "P4_REP_reply_to_gone_peer", run: specP4},
	{name: "P5_REP_send_never_blocks", run: specP5},

	// RFC 28 DEALER
	{name: "D1_DEALER_round_robin", run: func(t *testing.T, tr string) { specRoundRobin(t, tr, DEALER, ROUTER) }},
	{name: "D1_DEALER_skips_full_peer", run: func(t *testing.T, tr string) { specSkipsFull(t, tr, DEALER, ROUTER) }},
	{name: "D2_DEALER_fair_queue", run: func(t *testing.T, tr string) { specFairQueue(t, tr, DEALER, DEALER) }},
	{name: "D3_DEALER_connect_queue_survives", run: specD3},
	{name: "D4_DEALER_bind_queue_destroyed", run: func(t *testing.T, tr string) { specBindQueueDestroyed(t, tr, DEALER, DEALER) }},
	{name: "D5_DEALER_no_peer_blocks", run: func(t *testing.T, tr string) { specNoPeerBlocks(t, tr, DEALER, ROUTER) }},

	// RFC 28 ROUTER
	{name: "O1_ROUTER_identity_prefix", run: specO1},
	{name: "O2_ROUTER_routes_by_first_frame", run: specO2},
	{name: "O3_ROUTER_unknown_or_full", run: specO3},
	{name: "O4_ROUTER_send_never_blocks", run: specO4},
	{name: "O5_ROUTER_explicit_identity", run: specO5},
	{name: "O6_ROUTER_queue_destroyed", run: specO6},
	{name: "O7_ROUTER_duplicate_refused", run: specO7Refused},
	{name: "O7_ROUTER_duplicate_handover", run: specO7Handover},

	// RFC 29 PUB/SUB/XPUB/XSUB
	{name: "U1_PUB_never_blocks", run: specU1},
	{name: "U2_PUB_drops_for_full_subscriber", run: specU2},
	{name: "U3_prefix_match_first_frame", run: specU3},
	{name: "U4_PUB_discards_input", run: specU4},
	{name: "U5_filtering_at_publisher", run: specU5},
	{name: "U6_empty_subscription", run: specU6},
	{name: "U7_subscriptions_counted", run: specU7},
	{name: "U7_PUB_counts_wire_subscriptions", wire: true, run: specU7Wire},
	{name: "U8_XPUB_subscriptions_and_disconnect", run: specU8},
	{name: "U9_SUB_fair_queue", run: specU9Fair},
	{name: "U9_SUB_queue_survives_reconnect", run: specU9Reconnect},
	{name: "U10_resubscribe_after_reconnect", run: specU10},
	{name: "U11_XSUB_sends_to_every_publisher", run: specU11},

	// RFC 30 PUSH/PULL
	{name: "L1_PUSH_round_robin", run: func(t *testing.T, tr string) { specRoundRobin(t, tr, PUSH, PULL) }},
	{name: "L1_PUSH_skips_full_peer", run: func(t *testing.T, tr string) { specSkipsFull(t, tr, PUSH, PULL) }},
	{name: "L2_PUSH_no_peer_blocks", run: func(t *testing.T, tr string) { specNoPeerBlocks(t, tr, PUSH, PULL) }},
	{name: "L2_PUSH_waiting_send_resumes_after_restart", run: specL2Resume},
	{name: "L3_PULL_fair_queue", run: func(t *testing.T, tr string) { specFairQueue(t, tr, PULL, PUSH) }},
	{name: "L3_PULL_fair_queue_round_robin", run: specL3RoundRobin},
	{name: "L4_PUSH_bind_queue_destroyed", run: func(t *testing.T, tr string) { specBindQueueDestroyed(t, tr, PUSH, PULL) }},
	{name: "L4_connect_queue_survives_deviation", run: specL4ConnectSide},
	{name: "L4_received_survive_disconnect_deviation", run: specL4Received},
	{name: "L5_multipart_atomic_across_reconnect", run: specL5},

	// RFC 31 PAIR
	{name: "A1_PAIR_refuses_second_peer", run: specA1},
	{name: "A2_PAIR_no_peer_blocks", run: func(t *testing.T, tr string) { specNoPeerBlocks(t, tr, PAIR, PAIR) }},
}

// ---------------------------------------------------------------------------
// RFC 37 general

// specDescribe summarises frames without printing large ones.
func specDescribe(frames []string) string {
	parts := make([]string, len(frames))
	for i, f := range frames {
		if len(f) > 16 {
			parts[i] = fmt.Sprintf("<%d octets>", len(f))
		} else {
			parts[i] = strconv.Quote(f)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// G1: a message arrives with all its frames or not at all.
func specG1(t *testing.T, tr string) {
	big := strings.Repeat("B", 64<<10)
	shapes := [][]string{
		{"one"},
		{"", ""},
		{"head", big, ""},
		{big, big},
		{"1", "2", "3", "4", "5", "6", "7"},
		{strings.Repeat("m", 255), strings.Repeat("n", 256)},
	}
	for _, pair := range [][2]Type{{PUSH, PULL}, {DEALER, ROUTER}} {
		recv := specNew(t, pair[1])
		ep := specBind(t, recv, tr)
		send := specNew(t, pair[0])
		specConnect(t, send, ep)
		const n = 120
		want := func(i int) []string { return append([]string{strconv.Itoa(i)}, shapes[i%len(shapes)]...) }
		for i := range n {
			specSend(t, send, want(i)...)
		}
		for i := range n {
			got := specStrs(specRecv(t, recv))
			if pair[1] == ROUTER {
				got = got[1:]
			}
			if !slices.Equal(got, want(i)) {
				t.Fatalf("%s→%s message %d: got %s, want %s", pair[0], pair[1], i, specDescribe(got), specDescribe(want(i)))
			}
		}
	}
}

// G2: no message reaches a peer twice: not through load balancing, not
// through overlapping subscriptions.
func specG2(t *testing.T, tr string) {
	push := specNew(t, PUSH)
	ep := specBind(t, push, tr)
	pulls := []*Socket{specNew(t, PULL), specNew(t, PULL)}
	for _, p := range pulls {
		specConnect(t, p, ep)
	}
	specWaitConnected(t, push, 2)
	const n = 200
	for i := range n {
		specSend(t, push, strconv.Itoa(i))
	}
	seen := make(map[string]int)
	for _, p := range pulls {
		for range n / 2 {
			seen[string(specRecv(t, p).Frames[0])]++
		}
	}
	for i := range n {
		if c := seen[strconv.Itoa(i)]; c != 1 {
			t.Fatalf("message %d received %d times", i, c)
		}
	}

	pub := specNew(t, PUB)
	ep = specBind(t, pub, tr)
	subs := []*Socket{specNew(t, SUB), specNew(t, XSUB)}
	for _, s := range subs {
		for _, topic := range []string{"a", "ab", "abc", specProbeTopic} {
			specSubscribe(t, s, topic)
		}
		specConnect(t, s, ep)
		specSync(t, pub, s)
	}
	specSend(t, pub, "abcd")
	specSend(t, pub, specProbeTopic, "end")
	for _, s := range subs {
		if got := specStrs(specRecvSkip(t, s)); !slices.Equal(got, []string{"abcd"}) {
			t.Fatalf("%s: got %q, want [abcd]", s.Type(), got)
		}
		if got := specStrs(specRecvSkip(t, s)); !slices.Equal(got, []string{specProbeTopic, "end"}) {
			t.Fatalf("%s: got %q after the one match, want the end marker (a duplicate?)", s.Type(), got)
		}
	}
}

// G3: messages between two direct peers arrive in the order sent.
func specG3(t *testing.T, tr string) {
	const n = 1000
	type flow struct {
		name string
		send func(i int)
		recv func() string
	}
	var flows []flow

	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	push := specNew(t, PUSH)
	specConnect(t, push, ep)
	flows = append(flows, flow{"PUSH→PULL",
		func(i int) { specSend(t, push, strconv.Itoa(i)) },
		func() string { return string(specRecv(t, pull).Frames[0]) }})

	router := specNew(t, ROUTER)
	ep = specBind(t, router, tr)
	dealer := specNew(t, DEALER, WithIdentity([]byte("d")))
	specConnect(t, dealer, ep)
	flows = append(flows,
		flow{"DEALER→ROUTER",
			func(i int) { specSend(t, dealer, strconv.Itoa(i)) },
			func() string { return string(specRecv(t, router).Frames[1]) }},
		flow{"ROUTER→DEALER",
			func(i int) { specSend(t, router, "d", strconv.Itoa(i)) },
			func() string { return string(specRecv(t, dealer).Frames[0]) }})

	pa := specNew(t, PAIR)
	ep = specBind(t, pa, tr)
	pb := specNew(t, PAIR)
	specConnect(t, pb, ep)
	flows = append(flows,
		flow{"PAIR→PAIR",
			func(i int) { specSend(t, pa, strconv.Itoa(i)) },
			func() string { return string(specRecv(t, pb).Frames[0]) }},
		flow{"PAIR←PAIR",
			func(i int) { specSend(t, pb, strconv.Itoa(i)) },
			func() string { return string(specRecv(t, pa).Frames[0]) }})

	pub := specNew(t, PUB, WithSendHWM(0))
	ep = specBind(t, pub, tr)
	sub := specNew(t, SUB)
	specSubscribe(t, sub, "")
	specConnect(t, sub, ep)
	specSync(t, pub, sub)
	flows = append(flows, flow{"PUB→SUB",
		func(i int) { specSend(t, pub, strconv.Itoa(i)) },
		func() string { return string(specRecvSkip(t, sub).Frames[0]) }})

	for _, f := range flows {
		// ROUTER→DEALER needs the ROUTER to know the DEALER.
		if f.name == "ROUTER→DEALER" {
			specEventually(t, 5*time.Second, "the ROUTER to know d", func() bool { return specRouterKnows(router, "d") })
		}
		for i := range n {
			f.send(i)
		}
		for i := range n {
			if got := f.recv(); got != strconv.Itoa(i) {
				t.Fatalf("%s: message %d is %q", f.name, i, got)
			}
		}
	}
}

// specTalkPairs are the socket type pairs that can talk, sender first.
var specTalkPairs = [][2]Type{
	{PAIR, PAIR}, {PUB, SUB}, {PUB, XSUB}, {XPUB, SUB}, {XPUB, XSUB}, {REQ, REP},
	{REQ, ROUTER}, {DEALER, REP}, {DEALER, ROUTER}, {DEALER, DEALER}, {PUSH, PULL},
}

// specTalk exchanges a message between a and b (of a pair of
// specTalkPairs), both ways where the pattern allows it.
func specTalk(t *testing.T, a, b *Socket) {
	t.Helper()
	switch a.Type() {
	case PAIR:
		specSend(t, a, "ping")
		specRecvWant(t, b, "ping")
		specSend(t, b, "pong")
		specRecvWant(t, a, "pong")
	case PUB, XPUB:
		specSubscribe(t, b, specProbeTopic)
		if a.Type() == XPUB {
			specRecvWant(t, a, "\x01"+specProbeTopic)
		}
		specSync(t, a, b)
	case REQ:
		specSend(t, a, "req")
		if b.Type() == REP {
			specRecvWant(t, b, "req")
			specSend(t, b, "rep")
		} else {
			m := specRecv(t, b)
			if got := specStrs(m)[1:]; !slices.Equal(got, []string{"", "req"}) {
				t.Fatalf("ROUTER got %q from REQ", specStrs(m))
			}
			specSendMsg(t, b, NewMsg(m.Frames[0], nil, []byte("rep")))
		}
		specRecvWant(t, a, "rep")
	case DEALER:
		switch b.Type() {
		case REP:
			specSend(t, a, "", "req")
			specRecvWant(t, b, "req")
			specSend(t, b, "rep")
			specRecvWant(t, a, "", "rep")
		case ROUTER:
			specSend(t, a, "hi")
			m := specRecv(t, b)
			if string(m.Frames[1]) != "hi" {
				t.Fatalf("ROUTER got %q", specStrs(m))
			}
			specSendMsg(t, b, NewMsg(m.Frames[0], []byte("back")))
			specRecvWant(t, a, "back")
		case DEALER:
			specSend(t, a, "hi")
			specRecvWant(t, b, "hi")
			specSend(t, b, "back")
			specRecvWant(t, a, "back")
		}
	case PUSH:
		specSend(t, a, "hi")
		specRecvWant(t, b, "hi")
	default:
		t.Fatalf("no talk for %s", a.Type())
	}
}

// G4: every type binds and connects, and connecting before the peer has
// bound works on every transport.
func specG4(t *testing.T, tr string) {
	for _, pr := range specTalkPairs {
		for _, aBinds := range []bool{true, false} {
			for _, bindFirst := range []bool{true, false} {
				binder, connector := pr[0], pr[1]
				if !aBinds {
					binder, connector = connector, binder
				}
				order := "bind_first"
				if !bindFirst {
					order = "connect_first"
				}
				t.Run(fmt.Sprintf("%s_binds_%s_connects_%s", binder, connector, order), func(t *testing.T) {
					a, b := specNew(t, pr[0]), specNew(t, pr[1])
					bs, cs := a, b
					if !aBinds {
						bs, cs = b, a
					}
					if bindFirst {
						specConnect(t, cs, specBind(t, bs, tr))
					} else {
						ep := specEndpoint(t, tr)
						specConnect(t, cs, ep)
						specBindAt(t, bs, ep)
					}
					specTalk(t, a, b)
				})
			}
		}
	}
}

// G4: a broken connection is made again after a delay.
func specG4Reconnect(t *testing.T, tr string) {
	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	mon, opt := specMonitor()
	push := specNew(t, PUSH, opt)
	specConnect(t, push, ep)
	specSend(t, push, "before")
	specRecvWant(t, pull, "before")
	pull.Close()
	mon.wait(t, 5*time.Second, "disconnected", specIs(EventDisconnected))
	pull2 := specNew(t, PULL)
	specBindAt(t, pull2, ep)
	mon.wait(t, 5*time.Second, "handshake-succeeded after the break", specIs(EventHandshakeSucceeded))
	specSend(t, push, "after")
	specRecvWant(t, pull2, "after")
}

// G5: greetings of version 3.0 and up, including higher minor and major
// versions, are accepted, whatever the padding and filler hold.
func specG5(t *testing.T, tr string) {
	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	for _, v := range [][2]byte{{3, 0}, {3, 1}, {3, 2}, {3, 255}, {4, 0}, {255, 255}} {
		r := specRawDial(t, ep)
		g, ready := r.handshake(specGreeting(v[0], v[1]),
			zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("PUSH")}})
		if g[0] != 0xFF || g[9]&1 != 1 || g[10] != 3 || g[11] != 1 {
			t.Fatalf("socket greeting % x: want signature and version 3.1", g[:12])
		}
		if mech := strings.TrimRight(string(g[12:32]), "\x00"); mech != "NULL" {
			t.Fatalf("socket greets with mechanism %q", mech)
		}
		if st := ready.String(zmtp.PropSocketType); st != "PULL" {
			t.Fatalf("socket READY has Socket-Type %q", st)
		}
		label := fmt.Sprintf("%d.%d", v[0], v[1])
		r.sendMsg("version", label)
		specRecvWant(t, pull, "version", label)
	}
}

func specAcceptAll() zmtp.Authenticator {
	return zmtp.AuthenticatorFunc(func(context.Context, *zmtp.AuthRequest) (zmtp.AuthResult, error) {
		return zmtp.AuthResult{Status: zmtp.StatusOK}, nil
	})
}

func specAuthStatus(status string) zmtp.Authenticator {
	return zmtp.AuthenticatorFunc(func(context.Context, *zmtp.AuthRequest) (zmtp.AuthResult, error) {
		return zmtp.AuthResult{Status: status, StatusText: "spec"}, nil
	})
}

// G6: a mechanism mismatch in the greeting closes the connection.
func specG6Mismatch(t *testing.T, tr string) {
	srvMon, srvOpt := specMonitor()
	pull := specNew(t, PULL, WithPlainServer(specAcceptAll()), srvOpt)
	ep := specBind(t, pull, tr)
	cliMon, cliOpt := specMonitor()
	push := specNew(t, PUSH, cliOpt)
	specConnect(t, push, ep)
	specSend(t, push, "never")
	isMech := func(e Event) bool { return e.Type == EventHandshakeFailed && errors.Is(e.Err, zmtp.ErrMechanism) }
	srvMon.wait(t, 5*time.Second, "server handshake-failed (mechanism)", isMech)
	cliMon.wait(t, 5*time.Second, "client handshake-failed (mechanism)", isMech)
	specNothing(t, pull)
}

// G6: an ERROR command is fatal: no reconnect with the same credentials.
func specG6ErrorFatal(t *testing.T, tr string) {
	srvMon, srvOpt := specMonitor()
	pull := specNew(t, PULL, WithPlainServer(specAuthStatus(zmtp.StatusDenied)), srvOpt)
	ep := specBind(t, pull, tr)
	cliMon, cliOpt := specMonitor()
	push := specNew(t, PUSH, WithPlainClient("user", "wrong"), cliOpt)
	specConnect(t, push, ep)
	e := cliMon.wait(t, 5*time.Second, "reconnect-stopped", specIs(EventReconnectStopped))
	if !errors.Is(e.Err, zmtp.ErrAuth) {
		t.Fatalf("reconnect stopped for %v, want an authentication refusal", e.Err)
	}
	// Over many reconnect intervals the server sees no other attempt.
	if n := srvMon.count(specQuiet, specIs(EventAccepted)); n != 1 {
		t.Fatalf("server accepted %d connections, want 1 (no reconnect after ERROR)", n)
	}
	specNothing(t, pull)
}

// G6 deviation: an ERROR whose reason is "300" (temporary, RFC 27) does not
// stop the dialer: it reconnects with the same credentials. Only other
// reasons are final (dialer.go, connectNet).
func specG6Temporary(t *testing.T, tr string) {
	srvMon, srvOpt := specMonitor()
	pull := specNew(t, PULL, WithPlainServer(specAuthStatus(zmtp.StatusTemporary)), srvOpt)
	ep := specBind(t, pull, tr)
	push := specNew(t, PUSH, WithPlainClient("user", "pass"))
	specConnect(t, push, ep)
	for i := range 3 {
		srvMon.wait(t, 5*time.Second, fmt.Sprintf("accepted #%d", i+1), specIs(EventAccepted))
	}
	specNothing(t, pull)
}

// G6: any other unexpected close is temporary: the peer reconnects.
func specG6Reconnect(t *testing.T, tr string) {
	if tr == Inproc {
		specG4Reconnect(t, tr)
		return
	}
	ln, ep := specRawListener(t, tr)
	push := specNew(t, PUSH)
	specConnect(t, push, ep)
	// The first connection is closed before its greeting.
	c1 := specAcceptNet(t, ln)
	c1.Close()
	// The socket comes back, and the new connection works.
	r := specRawOn(t, specAcceptNet(t, ln))
	r.handshakeAs("PULL")
	r.start()
	specSend(t, push, "after")
	if got, ok := r.nextMsg(5 * time.Second); !ok || !slices.Equal(got, []string{"after"}) {
		t.Fatalf("raw peer read %q, %v", got, ok)
	}
}

// G7: frames we send have the reserved flag bits clear and no MORE on
// commands; metadata names are case-insensitive, 1–255 octets, values may
// be empty or long.
func specG7(t *testing.T, tr string) {
	push := specNew(t, PUSH)
	ep := specBind(t, push, tr)
	r := specRawDial(t, ep)
	long := "X-" + strings.Repeat("n", 253)
	props := zmtp.Metadata{
		{Name: "socket-type", Value: []byte("PULL")},
		{Name: "X-Empty", Value: nil},
		{Name: long, Value: bytes.Repeat([]byte("v"), 1000)},
	}
	r.write(append(specGreeting(3, 1), zmtp.AppendReady(nil, props)...))
	r.readGreeting()
	flags, name, data := r.readCommand()
	if name != zmtp.CmdReady {
		t.Fatalf("got %s, want READY", name)
	}
	if flags&0xF8 != 0 || flags&zmtp.FlagMore != 0 {
		t.Fatalf("READY frame flags %#02x: reserved bits or MORE set", flags)
	}
	meta, err := zmtp.ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if st := meta.String("SOCKET-TYPE"); st != "PUSH" {
		t.Fatalf("READY Socket-Type %q", st)
	}
	r.start()
	specSend(t, push, "a", strings.Repeat("L", 300), "")
	m, ok := r.next(5 * time.Second)
	if !ok || m.cmd {
		t.Fatalf("raw peer: no message (%v)", r.readErr())
	}
	if len(m.frames) != 3 || string(m.frames[0]) != "a" || len(m.frames[1]) != 300 || len(m.frames[2]) != 0 {
		t.Fatalf("raw peer read %d frames", len(m.frames))
	}
	wantFlags := []byte{zmtp.FlagMore, zmtp.FlagMore | zmtp.FlagLong, 0}
	for i, f := range m.flags {
		if f&0xF8 != 0 || f != wantFlags[i] {
			t.Fatalf("frame %d flags %#02x, want %#02x", i, f, wantFlags[i])
		}
	}
}

// G8: an invalid Socket-Type pairing is refused.
func specG8Pairing(t *testing.T, tr string) {
	pub := specNew(t, PUB)
	ep := specBind(t, pub, tr)
	mon, opt := specMonitor()
	push := specNew(t, PUSH, opt)
	specConnect(t, push, ep)
	e := mon.wait(t, 5*time.Second, "handshake-failed", specIs(EventHandshakeFailed))
	if tr != Inproc && !errors.Is(e.Err, zmtp.ErrSocketType) && !errors.Is(e.Err, zmtp.ErrAuth) {
		t.Fatalf("handshake failed with %v, want a socket-type refusal", e.Err)
	}
	if n := specPipes(pub); n != 0 {
		t.Fatalf("PUB has %d pipes after refusing a PUSH", n)
	}
}

// G8: a peer with an invalid Socket-Type gets an ERROR, then a close.
func specG8RawError(t *testing.T, tr string) {
	pub := specNew(t, PUB)
	ep := specBind(t, pub, tr)
	r := specRawDial(t, ep)
	r.handshakeAs("PUSH")
	r.start()
	got := r.waitClosed(5 * time.Second)
	for _, m := range got {
		if m.cmd {
			if name, _ := specCommandName(m.frames[0]); name == zmtp.CmdError {
				return
			}
		}
	}
	t.Fatalf("connection closed without an ERROR (read %d frames)", len(got))
}

// G8: identities starting with 0x00 are reserved for generated ones.
func specG8Identity(t *testing.T, tr string) {
	for _, id := range [][]byte{{0, 'x'}, {0}, bytes.Repeat([]byte("i"), 256)} {
		s, err := New(DEALER, WithIdentity(id))
		if err == nil {
			s.Close()
			t.Fatalf("WithIdentity(%q) accepted", id)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("WithIdentity(%q): %v, want ErrInvalid", id, err)
		}
	}
	if tr == Inproc {
		return // only a wire peer can announce an identity we would refuse to set
	}
	// A peer that announces a reserved identity must not take the one the
	// ROUTER generates for the next anonymous peer.
	mon, opt := specMonitor()
	router := specNew(t, ROUTER, opt)
	ep := specBind(t, router, tr)
	r := specRawDial(t, ep)
	r.handshakeAs("DEALER", zmtp.Property{Name: zmtp.PropIdentity, Value: []byte{0, 0, 0, 0, 1}})
	r.start()
	// Whether the ROUTER admits it (under some identity) or refuses it is
	// its choice; wait until it has made it.
	specEventually(t, 5*time.Second, "the ROUTER to admit or refuse the raw peer", func() bool {
		if specRouterPeers(router) == 1 {
			return true
		}
		select {
		case e := <-mon.ch:
			return e.Type == EventHandshakeFailed
		default:
			return false
		}
	})
	mon.count(0, func(Event) bool { return false }) // forget what came before
	dealer := specNew(t, DEALER)
	specConnect(t, dealer, ep)
	specSend(t, dealer, "anon")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := router.Recv(ctx)
	refusals := mon.count(0, specIs(EventHandshakeFailed))
	if err != nil || refusals > 0 {
		t.Fatalf("the anonymous DEALER was refused %d times (recv: %v)", refusals, err)
	}
	if string(m.Frames[1]) != "anon" {
		t.Fatalf("ROUTER got %q", specStrs(m))
	}
	specSendMsg(t, router, NewMsg(m.Frames[0], []byte("back")))
	specRecvWant(t, dealer, "back")
}

// G9: a PING gets a PONG with the same context (up to 16 octets).
func specG9PingPong(t *testing.T, tr string) {
	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	r := specRawDial(t, ep)
	r.handshakeAs("PUSH")
	r.start()
	for _, c := range []string{"", "c", "0123456789abcdef"} {
		r.write(zmtp.AppendPing(nil, 0, []byte(c)))
		m, ok := r.next(5 * time.Second)
		if !ok || !m.cmd {
			t.Fatalf("no PONG for context %q", c)
		}
		name, data := specCommandName(m.frames[0])
		if name != zmtp.CmdPong || string(data) != c {
			t.Fatalf("got %s %q, want PONG %q", name, data, c)
		}
	}
}

// G9: with no traffic, the connection is dead after the timeout.
func specG9Silent(t *testing.T, tr string) {
	mon, opt := specMonitor()
	pull := specNew(t, PULL, WithHeartbeat(20*time.Millisecond, 60*time.Millisecond, 0), opt)
	ep := specBind(t, pull, tr)
	r := specRawDial(t, ep)
	r.handshakeAs("PUSH")
	r.start()
	e := mon.wait(t, 5*time.Second, "disconnected", specIs(EventDisconnected))
	if !errors.Is(e.Err, zmtp.ErrHeartbeatTimeout) {
		t.Fatalf("disconnected for %v, want a heartbeat timeout", e.Err)
	}
	pings := 0
	for _, m := range r.waitClosed(5 * time.Second) {
		if name, _ := specCommandName(m.frames[0]); m.cmd && name == zmtp.CmdPing {
			pings++
		}
	}
	if pings == 0 {
		t.Fatal("the socket sent no PING before giving up")
	}
}

// G9: any traffic is a sign of life: a peer that never answers PING with
// PONG, but sends a message each time it reads a PING, stays connected for
// three heartbeat timeouts. The peer answers what it reads, not a clock,
// so a pause of the machine delays both sides alike; it has a whole
// timeout (500 ms) to answer one of the ~25 PINGs each timeout holds.
func specG9Traffic(t *testing.T, tr string) {
	const ivl, timeout = 20 * time.Millisecond, 500 * time.Millisecond
	mon, opt := specMonitor()
	pull := specNew(t, PULL, WithHeartbeat(ivl, timeout, 0), opt)
	ep := specBind(t, pull, tr)
	r := specRawDial(t, ep)
	r.handshakeAs("PUSH")
	r.start()
	start := time.Now()
	pings, sent := 0, 0
	for time.Since(start) < 3*timeout {
		m, ok := r.next(5 * time.Second)
		if !ok {
			e, _ := mon.waitOK(time.Second, specIs(EventDisconnected))
			t.Fatalf("the connection ended after %v, %d PINGs answered with messages (disconnect: %v)", time.Since(start), pings, e.Err)
		}
		if name, _ := specCommandName(m.frames[0]); !m.cmd || name != zmtp.CmdPing {
			t.Fatalf("the socket sent %q (command %v); want only PINGs", m.frames, m.cmd)
		}
		pings++
		if _, err := r.nc.Write(specRawEncode("alive", strconv.Itoa(sent))); err != nil {
			t.Fatalf("after %v: %v", time.Since(start), err)
		}
		sent++
	}
	if c := mon.count(0, specIs(EventDisconnected)); c != 0 {
		t.Fatalf("%d disconnects while the peer answered every PING with a message", c)
	}
	if pings < 3*int(timeout/ivl)/2 {
		t.Fatalf("the socket sent only %d PINGs in %v at a %v interval", pings, time.Since(start), ivl)
	}
	for i := range sent {
		specRecvWant(t, pull, "alive", strconv.Itoa(i))
	}
	t.Logf("%d PINGs in %v, each answered with a message and none with PONG; still connected", pings, time.Since(start))
}

// G9: a peer's PING TTL is honoured: silence after it closes the connection.
func specG9TTL(t *testing.T, tr string) {
	mon, opt := specMonitor()
	pull := specNew(t, PULL, opt)
	ep := specBind(t, pull, tr)
	r := specRawDial(t, ep)
	r.handshakeAs("PUSH")
	r.start()
	start := time.Now()
	r.write(zmtp.AppendPing(nil, 100*time.Millisecond, []byte("ttl")))
	e := mon.wait(t, 5*time.Second, "disconnected", specIs(EventDisconnected))
	if !errors.Is(e.Err, zmtp.ErrHeartbeatTimeout) {
		t.Fatalf("disconnected for %v, want a heartbeat timeout", e.Err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("closed after %v, before the 100 ms TTL", d)
	}
	got := r.waitClosed(5 * time.Second)
	if len(got) == 0 || !got[0].cmd {
		t.Fatal("no PONG before the close")
	}
	if name, data := specCommandName(got[0].frames[0]); name != zmtp.CmdPong || string(data) != "ttl" {
		t.Fatalf("got %s %q, want PONG ttl", name, data)
	}
}

// G10: a security mechanism other than NULL never accepts a ZMTP 1.0 or 2.0
// peer.
func specG10(t *testing.T, tr string) {
	mon, opt := specMonitor()
	pull := specNew(t, PULL, WithPlainServer(specAcceptAll()), opt)
	ep := specBind(t, pull, tr)
	legacy := []struct {
		name string
		b    []byte
	}{
		{"ZMTP 1.0", []byte{0x01, 0x00, 0x08, 0x00, 's', 'n', 'e', 'a', 'k', 'y', 0x00}},
		{"ZMTP 2.0", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7F, 0x01, 0x08, 0x00, 0x00, 0x00, 0x05, 's', 'n', 'e', 'a', 'k'}},
	}
	for _, l := range legacy {
		r := specRawDial(t, ep)
		r.write(l.b)
		r.start()
		r.waitClosed(5 * time.Second)
		e := mon.wait(t, 5*time.Second, "handshake-failed for "+l.name, specIs(EventHandshakeFailed))
		if !errors.Is(e.Err, zmtp.ErrVersion) {
			t.Fatalf("%s refused for %v, want ErrVersion", l.name, e.Err)
		}
	}
	specNothing(t, pull)
}

// ---------------------------------------------------------------------------
// RFC 28 REQ

// specServeREP answers every request on rep with name until the test ends.
func specServeREP(t *testing.T, rep *Socket, name string) {
	specGo(t, func(ctx context.Context) {
		for {
			if _, err := rep.Recv(ctx); err != nil {
				return
			}
			if err := rep.Send(ctx, specMsg(name)); err != nil {
				return
			}
		}
	})
}

// Q1: REQ puts an empty delimiter before the request, and takes it off the
// reply.
func specQ1(t *testing.T, tr string) {
	router := specNew(t, ROUTER)
	ep := specBind(t, router, tr)
	req := specNew(t, REQ, WithIdentity([]byte("req1")))
	specConnect(t, req, ep)
	specSend(t, req, "hello", "world")
	specRecvWant(t, router, "req1", "", "hello", "world")
	specSend(t, router, "req1", "", "reply")
	specRecvWant(t, req, "reply")
}

// Q2: REQ round-robins its requests over its peers.
func specQ2(t *testing.T, tr string) {
	for _, reqBinds := range []bool{false, true} {
		req := specNew(t, REQ)
		names := []string{"A", "B"}
		var ep string
		if reqBinds {
			ep = specBind(t, req, tr)
		}
		for _, name := range names {
			rep := specNew(t, REP)
			if reqBinds {
				specConnect(t, rep, ep)
			} else {
				specConnect(t, req, specBind(t, rep, tr))
			}
			specServeREP(t, rep, name)
		}
		if reqBinds {
			specWaitConnected(t, req, 2)
		}
		var got []string
		for i := range 10 {
			specSend(t, req, strconv.Itoa(i))
			got = append(got, string(specRecv(t, req).Frames[0]))
		}
		for i := 1; i < len(got); i++ {
			if got[i] == got[i-1] {
				t.Fatalf("REQ (binds: %v) answered by %v: not round-robin", reqBinds, got)
			}
		}
	}
}

// Q3: with no peer, REQ's send blocks (until its context ends), and the
// REQ stays ready to send.
func specQ3(t *testing.T, tr string) {
	req := specNew(t, REQ)
	if err := specSendErr(req, 100*time.Millisecond, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with no peer at all: %v, want DeadlineExceeded", err)
	}
	ep := specBind(t, req, tr)
	if err := specSendErr(req, 100*time.Millisecond, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with no peer connected: %v, want DeadlineExceeded", err)
	}
	rep := specNew(t, REP)
	specConnect(t, rep, ep)
	specSend(t, req, "q")
	specRecvWant(t, rep, "q")
	specSend(t, rep, "a")
	specRecvWant(t, req, "a")
}

// Q4: REQ does not discard a request it cannot send yet: the connect-side
// queue keeps it until a peer is there, including across a restart.
func specQ4(t *testing.T, tr string) {
	ep := specEndpoint(t, tr)
	req := specNew(t, REQ)
	specConnect(t, req, ep)
	specSend(t, req, "queued")
	rep := specNew(t, REP)
	specBindAt(t, rep, ep)
	specRecvWant(t, rep, "queued")
	specSend(t, rep, "answer")
	specRecvWant(t, req, "answer")

	rep.Close()
	specEventually(t, 5*time.Second, "REQ to notice the REP left", func() bool { return specConnected(req) == 0 })
	specSend(t, req, "during-outage")
	rep2 := specNew(t, REP)
	specBindAt(t, rep2, ep)
	specRecvWant(t, rep2, "during-outage")
	specSend(t, rep2, "answer2")
	specRecvWant(t, req, "answer2")
}

// specReqTwoRouters connects a REQ "req" to two ROUTERs and waits until both
// can route to it.
func specReqTwoRouters(t *testing.T, tr string) (req *Socket, routers []*Socket) {
	req = specNew(t, REQ, WithIdentity([]byte("req")))
	routers = []*Socket{specNew(t, ROUTER), specNew(t, ROUTER)}
	for _, r := range routers {
		specConnect(t, req, specBind(t, r, tr))
	}
	specEventually(t, 5*time.Second, "both ROUTERs to know the REQ", func() bool {
		return specRouterKnows(routers[0], "req") && specRouterKnows(routers[1], "req")
	})
	return req, routers
}

// specWhoGot returns which of two sockets has a message waiting, then the
// other.
func specWhoGot(t *testing.T, socks []*Socket) (got, other *Socket) {
	t.Helper()
	specEventually(t, 5*time.Second, "the request to arrive", func() bool {
		return specInboxLen(socks[0])+specInboxLen(socks[1]) == 1
	})
	if specInboxLen(socks[0]) == 1 {
		return socks[0], socks[1]
	}
	return socks[1], socks[0]
}

// specWaitDropped waits until the REQ has dropped n replies on arrival
// (Stats().Dropped): the unsolicited reply has then reached it, and it did
// not queue it. A REQ that queued it instead fails at once.
func specWaitDropped(t *testing.T, req *Socket, n uint64) {
	t.Helper()
	specEventually(t, 5*time.Second, "the REQ to get the unsolicited reply", func() bool {
		return req.Stats().Dropped >= n || specInboxLen(req) > 0
	})
	if got, q := req.Stats().Dropped, specInboxLen(req); got != n || q != 0 {
		t.Fatalf("REQ dropped %d replies and queued %d; want %d dropped on arrival, none queued", got, q, n)
	}
}

// Q5: REQ takes a reply only from the peer that got its request, and
// silently drops replies from others.
func specQ5(t *testing.T, tr string) {
	req, routers := specReqTwoRouters(t, tr)
	specSend(t, req, "question")
	asked, other := specWhoGot(t, routers)
	specRecvWant(t, asked, "req", "", "question")
	specSend(t, other, "req", "", "unsolicited")
	specWaitDropped(t, req, 1)
	specSend(t, asked, "req", "", "answer")
	specRecvWant(t, req, "answer")
	if n := specInboxLen(req); n != 0 {
		t.Fatalf("REQ kept %d messages after its reply", n)
	}
}

// Q5: a reply that arrives while the REQ is idle came from a peer that did
// not get the last request: it is dropped, and not taken later as the
// reply to a request sent to that peer.
func specQ5Idle(t *testing.T, tr string) {
	req, routers := specReqTwoRouters(t, tr)
	specSend(t, req, "q1")
	asked, other := specWhoGot(t, routers)
	specRecvWant(t, asked, "req", "", "q1")
	specSend(t, asked, "req", "", "a1")
	specRecvWant(t, req, "a1")

	specSend(t, other, "req", "", "stale")
	specWaitDropped(t, req, 1)
	specSend(t, req, "q2") // round-robin: to the other peer
	specEventually(t, 5*time.Second, "q2 to reach the other ROUTER", func() bool { return specInboxLen(other) == 1 })
	specRecvWant(t, other, "req", "", "q2")
	specSend(t, other, "req", "", "a2")
	m := specRecv(t, req)
	if got := specStrs(m); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("REQ took %q as the reply to q2, want a2", got)
	}
}

// Q5 deviation: when the peer that got the request goes away, Recv returns
// ErrPeerLost instead of blocking forever, and the REQ may send again
// (reqrep.go, peerGone).
func specQ5PeerLost(t *testing.T, tr string) {
	rep := specNew(t, REP)
	ep := specBind(t, rep, tr)
	req := specNew(t, REQ)
	specConnect(t, req, ep)
	specSend(t, req, "q1")
	specRecvWant(t, rep, "q1")
	rep.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := req.Recv(ctx); !errors.Is(err, ErrPeerLost) {
		t.Fatalf("Recv after the REP left: %v, want ErrPeerLost", err)
	}
	rep2 := specNew(t, REP)
	specBindAt(t, rep2, ep)
	specSend(t, req, "q2")
	specRecvWant(t, rep2, "q2")
	specSend(t, rep2, "a2")
	specRecvWant(t, req, "a2")

	// The same holds for a REQ that binds, whose peer's queue is removed.
	req2 := specNew(t, REQ)
	ep2 := specBind(t, req2, tr)
	rep3 := specNew(t, REP)
	specConnect(t, rep3, ep2)
	specSend(t, req2, "q3")
	specRecvWant(t, rep3, "q3")
	rep3.Close()
	if _, err := req2.Recv(ctx); !errors.Is(err, ErrPeerLost) {
		t.Fatalf("bound REQ: Recv after the REP left: %v, want ErrPeerLost", err)
	}
}

// Q6: REQ and REP enforce send, receive, send... and REP the reverse.
func specQ6(t *testing.T, tr string) {
	ctx := tctx(t)
	rep := specNew(t, REP)
	ep := specBind(t, rep, tr)
	req := specNew(t, REQ)
	specConnect(t, req, ep)
	if _, err := req.Recv(ctx); !errors.Is(err, ErrState) {
		t.Fatalf("REQ Recv first: %v, want ErrState", err)
	}
	if err := rep.Send(ctx, specMsg("x")); !errors.Is(err, ErrState) {
		t.Fatalf("REP Send first: %v, want ErrState", err)
	}
	specSend(t, req, "1")
	if err := req.Send(ctx, specMsg("2")); !errors.Is(err, ErrState) {
		t.Fatalf("REQ Send twice: %v, want ErrState", err)
	}
	specRecvWant(t, rep, "1")
	if _, err := rep.Recv(ctx); !errors.Is(err, ErrState) {
		t.Fatalf("REP Recv twice: %v, want ErrState", err)
	}
	specSend(t, rep, "r1")
	if err := rep.Send(ctx, specMsg("r2")); !errors.Is(err, ErrState) {
		t.Fatalf("REP Send twice: %v, want ErrState", err)
	}
	specRecvWant(t, req, "r1")
	if _, err := req.Recv(ctx); !errors.Is(err, ErrState) {
		t.Fatalf("REQ Recv twice: %v, want ErrState", err)
	}
	specSend(t, req, "3")
	specRecvWant(t, rep, "3")
	specSend(t, rep, "r3")
	specRecvWant(t, req, "r3")
}

// ---------------------------------------------------------------------------
// RFC 28 REP

// P1: REP fair-queues requests from its peers.
func specP1(t *testing.T, tr string) {
	const hwm = 5
	rep := specNew(t, REP, WithRecvHWM(hwm))
	ep := specBind(t, rep, tr)
	names := []string{"s1", "s2"}
	var dealers []*Socket
	for range names {
		d := specNew(t, DEALER)
		specConnect(t, d, ep)
		dealers = append(dealers, d)
	}
	specWaitConnected(t, rep, 2)
	specStagedFair(t, rep, hwm, 100,
		func(k, i int) { specSend(t, dealers[k], "", names[k], strconv.Itoa(i)) },
		func() (string, string) {
			m := specStrs(specRecv(t, rep))
			specSend(t, rep, "ok")
			return m[0], m[1]
		})
}

// P2: REP strips the envelope up to the delimiter and puts it back on the
// reply; a request without a delimiter is dropped.
func specP2(t *testing.T, tr string) {
	rep := specNew(t, REP)
	ep := specBind(t, rep, tr)
	d := specNew(t, DEALER)
	specConnect(t, d, ep)
	specSend(t, d, "", "x")
	specRecvWant(t, rep, "x")
	specSend(t, rep, "y")
	specRecvWant(t, d, "", "y")

	specSend(t, d, "id1", "id2", "", "x", "x2")
	specRecvWant(t, rep, "x", "x2")
	specSend(t, rep, "y", "y2")
	specRecvWant(t, d, "id1", "id2", "", "y", "y2")

	specSend(t, d, "no-delimiter")
	specSend(t, d, "", "after")
	specRecvWant(t, rep, "after")
	specSend(t, rep, "z")
	specRecvWant(t, d, "", "z")
}

// P3: REP sends each reply only to the peer the request came from.
func specP3(t *testing.T, tr string) {
	rep := specNew(t, REP)
	ep := specBind(t, rep, tr)
	r1, r2 := specNew(t, REQ), specNew(t, REQ)
	specConnect(t, r1, ep)
	specConnect(t, r2, ep)
	specWaitConnected(t, rep, 2)
	specSend(t, r1, "1")
	specSend(t, r2, "2")
	for range 2 {
		m := specRecv(t, rep)
		specSend(t, rep, "re:"+string(m.Frames[0]))
	}
	specRecvWant(t, r1, "re:1")
	specRecvWant(t, r2, "re:2")
	for _, r := range []*Socket{r1, r2} {
		if n := specInboxLen(r); n != 0 {
			t.Fatalf("a REQ holds %d more messages: a reply went to several peers", n)
		}
	}
}

// P4: a reply whose requester has gone is dropped, without error or
// blocking, and the REP goes on serving.
func specP4(t *testing.T, tr string) {
	rep := specNew(t, REP)
	ep := specBind(t, rep, tr)
	req := specNew(t, REQ)
	specConnect(t, req, ep)
	specSend(t, req, "q")
	specRecvWant(t, rep, "q")
	req.Close()
	specEventually(t, 5*time.Second, "REP to notice the requester left", func() bool { return specPipes(rep) == 0 })
	d0 := rep.Stats().Dropped
	var err error
	specWithin(t, time.Second, "REP reply to a gone requester", func() { err = rep.Send(context.Background(), specMsg("late")) })
	if err != nil {
		t.Fatalf("reply to a gone requester: %v", err)
	}
	if d := rep.Stats().Dropped - d0; d != 1 {
		t.Fatalf("Dropped grew by %d, want 1", d)
	}
	req2 := specNew(t, REQ)
	specConnect(t, req2, ep)
	specSend(t, req2, "q2")
	specRecvWant(t, rep, "q2")
	specSend(t, rep, "a2")
	specRecvWant(t, req2, "a2")
}

// P5: REP's send never blocks, even to a peer that does not read.
func specP5(t *testing.T, tr string) {
	rep := specNew(t, REP, WithSendHWM(1))
	ep := specBind(t, rep, tr)
	d := specNew(t, DEALER, WithRecvHWM(1))
	specConnect(t, d, ep)
	const n = 200
	for i := range n {
		specSend(t, d, "", strconv.Itoa(i))
	}
	payload := specPayload(tr)
	var errs []error
	specWithin(t, 20*time.Second, "REP replying to a peer that does not read", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for range n {
			m, err := rep.Recv(ctx)
			if err != nil {
				errs = append(errs, err)
				return
			}
			start := time.Now()
			if err := rep.Send(ctx, NewMsg(m.Frames[0], payload)); err != nil {
				errs = append(errs, err)
			}
			if d := time.Since(start); d > time.Second {
				errs = append(errs, fmt.Errorf("a reply took %v", d))
			}
		}
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	dropped := int(rep.Stats().Dropped)
	if dropped == 0 {
		t.Fatal("no reply was dropped: the peer's queue never filled")
	}
	// Every reply was delivered or counted as dropped.
	for got := 0; got+dropped < n; got++ {
		specRecv(t, d)
	}
}

// ---------------------------------------------------------------------------
// Shared by DEALER, PUSH and PAIR

// specLast is a received message's last frame (after any identity).
func specLast(m Msg) string { return string(m.Frames[len(m.Frames)-1]) }

// specRoundRobin: the sender (st) round-robins over two receivers (rt),
// whether it binds or connects.
func specRoundRobin(t *testing.T, tr string, st, rt Type) {
	for _, senderBinds := range []bool{false, true} {
		send := specNew(t, st)
		recvs := []*Socket{specNew(t, rt), specNew(t, rt)}
		if senderBinds {
			ep := specBind(t, send, tr)
			for _, r := range recvs {
				specConnect(t, r, ep)
			}
			specWaitConnected(t, send, 2)
		} else {
			for _, r := range recvs {
				specConnect(t, send, specBind(t, r, tr))
			}
		}
		const n = 100
		for i := range n {
			specSend(t, send, strconv.Itoa(i))
		}
		for k, r := range recvs {
			var got []int
			for range n / 2 {
				v, err := strconv.Atoi(specLast(specRecv(t, r)))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			for j := 1; j < len(got); j++ {
				if got[j] != got[j-1]+2 {
					t.Fatalf("%s (binds: %v) receiver %d got %v: not interleaved", st, senderBinds, k, got)
				}
			}
		}
	}
}

// specSkipsFull: the sender skips a peer whose queue is full (here: an
// endpoint nobody has bound yet) and never blocks while another has room.
func specSkipsFull(t *testing.T, tr string, st, rt Type) {
	send := specNew(t, st, WithSendHWM(5))
	absent := specEndpoint(t, tr)
	specConnect(t, send, absent)
	live := specNew(t, rt)
	specConnect(t, send, specBind(t, live, tr))
	const n = 100
	for i := range n {
		specSend(t, send, strconv.Itoa(i))
	}
	parked := []string{"0", "2", "4", "6", "8"}
	for i := range n {
		if slices.Contains(parked, strconv.Itoa(i)) {
			continue
		}
		if got := specLast(specRecv(t, live)); got != strconv.Itoa(i) {
			t.Fatalf("live peer got %s, want %d", got, i)
		}
	}
	late := specNew(t, rt)
	specBindAt(t, late, absent)
	for _, want := range parked {
		if got := specLast(specRecv(t, late)); got != want {
			t.Fatalf("late peer got %s, want %s", got, want)
		}
	}
}

// specStagedFair checks fair queuing between two senders in the way that
// does not depend on goroutine scheduling. The receiver's per-peer receive
// HWM is hwm. The first sender sends n, and its queue fills (hwm waiting);
// then the second sends n, and its queue fills too. However far ahead the
// first sender is, the first 2*hwm messages received hold hwm of each: a
// busy peer cannot starve another. Then every message arrives, each
// sender's in order. send(k, i) sends message i of sender k; take receives
// one message and returns its sender and sequence number.
func specStagedFair(t *testing.T, recv *Socket, hwm, n int, send func(k, i int), take func() (name, seq string)) {
	t.Helper()
	names := []string{"s1", "s2"}
	for k := range names {
		for i := range n {
			send(k, i)
		}
		want := hwm * (k + 1)
		specEventually(t, 5*time.Second, fmt.Sprintf("%d messages waiting", want), func() bool { return specInboxLen(recv) == want })
	}
	var got []string
	next := map[string]int{}
	for range 2 * n {
		name, seq := take()
		if want := strconv.Itoa(next[name]); seq != want {
			t.Fatalf("from %s: got %s, want %s", name, seq, want)
		}
		next[name]++
		got = append(got, name)
	}
	specCheckFair(t, got, names, 2*hwm, hwm)
}

// specFairQueue: the receiver (rt) fair-queues between two senders (st).
func specFairQueue(t *testing.T, tr string, rt, st Type) {
	const hwm = 5
	recv := specNew(t, rt, WithRecvHWM(hwm))
	ep := specBind(t, recv, tr)
	names := []string{"s1", "s2"}
	var senders []*Socket
	for range names {
		s := specNew(t, st)
		specConnect(t, s, ep)
		senders = append(senders, s)
	}
	specWaitConnected(t, recv, 2)
	specStagedFair(t, recv, hwm, 100,
		func(k, i int) { specSend(t, senders[k], names[k], strconv.Itoa(i)) },
		func() (string, string) {
			m := specStrs(specRecv(t, recv))
			return m[len(m)-2], m[len(m)-1]
		})
}

// L3, stricter: with the default receive HWM, both senders' whole backlogs
// wait at the PULL. Fair queuing (RFC 30, libzmq's fq) takes from the
// peers in turn, so the second sender's messages come out among the first
// few, not after all of the first sender's.
func specL3RoundRobin(t *testing.T, tr string) {
	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	names := []string{"s1", "s2"}
	const n = 100
	for k, name := range names {
		push := specNew(t, PUSH)
		specConnect(t, push, ep)
		for i := range n {
			specSend(t, push, name, strconv.Itoa(i))
		}
		want := n * (k + 1)
		specEventually(t, 5*time.Second, fmt.Sprintf("%d messages waiting", want), func() bool { return specInboxLen(pull) == want })
	}
	var got []string
	for range 2 * n {
		got = append(got, string(specRecv(t, pull).Frames[0]))
	}
	if c := slices.Index(got, "s2"); c < 0 || c > 10 {
		t.Fatalf("the second peer's first message came out at position %d of %d: %v", c, len(got), got[:20])
	}
}

// specFill sends payloads until Send waits past a short deadline: the queue
// towards a peer that does not read is full. It returns how many went.
func specFill(t *testing.T, s *Socket, m Msg) int {
	t.Helper()
	for n := 0; n < 400; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := s.Send(ctx, m)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("filling: %v", err)
			}
			return n
		}
	}
	t.Fatal("the queue never filled")
	return 0
}

// specBindQueueDestroyed: when a peer that connected to us goes, its queue
// goes with it; nothing queued for it reaches a later peer.
func specBindQueueDestroyed(t *testing.T, tr string, st, rt Type) {
	send := specNew(t, st, WithSendHWM(2))
	ep := specBind(t, send, tr)
	peer := specNew(t, rt, WithRecvHWM(1))
	specConnect(t, peer, ep)
	specWaitConnected(t, send, 1)
	specFill(t, send, NewMsg(specPayload(tr)))
	if p := specPipeList(send); len(p) != 1 || p[0].pending() == 0 {
		t.Fatal("nothing is queued for the peer")
	}
	peer.Close()
	specEventually(t, 5*time.Second, "the bind-side queue to be destroyed", func() bool { return specPipes(send) == 0 })
	if err := specSendErr(send, 50*time.Millisecond, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with the peer gone: %v, want DeadlineExceeded", err)
	}
	peer2 := specNew(t, rt)
	specConnect(t, peer2, ep)
	specWaitConnected(t, send, 1)
	specSend(t, send, "marker")
	if got := specLast(specRecv(t, peer2)); got != "marker" {
		t.Fatalf("the new peer got %s first: the old queue survived", specDescribe([]string{got}))
	}
}

// specNoPeerBlocks: with no peer, or a full one, Send waits (until its
// context ends) and never drops; a waiting Send completes when a peer comes.
func specNoPeerBlocks(t *testing.T, tr string, st, rt Type) {
	s := specNew(t, st)
	if err := specSendErr(s, 100*time.Millisecond, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with no peer at all: %v, want DeadlineExceeded", err)
	}
	ep := specBind(t, s, tr)
	if err := specSendErr(s, 100*time.Millisecond, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with no peer connected: %v, want DeadlineExceeded", err)
	}
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res <- s.Send(ctx, specMsg("waited"))
	}()
	peer := specNew(t, rt)
	specConnect(t, peer, ep)
	if err := <-res; err != nil {
		t.Fatalf("a waiting send: %v", err)
	}
	if got := specLast(specRecv(t, peer)); got != "waited" {
		t.Fatalf("peer got %q", got)
	}

	// A connect-side queue takes messages up to its HWM; then Send waits,
	// and what it refused is the caller's to send again, not lost.
	ep2 := specEndpoint(t, tr)
	c := specNew(t, st, WithSendHWM(2))
	specConnect(t, c, ep2)
	specSend(t, c, "0")
	specSend(t, c, "1")
	if err := specSendErr(c, 100*time.Millisecond, "2"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send to a full queue: %v, want DeadlineExceeded", err)
	}
	peer2 := specNew(t, rt)
	specBindAt(t, peer2, ep2)
	for _, want := range []string{"0", "1"} {
		if got := specLast(specRecv(t, peer2)); got != want {
			t.Fatalf("peer got %q, want %q", got, want)
		}
	}
	specSend(t, c, "2")
	if got := specLast(specRecv(t, peer2)); got != "2" {
		t.Fatalf("peer got %q, want 2", got)
	}
}

// ---------------------------------------------------------------------------
// RFC 28 DEALER

// D3: a connect-side queue exists before the connection and survives
// reconnection.
func specD3(t *testing.T, tr string) {
	ep := specEndpoint(t, tr)
	d := specNew(t, DEALER)
	specConnect(t, d, ep)
	for i := range 10 {
		specSend(t, d, "early", strconv.Itoa(i))
	}
	r1 := specNew(t, ROUTER)
	specBindAt(t, r1, ep)
	for i := range 10 {
		if got := specStrs(specRecv(t, r1))[1:]; !slices.Equal(got, []string{"early", strconv.Itoa(i)}) {
			t.Fatalf("got %q, want early %d", got, i)
		}
	}
	r1.Close()
	specEventually(t, 5*time.Second, "the DEALER to notice the ROUTER left", func() bool { return specConnected(d) == 0 })
	for i := range 10 {
		specSend(t, d, "outage", strconv.Itoa(i))
	}
	r2 := specNew(t, ROUTER)
	specBindAt(t, r2, ep)
	for i := range 10 {
		if got := specStrs(specRecv(t, r2))[1:]; !slices.Equal(got, []string{"outage", strconv.Itoa(i)}) {
			t.Fatalf("got %q, want outage %d", got, i)
		}
	}
}

// ---------------------------------------------------------------------------
// RFC 28 ROUTER

// O1: each incoming message is prefixed with its peer's identity: the one
// it chose, or a generated one (0x00 + 4 octets), distinct per peer.
func specO1(t *testing.T, tr string) {
	router := specNew(t, ROUTER)
	ep := specBind(t, router, tr)
	peers := map[string]*Socket{
		"alice": specNew(t, DEALER, WithIdentity([]byte("alice"))),
		"anon1": specNew(t, DEALER),
		"anon2": specNew(t, DEALER),
	}
	for label, p := range peers {
		specConnect(t, p, ep)
		specSend(t, p, "from-"+label)
	}
	ids := map[string]string{}
	for range peers {
		m := specStrs(specRecv(t, router))
		if len(m) != 2 {
			t.Fatalf("ROUTER got %q", m)
		}
		ids[strings.TrimPrefix(m[1], "from-")] = m[0]
	}
	if ids["alice"] != "alice" {
		t.Fatalf("alice's identity frame is %q", ids["alice"])
	}
	for _, a := range []string{"anon1", "anon2"} {
		if id := ids[a]; len(id) != 5 || id[0] != 0 {
			t.Fatalf("generated identity %q: want 0x00 + 4 octets", id)
		}
	}
	if ids["anon1"] == ids["anon2"] {
		t.Fatal("two anonymous peers share an identity")
	}
	specSend(t, peers["anon1"], "again")
	if m := specStrs(specRecv(t, router)); m[0] != ids["anon1"] {
		t.Fatalf("anon1's identity changed from %q to %q", ids["anon1"], m[0])
	}
}

// O2: outgoing messages are routed by their first frame.
func specO2(t *testing.T, tr string) {
	router := specNew(t, ROUTER)
	ep := specBind(t, router, tr)
	ids := []string{"a", "b"}
	peers := map[string]*Socket{}
	for _, id := range ids {
		peers[id] = specNew(t, DEALER, WithIdentity([]byte(id)))
		specConnect(t, peers[id], ep)
	}
	specEventually(t, 5*time.Second, "ROUTER to know a and b", func() bool {
		return specRouterKnows(router, "a") && specRouterKnows(router, "b")
	})
	for i := range 10 {
		for _, id := range ids {
			specSend(t, router, id, "to-"+id, strconv.Itoa(i))
		}
	}
	for _, id := range ids {
		for i := range 10 {
			specRecvWant(t, peers[id], "to-"+id, strconv.Itoa(i))
		}
	}
	anon := specNew(t, DEALER)
	specConnect(t, anon, ep)
	specSend(t, anon, "hi")
	m := specRecv(t, router)
	specSendMsg(t, router, NewMsg(m.Frames[0], []byte("back")))
	specRecvWant(t, anon, "back")
}

// O3: an unknown identity is dropped (and counted) by default; with
// RouterMandatory it is ErrHostUnreachable, and a full peer ErrWouldBlock.
func specO3(t *testing.T, tr string) {
	ctx := tctx(t)
	router := specNew(t, ROUTER)
	specBind(t, router, tr)
	d0 := router.Stats().Dropped
	if err := router.Send(ctx, specMsg("nobody", "x")); err != nil {
		t.Fatalf("send to an unknown identity: %v, want nil", err)
	}
	if d := router.Stats().Dropped - d0; d != 1 {
		t.Fatalf("Dropped grew by %d, want 1", d)
	}

	mand := specNew(t, ROUTER, WithRouterMandatory(), WithSendHWM(1))
	ep := specBind(t, mand, tr)
	if err := mand.Send(ctx, specMsg("nobody", "x")); !errors.Is(err, ErrHostUnreachable) {
		t.Fatalf("mandatory send to an unknown identity: %v, want ErrHostUnreachable", err)
	}
	slow := specNew(t, DEALER, WithIdentity([]byte("slow")), WithRecvHWM(1))
	specConnect(t, slow, ep)
	specEventually(t, 5*time.Second, "ROUTER to know slow", func() bool { return specRouterKnows(mand, "slow") })
	payload := specPayload(tr)
	var err error
	for n := 0; n < 400 && err == nil; n++ {
		c, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err = mand.Send(c, NewMsg([]byte("slow"), payload))
		cancel()
	}
	if !errors.Is(err, ErrWouldBlock) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("mandatory send to a full peer: %v, want ErrWouldBlock", err)
	}
}

// O4: ROUTER's send never blocks: a full peer's messages are dropped.
func specO4(t *testing.T, tr string) {
	router := specNew(t, ROUTER, WithSendHWM(1))
	ep := specBind(t, router, tr)
	slow := specNew(t, DEALER, WithIdentity([]byte("slow")), WithRecvHWM(1))
	specConnect(t, slow, ep)
	specEventually(t, 5*time.Second, "ROUTER to know slow", func() bool { return specRouterKnows(router, "slow") })
	payload := specPayload(tr)
	d0 := router.Stats().Dropped
	var errs []error
	specWithin(t, 10*time.Second, "ROUTER sending to a full peer", func() {
		for range 300 {
			if err := router.Send(context.Background(), NewMsg([]byte("slow"), payload)); err != nil {
				errs = append(errs, err)
			}
		}
	})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if router.Stats().Dropped == d0 {
		t.Fatal("nothing was dropped: the peer's queue never filled")
	}
}

// O5: a peer sets its identity explicitly (DEALER, REQ, ROUTER).
func specO5(t *testing.T, tr string) {
	router := specNew(t, ROUTER)
	ep := specBind(t, router, tr)
	dealer := specNew(t, DEALER, WithIdentity([]byte("dealer-id")))
	specConnect(t, dealer, ep)
	specSend(t, dealer, "x")
	m := specRecvWant(t, router, "dealer-id", "x")
	if m.Peer == nil || string(m.Peer.Identity) != "dealer-id" {
		t.Fatalf("peer metadata identity: %+v", m.Peer)
	}
	req := specNew(t, REQ, WithIdentity([]byte("req-id")))
	specConnect(t, req, ep)
	specSend(t, req, "y")
	specRecvWant(t, router, "req-id", "", "y")
	r2 := specNew(t, ROUTER, WithIdentity([]byte("router-id")))
	specConnect(t, r2, ep)
	specEventually(t, 5*time.Second, "ROUTER to know router-id", func() bool { return specRouterKnows(router, "router-id") })
	specSend(t, router, "router-id", "hello")
	if got := specStrs(specRecv(t, r2)); len(got) != 2 || got[1] != "hello" {
		t.Fatalf("ROUTER peer got %q", got)
	}
}

// O6: when a peer disconnects its queue is destroyed: its identity is
// unknown at once, and a newcomer with the same identity starts afresh.
func specO6(t *testing.T, tr string) {
	router := specNew(t, ROUTER, WithRouterMandatory())
	ep := specBind(t, router, tr)
	alice := specNew(t, DEALER, WithIdentity([]byte("alice")))
	specConnect(t, alice, ep)
	specSend(t, alice, "hi")
	specRecvWant(t, router, "alice", "hi")
	alice.Close()
	specEventually(t, 5*time.Second, "ROUTER to forget alice", func() bool {
		return errors.Is(router.Send(context.Background(), specMsg("alice", "lost")), ErrHostUnreachable)
	})
	alice2 := specNew(t, DEALER, WithIdentity([]byte("alice")))
	specConnect(t, alice2, ep)
	specEventually(t, 5*time.Second, "ROUTER to know the new alice", func() bool { return specRouterKnows(router, "alice") })
	specSend(t, router, "alice", "fresh")
	specRecvWant(t, alice2, "fresh")
}

// specRefused waits until the newcomer has been turned away (seen on its
// own monitor) and then checks that the refusing socket reported it.
func specRefused(t *testing.T, tr string, refuser, newcomer *specMon, what string) {
	t.Helper()
	newcomer.wait(t, 5*time.Second, "the newcomer's refusal", func(e Event) bool {
		return e.Type == EventDisconnected || e.Type == EventHandshakeFailed
	})
	if _, ok := refuser.waitOK(time.Second, specIs(EventHandshakeFailed)); !ok {
		t.Fatalf("%s refused a peer without a handshake-failed event", what)
	}
}

// O7: a second peer with an identity in use is refused, visibly; the first
// keeps working.
func specO7Refused(t *testing.T, tr string) {
	mon, opt := specMonitor()
	router := specNew(t, ROUTER, opt)
	ep := specBind(t, router, tr)
	first := specNew(t, DEALER, WithIdentity([]byte("dup")))
	specConnect(t, first, ep)
	specSend(t, first, "one")
	specRecvWant(t, router, "dup", "one")
	secMon, secOpt := specMonitor()
	second := specNew(t, DEALER, WithIdentity([]byte("dup")), secOpt)
	specConnect(t, second, ep)
	specSend(t, second, "two")
	specRefused(t, tr, mon, secMon, "ROUTER")
	specSend(t, first, "one-again")
	specRecvWant(t, router, "dup", "one-again")
	specSend(t, router, "dup", "reply")
	specRecvWant(t, first, "reply")
	specNothing(t, router)
	specNothing(t, second)
}

// O7: with RouterHandover the second peer takes the identity over.
func specO7Handover(t *testing.T, tr string) {
	router := specNew(t, ROUTER, WithRouterHandover())
	ep := specBind(t, router, tr)
	// The first peer must not come back and take it over again.
	first := specNew(t, DEALER, WithIdentity([]byte("dup")), WithReconnectInterval(time.Hour, 0))
	specConnect(t, first, ep)
	specSend(t, first, "one")
	specRecvWant(t, router, "dup", "one")
	second := specNew(t, DEALER, WithIdentity([]byte("dup")))
	specConnect(t, second, ep)
	specSend(t, second, "two")
	specRecvWant(t, router, "dup", "two")
	specSend(t, router, "dup", "to-second")
	specRecvWant(t, second, "to-second")
	specEventually(t, 5*time.Second, "the first peer's connection to close", func() bool { return specConnected(first) == 0 })
}

// ---------------------------------------------------------------------------
// RFC 29 PUB/SUB/XPUB/XSUB

// specPubSub binds a PUB (with opts) and connects a SUB (with subOpts)
// subscribed to topics and the probe topic, synchronised.
func specPubSub(t *testing.T, tr string, opts, subOpts []Option, topics ...string) (pub, sub *Socket, ep string) {
	t.Helper()
	pub = specNew(t, PUB, opts...)
	ep = specBind(t, pub, tr)
	sub = specNew(t, SUB, subOpts...)
	for _, topic := range append(topics, specProbeTopic) {
		specSubscribe(t, sub, topic)
	}
	specConnect(t, sub, ep)
	specSync(t, pub, sub)
	return pub, sub, ep
}

// U1: PUB never blocks: not without subscribers, not with a full one.
func specU1(t *testing.T, tr string) {
	pub := specNew(t, PUB, WithSendHWM(1))
	ep := specBind(t, pub, tr)
	var err error
	specWithin(t, time.Second, "PUB with no subscriber", func() { err = pub.Send(context.Background(), specMsg("nobody")) })
	if err != nil {
		t.Fatal(err)
	}
	sub := specNew(t, SUB, WithRecvHWM(1))
	specSubscribe(t, sub, "")
	specConnect(t, sub, ep)
	specSync(t, pub, sub)
	payload := specPayload(tr)
	d0 := pub.Stats().Dropped
	var errs []error
	specWithin(t, 10*time.Second, "PUB sending to a subscriber that does not read", func() {
		for range 300 {
			if err := pub.Send(context.Background(), NewMsg(payload)); err != nil {
				errs = append(errs, err)
			}
		}
	})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if pub.Stats().Dropped == d0 {
		t.Fatal("nothing was dropped: the subscriber's queue never filled")
	}
}

// U2: PUB drops, silently and counted, for a subscriber whose queue is
// full; what is not dropped arrives in order.
func specU2(t *testing.T, tr string) {
	pub, sub, _ := specPubSub(t, tr, []Option{WithSendHWM(10)}, []Option{WithRecvHWM(10)}, "x")
	d0 := pub.Stats().Dropped
	payload := specPayload(tr)
	const n = 300
	for i := range n {
		if err := pub.Send(context.Background(), NewMsg([]byte("x"), []byte(strconv.Itoa(i)), payload)); err != nil {
			t.Fatal(err)
		}
	}
	dropped := int(pub.Stats().Dropped - d0)
	if dropped == 0 {
		t.Fatal("nothing was dropped: the subscriber's queue never filled")
	}
	last := -1
	for got := 0; got+dropped < n; got++ {
		m := specRecvSkip(t, sub)
		seq, err := strconv.Atoi(string(m.Frames[1]))
		if err != nil || seq <= last {
			t.Fatalf("got message %q after %d", m.Frames[1], last)
		}
		last = seq
	}
}

// U3: PUB matches a binary prefix of the first frame only.
func specU3(t *testing.T, tr string) {
	pub, sub, _ := specPubSub(t, tr, nil, nil, "ab")
	for _, m := range [][]string{
		{"abc"}, {"a"}, {"xab"}, {"x", "ab"}, {"ab", "x"}, {"AB"}, {"ab"}, {"", "ab"}, {specProbeTopic, "end"},
	} {
		specSend(t, pub, m...)
	}
	for _, want := range [][]string{{"abc"}, {"ab", "x"}, {"ab"}, {specProbeTopic, "end"}} {
		if got := specStrs(specRecvSkip(t, sub)); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// U4: PUB discards what subscribers send it, and has no Recv.
func specU4(t *testing.T, tr string) {
	pub := specNew(t, PUB)
	ep := specBind(t, pub, tr)
	xsub := specNew(t, XSUB)
	specConnect(t, xsub, ep)
	specSubscribe(t, xsub, specProbeTopic)
	specSync(t, pub, xsub)
	if _, err := pub.Recv(tctx(t)); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("PUB Recv: %v, want ErrNotSupported", err)
	}
	specSend(t, xsub, "junk", "1")
	specSend(t, xsub, "junk2")
	// A subscription sent after the junk takes effect: the PUB read past it.
	specSubscribe(t, xsub, "\xfe")
	specSyncWith(t, pub, xsub, "\xfe")
	if n := specInboxLen(pub); n != 0 {
		t.Fatalf("PUB kept %d messages from a subscriber", n)
	}
}

// U5: filtering happens at the publisher: what nobody subscribed to is
// never queued for, nor sent to, a subscriber.
func specU5(t *testing.T, tr string) {
	pub, _, _ := specPubSub(t, tr, []Option{WithSendHWM(1)}, []Option{WithRecvHWM(1)}, "a")
	payload := specPayload(tr)
	d0 := pub.Stats().Dropped
	for range 200 {
		specSendMsg(t, pub, NewMsg([]byte("b"), payload))
	}
	if d := pub.Stats().Dropped - d0; d != 0 {
		t.Fatalf("%d unwanted messages were queued (and dropped) for the subscriber", d)
	}
	for range 200 {
		specSendMsg(t, pub, NewMsg([]byte("a"), payload))
	}
	if pub.Stats().Dropped == d0 {
		t.Fatal("control failed: wanted messages never filled the subscriber's queue")
	}
	if tr == Inproc {
		return
	}
	// On the wire: a raw subscriber reads only what it subscribed to.
	pub2 := specNew(t, PUB)
	ep2 := specBind(t, pub2, tr)
	r := specRawDial(t, ep2)
	r.handshakeAs("SUB")
	r.start()
	r.write(zmtp.AppendSubscribe(nil, []byte("k")))
	specRawSync(t, pub2, r, "k")
	specSend(t, pub2, "b1")
	specSend(t, pub2, "k1")
	if got := specRawRecvSkip(t, r); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("raw subscriber read %q, want k1 (b1 was not subscribed to)", got)
	}
}

// U6: the empty subscription matches everything.
func specU6(t *testing.T, tr string) {
	pub, sub, _ := specPubSub(t, tr, nil, nil, "")
	msgs := [][]string{{""}, {"a"}, {"\x00z"}, {"m", "x", ""}, {specProbeTopic, "end"}}
	for _, m := range msgs {
		specSend(t, pub, m...)
	}
	for _, want := range msgs {
		if got := specStrs(specRecvSkip(t, sub)); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// U7: subscriptions are counted: subscribing twice needs two cancels.
func specU7(t *testing.T, tr string) {
	pub, sub, _ := specPubSub(t, tr, nil, nil, "A", "A")
	if err := sub.Unsubscribe([]byte("A")); err != nil {
		t.Fatal(err)
	}
	// A subscription made after the cancel: once it works, the PUB has
	// seen everything the SUB sent before it.
	specSubscribe(t, sub, "\xfe1")
	specSyncWith(t, pub, sub, "\xfe1")
	if !specPubHas(pub, "A") {
		t.Fatal("one cancel of two subscriptions removed A at the PUB")
	}
	specSend(t, pub, "A1")
	specSend(t, pub, "\xfe1", "mark")
	if got := specStrs(specRecvSkip(t, sub)); !slices.Equal(got, []string{"A1"}) {
		t.Fatalf("after one cancel of two: got %q, want A1", got)
	}
	specRecvWant(t, sub, "\xfe1", "mark")

	if err := sub.Unsubscribe([]byte("A")); err != nil {
		t.Fatal(err)
	}
	specSubscribe(t, sub, "\xfe2")
	specSyncWith(t, pub, sub, "\xfe2")
	if specPubHas(pub, "A") {
		t.Fatal("after two cancels the PUB still holds A")
	}
	specSend(t, pub, "A2")
	specSend(t, pub, "\xfe2", "mark")
	if got := specStrs(specRecvSkip(t, sub)); !slices.Equal(got, []string{"\xfe2", "mark"}) {
		t.Fatalf("after two cancels: got %q before the marker", got)
	}
}

// U7 on the wire: a PUB counts the SUBSCRIBE commands of one connection.
func specU7Wire(t *testing.T, tr string) {
	pub := specNew(t, PUB)
	ep := specBind(t, pub, tr)
	r := specRawDial(t, ep)
	r.handshakeAs("SUB")
	r.start()
	r.write(zmtp.AppendSubscribe(nil, []byte("A")))
	r.write(zmtp.AppendSubscribe(nil, []byte("A")))
	r.write(zmtp.AppendCancel(nil, []byte("A")))
	r.write(zmtp.AppendSubscribe(nil, []byte("\xfd")))
	specRawSync(t, pub, r, "\xfd")
	specSend(t, pub, "A1")
	specSend(t, pub, "\xfd", "mark")
	if got := specRawRecvSkip(t, r); !slices.Equal(got, []string{"A1"}) {
		t.Fatalf("after one CANCEL of two SUBSCRIBEs: read %q, want A1", got)
	}
	if got := specRawRecvSkip(t, r); !slices.Equal(got, []string{"\xfd", "mark"}) {
		t.Fatalf("read %q, want the marker", got)
	}
	r.write(zmtp.AppendCancel(nil, []byte("A")))
	r.write(zmtp.AppendSubscribe(nil, []byte("\xfc")))
	specRawSync(t, pub, r, "\xfc")
	specSend(t, pub, "A2")
	specSend(t, pub, "\xfc", "mark")
	if got := specRawRecvSkip(t, r); !slices.Equal(got, []string{"\xfc", "mark"}) {
		t.Fatalf("after two CANCELs: read %q before the marker", got)
	}
}

// U8: XPUB passes subscriptions and cancellations to the application, and
// makes up cancellations for a subscriber that disconnects.
func specU8(t *testing.T, tr string) {
	xpub := specNew(t, XPUB)
	ep := specBind(t, xpub, tr)
	sub := specNew(t, SUB)
	specConnect(t, sub, ep)
	for _, step := range []struct {
		on    bool
		topic string
		want  string // "" if nothing reaches the XPUB
	}{
		{true, "a", "\x01a"},
		{true, "b", "\x01b"},
		{true, "b", ""},
		{false, "b", ""},
		{false, "b", "\x00b"},
		{true, "c", "\x01c"},
	} {
		var err error
		if step.on {
			err = sub.Subscribe([]byte(step.topic))
		} else {
			err = sub.Unsubscribe([]byte(step.topic))
		}
		if err != nil {
			t.Fatal(err)
		}
		if step.want != "" {
			specRecvWant(t, xpub, step.want)
		}
	}
	sub.Close()
	got := []string{string(specRecv(t, xpub).Frames[0]), string(specRecv(t, xpub).Frames[0])}
	slices.Sort(got)
	if !slices.Equal(got, []string{"\x00a", "\x00c"}) {
		t.Fatalf("on disconnect the XPUB got %q, want cancels of a and c", got)
	}
	specNothing(t, xpub)
}

// U9: SUB fair-queues between publishers.
func specU9Fair(t *testing.T, tr string) {
	const hwm = 5
	sub := specNew(t, SUB, WithRecvHWM(hwm))
	specSubscribe(t, sub, "")
	names := []string{"s1", "s2"}
	var pubs []*Socket
	for range names {
		p := specNew(t, PUB)
		specConnect(t, sub, specBind(t, p, tr))
		pubs = append(pubs, p)
	}
	for _, p := range pubs {
		specSync(t, p, sub)
	}
	specStagedFair(t, sub, hwm, 100,
		func(k, i int) { specSend(t, pubs[k], names[k], strconv.Itoa(i)) },
		func() (string, string) {
			m := specStrs(specRecv(t, sub))
			return m[0], m[1]
		})
}

// U9: a SUB's per-endpoint queue survives reconnection: what it received
// before the publisher restarted is still there after.
func specU9Reconnect(t *testing.T, tr string) {
	pub := specNew(t, PUB)
	ep := specBind(t, pub, tr)
	sub := specNew(t, SUB)
	specSubscribe(t, sub, "")
	specConnect(t, sub, ep)
	specSync(t, pub, sub)
	for i := range 5 {
		specSend(t, pub, "keep", strconv.Itoa(i))
	}
	specEventually(t, 5*time.Second, "the messages to reach the SUB", func() bool {
		return specInboxHas(sub, func(f []string) bool { return slices.Equal(f, []string{"keep", "4"}) })
	})
	pub.Close()
	specEventually(t, 5*time.Second, "the SUB to notice", func() bool { return specConnected(sub) == 0 })
	pub2 := specNew(t, PUB)
	specBindAt(t, pub2, ep)
	specWaitConnected(t, sub, 1)
	for i := range 5 {
		if got := specStrs(specRecvSkip(t, sub)); !slices.Equal(got, []string{"keep", strconv.Itoa(i)}) {
			t.Fatalf("got %q, want keep %d", got, i)
		}
	}
	specSync(t, pub2, sub)
	specSend(t, pub2, "new")
	if got := specStrs(specRecvSkip(t, sub)); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("got %q, want new", got)
	}
}

// U10: SUB and XSUB send every subscription again after reconnecting.
func specU10(t *testing.T, tr string) {
	for _, typ := range []Type{SUB, XSUB} {
		pub := specNew(t, PUB)
		ep := specBind(t, pub, tr)
		sub := specNew(t, typ)
		for _, topic := range []string{"a", "b", specProbeTopic} {
			specSubscribe(t, sub, topic)
		}
		specConnect(t, sub, ep)
		specSync(t, pub, sub)
		pub.Close()
		specEventually(t, 5*time.Second, "the subscriber to notice", func() bool { return specConnected(sub) == 0 })
		pub2 := specNew(t, PUB)
		specBindAt(t, pub2, ep)
		seen := map[string]bool{}
		deadline := time.Now().Add(5 * time.Second)
		for !(seen["a"] && seen["b"]) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: after the restart only %v arrived", typ, seen)
			}
			for _, topic := range []string{"a", "b", "c"} {
				specSend(t, pub2, topic)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			for {
				m, err := sub.Recv(ctx)
				if err != nil {
					break
				}
				if f := specStrs(m); !specIsProbe(f) {
					seen[f[0]] = true
				}
			}
			cancel()
		}
		if seen["c"] {
			t.Fatalf("%s received c, never subscribed to", typ)
		}
		if !specPubHas(pub2, "a") || !specPubHas(pub2, "b") || !specPubHas(pub2, specProbeTopic) {
			t.Fatalf("%s: the new PUB lacks a subscription", typ)
		}
	}
}

// U11: XSUB sends messages and subscriptions to every publisher; when it
// closes, the publishers learn its subscriptions are gone.
func specU11(t *testing.T, tr string) {
	xpubs := []*Socket{specNew(t, XPUB), specNew(t, XPUB)}
	xsub := specNew(t, XSUB)
	for _, x := range xpubs {
		specConnect(t, xsub, specBind(t, x, tr))
	}
	specSend(t, xsub, "\x01t")
	for _, x := range xpubs {
		specRecvWant(t, x, "\x01t")
	}
	specSend(t, xsub, "hello", "world")
	for _, x := range xpubs {
		specRecvWant(t, x, "hello", "world")
	}
	xsub.Close()
	for _, x := range xpubs {
		specRecvWant(t, x, "\x00t")
	}
}

// ---------------------------------------------------------------------------
// RFC 30 PUSH/PULL

// L2: a Send waiting for room in a connect-side queue goes on when the
// peer restarts: the queue is not lost, it gains room, and the message
// reaches the new peer.
func specL2Resume(t *testing.T, tr string) {
	pull := specNew(t, PULL, WithRecvHWM(1))
	ep := specBind(t, pull, tr)
	push := specNew(t, PUSH, WithSendHWM(2))
	specConnect(t, push, ep)
	specFill(t, push, NewMsg([]byte("fill"), specPayload(tr)))
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res <- push.Send(ctx, specMsg("resume"))
	}()
	specEventually(t, 5*time.Second, "the Send to wait for room", func() bool {
		return push.sendSig.n.Load() > 0
	})
	pull.Close()
	pull2 := specNew(t, PULL)
	specBindAt(t, pull2, ep)
	if err := <-res; err != nil {
		t.Fatalf("the waiting Send failed after the peer restarted: %v", err)
	}
	for {
		m := specRecv(t, pull2)
		if string(m.Frames[0]) == "resume" {
			return
		}
	}
}

// L4 deviation: a connect-side queue is not destroyed when its connection
// breaks: messages sent during the outage reach the next peer on the
// endpoint (DESIGN.md D4, as RFC 28 D3 asks for DEALER).
func specL4ConnectSide(t *testing.T, tr string) {
	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	push := specNew(t, PUSH)
	specConnect(t, push, ep)
	specSend(t, push, "before")
	specRecvWant(t, pull, "before")
	pull.Close()
	specEventually(t, 5*time.Second, "the PUSH to notice", func() bool { return specConnected(push) == 0 })
	for i := range 3 {
		specSend(t, push, "outage", strconv.Itoa(i))
	}
	pull2 := specNew(t, PULL)
	specBindAt(t, pull2, ep)
	for i := range 3 {
		specRecvWant(t, pull2, "outage", strconv.Itoa(i))
	}
}

// L4 deviation: messages already received from a peer stay readable after
// it disconnects; only the queue towards it is destroyed.
func specL4Received(t *testing.T, tr string) {
	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	push := specNew(t, PUSH)
	specConnect(t, push, ep)
	for i := range 3 {
		specSend(t, push, strconv.Itoa(i))
	}
	specEventually(t, 5*time.Second, "the messages to arrive", func() bool { return specInboxLen(pull) == 3 })
	push.Close()
	specEventually(t, 5*time.Second, "the PULL to drop the peer's pipe", func() bool { return specPipes(pull) == 0 })
	for i := range 3 {
		specRecvWant(t, pull, strconv.Itoa(i))
	}
}

// L5: multipart messages are delivered whole or not at all, even when the
// receiver restarts in the middle of the stream; none twice, in order.
func specL5(t *testing.T, tr string) {
	pull := specNew(t, PULL)
	ep := specBind(t, pull, tr)
	push := specNew(t, PUSH, WithSendHWM(50))
	specConnect(t, push, ep)
	const size = 16 << 10
	specGo(t, func(ctx context.Context) {
		for i := 0; ; i++ {
			seq := []byte(strconv.Itoa(i))
			body := bytes.Repeat([]byte{byte(i)}, size)
			sum := crc32.ChecksumIEEE(append(slices.Clone(seq), body...))
			m := NewMsg(seq, body, []byte(strconv.FormatUint(uint64(sum), 10)))
			for {
				// A short deadline, and the same message again after it,
				// so that the loop notices the test ending.
				c, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				err := push.Send(c, m)
				cancel()
				if err == nil {
					break
				}
				if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
					return
				}
			}
		}
	})
	last := -1
	check := func(m Msg) {
		t.Helper()
		if len(m.Frames) != 3 {
			t.Fatalf("message with %d frames", len(m.Frames))
		}
		seq, err := strconv.Atoi(string(m.Frames[0]))
		if err != nil || seq <= last {
			t.Fatalf("message %q after %d", m.Frames[0], last)
		}
		last = seq
		body := m.Frames[1]
		sum := crc32.ChecksumIEEE(append(slices.Clone(m.Frames[0]), body...))
		if len(body) != size || strconv.FormatUint(uint64(sum), 10) != string(m.Frames[2]) {
			t.Fatalf("message %d is not whole", seq)
		}
	}
	for range 3 {
		for range 30 {
			check(specRecv(t, pull))
		}
		pull.Close()
		pull = specNew(t, PULL)
		specBindAt(t, pull, ep)
	}
	for range 30 {
		check(specRecv(t, pull))
	}
}

// ---------------------------------------------------------------------------
// RFC 31 PAIR

// A1: PAIR has at most one peer: a second is refused, visibly, and the
// first keeps working.
func specA1(t *testing.T, tr string) {
	mon, opt := specMonitor()
	pair := specNew(t, PAIR, opt)
	ep := specBind(t, pair, tr)
	first := specNew(t, PAIR)
	specConnect(t, first, ep)
	specSend(t, first, "one")
	specRecvWant(t, pair, "one")
	secMon, secOpt := specMonitor()
	second := specNew(t, PAIR, secOpt)
	specConnect(t, second, ep)
	specSend(t, second, "intruder")
	specRefused(t, tr, mon, secMon, "PAIR")
	specSend(t, first, "two")
	specRecvWant(t, pair, "two")
	specSend(t, pair, "back")
	specRecvWant(t, first, "back")
	specNothing(t, pair)
	specNothing(t, second)
}
