package sockets

// Hostile peers (reliability matrix §8): while a real libzmq PUSH sends
// 10,000 messages to a bound PULL over tcp, raw connections send it every
// kind of bad input. Every bad connection is closed, nothing of theirs is
// delivered, memory stays flat and nothing panics.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
)

// hostileInput is one bad conversation.
type hostileInput struct {
	name string
	item int // §8 item
	// wire is everything the peer sends (then it stalls, reading).
	wire []byte
	// stalls: the input is incomplete and the server can only close it at
	// the handshake timeout.
	stalls bool
	// tolerated: the input is odd but valid by the documented policy
	// (libzmq's too); the connection stays open and must answer a PING.
	tolerated bool
}

func hostileInputs() []hostileInput {
	g := relGreeting(3, 1, "NULL", false)
	hello := relNullHello("PUSH")
	after := func(b ...[]byte) []byte { return slices.Concat(append([][]byte{hello}, b...)...) }
	long := func(flags byte, size uint64, body int) []byte {
		h := []byte{flags | 0x02, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(h[1:], size)
		return append(h, make([]byte, body)...)
	}
	var in []hostileInput
	// 1. huge declared frame sizes after a valid handshake.
	for _, sz := range []uint64{1<<64 - 1, 1<<63 - 1, 1<<48 + 1, 0xFB18FFFB1FFFFB20, hostileMaxMsg + 1} {
		in = append(in,
			hostileInput{name: fmt.Sprintf("long frame %#x", sz), item: 1, wire: after(long(0, sz, 10))},
			hostileInput{name: fmt.Sprintf("long frame %#x with MORE", sz), item: 1, wire: after(long(0x01, sz, 10))},
		)
	}
	// 3. 10^5 empty frames with MORE and no last frame: over MaxMsgSize
	// once FrameOverhead is charged per frame.
	in = append(in, hostileInput{name: "1e5 empty MORE frames", item: 3,
		wire: after(slices.Repeat([]byte{0x01, 0x00}, 100_000))})
	// 4. ZMTP 1.0 "sneaky" message.
	in = append(in, hostileInput{name: "ZMTP 1.0 sneaky", item: 4,
		wire: []byte{0x01, 0x00, 0x08, 0x00, 's', 'n', 'e', 'a', 'k', 'y', 0x00}})
	// 5. ZMTP 2.0 greeting; v1 framing with two messages over 8192 bytes.
	in = append(in, hostileInput{name: "ZMTP 2.0 greeting", item: 5,
		wire: slices.Concat([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7F, 0x01, 0x08, 0x00, 0x00}, make([]byte, 64))})
	v1 := func(n int) []byte {
		h := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(h[1:], uint64(n+1))
		return append(append(h, 0x00), make([]byte, n)...)
	}
	in = append(in, hostileInput{name: "ZMTP 1.0 framing, 2 × 9000 bytes", item: 5, wire: append(v1(9000), v1(9000)...)})
	// 6. mechanism mismatch and downgrade.
	in = append(in,
		hostileInput{name: "PLAIN greeting to a NULL server", item: 6, wire: relGreeting(3, 1, "PLAIN", false)},
		hostileInput{name: "CURVE greeting, as-server", item: 6, wire: relGreeting(3, 1, "CURVE", true)},
		hostileInput{name: "major version 2", item: 6, wire: relGreeting(2, 0, "NULL", false)},
		hostileInput{name: "major version 1", item: 6, wire: relGreeting(1, 0, "NULL", false)},
	)
	// 7. truncated greetings, then a stall; and no bytes at all.
	for _, cut := range []int{0, 1, 10, 11, 63} {
		in = append(in, hostileInput{name: fmt.Sprintf("greeting cut at %d", cut), item: 7, wire: g[:cut], stalls: true})
	}
	in = append(in, hostileInput{name: "greeting, READY cut short", item: 7, wire: hello[:len(hello)-3], stalls: true})
	// 10. bad READY properties.
	ready := func(props []byte) []byte {
		body := append([]byte{5, 'R', 'E', 'A', 'D', 'Y'}, props...)
		return slices.Concat(g, relHeader(0x04, uint64(len(body))), body)
	}
	st := relProps("Socket-Type", "PUSH")
	in = append(in,
		hostileInput{name: "READY: property name length 0", item: 10, wire: ready(append(slices.Clone(st), 0, 0, 0, 0, 0))},
		hostileInput{name: "READY: name length 200, 5 octets left", item: 10, wire: ready(append(slices.Clone(st), 200, 'a', 'b', 'c', 'd', 'e'))},
		hostileInput{name: "READY: value length 0x80000000", item: 10, wire: ready(append(slices.Clone(st), 1, 'X', 0x80, 0, 0, 0))},
		hostileInput{name: "READY: value length 0xFFFFFFFF", item: 10, wire: ready(append(slices.Clone(st), 1, 'X', 0xFF, 0xFF, 0xFF, 0xFF))},
		hostileInput{name: "READY: Socket-Type PUB to a PULL", item: 10, wire: ready(relProps("Socket-Type", "PUB"))},
		hostileInput{name: "READY: two Socket-Type properties", item: 10, wire: ready(relProps("Socket-Type", "PUSH", "socket-type", "PUSH"))},
		hostileInput{name: "READY: no Socket-Type", item: 10, wire: ready(relProps("X-Foo", "bar"))},
		hostileInput{name: "READY: Identity 00 41 (a PULL ignores it)", item: 10, wire: append(ready(relProps("Socket-Type", "PUSH", "Identity", "\x00A")), relPing(0, []byte("i"))...), tolerated: true},
	)
	// 11. bad PING and command framing.
	in = append(in,
		hostileInput{name: "PING body < 7 octets", item: 11, wire: after([]byte{0x04, 0x05, 0x04, 'P', 'I', 'N', 'G'})},
		hostileInput{name: "PING before READY", item: 11, wire: slices.Concat(g, relPing(0, []byte("x")))},
		hostileInput{name: "command frame with MORE", item: 11, wire: after([]byte{0x05, 0x05, 0x04, 'P', 'O', 'N', 'G'})},
		hostileInput{name: "command inside a multipart message", item: 11, wire: after(relFrame(true, []byte("part")), relPing(0, nil))},
		hostileInput{name: "PING with a 17-octet context (cut to 16, as libzmq)", item: 11, wire: after(relPing(0, []byte("0123456789abcdefg"))), tolerated: true},
		hostileInput{name: "PING with reserved flag bits F8 (ignored, as libzmq)", item: 11, wire: after(func() []byte {
			p := relPing(0, []byte("r"))
			p[0] |= 0xF8
			return p
		}()), tolerated: true},
	)
	// 15. what scanners send.
	in = append(in, hostileInput{name: "HTTP GET", item: 15, wire: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")})
	rng := rand.New(rand.NewPCG(15, 15))
	for i := range 4 {
		b := make([]byte, 1024)
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		if i == 3 {
			b[0], b[9], b[10] = 0xFF, 0x7F, 3 // gets past the signature
		}
		in = append(in, hostileInput{name: fmt.Sprintf("random 1 KiB #%d", i), item: 15, wire: b})
	}
	return in
}

// hostileMaxMsg is the PULL's WithMaxMsgSize in TestHostilePeers.
const hostileMaxMsg = 1 << 20

func TestHostilePeers(t *testing.T) {
	relWatchdog(t, 120*time.Second)
	libzmqpeer.Require(t)
	const (
		total     = 10_000
		size      = 64
		hsTimeout = time.Second
		copies    = 3 // connections per input
	)
	evs, mon := newRelEvents(t)
	pull := relNew(t, PULL, WithMaxMsgSize(hostileMaxMsg), WithHandshakeTimeout(hsTimeout), mon)
	ep := relBind(t, pull, TCP)
	heap0 := relHeap()

	// The real libzmq peer.
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUSH", Connect: []string{ep}, Args: []string{"--sndtimeo", "60000"}})
	sendDone := make(chan error, 1)
	go func() { sendDone <- peer.SendN(total, size) }()

	// The legitimate stream, checked message by message.
	recvDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		recvDone <- recvLegitimate(ctx, pull, total, size, nil)
	}()

	// The hostile connections, all at once.
	type outcome struct {
		in     hostileInput
		closed bool
		after  time.Duration
		pong   error
	}
	inputs := hostileInputs()
	results := make(chan outcome, len(inputs)*copies)
	var wg sync.WaitGroup
	for _, in := range inputs {
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", relTCPAddr(ep), 5*time.Second)
				if err != nil {
					results <- outcome{in: in, pong: err}
					return
				}
				defer c.Close()
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				// Write in the background: the server may close before
				// it has read everything.
				go c.Write(in.wire)
				if in.tolerated {
					// The connection must still work: a PING is answered.
					rp := &relRaw{c}
					// Skip the server's greeting and READY.
					var g [64]byte
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					if _, err := io.ReadFull(c, g[:]); err != nil {
						results <- outcome{in: in, pong: err}
						return
					}
					_, err := rp.readPong(5 * time.Second)
					results <- outcome{in: in, pong: err}
					return
				}
				bound := time.Second
				if in.stalls {
					bound = hsTimeout + 2*time.Second
				}
				d, closed := relWaitClosed(c, bound)
				results <- outcome{in: in, closed: closed, after: d}
			}()
		}
	}
	wg.Wait()
	close(results)
	var worstFast, worstStall time.Duration
	for r := range results {
		switch {
		case r.in.tolerated:
			if r.pong != nil {
				t.Errorf("%s (§8.%d): tolerated input, but the connection did not answer its PING: %v", r.in.name, r.in.item, r.pong)
			}
		case !r.closed:
			t.Errorf("%s (§8.%d): connection still open after %v", r.in.name, r.in.item, r.after)
		case r.in.stalls:
			worstStall = max(worstStall, r.after)
		default:
			worstFast = max(worstFast, r.after)
		}
	}

	if err := <-sendDone; err != nil {
		t.Fatalf("libzmq sendn: %v", err)
	}
	if err := <-recvDone; err != nil {
		t.Fatal(err)
	}
	// Exactly 10,000: nothing after the last legitimate message.
	if m, err := relRecvT(pull, 300*time.Millisecond); err == nil {
		t.Errorf("an extra message (garbage) was delivered: %q", m.Frames)
	}
	peer.Close()
	heap1 := relHeap()
	growth := int64(heap1) - int64(heap0)
	failed := 0
	for _, e := range evs.all() {
		if e.Type == EventHandshakeFailed {
			failed++
		}
	}
	t.Logf("%d inputs × %d conns: bad conns closed within %v (immediate) / %v (stalled, handshake timeout %v); %d handshake-failed events; %d legitimate messages intact; heap %+d B; panics %d",
		len(inputs), copies, worstFast, worstStall, hsTimeout, failed, total, growth, pull.Stats().Panics)
	if growth > 4<<20 {
		t.Errorf("heap grew by %d B (want < 4 MiB)", growth)
	}
	if p := pull.Stats().Panics; p != 0 {
		t.Errorf("Stats().Panics = %d", p)
	}
	if !strings.Contains(evs.String(), "handshake-failed") {
		t.Errorf("no handshake-failed event for the bad greetings")
	}
}

// TestHostileLazyAllocation (§8 item 2, R04): with no size limit, a peer
// that declares a 1 GiB frame and then trickles its body makes the
// receiver hold memory in step with what has arrived, never with what
// was declared.
func TestHostileLazyAllocation(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	pull := relNew(t, PULL, WithLinger(0)) // MaxMsgSize unlimited (default)
	ep := relBind(t, pull, TCP)
	rp := relDialRaw(t, ep)
	if err := rp.handshake("PUSH"); err != nil {
		t.Fatal(err)
	}
	heap0 := relHeap()
	if _, err := rp.Write(relHeader(0, 1<<30)); err != nil {
		t.Fatal(err)
	}
	const trickle = 256 << 10
	chunk := make([]byte, 4<<10)
	for sent := 0; sent < trickle; sent += len(chunk) {
		if _, err := rp.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing can follow the body to show it has been read (it is all
	// one frame): poll the heap until it settles.
	var heap1 uint64
	relWaitUntil(2*time.Second, func() bool {
		h := relHeap()
		settled := h == heap1
		heap1 = h
		return settled
	})
	growth := int64(heap1) - int64(heap0)
	t.Logf("declared 1 GiB, sent %d B: heap %+d B", trickle, growth)
	// Bodies grow by doubling as bytes arrive: at most twice what came
	// plus the first chunk and the read buffer.
	if growth > 2*trickle+256<<10 {
		t.Errorf("heap grew by %d B for %d B received of a declared 1 GiB frame", growth, trickle)
	}
	if m, err := relRecvT(pull, 50*time.Millisecond); err == nil {
		t.Fatalf("a message was delivered: %d frames", len(m.Frames))
	}
	if p := pull.Stats().Panics; p != 0 {
		t.Errorf("Stats().Panics = %d", p)
	}
}

// TestHostileServerPartialMultipart (§8 item 13, R12, CVE-2021-20234): a
// server sends frames 1..k of a multipart message and disconnects, 1000
// times. Our connecting PULL delivers no partial message, leaks no
// goroutine and keeps no memory for them; the whole message sent at the
// end arrives.
func TestHostileServerPartialMultipart(t *testing.T) {
	relWatchdog(t, 120*time.Second)
	const rounds = 1000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pull := relNew(t, PULL, WithReconnectInterval(time.Millisecond, 0), WithLinger(0))
	baseG := runtime.NumGoroutine()
	heap0 := relHeap()
	if err := pull.Connect("tcp://" + ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(13, 13))
	serve := func(last bool) {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rp := &relRaw{c}
		if err := rp.handshake("PUSH"); err != nil {
			t.Fatal(err)
		}
		var wire []byte
		if last {
			wire = append(relFrame(true, []byte("whole")), relFrame(false, []byte("end"))...)
		} else {
			k := 1 + rng.IntN(5)
			for j := range k {
				wire = append(wire, relFrame(true, bytes.Repeat([]byte{byte(j)}, 1+rng.IntN(2000)))...)
			}
		}
		c.Write(wire)
		if last {
			// Keep the connection until the message is taken.
			m, err := relRecvT(pull, 5*time.Second)
			if err != nil || len(m.Frames) != 2 || string(m.Frames[0]) != "whole" {
				t.Fatalf("the whole message: %q %v", m.Frames, err)
			}
		} else if rng.IntN(2) == 0 {
			c.(*net.TCPConn).SetLinger(0)
		}
	}
	for range rounds {
		serve(false)
		if m, err := relRecvT(pull, 0); err == nil {
			t.Fatalf("a partial message was delivered: %d frames", len(m.Frames))
		}
	}
	// The whole message must be the first thing delivered.
	serve(true)
	if err := pull.Disconnect("tcp://" + ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	var g int
	okG := relWaitUntil(5*time.Second, func() bool { g = runtime.NumGoroutine(); return g <= baseG })
	heap1 := relHeap()
	t.Logf("%d partial multiparts then disconnects: goroutines %d → %d, heap %+d B", rounds, baseG, g, int64(heap1)-int64(heap0))
	if !okG {
		t.Errorf("goroutines %d, baseline %d", g, baseG)
	}
	if d := int64(heap1) - int64(heap0); d > 1<<20 {
		t.Errorf("heap grew by %d B (want ≤ 1 MiB)", d)
	}
}

// recvLegitimate receives the legitimate peer's total messages of size
// octets (libzmqpeer's SendN convention) and checks each one whole,
// calling each (if not nil) after message i: a garbage message delivered,
// or a legitimate one lost or altered, is the error.
func recvLegitimate(ctx context.Context, pull *Socket, total, size int, each func(i int)) error {
	for i := range total {
		m, err := pull.Recv(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d legitimate messages: %w", i, total, err)
		}
		if len(m.Frames) != 1 {
			return fmt.Errorf("message %d: %d frames (garbage delivered?)", i, len(m.Frames))
		}
		if err := libzmqpeer.CheckPayload(uint64(i), size, m.Frames[0]); err != nil {
			return fmt.Errorf("garbage delivered, or a legitimate message lost: %w", err)
		}
		if each != nil {
			each(i)
		}
	}
	return nil
}
