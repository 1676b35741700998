package sockets

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Recycled frame-list chunks.
//
// Once received messages are released (Msg.Release), a reader cuts the
// frame lists of small messages from a frameChunk, which counts the
// messages cut from it, instead of from a plain chunk: each message gets,
// in the slot just past its frames, a reference to its chunk (the empty
// slice at the chunk's anchor), and the chunk keeps the message's slab
// reference (zmtp.Conn.SlabRef) itself. When every message of a chunk has
// been released, after its reader moved on to another chunk, the chunk
// gives its slab references back (zmtp.RecycleRefs) and goes to chunkPool
// for a reader to cut from again. Without this, a stream of small messages
// allocates 24 to 48 octets of frame lists per message, memory the
// collector must trace, and it is the collections that cost: their write
// barriers and marking were a sixth of a 256-octet receiver's time.
//
// A message never released, or whose slot past its frames was overwritten
// (by an append to its Frames), keeps its chunk from being recycled: the
// chunk, its frames and its slabs are then collected as usual once nothing
// holds them.
type frameChunk struct {
	// anchor comes first, so that a reference (a slice of it) points at
	// the chunk itself; it holds chunkMark, which tells a reference from
	// any other slice.
	anchor [chunkAnchor]byte
	count  atomic.Int32 // chunkBias while a reader cuts from it, less the releases
	issued int          // references the reader handed out (reader only)
	slots  [][]byte     // the frame lists
	refs   [][]byte     // the messages' slab references, a run per slab...
	runs   []int        // ...and how many messages each run has
}

const (
	chunkAnchor = 16
	chunkSlots  = maxSmallChunk
	chunkBias   = 1 << 30
)

var (
	// chunkMark identifies a chunk's anchor; random, so that no slice a
	// caller built looks like a reference by chance.
	chunkMark = rand.Uint64() | 1
	chunkPool sync.Pool // of *frameChunk whose messages were all released
	// releasing is set by the first Release of a network message: from
	// then on readers cut small messages' frame lists from frameChunks.
	releasing atomic.Bool
)

// newFrameChunk returns a chunk to cut from, for a reader: a recycled one
// if there is one.
func newFrameChunk() *frameChunk {
	c, _ := chunkPool.Get().(*frameChunk)
	if c == nil {
		c = &frameChunk{slots: make([][]byte, chunkSlots)}
		binary.LittleEndian.PutUint64(c.anchor[:], chunkMark)
	}
	c.count.Store(chunkBias)
	c.issued = 0
	return c
}

// hold counts a message cut from the chunk, unless it is counted already
// (count false), and keeps its slab reference (nil: none); it returns the
// message's reference to the chunk.
func (c *frameChunk) hold(slabRef []byte, count bool) []byte {
	if count {
		c.issued++
	}
	if slabRef != nil {
		if k := len(c.refs) - 1; k >= 0 && unsafe.SliceData(c.refs[k]) == unsafe.SliceData(slabRef) {
			c.runs[k]++
		} else {
			c.refs = append(c.refs, slabRef)
			c.runs = append(c.runs, 1)
		}
	}
	return c.anchor[:0:chunkAnchor]
}

// retire is called by the reader when it cuts no more from c: c is
// recycled now if all its messages were released, else by the last
// release.
func (c *frameChunk) retire() {
	if c.count.Add(int32(c.issued)-chunkBias) == 0 {
		c.recycle()
	}
}

// release counts one of c's messages released.
func (c *frameChunk) release() {
	if c.count.Add(-1) == 0 {
		c.recycle()
	}
}

// recycle gives the slab references back and pools c.
func (c *frameChunk) recycle() {
	for i, ref := range c.refs {
		zmtp.RecycleRefs(ref, c.runs[i])
	}
	clear(c.refs)
	c.refs, c.runs = c.refs[:0], c.runs[:0]
	clear(c.slots)
	chunkPool.Put(c)
}

// chunkOf returns the chunk ref is a reference to, or nil if it is none.
func chunkOf(ref []byte) *frameChunk {
	if len(ref) != 0 || cap(ref) != chunkAnchor {
		return nil
	}
	a := ref[:chunkAnchor]
	if binary.LittleEndian.Uint64(a) != chunkMark {
		return nil
	}
	return (*frameChunk)(unsafe.Pointer(unsafe.SliceData(a)))
}
