package zmtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is a ZMTP connection after its handshake: it reads and writes whole
// messages. One goroutine may read (ReadMsg) while others write: writes are
// serialised by a mutex that is never held by the reader while it waits for
// bytes. Commands from the peer never reach the caller: PING is answered
// with a PONG echoing its context, PONG and unknown commands are dropped,
// and SUBSCRIBE/CANCEL reach publishers (PUB, XPUB) as 3.0-form messages.
type Conn struct {
	nc       net.Conn
	cfg      Config
	peer     Greeting
	peerType SocketType
	peerMeta Metadata
	authMeta Metadata
	userID   string
	cipher   Cipher

	// Read side: owned by the goroutine in ReadMsg.
	rd       frameReader
	maxMsg   int64     // < 0: unlimited
	ttlArmed bool      // a peer PING's TTL deadline is set on nc
	wait     waitState // WaitRead's deadline, against Interrupt (waitread.go)

	// Write side.
	wmu        sync.Mutex
	wr         frameWriter
	sealed     []byte   // scratch for sealing frames, under wmu
	sealedBusy [][]byte // sealed bodies the writer holds uncopied until its next write, under wmu
	sealedFree [][]byte // sealed buffers the writer has let go, reused, under wmu
	pendMu     sync.Mutex
	pending    [][]byte // command bodies queued by the reader or heartbeat
	hasPending atomic.Bool

	closeOnce sync.Once
	closing   chan struct{}
	closed    atomic.Bool // set as closing is closed: checked per message written
	closeMu   sync.Mutex
	closeErr  error       // why the connection ended, first cause wins
	failed    atomic.Bool // closeErr is set: reads fail at once
	hbDone    chan struct{}
}

func newConn(nc net.Conn, cfg Config) *Conn {
	c := &Conn{
		nc:      nc,
		cfg:     cfg,
		rd:      newHandshakeReader(nc),
		wr:      newHandshakeWriter(nc),
		maxMsg:  cfg.MaxMsgSize,
		closing: make(chan struct{}),
	}
	if c.maxMsg <= 0 {
		c.maxMsg = -1
	}
	return c
}

// start gives the connection its full-size buffers and begins its
// background work, once the handshake is done.
func (c *Conn) start() {
	c.rd.grow(c.cfg.ReadBufferSize)
	c.rd.useRaw(c.nc)
	c.wr.grow(c.cfg.WriteBufferSize)
	if c.cipher == nil {
		c.wr.gather = maxGather
	}
	if c.cfg.HeartbeatInterval > 0 {
		c.hbDone = make(chan struct{})
		go c.heartbeat()
	}
}

// PeerSocketType is the peer's Socket-Type.
func (c *Conn) PeerSocketType() SocketType { return c.peerType }

// PeerIdentity is the Identity the peer announced (empty if none).
func (c *Conn) PeerIdentity() []byte {
	id, _ := c.peerMeta.Get(PropIdentity)
	return id
}

// PeerMetadata is every property the peer sent in its READY or INITIATE.
func (c *Conn) PeerMetadata() Metadata { return c.peerMeta }

// AuthMetadata is the metadata the Authenticator attached to this peer.
func (c *Conn) AuthMetadata() Metadata { return c.authMeta }

// UserID is the user id the Authenticator gave this peer ("" if none).
func (c *Conn) UserID() string { return c.userID }

// PeerGreeting is the peer's greeting; its Minor is 0 for a ZMTP 3.0 peer.
func (c *Conn) PeerGreeting() Greeting { return c.peer }

// PeerSpeaks31 reports whether the peer understands ZMTP 3.1 commands
// (SUBSCRIBE, CANCEL).
func (c *Conn) PeerSpeaks31() bool { return c.peer.Major > 3 || c.peer.Minor >= 1 }

// RemoteAddr is the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn is the connection c runs over, as crypto/tls's Conn.NetConn:
// for its socket options, say. Reading from or writing to it directly
// corrupts the ZMTP stream.
func (c *Conn) NetConn() net.Conn { return c.nc }

// LocalAddr is the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// ReadMsg reads the next message and appends its frames to dst. The frames
// are owned by the caller. It must not be called from two goroutines at
// once. Errors are final: the connection is unusable afterwards.
func (c *Conn) ReadMsg(dst [][]byte) ([][]byte, error) {
	if c.failed.Load() {
		return dst, c.Err()
	}
	c.rd.startMsg()
	if body, ok := c.readSmall(); ok {
		return append(dst, body), nil
	}
	first := len(dst)
	var total int64
	for {
		limit := int64(-1)
		if c.maxMsg >= 0 {
			limit = c.maxMsg - total - FrameOverhead
			if limit < 0 {
				return dst[:first], c.readErr(fmt.Errorf("%w: more than %d octets", ErrMsgTooLarge, c.maxMsg))
			}
		}
		flags, size, err := c.rd.readHeader(limit)
		if err != nil {
			if len(dst) > first {
				err = noEOF(err) // the peer left in the middle of a message
			}
			return dst[:first], c.readErr(err)
		}
		if c.ttlArmed {
			c.ttlArmed = false
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		if flags&FlagCommand != 0 && flags&FlagMore != 0 {
			return dst[:first], c.readErr(fmt.Errorf("%w: command frame with MORE set", ErrProtocol))
		}
		var body []byte
		if c.cipher != nil {
			// libzmq sends MESSAGE as a single data frame (flags 0), the
			// RFC as a command frame: take either, never with MORE.
			if flags&FlagMore != 0 {
				return dst[:first], c.readErr(fmt.Errorf("%w: encrypted frame with MORE set", ErrProtocol))
			}
			sealed, err := c.rd.readBody(size, false)
			if err != nil {
				return dst[:first], c.readErr(err)
			}
			flags, body, err = c.cipher.Open(sealed)
			if err == nil && flags&FlagCommand == 0 {
				c.rd.more = flags&FlagMore != 0
				body = c.rd.carve(body)
			}
			if c.rd.direct(size) && (err != nil || flags&FlagCommand == 0) {
				// A scratch body of its own (readLarge), which the
				// payload no longer needs: the next one reuses it.
				keepBody(sealed)
			}
			if err != nil {
				return dst[:first], c.readErr(err)
			}
		} else {
			c.rd.more = flags&FlagMore != 0
			if body, err = c.rd.readBody(size, flags&FlagCommand == 0); err != nil {
				return dst[:first], c.readErr(err)
			}
		}
		if flags&FlagCommand != 0 {
			if len(dst) > first {
				return dst[:first], c.readErr(fmt.Errorf("%w: command inside a multipart message", ErrProtocol))
			}
			msg, err := c.handleCommand(body)
			if err != nil {
				return dst[:first], c.readErr(err)
			}
			if msg != nil {
				return append(dst, msg), nil
			}
			continue
		}
		total += int64(size) + FrameOverhead
		dst = append(dst, body)
		if flags&FlagMore == 0 {
			return dst, nil
		}
	}
}

// SlabRef returns a reference to the shared memory the small frames of the
// message ReadMsg just returned were copied into, or nil if there is none
// to give back (no small frame, or recycling not in use: see Recycle).
// Once nothing uses the message's frames any more, RecycleRef(ref), with
// Recycle(frames...) for its large ones, lets later messages be read into
// that memory instead of new allocations. Call it, if at all, before the
// next ReadMsg; a message whose reference is not taken keeps its slab from
// being recycled (it is collected as usual).
func (c *Conn) SlabRef() []byte { return c.rd.slabRef() }

// OnIdle sets a function the reading goroutine calls, inside ReadMsg,
// each time it is about to wait for the network: the moment for a caller
// that batches to let go of what an idle connection need not hold. (The
// connection itself gives back its read buffer and slab then.) It is
// called only on network connections (tcp, unix), which OnIdle reports;
// set it before the first ReadMsg. f may block; the connection's reading
// is paused meanwhile.
func (c *Conn) OnIdle(f func()) bool {
	c.rd.onIdle = f
	return c.rd.raw.ok()
}

// MsgReady reports whether ReadMsg would return without waiting for the
// network: a whole message (after any commands) is already buffered, or
// the connection has failed. A reader that hands messages on in batches
// reads while MsgReady holds, then hands over what it has. It is false on
// an encrypted connection, whose frames are opened one at a time.
func (c *Conn) MsgReady() bool {
	if c.failed.Load() {
		return true
	}
	return c.cipher == nil && c.rd.complete()
}

// ReadNow reads what the network already holds for the connection into
// its buffer, without waiting, and reports whether anything came. It is
// for a caller that takes only whole messages (MsgReady) and leaves the
// waiting to another goroutine: a read error is kept for the next
// ReadMsg, which returns it. Like ReadMsg, it must not run concurrently
// with another read of the connection. It is false on connections
// without raw reads (OnIdle says which) and once the connection failed.
func (c *Conn) ReadNow() bool {
	if c.failed.Load() {
		return false
	}
	return c.rd.fillNow()
}

// readSmall is ReadMsg's fast path: a whole one-frame message of up to
// slabFrameMax octets already buffered (with a short header, or a long
// one), on a connection that is not encrypted and awaits no PING TTL, is
// cut out of the buffer without the general loop. ok is false when the
// general path must run.
func (c *Conn) readSmall() (body []byte, ok bool) {
	fr := &c.rd
	b := fr.buf[fr.start:fr.end]
	if len(b) < 2 || b[0]&(FlagMore|FlagCommand) != 0 || c.cipher != nil || c.ttlArmed {
		return nil, false
	}
	h, size := 2, int(b[1])
	if b[0]&FlagLong != 0 {
		if len(b) < MaxFrameHeader {
			return nil, false
		}
		long := binary.BigEndian.Uint64(b[1:MaxFrameHeader])
		if long > slabFrameMax {
			return nil, false
		}
		h, size = MaxFrameHeader, int(long)
	}
	if len(b)-h < size || (c.maxMsg >= 0 && int64(size)+FrameOverhead > c.maxMsg) {
		return nil, false
	}
	fr.start += h + size
	fr.afterLarge = false
	return fr.carve(b[h : h+size]), true
}

// handleCommand acts on a command received after the handshake. It returns
// a message to deliver for subscriptions, nil otherwise.
func (c *Conn) handleCommand(body []byte) ([]byte, error) {
	name, data, err := ParseCommand(body)
	if err != nil {
		return nil, err
	}
	switch string(name) {
	case CmdPing:
		ttl, ctx, err := ParsePing(data)
		if err != nil {
			return nil, err
		}
		c.queueControl(AppendPong(nil, ctx))
		if ttl > 0 {
			c.ttlArmed = true
			_ = c.nc.SetReadDeadline(time.Now().Add(ttl))
		}
	case CmdSubscribe, CmdCancel:
		if c.cfg.SocketType.receivesSubscriptions() {
			msg := make([]byte, 1+len(data))
			if string(name) == CmdSubscribe {
				msg[0] = 1
			}
			copy(msg[1:], data)
			return msg, nil
		}
	case CmdError:
		reason, err := ParseError(data)
		if err != nil {
			return nil, err
		}
		return nil, &PeerError{Reason: reason}
	}
	// PONG only proves liveness, which every frame does; other commands are
	// ignored, as libzmq ignores them.
	return nil, nil
}

// readErr records a read-side failure and explains it.
func (c *Conn) readErr(err error) error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closeErr != nil {
		return c.closeErr
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w: no traffic within the peer's PING TTL", ErrHeartbeatTimeout)
	}
	c.closeErr = err
	c.failed.Store(true)
	return err
}

// WriteMsg encodes a message into the send buffer. Frames of at least
// DirectWriteThreshold octets are written at once, uncopied; the rest waits
// for Flush or a full buffer. The frames may be reused when WriteMsg
// returns.
func (c *Conn) WriteMsg(frames [][]byte) error {
	c.wmu.Lock()
	err := c.writeMsgLocked(frames)
	if err == nil && c.wr.gathering() {
		err = c.flushLocked()
	}
	c.unlockWriter()
	return err
}

// Batch writes many messages under one hold of the connection's write
// lock, for a writer that drains a queue: BeginBatch, any number of
// WriteMsg and WriteSubscription, Flush where the queue is empty, End.
// Small frames are copied into the send buffer; frames of at least
// DirectWriteThreshold octets are referenced, uncopied, and go out with
// the buffer in one vectored write on Flush, on End, or when enough is
// gathered, so they must not be modified until then. PINGs and PONGs the
// connection sends itself go out between batches. A Batch is used by one
// goroutine; it is a small value, made without allocating.
type Batch struct{ c *Conn }

// BeginBatch takes the write lock for a batch. Every BeginBatch must be
// followed by End.
func (c *Conn) BeginBatch() Batch {
	c.wmu.Lock()
	return Batch{c}
}

// WriteMsg encodes a message, as Conn.WriteMsg.
func (b Batch) WriteMsg(frames [][]byte) error { return b.c.writeMsgLocked(frames) }

// WriteMsgAfter encodes one message made of head's frames followed by
// frames' (a REQ's delimiter or a REP's envelope before the body), without
// joining them first.
func (b Batch) WriteMsgAfter(head, frames [][]byte) error {
	if len(head) == 0 {
		return b.c.writeMsgLocked(frames)
	}
	if len(frames) == 0 {
		return b.c.writeMsgLocked(head)
	}
	c := b.c
	if err := c.writable(); err != nil {
		return err
	}
	for _, f := range head {
		if err := c.writeFrameLocked(FlagMore, f); err != nil {
			return c.writeErr(err)
		}
	}
	return c.writeMsgLocked(frames)
}

// SendNow writes one small message from the calling goroutine, when the
// connection is idle: nothing is buffered or being written, and the
// message encodes to at most DirectWriteThreshold octets. It encodes head's frames and then
// frames' and makes one write that does not wait for the kernel. taken
// false means nothing was done (busy, or not a tcp/unix connection): the
// caller writes the message as usual. taken with flushed false means the
// message is encoded but part of it is still buffered, for a later Flush.
// For a latency path (a REQ's request, a REP's reply): a writer goroutine
// need not be woken for a lone message.
func (c *Conn) SendNow(head, frames [][]byte) (taken, flushed bool, err error) {
	if len(frames) == 0 {
		return false, false, nil
	}
	total := 0
	for _, f := range head {
		total += len(f) + MaxFrameHeader
	}
	for _, f := range frames {
		total += len(f) + MaxFrameHeader
	}
	if total > DirectWriteThreshold {
		return false, false, nil // it might fill the buffer, whose write would wait
	}
	if !c.rd.raw.ok() || !c.wmu.TryLock() {
		return false, false, nil
	}
	defer c.unlockWriter()
	if len(c.wr.buf) > 0 || c.wr.gathering() || c.wr.err != nil || c.hasPending.Load() {
		return false, false, nil
	}
	if err := (Batch{c}).WriteMsgAfter(head, frames); err != nil {
		return true, false, err
	}
	n, _, werr := c.rd.writeNow(c.wr.buf)
	if werr != nil {
		c.wr.err = werr
		return true, false, c.writeErr(werr)
	}
	if n == len(c.wr.buf) {
		c.wr.buf = c.wr.buf[:0]
		return true, true, c.flushLocked() // gives the buffer back
	}
	c.wr.buf = c.wr.buf[:copy(c.wr.buf, c.wr.buf[n:])]
	return true, false, nil
}

// WriteSubscription encodes a subscription, as Conn.WriteSubscription.
func (b Batch) WriteSubscription(topic []byte, subscribe bool) error {
	return b.c.writeSubscriptionLocked(topic, subscribe)
}

// Flush writes everything buffered and gathered.
func (b Batch) Flush() error { return b.c.flushLocked() }

// End writes what is gathered uncopied (small frames may stay buffered
// until a later Flush) and releases the write lock.
func (b Batch) End() error {
	var err error
	if b.c.wr.gathering() {
		err = b.c.flushLocked()
	}
	b.c.unlockWriter()
	return err
}

// Flush writes everything buffered.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	err := c.flushLocked()
	c.unlockWriter()
	return err
}

// Send writes a message and flushes it.
func (c *Conn) Send(frames [][]byte) error {
	c.wmu.Lock()
	err := c.writeMsgLocked(frames)
	if err == nil {
		err = c.flushLocked()
	}
	c.unlockWriter()
	return err
}

// WriteSubscription buffers a subscription (subscribe true) or its
// cancellation for topic, in the form the peer speaks: a SUBSCRIBE or
// CANCEL command to a 3.1 peer, a 0x01/0x00-prefixed message to a 3.0 peer.
func (c *Conn) WriteSubscription(topic []byte, subscribe bool) error {
	c.wmu.Lock()
	defer c.unlockWriter()
	return c.writeSubscriptionLocked(topic, subscribe)
}

func (c *Conn) writeSubscriptionLocked(topic []byte, subscribe bool) error {
	if err := c.writable(); err != nil {
		return err
	}
	if c.PeerSpeaks31() {
		name := CmdCancel
		if subscribe {
			name = CmdSubscribe
		}
		body := make([]byte, 0, 1+len(name)+len(topic))
		body = append(append(append(body, byte(len(name))), name...), topic...)
		return c.writeCommandLocked(body)
	}
	msg := make([]byte, 1+len(topic))
	if subscribe {
		msg[0] = 1
	}
	copy(msg[1:], topic)
	return c.writeFrameLocked(0, msg)
}

func (c *Conn) writable() error {
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (c *Conn) writeMsgLocked(frames [][]byte) error {
	if err := c.writable(); err != nil {
		return err
	}
	if len(frames) == 0 {
		return fmt.Errorf("dripdrop: a message needs at least one frame")
	}
	last := len(frames) - 1
	for i, f := range frames {
		flags := FlagMore
		if i == last {
			flags = 0
		}
		if err := c.writeFrameLocked(flags, f); err != nil {
			return c.writeErr(err)
		}
	}
	return nil
}

func (c *Conn) writeFrameLocked(flags byte, body []byte) error {
	if c.cipher == nil {
		return c.wr.writeFrame(flags, body)
	}
	sealed, err := c.cipher.Seal(c.sealed[:0], flags, body)
	if err != nil {
		return err
	}
	c.sealed = sealed
	if len(sealed) >= DirectWriteThreshold {
		// The writer keeps this body uncopied until it writes: seal
		// the next frame elsewhere.
		c.sealedBusy = append(c.sealedBusy, sealed)
		c.sealed = nil
		if n := len(c.sealedFree); n > 0 {
			c.sealed, c.sealedFree[n-1] = c.sealedFree[n-1], nil
			c.sealedFree = c.sealedFree[:n-1]
		}
	}
	// Sent as libzmq sends it: one data frame with no flags.
	err = c.wr.writeFrame(0, sealed)
	c.releaseSealed()
	return err
}

// releaseSealed makes the sealed bodies the writer no longer references
// reusable, once it has written (or dropped) everything it gathered.
func (c *Conn) releaseSealed() {
	if len(c.sealedBusy) == 0 || c.wr.gathering() {
		return
	}
	// Kept for reuse: up to twice maxSealedGather octets of buffers (two gathered
	// writes' worth), so that a stream of large messages seals without
	// allocating and an odd huge one is not kept.
	held := 0
	for _, b := range c.sealedFree {
		held += cap(b)
	}
	for _, b := range c.sealedBusy {
		if held+cap(b) <= 2*maxSealedGather {
			c.sealedFree = append(c.sealedFree, b)
			held += cap(b)
		}
	}
	clear(c.sealedBusy)
	c.sealedBusy = c.sealedBusy[:0]
}

// writeCommandLocked writes a command given its body (name length, name,
// data), sealed when the connection is encrypted.
func (c *Conn) writeCommandLocked(body []byte) error {
	return c.writeFrameLocked(FlagCommand, body)
}

func (c *Conn) flushLocked() error {
	if c.hasPending.Load() {
		c.pendMu.Lock()
		pending := c.pending
		c.pending = nil
		c.hasPending.Store(false)
		c.pendMu.Unlock()
		for _, body := range pending {
			if err := c.writeCommandLocked(body); err != nil {
				return c.writeErr(err)
			}
		}
	}
	err := c.wr.flush()
	c.releaseSealed()
	if err != nil {
		return c.writeErr(err)
	}
	return nil
}

func (c *Conn) writeErr(err error) error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closeErr != nil {
		return c.closeErr
	}
	return err
}

// queueControl queues a command (encoded frame from Append*) for the
// writer and sends it now unless a writer holds the lock, in which case that
// writer sends it when it lets go.
func (c *Conn) queueControl(frame []byte) {
	_, size, n, err := ParseFrameHeader(frame)
	if err != nil || n == 0 || int(size) != len(frame)-n {
		return
	}
	c.pendMu.Lock()
	c.pending = append(c.pending, frame[n:])
	c.hasPending.Store(true)
	c.pendMu.Unlock()
	if c.wmu.TryLock() {
		_ = c.flushLocked()
		c.unlockWriter()
	}
}

// unlockWriter releases the write lock and sends control commands queued
// while it was held.
func (c *Conn) unlockWriter() {
	c.wmu.Unlock()
	for c.hasPending.Load() && c.wmu.TryLock() {
		_ = c.flushLocked()
		c.wmu.Unlock()
	}
}

// Close closes the connection and waits for its heartbeat goroutine. A
// second Close returns ErrClosed.
func (c *Conn) Close() error {
	return c.closeWith(nil)
}

// closeWith closes the connection, recording why when cause is not nil.
func (c *Conn) closeWith(cause error) error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.closeMu.Lock()
		if c.closeErr == nil {
			c.closeErr = cause
			if cause == nil {
				c.closeErr = ErrClosed
			}
		}
		c.failed.Store(true)
		c.closeMu.Unlock()
		c.closed.Store(true)
		close(c.closing)
		c.nc.Close()
	})
	if c.hbDone != nil && cause == nil {
		<-c.hbDone
	}
	if !first {
		return ErrClosed
	}
	return nil
}

// Err returns why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	return c.closeErr
}
