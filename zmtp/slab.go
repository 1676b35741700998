package zmtp

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Slabs: the shared memory small frame bodies are carved from, and its
// recycling.
//
// A reader copies the body of each small frame (up to slabFrameMax octets)
// into the next free octets of its slab, so that a stream of small messages
// costs one allocation per slab rather than one per frame. Left at that, a
// receiver of 256-octet messages allocates a fresh 16 KiB slab every sixty
// messages, and the cost is not the allocation but the memory: each slab is
// new to the cache and soon garbage, so that the collector runs all the
// time. Recycled slabs stay few and warm.
//
// Once recycling is in use (recycle.go), a slab counts its messages: every
// message with a body carved from it can have a reference to it
// (Conn.SlabRef), and RecycleRef of every reference the slab gave, after
// its reader has moved on to another slab, puts it in slabPool for any
// reader to carve from again. A message whose reference nobody took, or a
// reference never given back, keeps the slab from being recycled: it is
// then memory like any other, which the collector frees once no frame
// holds it. So a reference is handed out only when the message's bodies
// all lie in one slab: within a message, a body that no longer fits in the
// slab gets an allocation of its own (which multipartRoom makes rare).
//
// The count lives in the slab's last slabTrailer octets, with a mark that
// tells a reference from any other slice: a reference is the empty slice
// at the trailer, with the trailer's length as capacity. While its reader
// carves from a slab, the count holds slabBias on top of the references
// given back (negatively); retiring the slab trades the bias for the
// number of references handed out, so that it reaches zero once, after
// both.
const (
	// multipartRoom is the room a counted slab must have past the first
	// small body of a multipart message, or that message starts a new
	// slab: two more bodies of up to slabFrameMax octets then share its
	// slab (a message of a 20- and a 300-octet frame spilled a body out
	// of the slab at every slab's end: 0.04 allocations per message).
	multipartRoom = 2 * slabFrameMax
	slabTrailer   = 16
	slabData      = slabSize - slabTrailer // the part of a counted slab bodies are carved from
	slabBias      = 1 << 30
)

// slabMark identifies a slab's trailer; random, so that no slice a caller
// built looks like a reference by chance.
var slabMark = rand.Uint64() | 1

// slabPool holds whole counted slabs whose references all came back;
// slabPiecePool the free parts of uncounted slabs that idle readers gave
// back (before recycling is in use).
var slabPool, slabPiecePool sync.Pool

// slabCount returns the counter in a slab's trailer t (8-aligned: a slab
// is a whole allocation of slabSize octets, and slabData is a multiple of
// 16).
func slabCount(t []byte) *atomic.Int32 {
	return (*atomic.Int32)(unsafe.Pointer(&t[8]))
}

// newCountedSlab returns a whole slab to carve from with its count set
// for a new reader: a recycled one if there is one.
func newCountedSlab() (slab []byte, box *[]byte) {
	box, _ = slabPool.Get().(*[]byte)
	if box != nil {
		slab, *box = *box, nil
	} else {
		slab = make([]byte, slabSize)
		binary.LittleEndian.PutUint64(slab[slabData:], slabMark)
	}
	slabCount(slab[slabData:]).Store(slabBias)
	return slab, box
}

// putSlab pools a whole counted slab nobody uses any more.
func putSlab(slab []byte, box *[]byte) {
	if box == nil {
		box, _ = bodyBoxes.Get().(*[]byte)
		if box == nil {
			box = new([]byte)
		}
	}
	*box = slab
	slabPool.Put(box)
}

// RecycleRef gives back a reference Conn.SlabRef returned, once nothing
// uses any frame of its message any more, by anyone: when every message
// carved from the slab has given its reference back, later messages are
// carved from the same memory. Give each reference back once. Anything
// that is not such a reference (nil, any other slice) is ignored.
func RecycleRef(ref []byte) { RecycleRefs(ref, 1) }

// RecycleRefs is RecycleRef for n messages whose references are the same
// (messages carved from the same slab), in one go.
func RecycleRefs(ref []byte, n int) {
	if len(ref) != 0 || cap(ref) != slabTrailer || n <= 0 {
		return
	}
	t := ref[:slabTrailer]
	if binary.LittleEndian.Uint64(t) != slabMark {
		return
	}
	if slabCount(t).Add(-int32(n)) == 0 {
		start := unsafe.Add(unsafe.Pointer(&t[0]), -slabData)
		putSlab(unsafe.Slice((*byte)(start), slabSize), nil)
	}
}

// slabRef returns a reference to the current slab for the message just
// read, if one of its bodies was carved from it, and counts it.
func (fr *frameReader) slabRef() []byte {
	if !fr.msgInSlab {
		return nil
	}
	fr.msgInSlab = false
	fr.slabRefs++
	return fr.slab[slabData:slabData:slabSize]
}

// startMsg is called before each message is read: if the last message has
// bodies in the counted slab but nobody took its reference, the slab must
// never be recycled.
func (fr *frameReader) startMsg() {
	fr.more = false
	if fr.msgInSlab {
		fr.msgInSlab = false
		fr.slabTainted = true
	}
}

// retireSlab lets go of the slab: a counted one is recycled as soon as
// (or if already) all its references are back; an uncounted one gives its
// free part, if worth it, to slabPiecePool. Not while the message being
// read has bodies in it (its reference is still to come): it reports
// whether it did.
func (fr *frameReader) retireSlab() bool {
	switch {
	case fr.slab == nil:
	case fr.slabCounted:
		if fr.msgInSlab {
			return false
		}
		if !fr.slabTainted && slabCount(fr.slab[slabData:]).Add(int32(fr.slabRefs)-slabBias) == 0 {
			putSlab(fr.slab, fr.slabBox)
		} else if fr.slabBox != nil {
			bodyBoxes.Put(fr.slabBox) // for the last RecycleRef's putSlab
		}
	default:
		if free := fr.slab[fr.slabUsed:]; len(free) >= slabKeepMin {
			box := fr.slabBox
			if box == nil {
				box = new([]byte)
			}
			*box = free
			slabPiecePool.Put(box)
		}
	}
	fr.slab, fr.slabBox, fr.slabUsed, fr.slabEnd = nil, nil, 0, 0
	fr.slabCounted, fr.slabTainted, fr.slabRefs = false, false, 0
	return true
}

// newSlab retires the slab and takes one with room for n octets: once
// recycling is in use a whole counted one, else the free part of a slab
// an idle reader gave back, or a new one.
func (fr *frameReader) newSlab(n int) {
	fr.retireSlab()
	if recycling.Load() {
		fr.slab, fr.slabBox = newCountedSlab()
		fr.slabEnd, fr.slabCounted = slabData, true
		return
	}
	for {
		box, _ := slabPiecePool.Get().(*[]byte)
		if box == nil {
			break
		}
		if len(*box) >= n {
			fr.slab, fr.slabBox = *box, box
			*box = nil
			fr.slabEnd = len(fr.slab)
			return
		}
		// Too small for this frame: let it go.
	}
	fr.slab = make([]byte, slabSize)
	fr.slabEnd = slabSize
}

// carve returns an owned copy of b, cut from the slab when b is small.
func (fr *frameReader) carve(b []byte) []byte {
	if len(b) > slabFrameMax {
		out := newBody(len(b), false)
		copy(out, b)
		return out
	}
	if len(b) == 0 {
		return []byte{}
	}
	room := len(b)
	if fr.more && !fr.msgInSlab && fr.slabCounted {
		// The first body of a multipart message: the next ones go
		// into the same slab or into allocations of their own.
		room += multipartRoom
	}
	if fr.slabEnd-fr.slabUsed < room {
		if fr.msgInSlab {
			// The message's reference is to this slab: the rest of
			// its bodies go elsewhere.
			out := make([]byte, len(b))
			copy(out, b)
			return out
		}
		fr.newSlab(len(b))
	}
	u := fr.slabUsed
	out := fr.slab[u : u+len(b) : u+len(b)]
	fr.slabUsed += len(b)
	fr.msgInSlab = fr.slabCounted
	copy(out, b)
	return out
}
