package sockets

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// reqSocket sends a request to one peer at a time, round-robin, and takes
// the reply only from that peer (RFC 28). Requests and replies alternate.
// What arrives from any other peer, or from that peer while no request
// is out, is dropped on arrival (RFC 28 Q5).
type reqSocket struct {
	lbSocket
	want    atomic.Pointer[pipe] // the peer whose reply is awaited; nil when idle
	mu      sync.Mutex
	waiting *pipe         // the peer that got the request; nil when idle
	sending bool          // a Send is queueing a request (without mu held)
	gone    bool          // the peer it went to left before Send returned
	lost    chan struct{} // holds a token while the awaited peer has left (one slot)
	recvMu  sync.Mutex
}

func newReqSocket(s *Socket) *reqSocket {
	return &reqSocket{lbSocket: newLBSocket(s), lost: make(chan struct{}, 1)}
}

// markLost tells a Recv (now or to come) that the awaited peer has left.
// Called with r.mu held.
func (r *reqSocket) markLost() {
	select {
	case r.lost <- struct{}{}:
	default:
	}
}

func (r *reqSocket) send(ctx context.Context, m Msg) error {
	r.mu.Lock()
	if r.waiting != nil || r.sending {
		r.mu.Unlock()
		return errors.Join(ErrState, errors.New("dripdrop: REQ must receive the reply before sending again"))
	}
	r.sending, r.gone = true, false
	r.mu.Unlock()
	// What a lent connection holds came before the request (loan.go).
	if n := r.s.in.newRequest(); n > 0 {
		r.s.stats.dropped.Add(uint64(n))
	}
	// The request goes out behind an empty delimiter frame, which the
	// writer adds (outRequest), written at once from here when the
	// connection is idle (tryPushDirect). The reply may come back before push
	// returns: the peer is known to inbound from the moment the request
	// is queued. push may wait for room: r.mu is not held meanwhile, so
	// peers can come and go.
	p, err := r.lb.pushVia(ctx, outMsg{frames: m.Frames, kind: outRequest}, r.setWant, (*pipe).tryPushDirect)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sending = false
	if err != nil {
		return err
	}
	r.waiting = p
	select {
	case <-r.lost: // about an earlier request
	default:
	}
	if r.gone {
		r.markLost()
	}
	return nil
}

// mayWaitOn lets Recv wait on p's lent connection while the reply it
// waits for is to come from p (loan.go).
func (r *reqSocket) mayWaitOn(p *pipe) bool { return r.want.Load() == p }

// setWant records the peer a request is queued for.
func (r *reqSocket) setWant(p *pipe) { r.want.Store(p) }

// replyTaker is implemented by REQ, which must know of a reply the moment
// Recv takes it (inbox.took).
type replyTaker interface {
	took(m inMsg)
}

// took ends the wait for a reply as soon as Recv takes it, under the
// inbox's cmu: a reader taking its lent connection back after that (lend,
// under cmu too) then sees no request out and drops what the connection
// still holds, which came before the next request; so does inbound for
// what it reads after. Waiting until Recv returns would leave a window in
// which a second copy of the reply, already in the connection's buffer,
// is kept, and taken as the reply to the next request.
func (r *reqSocket) took(m inMsg) {
	if r.want.Load() == m.p && len(m.frames) >= 1 && len(m.frames[0]) == 0 {
		r.want.Store(nil)
	}
}

// wants reports whether p's reply is awaited.
func (r *reqSocket) wants(p *pipe) bool { return r.want.Load() == p }

// inbound keeps only what comes from the peer whose reply is awaited,
// asking again as the messages are queued (pushIf), where Recv takes them.
func (r *reqSocket) inbound(ctx context.Context, p *pipe, msgs [][][]byte) bool {
	keep := msgs[:0]
	for _, frames := range msgs {
		if r.wants(p) {
			keep = append(keep, frames)
		} else {
			p.discard(frames)
			r.s.stats.dropped.Add(1)
		}
	}
	if len(keep) == 0 {
		return true
	}
	ok, dropped := r.s.in.pushIf(ctx, p, keep, r.wants)
	r.s.stats.dropped.Add(uint64(dropped))
	return ok
}

func (r *reqSocket) recv(ctx context.Context) (Msg, error) {
	r.recvMu.Lock()
	defer r.recvMu.Unlock()
	if r.s.isClosing() {
		return Msg{}, ErrClosed
	}
	r.mu.Lock()
	want := r.waiting
	r.mu.Unlock()
	if want == nil {
		return Msg{}, errors.Join(ErrState, errors.New("dripdrop: REQ must send a request before receiving"))
	}
	lost := false // the peer left: what it sent before still counts
	for {
		var m inMsg
		if lost {
			var ok bool
			if m, ok = r.s.in.tryPop(); !ok {
				if r.s.isClosing() {
					return Msg{}, ErrClosed // Close removed the pipe
				}
				r.idle(want)
				return Msg{}, ErrPeerLost
			}
		} else {
			var err error
			m, err = r.s.in.popOr(ctx, r.s.done, r.lost)
			if err == errInterrupted {
				lost = true
				continue
			}
			if err != nil {
				if r.s.isClosing() {
					// Close also removes the pipe, which fails the
					// request: the socket closing is the reason.
					return Msg{}, ErrClosed
				}
				return Msg{}, err
			}
		}
		// A reply without the delimiter is malformed and dropped.
		if m.p != want || len(m.frames) < 1 || len(m.frames[0]) != 0 {
			r.s.stats.dropped.Add(1)
			continue
		}
		r.idle(want)
		return Msg{Frames: m.frames[1:], Peer: m.p.info}, nil
	}
}

// idle ends the request to p: later messages from p are dropped on
// arrival, and any that got in meanwhile are dropped now.
func (r *reqSocket) idle(p *pipe) {
	r.want.Store(nil)
	r.s.in.purge(p)
	r.mu.Lock()
	r.waiting = nil
	select {
	case <-r.lost:
	default:
	}
	r.mu.Unlock()
}

// peerGone fails a pending request whose peer left.
func (r *reqSocket) peerGone(p *pipe) {
	r.mu.Lock()
	switch {
	case r.waiting == p:
		r.markLost()
	case r.sending && r.want.Load() == p:
		r.gone = true // Send is about to return: it fails the request then
	}
	r.mu.Unlock()
}

func (r *reqSocket) pipeDisconnected(p *pipe) {
	r.lbSocket.pipeDisconnected(p)
	r.peerGone(p)
}

func (r *reqSocket) pipeRemoved(p *pipe) {
	r.lbSocket.pipeRemoved(p)
	r.peerGone(p)
}

// repSocket receives requests fair-queued and sends each reply back to the
// peer the request came from, with its envelope (RFC 28).
type repSocket struct {
	base
	mu       sync.Mutex
	replyTo  *pipe
	envelope [][]byte
	pending  bool
	chunk    [][]byte // the rest of the chunk replies' frame lists are cut from
	recvMu   sync.Mutex
}

// replyFrames returns an empty frame list with room for n frames, cut from
// a chunk shared by replies (as the reader cuts received messages' lists)
// so that a reply costs no allocation of its own. A chunk is never reused:
// queued replies point into it. Called with r.mu held.
func (r *repSocket) replyFrames(n int) [][]byte {
	if n > maxSmallChunk/8 {
		return make([][]byte, 0, n)
	}
	if len(r.chunk) < n {
		r.chunk = make([][]byte, maxSmallChunk)
	}
	frames := r.chunk[:0:n]
	r.chunk = r.chunk[n:]
	return frames
}

func newRepSocket(s *Socket) *repSocket { return &repSocket{base: base{s: s}} }

// mayWaitOn lets Recv wait on any lent connection: a request from
// elsewhere interrupts the wait (loan.go).
func (r *repSocket) mayWaitOn(*pipe) bool { return true }

func (r *repSocket) recv(ctx context.Context) (Msg, error) {
	r.recvMu.Lock()
	defer r.recvMu.Unlock()
	r.mu.Lock()
	pending := r.pending
	r.mu.Unlock()
	if pending {
		return Msg{}, errors.Join(ErrState, errors.New("dripdrop: REP must send the reply before receiving again"))
	}
	for {
		m, err := r.s.in.pop(ctx, r.s.done)
		if err != nil {
			return Msg{}, err
		}
		// The envelope ends at the first empty frame; a request without
		// one is malformed and dropped.
		split := -1
		for i, f := range m.frames {
			if len(f) == 0 {
				split = i
				break
			}
		}
		if split < 0 {
			continue
		}
		r.mu.Lock()
		r.replyTo, r.envelope, r.pending = m.p, m.frames[:split+1], true
		r.mu.Unlock()
		return Msg{Frames: m.frames[split+1:], Peer: m.p.info}, nil
	}
}

// send never blocks: a reply whose requester has gone, or whose queue is
// full, is dropped (RFC 28 P4, P5).
func (r *repSocket) send(_ context.Context, m Msg) error {
	r.mu.Lock()
	if !r.pending {
		r.mu.Unlock()
		return errors.Join(ErrState, errors.New("dripdrop: REP must receive a request before replying"))
	}
	p, env := r.replyTo, r.envelope
	r.replyTo, r.envelope, r.pending = nil, nil, false
	frames := r.replyFrames(len(env) + len(m.Frames))
	r.mu.Unlock()
	frames = append(append(frames, env...), m.Frames...)
	if !p.tryPushDirect(outMsg{frames: frames, owned: !p.shared}, nil) {
		r.s.stats.dropped.Add(1)
	}
	return nil
}
