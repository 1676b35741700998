package sockets

// outChunkLen is how many messages a full chunk of an outQueue holds: 255
// entries of 32 octets and the 8-octet header the Go allocator puts before
// a large object with pointers fill an 8 KiB size class exactly (256 would
// take the 9.25 KiB class, TestOutQueueGrowthOctets). It also bounds a
// writer's batch (maxWriteBatch). A queue's first chunk is outChunkMin
// long, and each next one twice the last up to outChunkLen, so that the
// queue of a peer sent a message now and then (thousands of them on one
// ROUTER) stays small.
const (
	outChunkLen = 255
	outChunkMin = 4
	// defaultSpareChunks emptied full-size chunks (32 KiB) are kept for
	// reuse by a queue with no high-water mark, so that a burst's memory
	// goes back once it is sent.
	defaultSpareChunks = 4
	// maxSpareChunks bounds the spares of a queue whatever its mark
	// (256 KiB).
	maxSpareChunks = 32
)

// sparesFor is how many emptied chunks a queue bounded by hwm keeps, up to
// maxSpareChunks: a queue at its mark spans at most one chunk more than
// its mark's worth, and the last of them stays in use once it drains, so
// with these a queue that fills to its mark and drains in turn allocates
// nothing once it has its chunks.
func sparesFor(hwm int) int {
	if hwm <= 0 {
		return defaultSpareChunks
	}
	return min((hwm+outChunkLen-1)/outChunkLen, maxSpareChunks)
}

// outChunk is one piece of an outQueue.
type outChunk struct {
	msgs []outMsg
	next *outChunk
}

// outQueue is a pipe's outbound queue: a list of chunks, as
// libzmq's ypipe is, rather than one growing array. With no high-water
// mark a queue can hold millions of messages while its peer lags; chunks
// make that cost what is queued and no more (a growing array costs up to
// twice that, plus the arrays it outgrew until they are collected), and a
// chunk is let go as soon as the writer has taken its last message, so a
// queue that drains after a burst gives the burst's memory back, but for
// a few emptied chunks kept as spares (keepSpares), so that a queue that
// fills and drains in turn allocates nothing.
//
// Invariant: empty, the queue has head == tail (nil before its first
// message) and lo == hi.
type outQueue struct {
	head, tail *outChunk
	lo         int // index of the first message in head
	hi         int // index after the last message in tail
	n          int
	spare      *outChunk // emptied full-size chunks, linked by next
	spares     int
	maxSpares  int // keepSpares; the zero queue keeps none
}

// keepSpares sets how many emptied chunks the queue keeps (sparesFor its
// high-water mark), letting go of those above it.
func (q *outQueue) keepSpares(n int) {
	q.maxSpares = n
	for q.spares > n {
		q.spare = q.spare.next
		q.spares--
	}
}

func (q *outQueue) len() int { return q.n }

// newChunk returns a spare (full size) or a new chunk of size entries.
func (q *outQueue) newChunk(size int) *outChunk {
	if c := q.spare; c != nil {
		q.spare, c.next = c.next, nil
		q.spares--
		return c
	}
	return &outChunk{msgs: make([]outMsg, size)}
}

// recycle keeps c (whose entries are cleared) as a spare if it is full
// size and there is room among the spares; otherwise it is let go.
func (q *outQueue) recycle(c *outChunk) {
	c.next = nil
	if len(c.msgs) == outChunkLen && q.spares < q.maxSpares {
		c.next, q.spare = q.spare, c
		q.spares++
	}
}

// push puts m after everything queued.
func (q *outQueue) push(m outMsg) {
	switch {
	case q.tail == nil:
		q.head = q.newChunk(outChunkMin)
		q.tail, q.lo, q.hi = q.head, 0, 0
	case q.hi == len(q.tail.msgs):
		c := q.newChunk(min(2*len(q.tail.msgs), outChunkLen))
		q.tail.next = c
		q.tail, q.hi = c, 0
	}
	q.tail.msgs[q.hi] = m
	q.hi++
	q.n++
}

// pushFront puts m before everything queued. An empty queue, or one whose
// only chunk has room, takes it without a new chunk: a lone reply put
// back (tryPushDirect) or a few subscriptions put before what a SUB has
// queued (pipeConnected) must not cost a full one.
func (q *outQueue) pushFront(m outMsg) {
	if q.n == 0 {
		q.push(m)
		return
	}
	if q.lo == 0 && q.head == q.tail && q.hi < len(q.head.msgs) {
		msgs := q.head.msgs
		copy(msgs[1:q.hi+1], msgs[:q.hi])
		msgs[0] = m
		q.hi++
		q.n++
		return
	}
	if q.lo == 0 {
		c := q.newChunk(outChunkLen)
		c.next = q.head
		q.head, q.lo = c, len(c.msgs)
	}
	q.lo--
	q.head.msgs[q.lo] = m
	q.n++
}

// headEnd is the index after the last message in the head chunk.
func (q *outQueue) headEnd() int {
	if q.head == q.tail {
		return q.hi
	}
	return len(q.head.msgs)
}

// advance moves past the head chunk once all of it is taken.
func (q *outQueue) advance() {
	if q.lo < q.headEnd() {
		return
	}
	if q.head == q.tail {
		q.lo, q.hi = 0, 0 // empty: the chunk is reused from its start
		return
	}
	old := q.head
	q.head, q.lo = old.next, 0
	q.recycle(old)
}

// take appends up to n messages from the front to batch.
func (q *outQueue) take(batch []outMsg, n int) []outMsg {
	n = min(n, q.n)
	for n > 0 {
		k := min(n, q.headEnd()-q.lo)
		taken := q.head.msgs[q.lo : q.lo+k]
		batch = append(batch, taken...)
		clear(taken)
		q.lo += k
		q.n -= k
		n -= k
		q.advance()
	}
	return batch
}

// popFront removes and returns the first message; the queue must not be
// empty.
func (q *outQueue) popFront() outMsg {
	m := q.head.msgs[q.lo]
	q.head.msgs[q.lo] = outMsg{}
	q.lo++
	q.n--
	q.advance()
	return m
}

// filter keeps, in order, only the messages keep accepts.
func (q *outQueue) filter(keep func(outMsg) bool) {
	for range q.n {
		if m := q.popFront(); keep(m) {
			q.push(m)
		}
	}
}

func isSubscription(m outMsg) bool { return m.kind == outSubscribe || m.kind == outUnsubscribe }

func isMessage(m outMsg) bool { return m.kind == outMessage }

// dropMessages removes every message, keeping subscriptions in order.
func (q *outQueue) dropMessages() { q.filter(isSubscription) }

// reset empties the queue, keeping its current chunk and the spares.
func (q *outQueue) reset() {
	for q.n > 0 {
		q.popFront()
	}
}
