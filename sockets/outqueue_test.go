package sockets

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"unsafe"
)

// queued is an entry that says which it is: its frame holds n.
func queued(n int, kind outKind) outMsg {
	return outMsg{frames: [][]byte{{byte(n), byte(n >> 8), byte(n >> 16)}}, kind: kind}
}

func entryID(m outMsg) int {
	f := m.frames[0]
	return int(f[0]) | int(f[1])<<8 | int(f[2])<<16
}

// checkQueue compares q's content, oldest first, with want (ids), taking
// nothing from q.
func checkQueue(t *testing.T, q *outQueue, want []int) {
	t.Helper()
	if q.len() != len(want) {
		t.Fatalf("len %d, want %d", q.len(), len(want))
	}
	var got []int
	for c, lo := q.head, q.lo; c != nil; c, lo = c.next, 0 {
		end := len(c.msgs)
		if c == q.tail {
			end = q.hi
		}
		for _, m := range c.msgs[lo:end] {
			got = append(got, entryID(m))
		}
		if c == q.tail {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("queue holds %v, want %v", got, want)
	}
	checkCleared(t, q)
}

// checkCleared requires every entry outside the queue's content to be
// empty (an entry taken, popped or dropped must not pin its frames), every
// spare to be a full, empty chunk, and the spares to be counted and within
// their limit.
func checkCleared(t *testing.T, q *outQueue) {
	t.Helper()
	for c := q.head; c != nil; c = c.next {
		lo, hi := 0, len(c.msgs)
		if c == q.head {
			lo = q.lo
		}
		if c == q.tail {
			hi = q.hi
		}
		for i, m := range c.msgs {
			if (i < lo || i >= hi) && (m.frames != nil || m.kind != 0) {
				t.Fatalf("entry %d of a chunk holds %v outside the queue's content [%d, %d)", i, m.frames, lo, hi)
			}
		}
		if c == q.tail {
			break
		}
	}
	spares := 0
	for c := q.spare; c != nil; c = c.next {
		spares++
		if len(c.msgs) != outChunkLen {
			t.Fatalf("a spare of %d entries, want %d", len(c.msgs), outChunkLen)
		}
		for i, m := range c.msgs {
			if m.frames != nil || m.kind != 0 {
				t.Fatalf("entry %d of a spare holds %v", i, m.frames)
			}
		}
	}
	if spares != q.spares || spares > q.maxSpares {
		t.Fatalf("%d spares linked, %d counted, limit %d", spares, q.spares, q.maxSpares)
	}
}

// TestOutQueueAgainstSlice runs random pushes, front pushes, takes,
// filters and resets on an outQueue and on a plain slice, and requires the
// same content and the same messages taken, across chunk boundaries.
func TestOutQueueAgainstSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q outQueue
	q.keepSpares(sparesFor(0)) // a pipe with no high-water mark
	var model []int
	kinds := map[int]outKind{}
	next := 0
	for step := range 20000 {
		switch op := rng.IntN(100); {
		case op < 45:
			k := outMessage
			if rng.IntN(10) == 0 {
				k = outSubscribe
			}
			for range rng.IntN(3 * outChunkLen / 2) {
				q.push(queued(next, k))
				model = append(model, next)
				kinds[next] = k
				next++
			}
		case op < 55:
			// putBack: several to the front, in order.
			k := 1 + rng.IntN(3)
			if rng.IntN(4) == 0 {
				k = rng.IntN(outChunkLen + 10)
			}
			ids := make([]int, k)
			for i := range ids {
				ids[i] = next
				kinds[next] = outMessage
				next++
			}
			for i := k - 1; i >= 0; i-- {
				q.pushFront(queued(ids[i], outMessage))
			}
			model = append(ids, model...)
		case op < 90:
			n := rng.IntN(2 * outChunkLen)
			batch := q.take(nil, n)
			n = min(n, len(model))
			if len(batch) != n {
				t.Fatalf("step %d: took %d, want %d", step, len(batch), n)
			}
			for i, m := range batch {
				if entryID(m) != model[i] {
					t.Fatalf("step %d: took %d at %d, want %d", step, entryID(m), i, model[i])
				}
			}
			model = model[n:]
		case op < 97:
			q.dropMessages()
			model = slices.DeleteFunc(model, func(id int) bool { return kinds[id] == outMessage })
		default:
			q.reset()
			model = model[:0]
		}
		checkQueue(t, &q, model)
		if next >= 1<<24 {
			t.Fatal("ids overflow the test's encoding")
		}
	}
}

// TestOutQueueTakeClears: a taken entry no longer pins its frames.
func TestOutQueueTakeClears(t *testing.T) {
	var q outQueue
	for i := range outChunkLen + 3 {
		q.push(queued(i, outMessage))
	}
	head := q.head
	q.take(nil, outChunkLen+1)
	for i, m := range head.msgs {
		if m.frames != nil {
			t.Fatalf("entry %d of a taken chunk still holds its frames", i)
		}
	}
	if q.head.msgs[0].frames != nil {
		t.Fatal("the first taken entry of the current chunk still holds its frames")
	}
}

// TestOutQueueGivesMemoryBack: once a burst is taken, a queue with no
// high-water mark holds its current chunk and defaultSpareChunks spares,
// whatever the burst's size.
func TestOutQueueGivesMemoryBack(t *testing.T) {
	var q outQueue
	q.keepSpares(sparesFor(0)) // a pipe with no high-water mark
	for i := range 100 * outChunkLen {
		q.push(queued(i, outMessage))
	}
	for q.len() > 0 {
		q.take(make([]outMsg, 0, maxWriteBatch), maxWriteBatch)
	}
	chunks := 0
	for c := q.head; c != nil; c = c.next {
		chunks++
	}
	spares := 0
	for c := q.spare; c != nil; c = c.next {
		spares++
	}
	if chunks != 1 || spares != defaultSpareChunks || q.spares != spares {
		t.Fatalf("drained queue holds %d chunks and %d spares (counted %d), want 1 and %d",
			chunks, spares, q.spares, defaultSpareChunks)
	}
}

// TestOutQueueSteadyStateAllocs: a queue that fills to its high-water
// mark and drains in turn, across chunk boundaries, allocates nothing once
// it has its chunks: it keeps as many spares as its mark can fill (an
// inproc pipe's mark is SNDHWM + RCVHWM, 2000 by default).
func TestOutQueueSteadyStateAllocs(t *testing.T) {
	for _, hwm := range []int{1, 100, DefaultHWM, 2 * DefaultHWM, 5000} {
		t.Run(strconv.Itoa(hwm), func(t *testing.T) {
			var q outQueue
			q.keepSpares(sparesFor(hwm))
			m := queued(1, outMessage)
			batch := make([]outMsg, 0, maxWriteBatch)
			fill := func() {
				for q.len() < hwm {
					q.push(m)
				}
			}
			cycle := func() {
				// Refilled after a partial take, the queue spans
				// one chunk more than its mark's worth.
				fill()
				batch = q.take(batch[:0], 100)
				for i := len(batch) - 1; i >= 0; i-- { // putBack
					q.pushFront(batch[i])
				}
				clear(batch)
				batch = q.take(batch[:0], 100)
				fill()
				for q.len() > 0 {
					batch = q.take(batch[:0], maxWriteBatch)
				}
			}
			for range 3 {
				cycle()
			}
			if a := testing.AllocsPerRun(100, cycle); a != 0 {
				t.Fatalf("%.2f allocations per fill-and-drain, want 0", a)
			}
		})
	}
}

// TestOutQueuePushFrontStaysSmall: a message put back into an empty queue,
// or a few before the content of its only chunk, takes no new chunk.
func TestOutQueuePushFrontStaysSmall(t *testing.T) {
	var q outQueue
	q.push(queued(1, outMessage))
	q.take(nil, 1) // drained: one chunk of outChunkMin entries, no spare
	for i := range outChunkMin {
		q.pushFront(queued(10+i, outMessage))
	}
	checkQueue(t, &q, []int{13, 12, 11, 10})
	if q.head != q.tail || len(q.head.msgs) != outChunkMin || q.spares != 0 {
		t.Fatalf("pushFront into a chunk with room took another: head %d entries, one chunk %v, %d spares",
			len(q.head.msgs), q.head == q.tail, q.spares)
	}
	q.pushFront(queued(9, outMessage)) // the chunk is full now
	checkQueue(t, &q, []int{9, 13, 12, 11, 10})
}

// TestOutQueueKeepSpares: lowering the limit lets go of spares above it.
func TestOutQueueKeepSpares(t *testing.T) {
	var q outQueue
	q.keepSpares(maxSpareChunks)
	for i := range 40 * outChunkLen {
		q.push(queued(i, outMessage))
	}
	q.take(nil, q.len())
	if q.spares != maxSpareChunks {
		t.Fatalf("%d spares after a burst, want %d", q.spares, maxSpareChunks)
	}
	q.keepSpares(2)
	n := 0
	for c := q.spare; c != nil; c = c.next {
		n++
	}
	if q.spares != 2 || n != 2 {
		t.Fatalf("%d spares (%d linked) after keepSpares(2)", q.spares, n)
	}
	if got := sparesFor(0); got != defaultSpareChunks {
		t.Fatalf("sparesFor(0) = %d, want %d", got, defaultSpareChunks)
	}
	if got := sparesFor(1 << 30); got != maxSpareChunks {
		t.Fatalf("sparesFor(1<<30) = %d, want %d", got, maxSpareChunks)
	}
}

// TestOutQueueGrowthOctets: a queue that grows to a million messages (no
// high-water mark, a peer that lags) allocates about what it holds, 32
// octets an entry, not the sum of every array it outgrew (about twice
// that, held at once while the last one is copied).
func TestOutQueueGrowthOctets(t *testing.T) {
	const n = 1 << 20
	m := queued(1, outMessage)
	var q outQueue
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		q.push(m)
	}
	runtime.ReadMemStats(&after)
	per := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%.1f octets allocated per queued message", per)
	if entry := float64(unsafe.Sizeof(outMsg{})); per > entry*1.05 {
		t.Errorf("%.1f octets allocated per queued message, want at most %.1f (one entry)", per, entry*1.05)
	}
	if q.len() != n {
		t.Fatalf("len %d, want %d", q.len(), n)
	}
}
