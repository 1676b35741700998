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

// TestReadAllocs bounds the receive path: small frames are carved out of a
// shared slab, so a 16-octet message costs well under one allocation when
// the caller reuses its frame slice.
func TestReadAllocs(t *testing.T) {
	c := readyConn(&discardConn{replay: frameStream(16, 1<<20)}, Pull)
	var msg [][]byte
	allocs := testing.AllocsPerRun(10000, func() {
		var err error
		if msg, err = c.ReadMsg(msg[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.1 {
		t.Errorf("ReadMsg of a 16-octet message: %v allocations, want ≤ 0.1", allocs)
	}
}

// TestReadAllocsRecycled is the gate of body recycling: a stream of large
// frames whose bodies the caller recycles allocates nothing per message,
// below, at and above the first chunk's size.
func TestReadAllocsRecycled(t *testing.T) {
	for _, size := range []int{4 << 10, 64 << 10, 256 << 10} {
		c := readyConn(&discardConn{replay: frameStream(size, 1<<20)}, Pull)
		var msg [][]byte
		allocs := testing.AllocsPerRun(1000, func() {
			var err error
			if msg, err = c.ReadMsg(msg[:0]); err != nil {
				t.Fatal(err)
			}
			Recycle(msg...)
		})
		if allocs > 0.1 {
			t.Errorf("ReadMsg + Recycle of a %d-octet message: %v allocations, want ≤ 0.1", size, allocs)
		}
	}
}
