package zmtp

import (
	"fmt"
	"io"
)

// Sizes of the receive path. A frame no larger than the read buffer is read
// into it and copied out once; small frames are carved out of a shared slab
// instead of one allocation each. A larger frame is read straight into its
// own body, which starts at firstChunk (4 KiB during the handshake; or the
// declared size, if smaller) and
// doubles only as bytes arrive, so a declared size never drives an
// allocation: memory held for a frame stays under twice the bytes received
// plus firstChunk.
const (
	// DefaultReadBufferSize is the receive buffer of a connection.
	DefaultReadBufferSize = 16 << 10
	firstChunk            = 64 << 10
	slabSize              = 16 << 10
	slabFrameMax          = 512
	// FrameOverhead is charged per frame against MaxMsgSize, so that a flood
	// of empty frames is bounded too (reliability matrix R05).
	FrameOverhead = 32
	// maxHandshakeCommand caps command frames during the handshake,
	// separately from MaxMsgSize. It leaves room for large INITIATE
	// metadata.
	maxHandshakeCommand = 1 << 20
	// handshakeBufferSize and handshakeChunk size the read and write
	// buffers until the handshake is done, so that a connection that
	// never completes it holds little memory (DESIGN.md D6): the buffers
	// grow to their configured sizes once the peer is ready.
	handshakeBufferSize = 512
	handshakeChunk      = 4 << 10
)

// frameReader decodes frames from a byte stream. It is used by one
// goroutine at a time.
type frameReader struct {
	r          io.Reader
	buf        []byte // buf[start:end] holds bytes read but not yet decoded
	start, end int
	slab       []byte // free space for carving small frame bodies
	chunk      int    // first allocation for a body larger than buf
	err        error  // sticky read error, returned once buffered bytes are used
}

// newHandshakeReader returns a reader with the small buffers of the
// handshake phase; grow gives it its full size.
func newHandshakeReader(r io.Reader) frameReader {
	return frameReader{r: r, buf: make([]byte, handshakeBufferSize), chunk: handshakeChunk}
}

// grow enlarges the buffer to size octets (under 256: the default),
// keeping what is buffered, and lifts the first chunk to its full size.
func (fr *frameReader) grow(size int) {
	if size < 256 {
		size = DefaultReadBufferSize
	}
	fr.chunk = firstChunk
	if size <= len(fr.buf) {
		return
	}
	buf := make([]byte, size)
	fr.end = copy(buf, fr.buf[fr.start:fr.end])
	fr.start = 0
	fr.buf = buf
}

func (fr *frameReader) buffered() int { return fr.end - fr.start }

// fill reads at least once from the underlying reader, making room first.
func (fr *frameReader) fill() error {
	if fr.err != nil {
		return fr.err
	}
	if fr.start == fr.end {
		fr.start, fr.end = 0, 0
	} else if fr.end == len(fr.buf) {
		fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start = 0
	}
	for {
		n, err := fr.r.Read(fr.buf[fr.end:])
		fr.end += n
		if err != nil {
			fr.err = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// need makes at least n (≤ len(buf)) bytes available and returns them,
// without consuming them.
func (fr *frameReader) need(n int) ([]byte, error) {
	if len(fr.buf)-fr.start < n && fr.start > 0 {
		fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start = 0
	}
	for fr.buffered() < n {
		if err := fr.fill(); err != nil {
			if err == io.EOF && fr.buffered() > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return fr.buf[fr.start : fr.start+n], nil
}

// consume drops n buffered bytes.
func (fr *frameReader) consume(n int) { fr.start += n }

// readHeader decodes the next frame header. limit is the largest body
// accepted (negative: no limit but the protocol's).
func (fr *frameReader) readHeader(limit int64) (flags byte, size int, err error) {
	b, err := fr.need(2)
	if err != nil {
		return 0, 0, err
	}
	if b[0]&FlagLong != 0 {
		if b, err = fr.need(MaxFrameHeader); err != nil {
			return 0, 0, err
		}
	}
	flags, usize, n, err := ParseFrameHeader(b)
	if err != nil {
		return 0, 0, err
	}
	fr.consume(n)
	if limit >= 0 && usize > uint64(limit) {
		return 0, 0, fmt.Errorf("%w: frame of %d octets, limit %d", ErrMsgTooLarge, usize, limit)
	}
	if usize > uint64(maxInt) {
		return 0, 0, fmt.Errorf("%w: frame of %d octets", ErrMsgTooLarge, usize)
	}
	return flags, int(usize), nil
}

const maxInt = int(^uint(0) >> 1)

// readBody reads a body of size octets. When own is false and the body fits
// the read buffer, the result aliases the buffer and is valid until the next
// read; otherwise the caller owns it.
func (fr *frameReader) readBody(size int, own bool) ([]byte, error) {
	if size <= len(fr.buf) {
		b, err := fr.need(size)
		if err != nil {
			return nil, noEOF(err)
		}
		fr.consume(size)
		if !own {
			return b, nil
		}
		return fr.carve(b), nil
	}
	return fr.readLarge(size)
}

// carve returns an owned copy of b, cut from the slab when b is small.
func (fr *frameReader) carve(b []byte) []byte {
	if len(b) > slabFrameMax {
		return append(make([]byte, 0, len(b)), b...)
	}
	if len(b) == 0 {
		return []byte{}
	}
	if len(fr.slab) < len(b) {
		fr.slab = make([]byte, slabSize)
	}
	out := fr.slab[:len(b):len(b)]
	fr.slab = fr.slab[len(b):]
	copy(out, b)
	return out
}

// readLarge reads a body larger than the read buffer, growing it only as
// bytes arrive.
func (fr *frameReader) readLarge(size int) ([]byte, error) {
	body := make([]byte, 0, min(size, max(fr.chunk, fr.buffered())))
	n := min(fr.buffered(), size)
	body = append(body, fr.buf[fr.start:fr.start+n]...)
	fr.consume(n)
	for len(body) < size {
		if len(body) == cap(body) {
			grown := make([]byte, len(body), min(size, 2*cap(body)))
			copy(grown, body)
			body = grown
		}
		if fr.err != nil {
			return nil, noEOF(fr.err)
		}
		m, err := fr.r.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil && len(body) < size {
			fr.err = err
			return nil, noEOF(err)
		}
	}
	return body, nil
}

// noEOF turns EOF in the middle of a frame into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
