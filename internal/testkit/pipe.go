// Package testkit holds helpers shared by the project's tests: in-memory
// connection pairs and peers that misbehave on purpose. Only tests import it.
package testkit

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultPipeBuffer is the capacity of each direction of a Pipe.
const DefaultPipeBuffer = 256 << 10

// Pipe returns the two ends of an in-memory, full-duplex connection. Unlike
// net.Pipe each direction is buffered (capacity octets; DefaultPipeBuffer if
// capacity ≤ 0), so both ends may write before reading, as ZMTP peers do.
// Deadlines work; it runs inside a testing/synctest bubble.
func Pipe(capacity int) (net.Conn, net.Conn) {
	if capacity <= 0 {
		capacity = DefaultPipeBuffer
	}
	ab := newPipeBuf(capacity)
	ba := newPipeBuf(capacity)
	a := &pipeEnd{r: ba, w: ab, local: pipeAddr("a"), remote: pipeAddr("b")}
	b := &pipeEnd{r: ab, w: ba, local: pipeAddr("b"), remote: pipeAddr("a")}
	return a, b
}

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// pipeBuf is one direction: a bounded byte queue.
type pipeBuf struct {
	mu       sync.Mutex
	data     []byte
	capacity int
	wclosed  bool          // writer closed: reader gets EOF when drained
	rclosed  bool          // reader closed: writer gets an error
	changed  chan struct{} // closed and replaced on every change
}

func newPipeBuf(capacity int) *pipeBuf {
	return &pipeBuf{capacity: capacity, changed: make(chan struct{})}
}

func (p *pipeBuf) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

type pipeEnd struct {
	r, w          *pipeBuf
	local, remote net.Addr
	dmu           sync.Mutex
	rdl, wdl      time.Time
	closeOnce     sync.Once
}

// wait blocks until ch is closed or the deadline passes.
func wait(ch <-chan struct{}, deadline time.Time) error {
	if deadline.IsZero() {
		<-ch
		return nil
	}
	d := time.Until(deadline)
	if d <= 0 {
		return os.ErrDeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return os.ErrDeadlineExceeded
	}
}

func (e *pipeEnd) deadlines() (rd, wd time.Time) {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	return e.rdl, e.wdl
}

func (e *pipeEnd) Read(b []byte) (int, error) {
	p := e.r
	for {
		p.mu.Lock()
		if p.rclosed {
			p.mu.Unlock()
			return 0, net.ErrClosed
		}
		if len(p.data) > 0 {
			n := copy(b, p.data)
			p.data = p.data[n:]
			if len(p.data) == 0 {
				p.data = nil
			}
			p.notifyLocked()
			p.mu.Unlock()
			return n, nil
		}
		if p.wclosed {
			p.mu.Unlock()
			return 0, io.EOF
		}
		ch := p.changed
		p.mu.Unlock()
		rd, _ := e.deadlines()
		if !rd.IsZero() && !time.Now().Before(rd) {
			return 0, os.ErrDeadlineExceeded
		}
		if err := wait(ch, rd); err != nil {
			return 0, err
		}
	}
}

func (e *pipeEnd) Write(b []byte) (int, error) {
	p := e.w
	written := 0
	for {
		p.mu.Lock()
		if p.wclosed {
			p.mu.Unlock()
			return written, net.ErrClosed
		}
		if p.rclosed {
			p.mu.Unlock()
			return written, io.ErrClosedPipe
		}
		if room := p.capacity - len(p.data); room > 0 {
			n := min(room, len(b)-written)
			p.data = append(p.data, b[written:written+n]...)
			written += n
			p.notifyLocked()
		}
		if written == len(b) {
			p.mu.Unlock()
			return written, nil
		}
		ch := p.changed
		p.mu.Unlock()
		_, wd := e.deadlines()
		if !wd.IsZero() && !time.Now().Before(wd) {
			return written, os.ErrDeadlineExceeded
		}
		if err := wait(ch, wd); err != nil {
			return written, err
		}
	}
}

// Close closes both directions of this end: the peer reads EOF once it has
// drained what was written, and its writes fail.
func (e *pipeEnd) Close() error {
	err := net.ErrClosed
	e.closeOnce.Do(func() {
		err = nil
		for _, p := range []*pipeBuf{e.r, e.w} {
			p.mu.Lock()
			if p == e.r {
				p.rclosed = true
			} else {
				p.wclosed = true
			}
			p.notifyLocked()
			p.mu.Unlock()
		}
	})
	return err
}

func (e *pipeEnd) LocalAddr() net.Addr  { return e.local }
func (e *pipeEnd) RemoteAddr() net.Addr { return e.remote }

func (e *pipeEnd) SetDeadline(t time.Time) error {
	e.dmu.Lock()
	e.rdl, e.wdl = t, t
	e.dmu.Unlock()
	e.poke()
	return nil
}

func (e *pipeEnd) SetReadDeadline(t time.Time) error {
	e.dmu.Lock()
	e.rdl = t
	e.dmu.Unlock()
	e.poke()
	return nil
}

func (e *pipeEnd) SetWriteDeadline(t time.Time) error {
	e.dmu.Lock()
	e.wdl = t
	e.dmu.Unlock()
	e.poke()
	return nil
}

// poke wakes blocked readers and writers so they see a new deadline.
func (e *pipeEnd) poke() {
	for _, p := range []*pipeBuf{e.r, e.w} {
		p.mu.Lock()
		p.notifyLocked()
		p.mu.Unlock()
	}
}
