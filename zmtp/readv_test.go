//go:build unix

package zmtp

import (
	"net"
	"path/filepath"
	"testing"
)

// unixPair handshakes two Conns over a unix socket, the writing side's
// send buffer large enough (sndbuf) to hold a test's whole stream.
func unixPair(t *testing.T, a, b SocketType, sndbuf int) (*Conn, *Conn) {
	t.Helper()
	ca, cb := netPair(t, "unix", filepath.Join(t.TempDir(), "pair.sock"), a, b, func(nc net.Conn) error {
		return nc.(*net.UnixConn).SetWriteBuffer(sndbuf)
	})
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return ca, cb
}

// TestReadLargeFramesOneReadEach: a body read straight into its memory is
// read with the next frame's header (and up to afterLargeRead octets after
// it) in one system call (readv), so a stream of large frames already in
// the kernel takes about one read per frame, not two; and every octet
// lands where it belongs, whatever follows the large frame (another large
// one, a small one, more frames). Bodies of up to firstChunk always get
// their memory at once; larger ones only when a recycled body is there,
// which the race detector's sync.Pool may drop at random: with those, only
// the octets are checked.
func TestReadLargeFramesOneReadEach(t *testing.T) {
	t.Run("up to firstChunk", func(t *testing.T) {
		readLargeStream(t, [][]int{{60000}, {20000, 10}, {65536}, {17000, 300, 40000}, {50000}, {firstChunk}}, true)
	})
	t.Run("beyond firstChunk, recycled", func(t *testing.T) {
		readLargeStream(t, [][]int{{70000}, {20000, 10}, {100000, 5}, {firstChunk + 1}}, false)
	})
}

// readLargeStream writes rounds of msgs (frame sizes) whole into the
// kernel, then reads them back, checking every octet and, with
// countReads, that each large frame took about one read.
func readLargeStream(t *testing.T, msgs [][]int, countReads bool) {
	Recycle(make([]byte, 1)) // recycling in use
	const rounds = 6
	total, large := 0, 0
	for _, m := range msgs {
		for _, n := range m {
			total += n + MaxFrameHeader
			if n > DirectReadThreshold {
				large++
			}
		}
	}
	w, r := unixPair(t, Push, Pull, 2*total*(rounds+1))
	pattern := func(k, f, i int) byte { return byte(k*31 + f*7 + i) }
	write := func(k int, sizes []int) {
		t.Helper()
		m := make([][]byte, len(sizes))
		for f, n := range sizes {
			m[f] = make([]byte, n)
			for i := range m[f] {
				m[f][i] = pattern(k, f, i)
			}
		}
		if err := w.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	check := func(k int, sizes []int) {
		t.Helper()
		got, err := r.ReadMsg(nil)
		if err != nil {
			t.Fatalf("message %d: %v", k, err)
		}
		if len(got) != len(sizes) {
			t.Fatalf("message %d: %d frames, want %d", k, len(got), len(sizes))
		}
		for f, body := range got {
			if len(body) != sizes[f] {
				t.Fatalf("message %d frame %d: %d octets, want %d", k, f, len(body), sizes[f])
			}
			for i, c := range body {
				if c != pattern(k, f, i) {
					t.Fatalf("message %d frame %d octet %d: %#x, want %#x", k, f, i, c, pattern(k, f, i))
				}
			}
		}
		Recycle(got...)
		RecycleRef(r.SlabRef())
	}
	// A first round warms the recycled bodies up; then the stream is
	// written whole into the kernel before a frame of it is read.
	for k, m := range msgs {
		write(k, m)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for k, m := range msgs {
		check(k, m)
	}
	for round := range rounds {
		for i, m := range msgs {
			write((round+1)*len(msgs)+i, m)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	before := r.rd.reads.Load()
	for round := range rounds {
		for i, m := range msgs {
			check((round+1)*len(msgs)+i, m)
		}
	}
	reads := r.rd.reads.Load() - before
	n := uint64(rounds * large)
	t.Logf("%d reads for %d large frames", reads, n)
	if countReads && reads > n+n/8+2 {
		t.Errorf("%d reads for %d large frames, want about one each (two: the body, then the next header)", reads, n)
	}
}
