package sockets

import (
	"bytes"
	"cmp"
	"slices"
	"testing"
	"time"
	"unsafe"
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

// TestFrameListsFillingTheChunk: messages of up to a dozen empty frames
// (no slab reference: empty bodies are not carved) fill counted chunks to
// their last slot in every way. A message whose list reaches the chunk's
// end has no slot past it for the chunk's reference and must get a list of
// its own: left in the chunk uncounted, the next message's list would be
// cut over it. So no two lists of messages held at once may overlap.
func TestFrameListsFillingTheChunk(t *testing.T) {
	pull := relNew(t, PULL)
	push := relNew(t, PUSH)
	relConnect(t, push, relBind(t, pull, TCP))
	const count = 3000
	sent := relSendAll(push, count, func(k int) [][]byte { return make([][]byte, 1+k%12) })
	type span struct{ start, end uintptr }
	var held []Msg
	var spans []span
	for k := range count {
		m, err := relRecvT(pull, 10*time.Second)
		if err != nil {
			t.Fatalf("recv %d: %v", k, err)
		}
		if len(m.Frames) != 1+k%12 {
			t.Fatalf("message %d: %d frames, want %d", k, len(m.Frames), 1+k%12)
		}
		if k == 0 {
			m.Release() // from now on, chunks are counted
			continue
		}
		held = append(held, m)
		start := uintptr(unsafe.Pointer(unsafe.SliceData(m.Frames)))
		spans = append(spans, span{start, start + uintptr(len(m.Frames))*unsafe.Sizeof(m.Frames[0])})
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			t.Fatal("two messages held at once share slots of their frame lists")
		}
	}
	for _, m := range held {
		m.Release()
	}
}
