package zmtp

import (
	"io"
	"net"
	"sync"
)

// Sizes of the send path. Frames are encoded into one buffer that is
// written when full or on Flush, so many small messages leave in one
// system call. A frame of at least DirectWriteThreshold octets is not
// copied: its body is gathered, with the buffered bytes around it, into
// one vectored write (writev) made on Flush or when maxGather octets
// (maxSealedGather on an encrypted connection) or maxGatherVec pieces are
// pending.
const (
	// DefaultWriteBufferSize is the send buffer of a connection.
	DefaultWriteBufferSize = 32 << 10
	// DirectWriteThreshold is the body size from which frames are written
	// from the caller's memory instead of being copied.
	DirectWriteThreshold = 8 << 10

	// maxGather is large because over loopback tcp the size of each
	// write decides throughput: the kernel's cost is per call more than
	// per octet. 2 MiB instead of 256 KiB per writev made 64 KiB
	// messages 15 to 25 % faster (docs/PERFORMANCE.md). The bodies are
	// the senders' own, so it costs no memory.
	maxGather = 2 << 20
	// maxSealedGather bounds what an encrypted connection gathers: its
	// bodies are sealed copies, which the connection keeps for reuse
	// (Conn.releaseSealed), so it bounds memory; there, sealing is the
	// cost, not the writes.
	maxSealedGather = 256 << 10
	maxGatherVec    = 64
)

// frameWriter encodes frames into a buffer and writes them in batches.
type frameWriter struct {
	w      io.Writer
	buf    []byte
	mark   int         // buf[:mark] is already in vec
	vec    net.Buffers // pending pieces: parts of buf and uncopied bodies
	vecArr net.Buffers // vec's array, kept across writes (WriteTo consumes vec)
	vecLen int         // octets of uncopied bodies in vec
	err    error       // sticky: after a failed write nothing more is written
	limit  int         // flush when buf would grow past this
	gather int         // write once this many octets of bodies are gathered
	pooled bool        // buf comes from writeBufPool and goes back when empty
	box    *[]byte     // the pool's box for buf, kept so that giving it back does not allocate
}

// writeBufPool holds send buffers of DefaultWriteBufferSize. A writer
// takes one when it has something to encode and gives it back whenever a
// flush leaves it empty, so that a connection with nothing to send holds
// none.
var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, DefaultWriteBufferSize); return &b }}

// newHandshakeWriter returns a writer with the small buffer of the
// handshake phase; grow gives it its full size.
func newHandshakeWriter(w io.Writer) frameWriter {
	return frameWriter{w: w, buf: make([]byte, 0, handshakeBufferSize), limit: handshakeBufferSize, gather: maxSealedGather}
}

// grow enlarges the batch buffer to size octets (under 512: the default),
// keeping what is buffered.
func (fw *frameWriter) grow(size int) {
	if size < 512 {
		size = DefaultWriteBufferSize
	}
	fw.limit = size
	if size == DefaultWriteBufferSize && len(fw.buf) == 0 {
		fw.buf, fw.pooled = nil, true // taken from the pool when needed
		return
	}
	if cap(fw.buf) < size {
		fw.buf = append(make([]byte, 0, size), fw.buf...)
	}
}

// take makes sure the buffer is held.
func (fw *frameWriter) take() {
	if fw.buf == nil && fw.pooled {
		fw.box = writeBufPool.Get().(*[]byte)
		fw.buf, *fw.box = (*fw.box)[:0], nil
	}
}

// writeFrame encodes one frame. Small bodies are copied into the buffer; a
// large one is referenced, uncopied, until the next flush.
func (fw *frameWriter) writeFrame(flags byte, body []byte) error {
	if fw.err != nil {
		return fw.err
	}
	fw.take()
	if len(body) >= DirectWriteThreshold {
		fw.buf = AppendFrameHeader(fw.buf, flags, len(body))
		if fw.vecArr == nil {
			fw.vecArr = make(net.Buffers, 0, maxGatherVec+1)
		}
		if fw.vec == nil {
			fw.vec = fw.vecArr[:0]
		}
		fw.vec = append(fw.vec, fw.buf[fw.mark:], body)
		fw.mark = len(fw.buf)
		fw.vecLen += len(body)
		if fw.vecLen >= fw.gather || len(fw.vec) >= maxGatherVec {
			return fw.flush()
		}
		return nil
	}
	if len(fw.buf)+MaxFrameHeader+len(body) > fw.limit && len(fw.buf) > 0 {
		if err := fw.flush(); err != nil {
			return err
		}
		fw.take()
	}
	fw.buf = AppendFrameHeader(fw.buf, flags, len(body))
	fw.buf = append(fw.buf, body...)
	return nil
}

// writeRaw appends already encoded bytes (a command frame).
func (fw *frameWriter) writeRaw(b []byte) error {
	if fw.err != nil {
		return fw.err
	}
	fw.take()
	if len(fw.buf)+len(b) > fw.limit && len(fw.buf) > 0 {
		if err := fw.flush(); err != nil {
			return err
		}
		fw.take()
	}
	fw.buf = append(fw.buf, b...)
	return nil
}

// gathering reports whether uncopied bodies wait to be written.
func (fw *frameWriter) gathering() bool { return len(fw.vec) > 0 }

// flush writes what is buffered and gathered. Appending to buf while parts
// of it are in vec is safe even if append moves it: the parts in vec stay
// where they were, complete, until they are written.
func (fw *frameWriter) flush() error {
	if fw.err != nil {
		return fw.err
	}
	var err error
	if len(fw.vec) > 0 {
		if fw.mark < len(fw.buf) {
			fw.vec = append(fw.vec, fw.buf[fw.mark:])
		}
		n := len(fw.vec)
		_, err = fw.vec.WriteTo(fw.w)
		clear(fw.vecArr[:min(n, cap(fw.vecArr))])
		fw.vec, fw.vecLen, fw.mark = nil, 0, 0
	} else if len(fw.buf) > 0 {
		_, err = fw.w.Write(fw.buf)
	}
	fw.buf = fw.buf[:0]
	switch {
	case fw.pooled && fw.buf != nil:
		if cap(fw.buf) == DefaultWriteBufferSize && fw.box != nil {
			*fw.box = fw.buf
			writeBufPool.Put(fw.box)
		}
		fw.box = nil
		fw.buf = nil // a one-off huge command's buffer just goes
	case cap(fw.buf) > 4*fw.limit:
		fw.buf = make([]byte, 0, fw.limit) // let a one-off huge command go
	}
	fw.err = err
	return err
}
