package zmtp

import (
	"testing"
)

// A connection waiting for its peer holds no read buffer and no slab, and
// one with nothing to send holds no send buffer: ten thousand idle peers
// cost none. Reads over a network connection go through the poller, and
// the reader gives both back (and calls OnIdle) each time it would wait.
func TestIdleConnHoldsNoBuffers(t *testing.T) {
	tx, rx := tcpPair(t, Push, Pull)
	defer tx.Close()
	defer rx.Close()
	// What the reader holds as it is about to wait, seen from its own
	// goroutine (a wake-up may find it reading again at any time).
	type held struct {
		buf, slab int
		reads     uint64 // reads that brought bytes, by then
	}
	idle := make(chan held, 64)
	if !rx.OnIdle(func() { idle <- held{len(rx.rd.buf), len(rx.rd.slab), rx.rd.reads.Load()} }) {
		t.Fatal("a tcp connection does not report idling")
	}
	got := make(chan error, 1)
	go func() {
		for range 2 {
			if _, err := rx.ReadMsg(nil); err != nil {
				got <- err
				return
			}
			got <- nil
		}
	}()
	before := <-idle // waiting before the first message
	if err := tx.Send([][]byte{[]byte("hello")}); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	// And again after it (a wake-up may make it idle more than once).
	h := <-idle
	for h.reads == before.reads { // until the message was read
		h = <-idle
	}
	if h.buf != 0 || h.slab != 0 {
		t.Errorf("an idle reader holds a %d-octet buffer and a %d-octet slab", h.buf, h.slab)
	}
	if tx.wr.buf != nil {
		t.Errorf("a flushed writer holds a %d-octet buffer", cap(tx.wr.buf))
	}
	// Both come back for the next message.
	if err := tx.Send([][]byte{[]byte("again")}); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
