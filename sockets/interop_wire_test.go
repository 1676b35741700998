package sockets_test

// What crossed the wire between our socket and a libzmq peer: a tcp
// forwarder that records every octet in each direction (and can hold the
// connections it accepts until it is opened), and a reader that splits a
// recorded ZMTP 3.x stream into frames and commands.

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/dripdrop-go/dripdrop/zmtp"
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

// lens returns how many octets have been recorded each way so far: a mark
// to cut the streams at.
func (r *recorder) lens() (up, down int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up.Len(), r.down.Len()
}

// streams returns copies of what has been recorded each way.
func (r *recorder) streams() (up, down []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.up.Bytes()), bytes.Clone(r.down.Bytes())
}

// wireFrame is one frame of a recorded ZMTP stream.
type wireFrame struct {
	off   int // where its header starts in the stream
	flags byte
	body  []byte
}

// command returns the frame's command name, or "" for a message frame.
func (f wireFrame) command() string {
	if f.flags&zmtp.FlagCommand == 0 {
		return ""
	}
	name, _, err := zmtp.ParseCommand(f.body)
	if err != nil {
		return "?"
	}
	return string(name)
}

// data returns a command frame's data (the body after the name).
func (f wireFrame) data() []byte {
	_, data, err := zmtp.ParseCommand(f.body)
	if err != nil {
		return nil
	}
	return data
}

// wireFrames splits one direction of a recorded ZMTP 3.x connection, from
// its first octet, into the frames after the 64-octet greeting. A frame not
// yet wholly recorded at the end is left out.
func wireFrames(stream []byte) ([]wireFrame, error) {
	if len(stream) < zmtp.GreetingSize {
		return nil, fmt.Errorf("%d octets recorded: not even a greeting", len(stream))
	}
	if stream[0] != 0xFF || stream[9] != 0x7F || stream[10] != 3 {
		return nil, fmt.Errorf("recorded stream does not start with a ZMTP 3 greeting: % x", stream[:11])
	}
	var frames []wireFrame
	for off := zmtp.GreetingSize; off < len(stream); {
		flags, size, n, err := zmtp.ParseFrameHeader(stream[off:])
		if err != nil {
			return frames, fmt.Errorf("frame at octet %d: %w", off, err)
		}
		if n == 0 || uint64(len(stream)-off-n) < size {
			break
		}
		end := off + n + int(size)
		frames = append(frames, wireFrame{off: off, flags: flags, body: stream[off+n : end]})
		off = end
	}
	return frames, nil
}

// mustWireFrames is wireFrames failing the test on a stream it cannot read.
func mustWireFrames(t *testing.T, what string, stream []byte) []wireFrame {
	t.Helper()
	frames, err := wireFrames(stream)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return frames
}

// between returns the frames whose header starts in [from, to).
func between(frames []wireFrame, from, to int) []wireFrame {
	var out []wireFrame
	for _, f := range frames {
		if f.off >= from && f.off < to {
			out = append(out, f)
		}
	}
	return out
}
