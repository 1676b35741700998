//go:build !race

package zmtp

import "testing"

// TestWriteAllocs is the allocation gate of the send path: encoding a
// message allocates nothing, for small (copied) and large (written
// uncopied) frames alike.
func TestWriteAllocs(t *testing.T) {
	c := readyConn(&discardConn{}, Push)
	for _, size := range []int{0, 16, 256, 4 << 10, 64 << 10} {
		msg := [][]byte{make([]byte, 8), make([]byte, size)}
		allocs := testing.AllocsPerRun(1000, func() {
			if err := c.WriteMsg(msg); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("WriteMsg with a %d-octet frame: %v allocations, want 0", size, allocs)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = c.Flush() }); allocs != 0 {
		t.Errorf("Flush: %v allocations, want 0", allocs)
	}
}

// allocsPerMsg is the allocations per call of read, measured over runs of
// batch calls: testing.AllocsPerRun gives whole allocations per run, so a
// run must hold enough calls for a fraction per message to show (at least
// 1/batch).
func allocsPerMsg(runs, batch int, read func()) float64 {
	return testing.AllocsPerRun(runs, func() {
		for range batch {
			read()
		}
	}) / float64(batch)
}

// TestReadAllocs bounds the receive path: small frames are carved out of a
// shared slab, so a 16-octet message costs well under one allocation when
// the caller reuses its frame slice.
func TestReadAllocs(t *testing.T) {
	c := readyConn(&discardConn{replay: frameStream(16, 1<<20)}, Pull)
	var msg [][]byte
	allocs := allocsPerMsg(100, 1000, func() {
		var err error
		if msg, err = c.ReadMsg(msg[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.1 {
		t.Errorf("ReadMsg of a 16-octet message: %v allocations, want ≤ 0.1", allocs)
	}
}

// TestReadAllocsRecycled is the gate of recycling: a stream of messages
// the caller gives back (Recycle, RecycleRef) allocates nothing per
// message — large frames below, at and above the first chunk's size, whose
// bodies are recycled, and small ones, whose slabs are, once they come
// round again.
func TestReadAllocsRecycled(t *testing.T) {
	Recycle(make([]byte, 1)) // recycling in use
	for _, tc := range []struct {
		sizes []int // of one message's frames
		max   float64
	}{
		{[]int{4 << 10}, 0.1}, {[]int{64 << 10}, 0.1}, {[]int{256 << 10}, 0.1},
		{[]int{64}, 0.001}, {[]int{256}, 0.001}, {[]int{512}, 0.001}, {[]int{20, 300}, 0.001},
	} {
		c := readyConn(&discardConn{replay: slabStream([][]int{tc.sizes})}, Pull)
		var msg [][]byte
		allocs := allocsPerMsg(20, 1000, func() {
			var err error
			if msg, err = c.ReadMsg(msg[:0]); err != nil {
				t.Fatal(err)
			}
			Recycle(msg...)
			RecycleRef(c.SlabRef())
		})
		if allocs > tc.max {
			t.Errorf("ReadMsg + Recycle + RecycleRef of messages of %v octets: %v allocations, want ≤ %v", tc.sizes, allocs, tc.max)
		}
	}
}

// TestReadAllocsSlabsReleasedLate: slabs whose references all come back
// only after their reader moved on are recycled too (by the last
// RecycleRef). Each run reads ten slabs' worth of 256-octet messages,
// holding them all, then gives them back.
func TestReadAllocsSlabsReleasedLate(t *testing.T) {
	Recycle(make([]byte, 1)) // recycling in use
	c := readyConn(&discardConn{replay: slabStream([][]int{{256}})}, Pull)
	const n = 10 * slabSize / 256
	frames := make([][]byte, 0, n)
	refs := make([][]byte, 0, n)
	allocs := testing.AllocsPerRun(50, func() {
		frames, refs = frames[:0], refs[:0]
		for range n {
			msg, err := c.ReadMsg(frames)
			if err != nil {
				t.Fatal(err)
			}
			frames = msg
			refs = append(refs, c.SlabRef())
		}
		for _, r := range refs {
			RecycleRef(r)
		}
	})
	if allocs > 0 {
		t.Errorf("reading %d messages held until the end: %v allocations, want 0", n, allocs)
	}
}
