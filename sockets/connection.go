package sockets

import (
	"context"
	"net"
	"runtime"
	"slices"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// admitter is implemented by types that may refuse a ready peer (PAIR
// takes one peer, ROUTER refuses a duplicate identity).
type admitter interface {
	admit(p *pipe) error
}

// claimer is implemented by types that take a limited number of peers
// (PAIR: one). A connection claims its place during the handshake, before
// READY goes out, so that a peer turned away learns it from an ERROR
// (status 300: try again later) instead of believing itself connected and
// writing its queue into a connection about to be closed.
type claimer interface {
	claim(c *claim) bool
	unclaim(c *claim)
}

// claim stands for one connection in a claimer's bookkeeping. It is
// compared by address, so it must not be zero-sized (pointers to
// zero-sized values may all be equal).
type claim struct{ _ byte }

// handshakeConfig is the handshake configuration of one new connection.
// For a claimer, the connection claims its place in the authentication
// step, after the application's own authenticator (if any) has let it in.
func (s *Socket) handshakeConfig(c *claim) zmtp.Config {
	cfg := s.zmtpConfig()
	cl, ok := s.beh.(claimer)
	if !ok {
		return cfg
	}
	user := cfg.Authenticator
	cfg.Authenticator = zmtp.AuthenticatorFunc(func(ctx context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
		res := zmtp.AuthResult{Status: zmtp.StatusOK}
		switch {
		case user != nil:
			var err error
			if res, err = user.Authenticate(ctx, r); err != nil || res.Status != zmtp.StatusOK {
				return res, err
			}
		case r.Mechanism != "NULL" && r.Mechanism != "CURVE":
			// What zmtp does for a PLAIN server with no authenticator.
			return zmtp.AuthResult{Status: zmtp.StatusInternal, StatusText: "no authenticator"}, nil
		}
		if !cl.claim(c) {
			return zmtp.AuthResult{Status: zmtp.StatusTemporary, StatusText: s.typ.String() + " already has a peer"}, nil
		}
		return res, nil
	})
	return cfg
}

// unclaim gives up a connection's claim, if the socket keeps any.
func (s *Socket) unclaim(c *claim) {
	if cl, ok := s.beh.(claimer); ok {
		cl.unclaim(c)
	}
}

// peerInfo describes a handshaken connection.
func peerInfo(zc *zmtp.Conn) *PeerInfo {
	meta := slices.Concat(zc.PeerMetadata(), zc.AuthMetadata())
	info := &PeerInfo{
		SocketType: string(zc.PeerSocketType()),
		Identity:   zc.PeerIdentity(),
		UserID:     zc.UserID(),
		Metadata:   meta,
		network:    true,
	}
	if a := zc.RemoteAddr(); a != nil {
		info.PeerAddress = a.String()
		if h, _, err := net.SplitHostPort(info.PeerAddress); err == nil {
			info.PeerAddress = h
		}
	}
	return info
}

// connectPipe makes p's connection ready: it joins routing, unless the
// behaviour refuses it. c is the connection's claim (see claimer).
func (s *Socket) connectPipe(p *pipe, info *PeerInfo, c *claim) error {
	p.info = info
	p.identity = info.Identity
	p.claim = c
	if a, ok := s.beh.(admitter); ok {
		if err := a.admit(p); err != nil {
			s.unclaim(c)
			return err
		}
	}
	p.mu.Lock()
	p.connected = true
	p.mu.Unlock()
	s.beh.pipeConnected(p)
	return nil
}

// disconnectPipe undoes connectPipe, and removes a bind-side pipe.
func (s *Socket) disconnectPipe(p *pipe) {
	p.mu.Lock()
	p.connected = false
	p.mu.Unlock()
	s.beh.pipeDisconnected(p)
	s.unclaim(p.claim)
	if p.bindSide {
		s.removePipe(p)
	}
}

// serve runs a handshaken network connection on p until it fails or ctx
// ends: the writer in a goroutine, the reader here. It returns why the
// connection ended.
func (s *Socket) serve(ctx context.Context, p *pipe, zc *zmtp.Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	p.setKill(func() { zc.Close() })
	defer p.setKill(nil)
	// The socket closing (after its linger) or the endpoint going ends
	// the connection at once, even with the writer blocked on a peer
	// that does not read.
	stop := context.AfterFunc(ctx, func() { zc.Close() })
	defer stop()
	p.setConn(zc)
	defer p.setConn(nil)
	writerDone := make(chan struct{})
	s.goSafe("writer", func() {
		defer close(writerDone)
		defer cancel()
		s.writeLoop(ctx, p, zc)
		zc.Close()
	})
	err := s.readLoop(ctx, p, zc)
	cancel()
	zc.Close()
	<-writerDone
	if ce := zc.Err(); ce != nil && err == nil {
		err = ce
	}
	return err
}

// Sizes of a reader's batches. A reader reads one message, waiting for it,
// then every further message already whole in its buffer, up to
// maxReadBatch and the room the pipe has under the receive high-water
// mark, and hands them over together: one lock and one wake-up per batch.
const (
	maxReadBatch      = 256
	maxReadBatchBytes = 256 << 10
)

// Each received message's list of frames is cut from a chunk of slots
// shared by the messages read after each other, instead of being a slice
// of its own. A chunk lives as long as the reader holds it or any message
// cut from it lives, and keeps all their frames alive meanwhile, so:
//   - the reader lets go of its chunks whenever it waits for the network
//     (zmtp's OnIdle): an idle connection pins nothing;
//   - chunks start small after each wait and double while messages keep
//     coming, so a lone message costs a small chunk, a stream of them
//     1/maxSmallChunk of an allocation each;
//   - messages with a frame over smallFrameMax (which has an allocation of
//     its own anyway) share chunks of at most maxLargeChunk slots, so the
//     frames a chunk can pin stay bounded, and messages with a frame over
//     hugeFrame get a list of their own.
const (
	minChunk      = 1
	maxSmallChunk = 256
	maxLargeChunk = 16
	smallFrameMax = 512
	hugeFrame     = 256 << 10
)

// frameCarver reads messages with their lists of frames cut from chunks.
// A chunk's slots are never reused once a message holds them, unless the
// chunk is a frameChunk (framechunk.go) and all its messages have been
// released.
type frameCarver struct {
	small, large         [][]byte    // the current chunks...
	smallUsed, largeUsed int         // ...and how many of their slots are taken (offsets: no pointer store per message)
	nextSmall, nextLarge int         // sizes of the next chunks
	headroom             int         // free slots before each message's frames
	counted              *frameChunk // the chunk small is, once messages are released
	pending              *frameChunk // counted, let go of while a message was being read into it
}

// idle lets go of the chunks: the reader is about to wait, in the middle
// of reading a message. A counted chunk is retired with that message
// counted already (see read).
func (fc *frameCarver) idle() {
	if c := fc.counted; c != nil {
		c.issued++
		c.retire()
		fc.counted, fc.pending = nil, c
	}
	fc.small, fc.large = nil, nil
	fc.smallUsed, fc.largeUsed = 0, 0
	fc.nextSmall, fc.nextLarge = 0, 0
}

// retireCounted lets go of the counted chunk, if small is one.
func (fc *frameCarver) retireCounted() {
	if fc.counted != nil {
		fc.counted.retire()
		fc.counted, fc.small, fc.smallUsed = nil, nil, 0
	}
}

// chunk returns a new chunk of at least n slots, its size taken from
// *next, which then doubles up to limit.
func chunk(n int, next *int, limit int) [][]byte {
	size := max(*next, minChunk, n)
	*next = min(2*size, limit)
	return make([][]byte, size)
}

// newSmall replaces the small chunk by one with room for n slots: a
// counted one once messages are released.
func (fc *frameCarver) newSmall(n int) {
	fc.retireCounted()
	if releasing.Load() && n <= chunkSlots {
		fc.counted = newFrameChunk()
		fc.small, fc.smallUsed = fc.counted.slots, 0
		return
	}
	fc.small, fc.smallUsed = chunk(n, &fc.nextSmall, maxSmallChunk), 0
}

func (fc *frameCarver) read(zc *zmtp.Conn) ([][]byte, error) {
	h := fc.headroom
	if len(fc.small)-fc.smallUsed < h+2 || (fc.counted == nil && releasing.Load()) {
		fc.newSmall(h + 2)
	}
	free := fc.small[fc.smallUsed:]
	into := fc.counted
	frames, err := zc.ReadMsg(free[h:h])
	// If the reader went idle meanwhile, into is pending: retired, with
	// this message counted, which must now be given its reference or
	// released.
	pending := fc.pending
	fc.pending = nil
	if err != nil {
		if pending != nil {
			pending.release()
		}
		return nil, err
	}
	ref := zc.SlabRef()
	n := len(frames)
	r := 0 // a slot after the frames for ref (Msg.Release)
	if ref != nil {
		r = 1
	}
	inPlace := cap(frames) == cap(free)-h
	biggest := 0
	for _, f := range frames {
		biggest = max(biggest, len(f))
	}
	var out [][]byte
	switch {
	case biggest <= smallFrameMax && inPlace && into != nil && h+n+1 <= len(free):
		if pending == nil {
			fc.smallUsed += h + n + 1
		}
		out = free[: h+n : h+n+1]
		ref = into.hold(ref, pending == nil) // the chunk gives the slab reference back
		pending = nil
	case biggest <= smallFrameMax && inPlace && into == nil && h+n+r <= len(free):
		fc.smallUsed += h + n + r
		out = free[: h+n : h+n+r]
	case biggest <= smallFrameMax && h == 0 && !inPlace:
		out = frames // outgrew the chunk: append gave it a list of its own
		if r == 1 && cap(out) == n {
			out = append(out, nil)[:n]
		}
	// Below, the frames are copied out: a large message, or a small one
	// that filled the chunk to its end, with no slot left past it.
	case biggest > hugeFrame || h+n+r > maxLargeChunk/2:
		out = append(make([][]byte, h, h+n+r), frames...)
		if inPlace {
			clear(frames) // the small chunk's slots stay free
		}
	default:
		if len(fc.large)-fc.largeUsed < h+n+r {
			fc.large, fc.largeUsed = chunk(h+n+r, &fc.nextLarge, maxLargeChunk), 0
		}
		u := fc.largeUsed
		out = fc.large[u : u+h+n : u+h+n+r]
		fc.largeUsed += h + n + r
		copy(out[h:], frames)
		if inPlace {
			clear(frames)
		}
	}
	if ref != nil {
		out[: len(out)+1 : len(out)+1][len(out)] = ref
	}
	if pending != nil {
		pending.release() // the message is not in it after all
	}
	return out, nil
}

// readLoop hands every message read to the behaviour, in batches. A batch
// goes when it reaches the pipe's room, maxReadBatch messages or
// maxReadBatchBytes, and otherwise when the reader would wait: for small
// messages as soon as no whole message is left in the buffer (zmtp's
// MsgReady), so that a lone message is not delayed by the next read; for
// messages larger than the read buffer, which are read straight into their
// own memory and never wait whole in it, just before the reader waits for
// the network (zmtp's OnIdle), so that a stream of them moves in batches
// too.
func (s *Socket) readLoop(ctx context.Context, p *pipe, zc *zmtp.Conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.stats.panics.Add(1)
			s.opts.logger.Error("dripdrop: reader panicked", "panic", r)
			err = context.Canceled
		}
	}()
	var fr frameCarver
	if _, ok := s.beh.(headroomer); ok {
		fr.headroom = 1
	}
	batch := make([][][]byte, 0, 8) // grows under load
	octets := 0
	failed := false // inbound refused a batch handed over while idle
	hand := func() bool {
		if len(batch) == 0 {
			return true
		}
		ok := s.beh.inbound(ctx, p, batch)
		clear(batch)
		batch, octets = batch[:0], 0
		return ok
	}
	hooked := zc.OnIdle(func() {
		fr.idle()
		if !failed && !hand() {
			failed = true
		}
	})
	limit := maxReadBatch
	lendable := hooked && fr.headroom == 0 && s.lendable()
	var loanTimer *time.Timer
	if lendable {
		loanTimer = time.NewTimer(loanMax)
		loanTimer.Stop()
	}
	waitLend := lendable && s.in.waitOn != nil && !zc.Encrypted()
	lendNext := false // a Recv waited for the batch handed last (waitLend)
	var readAt uint64 // s.in.requests just after the last read (waitLend)
	for {
		if lendable && ((zc.MsgReady() && s.in.waiting()) || lendNext) {
			// Recv waits and whole messages are buffered: let it
			// carve them on its own CPU. On REQ and REP, once a
			// Recv waited for what was just handed over, let it
			// wait for the next message itself (loan.go). Not
			// again before a read once the loan is over: what made
			// Recv give it back (a message too large to be whole
			// in the buffer) is the reader's to read.
			lendNext = false
			if !hand() {
				return ctx.Err()
			}
			s.lend(ctx, p, zc, &fr, loanTimer, readAt)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		frames, err := fr.read(zc)
		if waitLend {
			readAt = s.in.requests.Load()
		}
		if failed {
			return ctx.Err()
		}
		if err != nil {
			if !hand() {
				return ctx.Err()
			}
			return err
		}
		if len(batch) == 0 {
			limit = min(s.in.roomHint(p), maxReadBatch)
		}
		batch = append(batch, frames)
		large := false
		for _, f := range frames {
			octets += len(f)
			large = large || len(f) > zmtp.DirectReadThreshold
		}
		if heavy := octets >= maxReadBatchBytes; heavy || len(batch) >= limit || (!zc.MsgReady() && (!hooked || !large)) {
			waiting := s.in.waiting()
			if !hand() {
				return ctx.Err()
			}
			lendNext = waitLend && waiting
			if heavy || waiting {
				// The reader yields its CPU to the Recv it has
				// just woken, which then runs here at once, where
				// the messages just read are, instead of on
				// another CPU once the scheduler moves it there;
				// and after a batch this heavy, the reader does not
				// race ahead filling the inbox up to the high-water
				// mark (with GOMAXPROCS=1, 58 MiB of 64 KiB bodies
				// where 10 do). 64 KiB messages 1.6× as fast, 4 KiB
				// 1.2×, a round trip 6 to 10 % shorter (docs/PERFORMANCE.md).
				runtime.Gosched()
			}
		}
	}
}

// releaseEvery is how many octets the writer encodes before it gives the
// room they took in the pipe back to senders, in the middle of a batch: a
// batch of large messages towards a slow peer must not hold its whole
// share of the high-water mark until its last octet is out.
const releaseEvery = 256 << 10

// requestHead is written before a REQ's request: the empty delimiter.
var requestHead = [][]byte{{}}

// writeLoop drains p's queue in batches into the connection's buffer under
// one hold of its write lock. A batch's room goes back to senders once it
// is encoded (small frames are copied, large ones go out uncopied within
// releaseEvery octets), and the buffer is flushed only when the queue is
// empty: while senders keep the queue filled, the buffer leaves in full
// writes.
func (s *Socket) writeLoop(ctx context.Context, p *pipe, zc *zmtp.Conn) {
	batch := make([]outMsg, 0, 8)
	for {
		batch = p.take(batch[:0])
		if len(batch) == 0 {
			if p.isUnflushed() {
				// A direct write (tryPushDirect) left octets buffered.
				zb := zc.BeginBatch()
				err := zb.Flush()
				zb.End()
				p.flushed()
				if err != nil {
					return
				}
				continue
			}
			select {
			case <-p.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		var err error
		released, since := 0, 0
		zb := zc.BeginBatch()
		for i, m := range batch {
			switch m.kind {
			case outMessage:
				err = zb.WriteMsg(m.frames)
			case outRequest:
				err = zb.WriteMsgAfter(requestHead, m.frames)
			case outSubscribe, outUnsubscribe:
				err = zb.WriteSubscription(m.frames[0], m.kind == outSubscribe)
			}
			if err != nil {
				break
			}
			for _, f := range m.frames {
				since += len(f)
			}
			if m.owned {
				clear(m.frames) // encoded: the list's chunk must not pin them
			}
			if since >= releaseEvery && i+1 < len(batch) {
				if wasFull, _ := p.encoded(i + 1 - released); wasFull {
					s.sendSig.Notify()
				}
				released, since = i+1, 0
			}
		}
		// On an error too: what was not written is lost with the
		// connection, and must not hold room or look pending.
		wasFull, queued := p.encoded(len(batch) - released)
		if wasFull {
			s.sendSig.Notify()
		}
		clear(batch)
		flushed := false
		if err == nil && queued == 0 {
			err = zb.Flush()
			flushed = err == nil
		}
		if eerr := zb.End(); err == nil {
			err = eerr
		}
		if flushed || err != nil {
			p.flushed()
		}
		if err != nil {
			return
		}
	}
}
