package zmtp

import (
	"bytes"
	"fmt"
	"testing"
)

// slabPattern is frame j of message i, of n octets: its own octets, so
// that a body overwritten by a later message shows.
func slabPattern(i, j, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(i*7 + j*13 + k)
	}
	return b
}

// slabStream encodes msgs (the frame sizes of each message), filled with
// slabPattern.
func slabStream(msgs [][]int) []byte {
	var stream []byte
	for i, sizes := range msgs {
		for j, n := range sizes {
			flags := byte(0)
			if j < len(sizes)-1 {
				flags = FlagMore
			}
			stream = AppendFrameHeader(stream, flags, n)
			stream = append(stream, slabPattern(i, j, n)...)
		}
	}
	return stream
}

// TestSlabRef: once recycling is in use, a message with a small body has
// a reference, given once; one without (an empty frame, a large body) has
// none.
func TestSlabRef(t *testing.T) {
	Recycle(make([]byte, 1)) // recycling in use
	c := readyConn(&discardConn{replay: slabStream([][]int{{256}, {0}, {8 << 10}, {1, 8 << 10}})}, Pull)
	for i, want := range []bool{true, false, false, true} {
		msg, err := c.ReadMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		ref := c.SlabRef()
		if got := ref != nil; got != want {
			t.Fatalf("message %d: a reference: %v, want %v", i, got, want)
		}
		if ref != nil && (len(ref) != 0 || cap(ref) != slabTrailer) {
			t.Fatalf("message %d: reference of length %d, capacity %d", i, len(ref), cap(ref))
		}
		if again := c.SlabRef(); again != nil {
			t.Fatalf("message %d: SlabRef gave a second reference", i)
		}
		Recycle(msg...)
		RecycleRef(ref)
	}
}

// TestHeldSlabFramesStayIntact reads small messages — single frames of
// every small size, and multipart ones, some larger than a slab — and
// gives most back at once, but holds every fifth message with its
// reference, every seventh without taking its reference at all, and a run
// of several slabs' worth of them (so that no reference of those slabs is
// back when their reader moves on). Held
// frames must never change: a slab may be reused only after every message
// in it was given back. Then the held ones are given back too and a second
// pass, read into recycled slabs, must be exact as well.
func TestHeldSlabFramesStayIntact(t *testing.T) {
	Recycle(make([]byte, 1)) // recycling in use
	var msgs [][]int
	for i := range 3000 {
		switch {
		case i%50 == 49:
			sizes := make([]int, 40) // 20 KB: more than a slab
			for j := range sizes {
				sizes[j] = 500
			}
			msgs = append(msgs, sizes)
		case i%3 == 0:
			msgs = append(msgs, []int{i % 64, 200 + i%300, 3})
		default:
			msgs = append(msgs, []int{1 + i%slabFrameMax})
		}
	}
	stream := slabStream(msgs)
	c := readyConn(&discardConn{replay: stream}, Pull)
	type held struct {
		i      int
		frames [][]byte
		ref    []byte
	}
	for pass := range 2 {
		var kept []held
		for i, sizes := range msgs {
			msg, err := c.ReadMsg(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) != len(sizes) {
				t.Fatalf("pass %d, message %d: %d frames, want %d", pass, i, len(msg), len(sizes))
			}
			for j, n := range sizes {
				if !bytes.Equal(msg[j], slabPattern(i, j, n)) {
					t.Fatalf("pass %d, message %d, frame %d: not what was sent", pass, i, j)
				}
			}
			switch {
			case i%7 == 0:
				kept = append(kept, held{i, msg, nil}) // its reference never taken
			case i%5 == 0 || (i >= 1000 && i < 1400):
				kept = append(kept, held{i, msg, c.SlabRef()})
			default:
				ref := c.SlabRef()
				Recycle(msg...)
				RecycleRef(ref)
			}
		}
		for _, h := range kept {
			for j, n := range msgs[h.i] {
				if !bytes.Equal(h.frames[j], slabPattern(h.i, j, n)) {
					t.Fatalf("pass %d: held message %d, frame %d, was overwritten", pass, h.i, j)
				}
			}
			Recycle(h.frames...)
			RecycleRef(h.ref)
		}
	}
}

// TestRecycleRefIgnoresOthers: anything but a reference SlabRef gave is
// left alone.
func TestRecycleRefIgnoresOthers(t *testing.T) {
	lookalike := make([]byte, 32)
	for _, b := range [][]byte{nil, {}, lookalike[:0:slabTrailer], lookalike[16:16], lookalike[:0:8]} {
		RecycleRef(b)
	}
	if !bytes.Equal(lookalike, make([]byte, 32)) {
		t.Fatal("RecycleRef wrote into a slice that is no reference")
	}
}

// BenchmarkReadMsgSlabs is BenchmarkReadMsg for small frames, without and
// with giving each message back.
func BenchmarkReadMsgSlabs(b *testing.B) {
	for _, size := range []int{64, 256} {
		for _, give := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d/recycled=%v", size, give), func(b *testing.B) { benchReadMsg(b, size, give) })
		}
	}
}
