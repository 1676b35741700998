package sockets

import (
	"bytes"
	"testing"
)

// TestChunkOfKnowsItsOwn: only the reference a chunk hands out leads back
// to it; a slab's, nil, an empty frame or a lookalike of the right
// capacity are none.
func TestChunkOfKnowsItsOwn(t *testing.T) {
	c := newFrameChunk()
	ref := c.hold(nil, true)
	if got := chunkOf(ref); got != c {
		t.Fatalf("chunkOf(its own reference) = %p, want %p", got, c)
	}
	lookalike := make([]byte, 32)
	for _, b := range [][]byte{nil, {}, lookalike[:0:chunkAnchor], lookalike[16:16], c.anchor[:0:8], c.anchor[:1]} {
		if chunkOf(b) != nil {
			t.Fatalf("chunkOf(len %d, cap %d) took it for a reference", len(b), cap(b))
		}
	}
	if !bytes.Equal(lookalike, make([]byte, 32)) {
		t.Fatal("chunkOf wrote into a slice")
	}
}

// TestFrameChunkCounts: a chunk is recycled once, after its reader retired
// it and all its messages were released, in either order, and not before.
func TestFrameChunkCounts(t *testing.T) {
	for _, releaseFirst := range []bool{false, true} {
		c := newFrameChunk()
		c.slots[0] = []byte("frame")
		refs := [][]byte{c.hold(nil, true), c.hold(nil, true), c.hold(nil, true)}
		if releaseFirst {
			for _, r := range refs {
				chunkOf(r).release()
			}
			if c.slots[0] == nil {
				t.Fatal("recycled before its reader retired it")
			}
			c.retire()
		} else {
			c.retire()
			chunkOf(refs[0]).release()
			chunkOf(refs[1]).release()
			if c.slots[0] == nil {
				t.Fatal("recycled with a message not released")
			}
			chunkOf(refs[2]).release()
		}
		if c.slots[0] != nil || c.count.Load() != 0 {
			t.Fatalf("release first %v: not recycled (count %d)", releaseFirst, c.count.Load())
		}
	}
}
