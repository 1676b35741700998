package sockets

// outQueue is a pipe's outbound queue: a slice whose front is taken by
// moving a head index, so that taking part of it costs only what is taken.
// Taking all of it swaps arrays with the taker's empty batch, so a writer
// that drains the queue copies nothing and the two arrays are reused in
// turn.
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

// pushFront puts m before everything queued.
func (q *outQueue) pushFront(m outMsg) {
	if q.head > 0 {
		q.head--
		q.buf[q.head] = m
		return
	}
	q.buf = append(q.buf, outMsg{})
	copy(q.buf[1:], q.buf)
	q.buf[0] = m
}

// take appends up to n messages from the front to batch. When batch is
// empty and n covers the whole queue, the queue's array becomes the batch
// and batch's array the queue's: the caller must clear the batch it gets
// back once done with it, and pass it back empty next time.
func (q *outQueue) take(batch []outMsg, n int) []outMsg {
	n = min(n, q.len())
	if n == 0 {
		return batch
	}
	if len(batch) == 0 && q.head == 0 && n == len(q.buf) {
		out := q.buf
		q.buf = batch[:0]
		return out
	}
	batch = append(batch, q.buf[q.head:q.head+n]...)
	clear(q.buf[q.head : q.head+n])
	q.head += n
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return batch
}

// dropMessages removes every message, keeping subscriptions in order.
func (q *outQueue) dropMessages() {
	items := q.items()
	k := 0
	for _, o := range items {
		if o.kind == outSubscribe || o.kind == outUnsubscribe {
			items[k] = o
			k++
		}
	}
	clear(items[k:])
	q.buf = q.buf[:q.head+k]
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
