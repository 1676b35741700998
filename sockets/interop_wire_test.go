package sockets_test

// What crossed the wire between our socket and a libzmq peer: a tcp
// forwarder that records every octet in each direction, and can hold the
// connections it accepts until it is opened.

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
)

// recorder is a tcp forwarder that keeps every octet it forwards, each
// direction apart. Tests put it between one connecting socket and one
// bound socket: up is what the connecting side sent, down what the bound
// side sent.
type recorder struct {
	ln     net.Listener
	target string
	gate   chan struct{} // closed once connections may go through
	done   chan struct{} // closed by close
	once   sync.Once     // closes gate

	mu       sync.Mutex
	up, down bytes.Buffer
	conns    []net.Conn
	closed   bool
	wg       sync.WaitGroup
}

// newRecorder starts a recorder forwarding to target (a tcp:// endpoint),
// closed when the test ends.
func newRecorder(t *testing.T, target string) *recorder {
	r := newGatedRecorder(t, target)
	r.open()
	return r
}

// newGatedRecorder is newRecorder with the gate shut: connections are
// accepted (the connecting side sees its connect succeed), but nothing is
// forwarded, and the target not dialled, until open is called.
func newGatedRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	if !strings.HasPrefix(target, "tcp://") {
		t.Fatalf("recorder: %q is not a tcp endpoint", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln, target: strings.TrimPrefix(target, "tcp://"),
		gate: make(chan struct{}), done: make(chan struct{})}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *recorder) endpoint() string { return "tcp://" + r.ln.Addr().String() }

// open lets held and future connections through.
func (r *recorder) open() { r.once.Do(func() { close(r.gate) }) }

// track keeps c to be closed by close; false (and c closed) if close has
// already run.
func (r *recorder) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return false
	}
	r.conns = append(r.conns, c)
	return true
}

func (r *recorder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			return
		}
		r.wg.Add(1)
		go r.forward(c)
	}
}

func (r *recorder) forward(c net.Conn) {
	defer r.wg.Done()
	select {
	case <-r.gate:
	case <-r.done:
		return
	}
	s, err := net.Dial("tcp", r.target)
	if err != nil {
		c.Close()
		return
	}
	if !r.track(s) {
		return
	}
	r.wg.Add(2)
	go r.pipe(s, c, &r.up)
	go r.pipe(c, s, &r.down)
}

func (r *recorder) pipe(dst, src net.Conn, log *bytes.Buffer) {
	defer r.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			// Recorded before it is forwarded: once the receiver has
			// seen something, the record holds it and all before it.
			r.mu.Lock()
			log.Write(buf[:n])
			r.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *recorder) close() {
	close(r.done)
	r.ln.Close()
	r.mu.Lock()
	r.closed = true
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// seen reports whether s crossed the wire, in either direction.
func (r *recorder) seen(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.up.Bytes(), []byte(s)) || bytes.Contains(r.down.Bytes(), []byte(s))
}
