package zmtp

import (
	"io"
	"net"
)

// Sizes of the send path. Frames are encoded into one buffer that is
// written when full or on Flush, so many small messages leave in one
// system call. A frame of at least DirectWriteThreshold octets is not
// copied: it goes out with the buffered bytes in one vectored write.
const (
	// DefaultWriteBufferSize is the send buffer of a connection.
	DefaultWriteBufferSize = 32 << 10
	// DirectWriteThreshold is the body size from which frames are written
	// from the caller's memory instead of being copied.
	DirectWriteThreshold = 8 << 10
)

// frameWriter encodes frames into a buffer and writes them in batches.
type frameWriter struct {
	w     io.Writer
	buf   []byte
	vec   [2][]byte
	bufs  net.Buffers
	err   error // sticky: after a failed write nothing more is written
	limit int   // flush when buf would grow past this
}

// newHandshakeWriter returns a writer with the small buffer of the
// handshake phase; grow gives it its full size.
func newHandshakeWriter(w io.Writer) frameWriter {
	return frameWriter{w: w, buf: make([]byte, 0, handshakeBufferSize), limit: handshakeBufferSize}
}

// grow enlarges the batch buffer to size octets (under 512: the default),
// keeping what is buffered.
func (fw *frameWriter) grow(size int) {
	if size < 512 {
		size = DefaultWriteBufferSize
	}
	fw.limit = size
	if cap(fw.buf) < size {
		fw.buf = append(make([]byte, 0, size), fw.buf...)
	}
}

// writeFrame encodes one frame. Small bodies are copied into the buffer; a
// large one is written at once, uncopied, after what is buffered. When it
// returns, body is no longer referenced.
func (fw *frameWriter) writeFrame(flags byte, body []byte) error {
	if fw.err != nil {
		return fw.err
	}
	if len(body) >= DirectWriteThreshold {
		fw.buf = AppendFrameHeader(fw.buf, flags, len(body))
		fw.vec[0], fw.vec[1] = fw.buf, body
		fw.bufs = fw.vec[:]
		_, err := fw.bufs.WriteTo(fw.w)
		fw.vec[0], fw.vec[1] = nil, nil
		fw.buf = fw.buf[:0]
		fw.err = err
		return err
	}
	if len(fw.buf)+MaxFrameHeader+len(body) > fw.limit && len(fw.buf) > 0 {
		if err := fw.flush(); err != nil {
			return err
		}
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
	if len(fw.buf)+len(b) > fw.limit && len(fw.buf) > 0 {
		if err := fw.flush(); err != nil {
			return err
		}
	}
	fw.buf = append(fw.buf, b...)
	return nil
}

// flush writes what is buffered.
func (fw *frameWriter) flush() error {
	if fw.err != nil {
		return fw.err
	}
	if len(fw.buf) == 0 {
		return nil
	}
	_, err := fw.w.Write(fw.buf)
	fw.buf = fw.buf[:0]
	if cap(fw.buf) > 4*fw.limit {
		fw.buf = make([]byte, 0, fw.limit) // let a one-off huge command go
	}
	fw.err = err
	return err
}
