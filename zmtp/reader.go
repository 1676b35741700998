package zmtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
)

// Sizes of the receive path. A frame of up to DirectReadThreshold octets
// (and no larger than the read buffer) is read into the buffer, many at a
// time, and copied out once; small frames are carved out of a shared slab
// instead of one allocation each. A larger frame is read straight into its
// own body: at once when it is no larger than firstChunk (4 KiB during the
// handshake), else in chunks of that size taken only as bytes arrive and
// assembled at the end, so a declared size never drives an allocation:
// memory held for an incomplete frame stays under the bytes received plus
// one chunk.
const (
	// DefaultReadBufferSize is the receive buffer of a connection. An idle
	// connection gives it back (see frameReader), so only connections with
	// data waiting hold one.
	DefaultReadBufferSize = 64 << 10
	// DirectReadThreshold is the largest frame read through the buffer;
	// a larger one is read straight into its own body.
	DirectReadThreshold = 16 << 10
	firstChunk          = 64 << 10
	slabSize            = 16 << 10
	slabFrameMax        = 512
	slabKeepMin         = 1 << 10 // a smaller free part is not worth giving back
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
//
// Once the handshake is done, a reader on a network connection (one that
// is a syscall.Conn: tcp, unix) reads through the runtime's poller itself
// (rawread_unix.go) and, each time it would wait with nothing buffered,
// gives its read buffer and the free part of its slab back to pools and
// calls onIdle: a connection waiting for its peer holds neither, so ten
// thousand idle peers cost no buffers, and a busy one takes the same buffer
// back at once.
type frameReader struct {
	r          io.Reader
	buf        []byte  // buf[start:end] holds bytes read but not yet decoded; nil when given back
	size       int     // len(buf) when it is held
	pooled     bool    // buf comes from and returns to readBufPool
	bufBox     *[]byte // the pool's box for buf, kept so that giving it back does not allocate
	start, end int
	slab       []byte  // space for carving small frame bodies (slab.go)...
	slabUsed   int     // ...of which slab[:slabUsed] is taken (an offset: no pointer store per frame)...
	slabEnd    int     // ...and slab[:slabEnd] may be
	slabBox    *[]byte // a box for giving the slab to a pool without allocating
	// slabCounted: the slab counts its references (slab.go); slabRefs
	// is how many it gave, msgInSlab whether the message being read
	// has a body in it, slabTainted whether a message's reference was
	// never taken.
	// more: the frame being read has MORE set (ReadMsg says so).
	slabCounted, msgInSlab, slabTainted, more bool
	slabRefs                                  int
	chunk                                     int   // first allocation for a body larger than buf
	afterLarge                                bool  // the last body was read direct: read little ahead (room)
	err                                       error // sticky read error, returned once buffered bytes are used
	raw                                       rawReader
	onIdle                                    func() // called before each wait for the network (raw reads only)
	// reads counts reads that brought bytes: the heartbeat's sign of
	// life (anything received, as libzmq counts it), one atomic add per
	// read rather than per frame.
	reads atomic.Uint64
}

// readBufPool holds read buffers of DefaultReadBufferSize that idle
// connections gave back.
var readBufPool = sync.Pool{New: func() any { b := make([]byte, DefaultReadBufferSize); return &b }}

// newHandshakeReader returns a reader with the small buffers of the
// handshake phase; grow gives it its full size.
func newHandshakeReader(r io.Reader) frameReader {
	return frameReader{r: r, buf: make([]byte, handshakeBufferSize), size: handshakeBufferSize, chunk: handshakeChunk}
}

// grow enlarges the buffer to size octets (under 256: the default),
// keeping what is buffered, and lifts the first chunk to its full size.
// A buffer of the default size comes from readBufPool.
func (fr *frameReader) grow(size int) {
	if size < 256 {
		size = DefaultReadBufferSize
	}
	fr.chunk = firstChunk
	if size <= fr.size {
		return
	}
	var buf []byte
	if size == DefaultReadBufferSize {
		fr.bufBox = readBufPool.Get().(*[]byte)
		buf, *fr.bufBox = *fr.bufBox, nil
		fr.pooled = true
	} else {
		buf = make([]byte, size)
	}
	fr.end = copy(buf, fr.buf[fr.start:fr.end])
	fr.start = 0
	fr.buf, fr.size = buf, size
}

// takeBuf makes sure the buffer is held (it is nil only when given back,
// empty).
func (fr *frameReader) takeBuf() {
	if fr.buf == nil {
		fr.bufBox = readBufPool.Get().(*[]byte)
		fr.buf, *fr.bufBox = *fr.bufBox, nil
		fr.start, fr.end = 0, 0
	}
}

// idle gives back what a waiting reader need not hold: the buffer, if
// empty and pooled, and the slab (retireSlab); then it calls onIdle.
func (fr *frameReader) idle() {
	if fr.pooled && fr.buf != nil && fr.start == fr.end {
		*fr.bufBox = fr.buf
		readBufPool.Put(fr.bufBox)
		fr.buf, fr.bufBox = nil, nil
	}
	fr.retireSlab()
	if fr.onIdle != nil {
		fr.onIdle()
	}
}

func (fr *frameReader) buffered() int { return fr.end - fr.start }

// makeRoom holds the buffer and moves what is buffered to its start when
// the buffer is full up to its end, so that a read has room.
func (fr *frameReader) makeRoom() {
	fr.takeBuf()
	if fr.start == fr.end {
		fr.start, fr.end = 0, 0
	} else if fr.end == len(fr.buf) {
		fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start = 0
	}
}

// fill reads at least once from the underlying reader, making room first.
func (fr *frameReader) fill() error {
	if fr.err != nil {
		return fr.err
	}
	fr.makeRoom()
	for {
		var n int
		var err error
		if fr.raw.ok() {
			n, err = fr.rawRead()
		} else {
			n, err = fr.r.Read(fr.room())
		}
		fr.end += n
		if err != nil {
			fr.err = err
		}
		if n > 0 {
			fr.reads.Add(1)
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// fillNow is fill without waiting: one read of what the network already
// has, on a connection with raw reads. It reports whether octets came; an
// error is kept for the next fill, as fill keeps it.
func (fr *frameReader) fillNow() bool { return fr.fillOnce(false) }

// fillWait is fillNow that waits through the poller until octets come or
// the read deadline passes, which is not an error here (WaitRead).
func (fr *frameReader) fillWait() bool { return fr.fillOnce(true) }

func (fr *frameReader) fillOnce(wait bool) bool {
	if fr.err != nil || !fr.raw.ok() {
		return false
	}
	fr.makeRoom()
	if len(fr.room()) == 0 {
		return false // a frame larger than the buffer: fill reads it
	}
	var n int
	var err error
	if wait {
		n, err = fr.rawReadWait()
	} else {
		n, err = fr.rawReadNow()
	}
	fr.end += n
	if err != nil && !(wait && errors.Is(err, os.ErrDeadlineExceeded)) {
		fr.err = err
	}
	if n > 0 {
		fr.reads.Add(1)
	}
	return n > 0
}

// afterLargeRead is how far the reader reads ahead after a body it read
// direct: in a stream of large frames, what it reads ahead of the next
// header is mostly that frame's body, which is then copied out of the
// buffer rather than read straight into its own memory.
const afterLargeRead = 4 << 10

// room is the part of the buffer the next read may fill.
func (fr *frameReader) room() []byte {
	end := len(fr.buf)
	if fr.afterLarge {
		end = min(end, fr.end+afterLargeRead)
	}
	return fr.buf[fr.end:end]
}

// need makes at least n (≤ len(buf)) bytes available and returns them,
// without consuming them.
func (fr *frameReader) need(n int) ([]byte, error) {
	fr.takeBuf()
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

// complete reports whether the buffer holds a whole data message: frames
// up to one without MORE, after any complete commands. A malformed header
// counts as complete (reading it fails at once).
func (fr *frameReader) complete() bool {
	b := fr.buf[fr.start:fr.end]
	if len(b) >= 2 && b[0] == 0 {
		return len(b)-2 >= int(b[1]) // the common case: a short final frame
	}
	if len(b) >= MaxFrameHeader && b[0] == FlagLong {
		size := binary.BigEndian.Uint64(b[1:MaxFrameHeader]) // a long final frame
		return size > math.MaxInt64 || uint64(len(b)-MaxFrameHeader) >= size
	}
	for {
		flags, size, n, err := ParseFrameHeader(b)
		if err != nil {
			return true
		}
		if n == 0 || uint64(len(b)-n) < size {
			return false
		}
		b = b[n+int(size):]
		if flags&(FlagCommand|FlagMore) == 0 {
			return true
		}
	}
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

// readBody reads a body of size octets. When own is false and the body is
// read through the buffer (not direct), the result aliases the buffer and
// is valid until the next read; otherwise the caller owns it (when own is
// false, as a scratch body: see readLarge).
func (fr *frameReader) readBody(size int, own bool) ([]byte, error) {
	if !fr.direct(size) {
		fr.afterLarge = false
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
	fr.afterLarge = true
	return fr.readLarge(size, !own)
}

// direct reports whether readBody reads a body of size octets straight
// into its own memory (readLarge) rather than through the buffer.
func (fr *frameReader) direct(size int) bool {
	return size > min(fr.size, DirectReadThreshold)
}

// readLarge reads a body readBody does not read through the buffer (see
// direct). A body of up to the first chunk (or of what is already
// buffered), or one a recycled body is there for (recycle.go), is read
// straight into its body. A larger one is read into chunks of that size
// taken only as bytes arrive, and assembled once it is complete: while a
// body is incomplete the reader holds at most the bytes received plus one
// chunk, or memory that existed already, whatever size its header declared
// (reliability matrix item 2). The chunks of full size come from and go
// back to chunkPool, so a stream of large messages costs one allocation
// (the body) and one copy per frame, and none when its bodies are
// recycled. A scratch body is one the connection recycles itself once
// used.
func (fr *frameReader) readLarge(size int, scratch bool) ([]byte, error) {
	body := recycledBody(size, scratch)
	if body == nil && size <= max(fr.chunk, fr.buffered()) {
		body = freshBody(size, scratch) // the pool was just asked
	}
	if body != nil {
		n := copy(body, fr.buf[fr.start:fr.end])
		fr.consume(n)
		if err := fr.readFullAhead(body[n:]); err != nil {
			return nil, err
		}
		return body, nil
	}
	var chunks []*[]byte
	defer func() {
		for _, c := range chunks {
			putChunk(c)
		}
	}()
	received := 0
	for received < size {
		c := fr.getChunk(min(size-received, max(fr.chunk, fr.buffered())))
		chunks = append(chunks, c)
		n := copy(*c, fr.buf[fr.start:fr.end])
		fr.consume(n)
		if err := fr.readFull((*c)[n:]); err != nil {
			return nil, err
		}
		received += len(*c)
	}
	body = newBody(size, scratch)[:0]
	for _, c := range chunks {
		body = append(body, *c...)
	}
	return body, nil
}

// readFull fills p from the connection, past the read buffer (which the
// caller has emptied).
func (fr *frameReader) readFull(p []byte) error {
	for len(p) > 0 {
		if fr.err != nil {
			return noEOF(fr.err)
		}
		m, err := fr.r.Read(p)
		if m > 0 {
			fr.reads.Add(1)
		}
		p = p[m:]
		if err != nil && len(p) > 0 {
			fr.err = err
			return noEOF(err)
		}
	}
	return nil
}

// readFullAhead is readFull for the rest of a body when the read buffer
// is empty: each read fills p and then, in the same system call (readv),
// up to afterLargeRead octets of the buffer, so that a stream of large
// frames takes one read per frame, not one for the body and one for the
// next header. Without raw reads it is readFull.
func (fr *frameReader) readFullAhead(p []byte) error {
	for len(p) > 0 {
		if fr.err != nil {
			return noEOF(fr.err)
		}
		if fr.buffered() != 0 {
			return fr.readFull(p)
		}
		fr.takeBuf()
		fr.start, fr.end = 0, 0
		m, ok, err := fr.rawReadv(p, fr.buf[:min(len(fr.buf), afterLargeRead)])
		if !ok {
			return fr.readFull(p)
		}
		if m > 0 {
			fr.reads.Add(1)
		}
		if m > len(p) {
			fr.end = m - len(p)
			m = len(p)
		}
		p = p[m:]
		if err != nil && len(p) > 0 {
			fr.err = err
			return noEOF(err)
		}
	}
	return nil
}

// chunkPool holds the firstChunk-sized chunks of large bodies being read.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, firstChunk); return &b }}

// getChunk returns a chunk of n octets: a pooled one when n is the full
// chunk size, else (the last piece of a body, or the small chunks of the
// handshake phase) one of its own.
func (fr *frameReader) getChunk(n int) *[]byte {
	if n == firstChunk {
		c := chunkPool.Get().(*[]byte)
		*c = (*c)[:firstChunk]
		return c
	}
	b := make([]byte, n)
	return &b
}

// putChunk gives a pooled chunk back.
func putChunk(c *[]byte) {
	if cap(*c) == firstChunk {
		chunkPool.Put(c)
	}
}

// noEOF turns EOF in the middle of a frame into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
