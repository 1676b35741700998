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
	idle := make(chan struct{}, 16)
	rx.OnIdle(func() { idle <- struct{}{} })
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
	<-idle // waiting before the first message
	if err := tx.Send([][]byte{[]byte("hello")}); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	<-idle // and again after it
	if rx.rd.buf != nil || rx.rd.slab != nil {
		t.Errorf("an idle reader holds a %d-octet buffer and a %d-octet slab", len(rx.rd.buf), len(rx.rd.slab))
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
