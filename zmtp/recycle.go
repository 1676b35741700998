package zmtp

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Recycling of received frame bodies.
//
// For a stream of large messages, the receive path's main cost is not the
// copy from the kernel but the allocation of each body: a body over 32 KiB
// takes the heap lock and is zeroed, and the collections those bodies cause
// run every few dozen messages. A caller done with a received frame may hand
// its memory back with Recycle; later frames of about the same size are read
// into it instead of a new allocation, so a steady stream allocates nothing.
//
// Bodies are pooled by size class, four classes per doubling from
// RecycleMin to recycleMax. Recycling is opt-in and costs nothing until it
// is used: before the first Recycle, bodies are allocated exactly as large
// as their frames; from then on a body of RecycleMin octets or more gets the
// capacity of its class (at most 25 % over its length), so that it can be
// recycled in turn. Pools are sync.Pools: what nobody takes is collected.
const (
	// RecycleMin is the smallest body Recycle keeps. Smaller frames are
	// carved from shared slabs or cost too little to be worth pooling.
	RecycleMin = 4 << 10
	// recycleMax is the largest; larger bodies are left to the collector.
	recycleMax  = 8 << 20
	minClassLog = 12 // log2(RecycleMin)
	numClasses  = (23-minClassLog)*4 + 1
)

var (
	// classSizes[i] is the capacity of the bodies of class i.
	classSizes = func() (s [numClasses]int) {
		for i := range s {
			j := i + 3
			s[i] = (1 << (minClassLog - 1 + j/4)) / 4 * (4 + j%4 + 1)
		}
		return s
	}()
	bodyPools [numClasses]sync.Pool // of *[]byte holding a body of the class's capacity
	bodyBoxes sync.Pool             // empty *[]byte, so that pooling does not allocate
	// recycling is set by the first Recycle.
	recycling atomic.Bool
)

// classOf returns the smallest class whose bodies hold n octets, for
// RecycleMin ≤ n ≤ recycleMax.
func classOf(n int) int {
	p := bits.Len(uint(n - 1)) // 2^(p-1) < n ≤ 2^p
	half := 1 << (p - 1)
	quarter := half / 4
	q := (n - half + quarter - 1) / quarter // 1..4
	return (p-1-minClassLog)*4 + q
}

// Recycle hands the memory of received frames back for later ones to be
// read into. Only bodies of a size class's capacity are kept (those a
// connection allocated for frames of RecycleMin octets or more; others are
// left to the collector), whatever their length. The frames, and every
// slice of them, must not be used afterwards, by anyone: recycle only
// frames nobody else holds, and each once. The first call with any frame
// puts recycling in use: from then on, messages read have slab references
// too (Conn.SlabRef), for their small frames.
func Recycle(frames ...[]byte) {
	if len(frames) > 0 && !recycling.Load() {
		recycling.Store(true)
	}
	for _, b := range frames {
		keepBody(b)
	}
}

// keepBody pools b if its capacity is a class's, and reports whether it
// did.
func keepBody(b []byte) bool {
	c := cap(b)
	if c < RecycleMin || c > recycleMax {
		return false
	}
	i := classOf(c)
	if classSizes[i] != c {
		return false
	}
	putBody(i, b[:c])
	return true
}

// putBody adds b, of class i's capacity, to its pool.
func putBody(i int, b []byte) {
	box, _ := bodyBoxes.Get().(*[]byte)
	if box == nil {
		box = new([]byte)
	}
	*box = b
	bodyPools[i].Put(box)
}

// takeBody returns a pooled body of class i, or nil.
func takeBody(i int) []byte {
	box, _ := bodyPools[i].Get().(*[]byte)
	if box == nil {
		return nil
	}
	b := *box
	*box = nil
	bodyBoxes.Put(box)
	return b
}

// pooled reports whether a body of n octets goes through the pools: when
// n is in the pooled range and recycling is in use, or the body is a
// scratch one, which the connection recycles itself (sealed frames, once
// opened).
func pooled(n int, scratch bool) bool {
	return n >= RecycleMin && n <= recycleMax && (scratch || recycling.Load())
}

// newBody returns a body of n octets to read a frame into (its content is
// undefined: the caller overwrites all of it): a recycled one if there is
// one, else a new one (freshBody).
func newBody(n int, scratch bool) []byte {
	if b := recycledBody(n, scratch); b != nil {
		return b
	}
	return freshBody(n, scratch)
}

// recycledBody returns a pooled body of n octets if one is there, else
// nil: memory that exists already, which a large frame may be read into
// before all of it has arrived.
func recycledBody(n int, scratch bool) []byte {
	if !pooled(n, scratch) {
		return nil
	}
	if b := takeBody(classOf(n)); b != nil {
		return b[:n]
	}
	return nil
}

// freshBody allocates a body of n octets, with its class's capacity when
// it goes through the pools, so that it can be recycled in turn.
func freshBody(n int, scratch bool) []byte {
	if !pooled(n, scratch) {
		return make([]byte, n)
	}
	return make([]byte, n, classSizes[classOf(n)])
}
