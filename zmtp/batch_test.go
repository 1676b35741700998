package zmtp

import (
	"bytes"
	"errors"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// A Batch encodes messages and subscriptions exactly as the single-message
// calls do; small frames wait for Flush, large ones are gathered uncopied
// and leave with the buffered bytes around them, in order, on Flush.
func TestBatchWritesInOrder(t *testing.T) {
	var cc *countingConn
	c, p := dialRaw(t, Config{SocketType: Sub}, Pub, rawPeerOpts{
		wrap: func(nc net.Conn) net.Conn { cc = &countingConn{Conn: nc}; return cc },
	})
	big1 := bytes.Repeat([]byte{'x'}, DirectWriteThreshold)
	big2 := bytes.Repeat([]byte{'y'}, 70000)
	before := cc.writes.Load()
	b := c.BeginBatch()
	for _, err := range []error{
		b.WriteMsg([][]byte{[]byte("a")}),
		b.WriteMsg([][]byte{[]byte("k"), big1}),
		b.WriteSubscription([]byte("topic"), true),
		b.WriteMsg([][]byte{big2, []byte("z")}),
		b.WriteSubscription([]byte("topic"), false),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.writes.Load() - before; n != 0 {
		t.Fatalf("the batch wrote %d times before Flush", n)
	}
	p.nc.SetReadDeadline(time.Now())
	if n, err := p.nc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("peer read %d octets (%v) before Flush", n, err)
	}
	p.nc.SetReadDeadline(time.Time{})
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.End(); err != nil {
		t.Fatal(err)
	}
	p.mustExpect(t, slices.Concat(
		[]byte{0x00, 0x01, 'a'},
		[]byte{0x01, 0x01, 'k'}, []byte{0x02, 0, 0, 0, 0, 0, 0, 0x20, 0x00}, big1,
		[]byte{0x04, 0x0F, 0x09}, []byte("SUBSCRIBEtopic"),
		[]byte{0x03, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70}, big2, []byte{0x00, 0x01, 'z'},
		[]byte{0x04, 0x0C, 0x06}, []byte("CANCELtopic"),
	))
}

// End writes what is gathered uncopied, so the caller may reuse large
// frames after it; small frames may stay buffered for the next batch.
func TestBatchEndWritesGathered(t *testing.T) {
	c, p := dialRaw(t, Config{SocketType: Push}, Pull, rawPeerOpts{})
	big := bytes.Repeat([]byte{'q'}, 10000)
	b := c.BeginBatch()
	if err := b.WriteMsg([][]byte{[]byte("s"), big}); err != nil {
		t.Fatal(err)
	}
	if err := b.End(); err != nil {
		t.Fatal(err)
	}
	p.mustExpect(t, slices.Concat([]byte{0x01, 0x01, 's'}, []byte{0x00 | FlagLong, 0, 0, 0, 0, 0, 0, 0x27, 0x10}, big))
	b = c.BeginBatch()
	if err := b.WriteMsg([][]byte{[]byte("t")}); err != nil {
		t.Fatal(err)
	}
	if err := b.End(); err != nil {
		t.Fatal(err)
	}
	p.nc.SetReadDeadline(time.Now())
	if n, err := p.nc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("peer read %d octets (%v) of a small frame before Flush", n, err)
	}
	p.nc.SetReadDeadline(time.Time{})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	p.mustExpect(t, []byte{0x00, 0x01, 't'})
}

// A batch of large frames writes once maxGather octets or maxGatherVec
// pieces are gathered, without waiting for Flush: memory referenced stays
// bounded.
func TestBatchGatherBound(t *testing.T) {
	for _, c := range []struct {
		name string
		size int // of each body
		n    int // messages that must be written without Flush
	}{
		{"octets", 256 << 10, maxGather / (256 << 10)},
		{"pieces", DirectWriteThreshold, maxGatherVec / 2}, // a header and a body each
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.n*c.size > maxGather || 2*c.n > maxGatherVec {
				t.Fatalf("%d bodies of %d octets do not reach only one bound", c.n, c.size)
			}
			conn, p := dialRaw(t, Config{SocketType: Push}, Pull, rawPeerOpts{})
			big := bytes.Repeat([]byte{'g'}, c.size)
			b := conn.BeginBatch()
			defer func() {
				if t.Failed() {
					conn.Close() // End would wait to write what the peer no longer reads
				}
				b.End()
			}()
			written := make(chan error, 1)
			go func() {
				for range c.n {
					if err := b.WriteMsg([][]byte{big}); err != nil {
						written <- err
						return
					}
				}
				written <- nil
			}()
			// Without Flush or End, the peer gets all of them.
			head := AppendFrameHeader(nil, 0, c.size)
			for range c.n {
				p.mustExpect(t, slices.Concat(head, big))
			}
			if err := <-written; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// fixedConn replays a fixed stream once, then blocks readers until closed.
type fixedConn struct {
	discardConn
	data   []byte
	closed chan struct{}
}

func (f *fixedConn) Read(b []byte) (int, error) {
	if len(f.data) == 0 {
		<-f.closed
		return 0, net.ErrClosed
	}
	n := copy(b, f.data)
	f.data = f.data[n:]
	return n, nil
}

// MsgReady says whether ReadMsg can return at once: a whole message is
// buffered, possibly behind commands; a partial frame, a message whose last
// frame is missing, or commands alone are not enough.
func TestMsgReady(t *testing.T) {
	ping := AppendPing(nil, 0, []byte("c"))
	long := AppendFrameHeader(nil, 0, 300)
	for _, tc := range []struct {
		name  string
		data  []byte
		ready []bool // after each ReadMsg (the first before any)
	}{
		{"one frame", slices.Concat([]byte{0, 2, 'h', 'i'}), []bool{true, false}},
		{"two messages", []byte{0, 1, 'a', 0, 1, 'b'}, []bool{true, true, false}},
		{"multipart", []byte{1, 1, 'a', 0, 1, 'b'}, []bool{true, false}},
		{"partial body", []byte{0, 1, 'a', 0, 3, 'b'}, []bool{true, false}},
		{"partial header", []byte{0, 1, 'a', FlagLong, 0, 0}, []bool{true, false}},
		{"last frame missing", []byte{0, 1, 'a', 1, 1, 'b'}, []bool{true, false}},
		{"behind a ping", slices.Concat(ping, []byte{0, 1, 'a'}), []bool{true, false}},
		{"ping alone", slices.Concat([]byte{0, 1, 'a'}, ping), []bool{true, false}},
		{"long frame", slices.Concat(long, make([]byte, 300), []byte{0, 0}), []bool{true, true, false}},
		{"long frame, partial body", slices.Concat([]byte{0, 0}, long, make([]byte, 299)), []bool{true, false}},
		{"long form, short body", slices.Concat([]byte{FlagLong, 0, 0, 0, 0, 0, 0, 0, 1, 'a'}), []bool{true, false}},
		{"long multipart", slices.Concat(AppendFrameHeader(nil, FlagMore, 300), make([]byte, 300), []byte{0, 0}), []bool{true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fixedConn{data: tc.data, closed: make(chan struct{})}
			defer close(fc.closed)
			c := readyConn(fc, Pull)
			// Fill the buffer: the first ReadMsg reads the whole stream.
			var ready []bool
			for i := range tc.ready {
				if i > 0 {
					if !ready[i-1] {
						break
					}
					if _, err := c.ReadMsg(nil); err != nil {
						t.Fatal(err)
					}
				} else {
					// Prime the buffer without consuming a message.
					if _, err := c.rd.need(2); err != nil {
						t.Fatal(err)
					}
				}
				ready = append(ready, c.MsgReady())
			}
			if !slices.Equal(ready, tc.ready) {
				t.Errorf("MsgReady after each ReadMsg: %v, want %v", ready, tc.ready)
			}
		})
	}
	// A malformed header is "ready": ReadMsg fails at once.
	fc := &fixedConn{data: []byte{FlagLong, 0x80, 0, 0, 0, 0, 0, 0, 0}, closed: make(chan struct{})}
	defer close(fc.closed)
	c := readyConn(fc, Pull)
	if _, err := c.rd.need(2); err != nil {
		t.Fatal(err)
	}
	if !c.MsgReady() {
		t.Error("MsgReady false before a malformed header")
	}
	if _, err := c.ReadMsg(nil); err == nil {
		t.Error("ReadMsg of a malformed header succeeded")
	}
	if !c.MsgReady() {
		t.Error("MsgReady false on a failed connection")
	}
}

// writeCounter is a connection that counts the octets written to it.
type writeCounter struct {
	discardConn
	written int
}

func (w *writeCounter) Write(b []byte) (int, error) { w.written += len(b); return len(b), nil }

// copyCipher "seals" a frame by copying it: enough for the writer's path.
type copyCipher struct{}

func (copyCipher) Seal(dst []byte, _ byte, payload []byte) ([]byte, error) {
	return append(dst, payload...), nil
}
func (copyCipher) Open(body []byte) (byte, []byte, error) { return 0, body, nil }

// A plain connection gathers up to maxGather octets of large bodies before
// it writes; an encrypted one, whose bodies are sealed copies it keeps,
// only maxSealedGather.
func TestGatherLimitByCipher(t *testing.T) {
	const size = 128 << 10 // few pieces: maxGatherVec is far
	for _, c := range []struct {
		name   string
		cipher Cipher
		limit  int
	}{{"plain", nil, maxGather}, {"sealed", copyCipher{}, maxSealedGather}} {
		t.Run(c.name, func(t *testing.T) {
			nc := &writeCounter{}
			conn := newConn(nc, Config{SocketType: Push})
			conn.peer = Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}
			conn.cipher = c.cipher
			conn.start()
			defer conn.Close()
			body := make([]byte, size)
			b := conn.BeginBatch()
			defer b.End()
			n := c.limit / size
			for i := 1; i <= n; i++ {
				if err := b.WriteMsg([][]byte{body}); err != nil {
					t.Fatal(err)
				}
				if i < n && nc.written != 0 {
					t.Fatalf("after %d bodies of %d octets, %d octets written: want none before %d", i, size, nc.written, c.limit)
				}
			}
			if nc.written < c.limit {
				t.Fatalf("after %d bodies of %d octets, %d octets written: want all", n, size, nc.written)
			}
		})
	}
}
