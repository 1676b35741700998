package zmtp

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func sameMsg(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, bytes.Equal)
}

func describe(m [][]byte) string {
	s := "["
	for i, f := range m {
		if i > 0 {
			s += " "
		}
		if len(f) > 16 {
			s += fmt.Sprintf("%d:%x...", len(f), f[:8])
		} else {
			s += fmt.Sprintf("%q", f)
		}
	}
	return s + "]"
}

// Multipart messages with frames of 0, 255 (largest short), 256 (smallest
// long) and 1 MiB octets arrive identical and in order, both ways at once.
func TestConnMultipartSizes(t *testing.T) {
	a, b := handshakePair(t, Config{SocketType: Dealer}, Config{SocketType: Dealer})
	if a.err != nil || b.err != nil {
		t.Fatalf("handshake: %v, %v", a.err, b.err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var msgs [][][]byte
	for _, sizes := range [][]int{
		{0}, {255}, {256}, {1 << 20},
		{0, 255, 256, 1 << 20, 0},
		{1, 2, 3}, {0, 0, 0, 0},
		{8191, 8192, 8193}, // around the direct-write threshold
		{16384, 16385, 70000},
		// small frames right after large ones, which the reader reads
		// little ahead of (reader.go afterLargeRead)
		{70000, 1, 2, 3, 40000, 16, afterLargeRead - 1, afterLargeRead + 1, DirectReadThreshold},
		// around the chunks of a large body (reader.go readLarge)
		{firstChunk - 1, firstChunk, firstChunk + 1},
		{2 * firstChunk, 3*firstChunk + 7, 5<<20 + 3},
		{300},
	} {
		m := make([][]byte, len(sizes))
		for i, n := range sizes {
			m[i] = randBytes(rng, n)
		}
		msgs = append(msgs, m)
	}
	var wg sync.WaitGroup
	for _, dir := range [][2]*Conn{{a.c, b.c}, {b.c, a.c}} {
		from, to := dir[0], dir[1]
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i, m := range msgs {
				if err := from.WriteMsg(m); err != nil {
					t.Errorf("WriteMsg %d: %v", i, err)
					return
				}
			}
			if err := from.Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			for i, want := range msgs {
				got, err := to.ReadMsg(nil)
				if err != nil {
					t.Errorf("ReadMsg %d: %v", i, err)
					return
				}
				if !sameMsg(got, want) {
					t.Errorf("message %d: got %s, want %s", i, describe(got), describe(want))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Our frames on the wire (RFC 23/37 "Framing"): MORE on all but the last,
// a short size up to 255 octets and a long one from 256.
func TestConnWriteWireFrames(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	f255 := bytes.Repeat([]byte{'a'}, 255)
	f256 := bytes.Repeat([]byte{'b'}, 256)
	if err := c.Send([][]byte{{}, f255, f256, []byte("end")}); err != nil {
		t.Fatal(err)
	}
	p.mustExpect(t, slices.Concat(
		[]byte{0x01, 0x00},
		[]byte{0x01, 0xFF}, f255,
		[]byte{0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x00}, f256,
		[]byte{0x00, 0x03}, []byte("end"),
	))
	big := bytes.Repeat([]byte{'c'}, 70000) // written from the caller's memory
	if err := c.Send([][]byte{[]byte("k"), big}); err != nil {
		t.Fatal(err)
	}
	p.mustExpect(t, slices.Concat([]byte{0x01, 0x01, 'k'},
		[]byte{0x02, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70}, big))
	if err := c.WriteMsg(nil); err == nil {
		t.Fatal("WriteMsg of no frames succeeded")
	}
}

// The decoder takes any legal framing: long sizes for small bodies and
// reserved flag bits set (ignored, as libzmq does).
func TestConnReadWireFrames(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	p.mustWrite(t,
		[]byte{0x03, 0, 0, 0, 0, 0, 0, 0, 0x02}, []byte("hi"), // long MORE frame of 2 octets
		[]byte{0x01, 0x00},                // empty MORE frame
		[]byte{0xF0, 0x03}, []byte("end"), // reserved bits set
		[]byte{0x02, 0, 0, 0, 0, 0, 0, 0, 0}, // long empty frame
	)
	got, err := c.ReadMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]byte{[]byte("hi"), {}, []byte("end")}; !sameMsg(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	got, err = c.ReadMsg(nil)
	if err != nil || len(got) != 1 || len(got[0]) != 0 {
		t.Fatalf("got %q, %v; want one empty frame", got, err)
	}
}

type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// WriteMsg buffers; Flush sends everything buffered in one write.
func TestConnWriteMsgBatching(t *testing.T) {
	var cc *countingConn
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{
		wrap: func(nc net.Conn) net.Conn { cc = &countingConn{Conn: nc}; return cc },
	})
	before := cc.writes.Load()
	var want []byte
	for i := 0; i < 50; i++ {
		body := []byte(fmt.Sprintf("msg-%02d", i))
		if err := c.WriteMsg([][]byte{{byte(i)}, body}); err != nil {
			t.Fatal(err)
		}
		want = slices.Concat(want, []byte{0x01, 0x01, byte(i)}, []byte{0x00, byte(len(body))}, body)
	}
	if n := cc.writes.Load() - before; n != 0 {
		t.Fatalf("WriteMsg wrote %d times before Flush", n)
	}
	// Nothing is readable yet.
	p.nc.SetReadDeadline(time.Now())
	if n, err := p.nc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("peer read %d octets (%v) before Flush", n, err)
	}
	p.nc.SetReadDeadline(time.Time{})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load() - before; n != 1 {
		t.Fatalf("Flush of 50 small messages took %d writes, want 1", n)
	}
	p.mustExpect(t, want)
	// A second Flush with nothing buffered writes nothing.
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load() - before; n != 1 {
		t.Fatalf("empty Flush wrote (%d writes)", n)
	}
}

func TestConnReadMsgReusesDst(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	p.mustWrite(t,
		rawFrame(true, []byte("one")), rawFrame(false, []byte("two")),
		rawFrame(false, []byte("three")),
		rawFrame(false, bytes.Repeat([]byte{'x'}, 600)),
	)
	dst := make([][]byte, 1, 8)
	dst[0] = []byte("kept")
	got, err := c.ReadMsg(dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]byte{[]byte("kept"), []byte("one"), []byte("two")}; !sameMsg(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if &got[0] != &dst[0] || cap(got) != cap(dst) {
		t.Fatalf("ReadMsg did not append into dst's backing array")
	}
	first := got[1:]
	// Reading on reuses the slice but not the frames: earlier frames are
	// the caller's and stay intact.
	got2, err := c.ReadMsg(got[:0])
	if err != nil {
		t.Fatal(err)
	}
	if len(got2) != 1 || string(got2[0]) != "three" || &got2[0] != &dst[0] {
		t.Fatalf("second ReadMsg = %q", got2)
	}
	got3, err := c.ReadMsg(nil)
	if err != nil || len(got3) != 1 || len(got3[0]) != 600 {
		t.Fatalf("third ReadMsg = %d frames, %v", len(got3), err)
	}
	if string(first[1]) != "two" || string(got2[0]) != "three" {
		t.Fatalf("earlier frames were overwritten: %q %q", first[1], got2[0])
	}
}

// Frames returned by ReadMsg belong to the caller: later reads must not
// write into them.
func TestConnReadMsgFramesOwned(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	var kept [][]byte
	var want []string
	for round := 0; round < 4; round++ {
		var wire []byte
		for i := 0; i < 100; i++ {
			s := fmt.Sprintf("r%d-m%03d-%s", round, i, bytes.Repeat([]byte{byte('a' + i%26)}, i%40))
			want = append(want, s)
			wire = append(wire, rawFrame(false, []byte(s))...)
		}
		p.mustWrite(t, wire)
		for i := 0; i < 100; i++ {
			m, err := c.ReadMsg(nil)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, m[0])
		}
	}
	for i := range want {
		if string(kept[i]) != want[i] {
			t.Fatalf("frame %d is now %q, want %q", i, kept[i], want[i])
		}
	}
}

// MaxMsgSize counts each frame's size plus FrameOverhead (32) octets.
func TestConnMaxMsgSize(t *testing.T) {
	if FrameOverhead != 32 {
		t.Fatalf("FrameOverhead = %d; the cases below assume 32", FrameOverhead)
	}
	const limit = 100
	for _, tc := range []struct {
		name  string
		sizes []int
		ok    bool
	}{
		{"one frame at the limit", []int{68}, true},
		{"one frame over by 1", []int{69}, false},
		{"two frames at the limit", []int{10, 26}, true},
		{"two frames over by 1", []int{10, 27}, false},
		{"three empty frames", []int{0, 0, 0}, true},
		{"four empty frames", []int{0, 0, 0, 0}, false},
		{"long frame over the limit", []int{300}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, p := dialRaw(t, Config{SocketType: Dealer, MaxMsgSize: limit}, Dealer, rawPeerOpts{})
			var wire []byte
			var want [][]byte
			for i, n := range tc.sizes {
				body := bytes.Repeat([]byte{'m'}, n)
				want = append(want, body)
				wire = append(wire, rawFrame(i < len(tc.sizes)-1, body)...)
			}
			wire = append(wire, rawFrame(false, []byte("next"))...)
			p.mustWrite(t, wire)
			got, err := c.ReadMsg(nil)
			if tc.ok {
				if err != nil || !sameMsg(got, want) {
					t.Fatalf("ReadMsg = %s, %v; want %s", describe(got), err, describe(want))
				}
				if got, err = c.ReadMsg(nil); err != nil || string(got[0]) != "next" {
					t.Fatalf("next message: %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, ErrMsgTooLarge) {
				t.Fatalf("ReadMsg = %s, %v; want ErrMsgTooLarge", describe(got), err)
			}
			if len(got) != 0 {
				t.Fatalf("ReadMsg returned frames %s with the error", describe(got))
			}
		})
	}
}

// A hostile size claim is refused from the header alone: the body never
// arrives and nothing waits for it.
func TestConnMaxMsgSizeHostileHeader(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer, MaxMsgSize: 1 << 20}, Dealer, rawPeerOpts{})
	p.mustWrite(t, []byte{0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}) // 2^40 octets
	if _, err := c.ReadMsg(nil); !errors.Is(err, ErrMsgTooLarge) {
		t.Fatalf("ReadMsg: %v, want ErrMsgTooLarge", err)
	}
}

// Errors are final (ReadMsg's documentation): after a refused frame the
// stream is out of step, so a second ReadMsg must fail too rather than
// parse the refused frame's body as frames.
func TestConnReadErrorIsSticky(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer, MaxMsgSize: 100}, Dealer, rawPeerOpts{})
	// A 69-octet frame (one over the limit) whose body looks like a frame.
	body := slices.Concat([]byte{0x00, 67}, bytes.Repeat([]byte{'x'}, 67))
	p.mustWrite(t, rawFrame(false, body))
	if _, err := c.ReadMsg(nil); !errors.Is(err, ErrMsgTooLarge) {
		t.Fatalf("first ReadMsg: %v, want ErrMsgTooLarge", err)
	}
	got, err := c.ReadMsg(nil)
	if err == nil {
		t.Fatalf("second ReadMsg succeeded with %s, parsed from the refused frame's body", describe(got))
	}
	if !errors.Is(err, ErrMsgTooLarge) {
		t.Errorf("second ReadMsg: %v, want the first error again", err)
	}
}

// RFC 37 "Connection Heartbeating": a PING is answered with a PONG that
// echoes its context, and never reaches the application.
func TestConnPingPong(t *testing.T) {
	for _, tc := range []struct {
		name string
		ping []byte
		pong []byte
	}{
		{"no context", []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x00},
			[]byte{0x04, 0x05, 0x04, 'P', 'O', 'N', 'G'}},
		{"8-octet context", slices.Concat([]byte{0x04, 0x0F, 0x04}, []byte("PING"), []byte{0x00, 0x00}, []byte("ctx-1234")),
			slices.Concat([]byte{0x04, 0x0D, 0x04}, []byte("PONG"), []byte("ctx-1234"))},
		{"binary context", slices.Concat([]byte{0x04, 0x0B, 0x04}, []byte("PING"), []byte{0x00, 0x00}, []byte{0x00, 0xFF, 0x0A, 0x04}),
			slices.Concat([]byte{0x04, 0x09, 0x04}, []byte("PONG"), []byte{0x00, 0xFF, 0x0A, 0x04})},
		{"16-octet context", slices.Concat([]byte{0x04, 0x17, 0x04}, []byte("PING"), []byte{0x00, 0x00}, []byte("0123456789abcdef")),
			slices.Concat([]byte{0x04, 0x15, 0x04}, []byte("PONG"), []byte("0123456789abcdef"))},
		{"long context cut at 16", slices.Concat([]byte{0x04, 0x1B, 0x04}, []byte("PING"), []byte{0x00, 0x00}, []byte("0123456789abcdefWXYZ")),
			slices.Concat([]byte{0x04, 0x15, 0x04}, []byte("PONG"), []byte("0123456789abcdef"))},
		{"long-size PING", slices.Concat([]byte{0x06, 0, 0, 0, 0, 0, 0, 0, 0x09, 0x04}, []byte("PING"), []byte{0x00, 0x00}, []byte("ab")),
			slices.Concat([]byte{0x04, 0x07, 0x04}, []byte("PONG"), []byte("ab"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
			p.mustWrite(t, tc.ping, rawFrame(false, []byte("data")))
			got, err := c.ReadMsg(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || string(got[0]) != "data" {
				t.Fatalf("ReadMsg = %q; the PING must not reach the caller", got)
			}
			p.mustExpect(t, tc.pong)
		})
	}
}

// A PING that arrives while a writer holds the connection still gets its
// PONG, in order with the writer's frames.
func TestConnPingDuringWrites(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Send([][]byte{[]byte("w")}); err != nil {
				return
			}
		}
	}()
	rd := make(chan error, 1)
	go func() {
		for {
			if _, err := c.ReadMsg(nil); err != nil {
				rd <- err
				return
			}
		}
	}()
	p.mustWrite(t, slices.Concat([]byte{0x04, 0x08, 0x04}, []byte("PING"), []byte{0, 0}, []byte("Z")))
	for {
		flags, body := p.mustFrame(t)
		if flags == 0x00 && string(body) == "w" {
			continue
		}
		if flags != 0x04 || string(body) != "\x04PONGZ" {
			t.Fatalf("unexpected frame %#02x % x", flags, body)
		}
		break
	}
	close(stop)
	c.Close() // unblocks the writer if the pipe is full
	wg.Wait()
	if err := <-rd; err == nil {
		t.Fatal("ReadMsg ended without error")
	}
}

// Unknown commands, PONG and stray handshake commands are dropped; nothing
// is sent back.
func TestConnIgnoresOtherCommands(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	p.mustWrite(t,
		rawCommand("PONG", []byte("x")),
		rawCommand("JOIN", []byte("group")),
		rawCommand("XYZZY", bytes.Repeat([]byte{0xFF}, 300)),
		rawCommand("READY", rawProps("Socket-Type", "DEALER")),
		rawCommand("SUBSCRIBE", []byte("topic")), // not a publisher: dropped
		rawCommand("CANCEL", []byte("topic")),
		rawFrame(false, []byte("after")),
	)
	got, err := c.ReadMsg(nil)
	if err != nil || len(got) != 1 || string(got[0]) != "after" {
		t.Fatalf("ReadMsg = %q, %v", got, err)
	}
	p.nc.SetReadDeadline(time.Now())
	if n, err := p.nc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection answered with %d octets (%v)", n, err)
	}
}

// SUBSCRIBE and CANCEL from a 3.1 peer reach a publisher in the 3.0
// message form: 0x01 or 0x00 followed by the topic.
func TestConnSubscriptionsToPublisher(t *testing.T) {
	for _, pub := range []SocketType{Pub, XPub} {
		t.Run(string(pub), func(t *testing.T) {
			c, p := dialRaw(t, Config{SocketType: pub}, Sub, rawPeerOpts{})
			p.mustWrite(t,
				slices.Concat([]byte{0x04, 0x0F, 0x09}, []byte("SUBSCRIBE"), []byte("topic")),
				slices.Concat([]byte{0x04, 0x0A, 0x09}, []byte("SUBSCRIBE")),
				slices.Concat([]byte{0x04, 0x0C, 0x06}, []byte("CANCEL"), []byte("topic")),
				slices.Concat([]byte{0x04, 0x0C, 0x09}, []byte("SUBSCRIBE"), []byte{0x00, 0xFF}),
				// The 3.0 form from the same peer is a plain message.
				rawFrame(false, []byte("\x01old")),
			)
			for _, want := range []string{"\x01topic", "\x01", "\x00topic", "\x01\x00\xFF", "\x01old"} {
				got, err := c.ReadMsg(nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || string(got[0]) != want {
					t.Fatalf("ReadMsg = %q, want [%q]", got, want)
				}
			}
		})
	}
}

func TestConnSubscriptionsIgnoredByPush(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Push}, Pull, rawPeerOpts{})
	p.mustWrite(t,
		slices.Concat([]byte{0x04, 0x0F, 0x09}, []byte("SUBSCRIBE"), []byte("topic")),
		slices.Concat([]byte{0x04, 0x0C, 0x06}, []byte("CANCEL"), []byte("topic")),
		rawFrame(false, []byte("work")),
	)
	got, err := c.ReadMsg(nil)
	if err != nil || len(got) != 1 || string(got[0]) != "work" {
		t.Fatalf("ReadMsg = %q, %v; want [work]", got, err)
	}
}

// WriteSubscription speaks the peer's version: commands to 3.1, the
// 0x01/0x00 message form to 3.0 (wire notes section 3).
func TestConnWriteSubscription(t *testing.T) {
	t.Run("3.1 peer", func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: Sub}, Pub, rawPeerOpts{})
		if err := c.WriteSubscription([]byte("topic"), true); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteSubscription([]byte("topic"), false); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteSubscription(nil, true); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		p.mustExpect(t, slices.Concat(
			[]byte{0x04, 0x0F, 0x09}, []byte("SUBSCRIBE"), []byte("topic"),
			[]byte{0x04, 0x0C, 0x06}, []byte("CANCEL"), []byte("topic"),
			[]byte{0x04, 0x0A, 0x09}, []byte("SUBSCRIBE"),
		))
	})
	t.Run("3.0 peer", func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: XSub}, Pub, rawPeerOpts{major: 3, minor: 0})
		if c.PeerSpeaks31() {
			t.Fatal("PeerSpeaks31 for a 3.0 peer")
		}
		if err := c.WriteSubscription([]byte("topic"), true); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteSubscription([]byte("topic"), false); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteSubscription(nil, true); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		p.mustExpect(t, slices.Concat(
			[]byte{0x00, 0x06, 0x01}, []byte("topic"),
			[]byte{0x00, 0x06, 0x00}, []byte("topic"),
			[]byte{0x00, 0x01, 0x01},
		))
	})
}

func TestConnCommandWithMore(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	p.mustWrite(t, []byte{0x05, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x00}, rawFrame(false, []byte("x")))
	got, err := c.ReadMsg(nil)
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("ReadMsg = %q, %v; want ErrProtocol", got, err)
	}
}

func TestConnMalformedCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
	}{
		{"empty command", []byte{0x04, 0x00}},
		{"name longer than body", []byte{0x04, 0x03, 0x05, 'P', 'I'}},
		{"PING without TTL", []byte{0x04, 0x06, 0x04, 'P', 'I', 'N', 'G', 0x00}},
		{"non-alphabetic name", []byte{0x04, 0x03, 0x02, 'P', '1'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
			p.mustWrite(t, tc.wire)
			if got, err := c.ReadMsg(nil); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ReadMsg = %q, %v; want ErrMalformed", got, err)
			}
		})
	}
}

// An ERROR after the handshake ends the connection with the peer's reason.
func TestConnPeerErrorAfterHandshake(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	p.mustWrite(t, slices.Concat([]byte{0x04, 0x0B, 0x05}, []byte("ERROR"), []byte{4}, []byte("bye!")))
	_, err := c.ReadMsg(nil)
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Reason != "bye!" {
		t.Fatalf("ReadMsg: %v, want *PeerError{bye!}", err)
	}
}

func TestConnCloseTwice(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	if err := c.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	err := c.Close()
	if err == nil || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want an error wrapping net.ErrClosed", err)
	}
	if !errors.Is(c.Err(), net.ErrClosed) {
		t.Fatalf("Err() = %v after Close", c.Err())
	}
	// The peer sees the connection end.
	if _, err := p.readN(1); !isClosedErr(err) {
		t.Fatalf("peer read: %v, want EOF", err)
	}
	if err := c.WriteMsg([][]byte{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteMsg after Close: %v", err)
	}
	if err := c.Send([][]byte{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := c.WriteSubscription([]byte("x"), true); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteSubscription after Close: %v", err)
	}
}

func TestConnReadMsgAfterClose(t *testing.T) {
	c, _ := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	c.Close()
	got, err := c.ReadMsg(nil)
	if err == nil {
		t.Fatalf("ReadMsg after Close = %q", got)
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadMsg after Close: %v, want ErrClosed", err)
	}
}

// Even with a message already in the read buffer, ReadMsg after Close
// fails: Close is final.
func TestConnReadMsgAfterCloseWithBufferedData(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
	// Both messages go out in one write, so one read takes both.
	p.mustWrite(t, rawFrame(false, []byte("first")), rawFrame(false, []byte("second")))
	got, err := c.ReadMsg(nil)
	if err != nil || string(got[0]) != "first" {
		t.Fatalf("ReadMsg = %q, %v", got, err)
	}
	c.Close()
	got, err = c.ReadMsg(nil)
	if err == nil {
		t.Fatalf("ReadMsg after Close returned %q", got)
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadMsg after Close: %v, want ErrClosed", err)
	}
}

// Close unblocks a ReadMsg waiting for data.
func TestConnCloseUnblocksReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
		rd := readMsgAsync(c)
		synctest.Wait()
		select {
		case r := <-rd:
			t.Fatalf("ReadMsg returned early: %q %v", r.msg, r.err)
		default:
		}
		c.Close()
		if r := <-rd; !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("blocked ReadMsg: %v, want ErrClosed", r.err)
		}
	})
}

// Several writers and one reader at once: every message arrives whole and
// each writer's messages stay in order.
func TestConnConcurrentWriters(t *testing.T) {
	a, b := handshakePair(t, Config{SocketType: Dealer}, Config{SocketType: Dealer})
	if a.err != nil || b.err != nil {
		t.Fatalf("handshake: %v, %v", a.err, b.err)
	}
	const writers, each = 4, 300
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				pad := bytes.Repeat([]byte{byte(w)}, (i*37)%9000)
				if err := a.c.Send([][]byte{{byte(w)}, {byte(i >> 8), byte(i)}, pad}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	next := make([]int, writers)
	for n := 0; n < writers*each; n++ {
		m, err := b.c.ReadMsg(nil)
		if err != nil {
			t.Fatalf("ReadMsg after %d: %v", n, err)
		}
		if len(m) != 3 || len(m[0]) != 1 || len(m[1]) != 2 {
			t.Fatalf("message %d torn: %s", n, describe(m))
		}
		w, i := int(m[0][0]), int(m[1][0])<<8|int(m[1][1])
		if w >= writers || i != next[w] || len(m[2]) != (i*37)%9000 {
			t.Fatalf("writer %d message %d (want %d), %d octets", w, i, next[w], len(m[2]))
		}
		next[w]++
	}
	wg.Wait()
}

// readLoop reads until an error and reports it; the messages read are
// counted.
func readLoop(c *Conn, count *atomic.Int64) <-chan error {
	ch := make(chan error, 1)
	go func() {
		for {
			if _, err := c.ReadMsg(nil); err != nil {
				ch <- err
				return
			}
			count.Add(1)
		}
	}()
	return ch
}

// With HeartbeatInterval 1 s and a peer that never answers, the first PING
// goes out at 1 s and the connection fails at 1 s + HeartbeatTimeout
// (default: the interval), not before.
func TestConnHeartbeatTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: Dealer, HeartbeatInterval: time.Second}, Dealer, rawPeerOpts{})
		start := time.Now()
		var n atomic.Int64
		rd := readLoop(c, &n)
		name, data := p.mustCommand(t)
		if name != "PING" || !bytes.Equal(data, []byte{0, 0}) {
			t.Fatalf("got %s % x, want PING with TTL 0 and no context", name, data)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("first PING after %v, want 1s", d)
		}
		err := <-rd
		if d := time.Since(start); d < 2*time.Second || d > 3*time.Second {
			t.Fatalf("failed after %v, want 2s (interval + timeout)", d)
		}
		if !errors.Is(err, ErrHeartbeatTimeout) {
			t.Fatalf("ReadMsg: %v, want ErrHeartbeatTimeout", err)
		}
		if !errors.Is(c.Err(), ErrHeartbeatTimeout) {
			t.Fatalf("Err() = %v", c.Err())
		}
		// The connection was closed: the peer reads EOF after at most one
		// more PING.
		for {
			_, _, err := p.readFrame()
			if err != nil {
				if !isClosedErr(err) {
					t.Fatalf("peer read: %v, want EOF", err)
				}
				break
			}
		}
	})
}

// HeartbeatTimeout and HeartbeatTTL are honoured: PINGs carry the TTL in
// tenths of a second, and silence ends the connection at first PING +
// timeout.
func TestConnHeartbeatTimeoutAndTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: Dealer, HeartbeatInterval: time.Second,
			HeartbeatTimeout: 3 * time.Second, HeartbeatTTL: 2500 * time.Millisecond}, Dealer, rawPeerOpts{})
		start := time.Now()
		var n atomic.Int64
		rd := readLoop(c, &n)
		for i := 1; i <= 3; i++ {
			p.mustExpect(t, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x19})
			if d := time.Since(start); d != time.Duration(i)*time.Second {
				t.Fatalf("PING %d after %v", i, d)
			}
		}
		err := <-rd
		if d := time.Since(start); d != 4*time.Second {
			t.Fatalf("failed after %v, want 4s (first PING at 1s + 3s timeout)", d)
		}
		if !errors.Is(err, ErrHeartbeatTimeout) {
			t.Fatalf("ReadMsg: %v", err)
		}
	})
}

// A peer that answers every PING keeps the connection up.
func TestConnHeartbeatAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: Dealer, HeartbeatInterval: time.Second}, Dealer, rawPeerOpts{})
		var n atomic.Int64
		rd := readLoop(c, &n)
		pings := make(chan int, 1)
		go func() {
			count := 0
			defer func() { pings <- count }()
			for {
				name, data, err := p.readCommand()
				if err != nil {
					return
				}
				if name != "PING" {
					t.Errorf("got %s", name)
					return
				}
				count++
				if err := p.write(rawCommand("PONG", data[2:])); err != nil {
					return
				}
			}
		}()
		time.Sleep(10*time.Second + 500*time.Millisecond) // fake time: 10 intervals
		synctest.Wait()
		if err := c.Err(); err != nil {
			t.Fatalf("connection failed although every PING was answered: %v", err)
		}
		select {
		case err := <-rd:
			t.Fatalf("ReadMsg ended: %v", err)
		default:
		}
		if n.Load() != 0 {
			t.Fatalf("%d PONGs reached ReadMsg", n.Load())
		}
		c.Close()
		if err := <-rd; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadMsg after Close: %v", err)
		}
		if got := <-pings; got != 10 {
			t.Fatalf("peer saw %d PINGs in 10.5 intervals, want 10", got)
		}
	})
}

// Any traffic counts as a sign of life, not only PONG (RFC 37).
func TestConnHeartbeatAnyTrafficIsLife(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: Dealer, HeartbeatInterval: time.Second}, Dealer, rawPeerOpts{})
		var n atomic.Int64
		rd := readLoop(c, &n)
		drained := make(chan struct{})
		go func() { // swallow our PINGs without answering them
			defer close(drained)
			for {
				if _, _, err := p.readFrame(); err != nil {
					return
				}
			}
		}()
		for i := 0; i < 20; i++ {
			time.Sleep(500 * time.Millisecond) // fake time
			p.mustWrite(t, rawFrame(false, []byte("tick")))
		}
		synctest.Wait()
		if err := c.Err(); err != nil {
			t.Fatalf("connection failed although data kept arriving: %v", err)
		}
		if n.Load() != 20 {
			t.Fatalf("read %d messages, want 20", n.Load())
		}
		c.Close()
		<-rd
		<-drained
	})
}

// After a peer's PING with a TTL, silence for longer than the TTL ends the
// connection (RFC 37: "If it receives a PING command with a non-zero TTL
// and then does not receive any further traffic within that TTL").
func TestConnPeerPingTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
		p.mustWrite(t, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x0A}) // TTL 1 s
		start := time.Now()
		rd := readMsgAsync(c)
		p.mustExpect(t, []byte{0x04, 0x05, 0x04, 'P', 'O', 'N', 'G'})
		r := <-rd
		if !errors.Is(r.err, ErrHeartbeatTimeout) {
			t.Fatalf("ReadMsg = %q, %v; want ErrHeartbeatTimeout", r.msg, r.err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("failed after %v, want the 1s TTL", d)
		}
	})
}

// Traffic within the TTL disarms it: the connection then waits for data
// without limit.
func TestConnPeerPingTTLDisarmedByTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, p := dialRaw(t, Config{SocketType: Dealer}, Dealer, rawPeerOpts{})
		p.mustWrite(t, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x0A}) // TTL 1 s
		rd := readMsgAsync(c)
		p.mustExpect(t, []byte{0x04, 0x05, 0x04, 'P', 'O', 'N', 'G'})
		time.Sleep(900 * time.Millisecond) // fake time, within the TTL
		p.mustWrite(t, rawFrame(false, []byte("alive")))
		if r := <-rd; r.err != nil || string(r.msg[0]) != "alive" {
			t.Fatalf("ReadMsg = %q, %v", r.msg, r.err)
		}
		rd = readMsgAsync(c)
		time.Sleep(5 * time.Second) // fake time, well past the TTL
		synctest.Wait()
		select {
		case r := <-rd:
			t.Fatalf("ReadMsg ended after the TTL was disarmed: %q, %v", r.msg, r.err)
		default:
		}
		p.mustWrite(t, rawFrame(false, []byte("later")))
		if r := <-rd; r.err != nil || string(r.msg[0]) != "later" {
			t.Fatalf("ReadMsg = %q, %v", r.msg, r.err)
		}
	})
}
