package sockets

// outQueue is a pipe's outbound queue: a slice whose front is taken by
// moving a head index, so that taking part of it costs only what is taken,
// and whose array is reused once it has been emptied.
type outQueue struct {
	buf  []outMsg
	head int
}

func (q *outQueue) len() int { return len(q.buf) - q.head }

// items is the queue's content, oldest first. It aliases the queue.
func (q *outQueue) items() []outMsg { return q.buf[q.head:] }

func (q *outQueue) push(m outMsg) {
	if len(q.buf) == cap(q.buf) && q.head > 0 && q.head*2 >= len(q.buf) {
		// At least half the array is taken already: reuse it rather
		// than grow it.
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, m)
}

// take appends up to n messages from the front to batch.
func (q *outQueue) take(batch []outMsg, n int) []outMsg {
	n = min(n, q.len())
	batch = append(batch, q.buf[q.head:q.head+n]...)
	clear(q.buf[q.head : q.head+n])
	q.head += n
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return batch
}

// set replaces the content with ms (which the queue then owns).
func (q *outQueue) set(ms []outMsg) {
	clear(q.buf)
	q.buf, q.head = ms, 0
}

func (q *outQueue) reset() {
	clear(q.buf)
	q.buf, q.head = q.buf[:0], 0
}
