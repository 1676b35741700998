package sockets

import (
	"context"
	"errors"
	"sync"
)

// reqSocket sends a request to one peer at a time, round-robin, and takes
// the reply only from that peer (RFC 28). Requests and replies alternate.
type reqSocket struct {
	lbSocket
	mu      sync.Mutex
	waiting *pipe                   // the peer that got the request; nil when idle
	lost    context.CancelCauseFunc // ends a Recv waiting on a peer that left
	lostCtx context.Context
	recvMu  sync.Mutex
}

func newReqSocket(s *Socket) *reqSocket {
	return &reqSocket{lbSocket: newLBSocket(s)}
}

var emptyFrame = []byte{}

func (r *reqSocket) send(ctx context.Context, m Msg) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting != nil {
		return errors.Join(ErrState, errors.New("dripdrop: REQ must receive the reply before sending again"))
	}
	frames := make([][]byte, 0, 1+len(m.Frames))
	frames = append(append(frames, emptyFrame), m.Frames...)
	p, err := r.lb.push(ctx, outMsg{frames: frames})
	if err != nil {
		return err
	}
	r.waiting = p
	r.lostCtx, r.lost = context.WithCancelCause(context.Background())
	return nil
}

func (r *reqSocket) recv(ctx context.Context) (Msg, error) {
	r.recvMu.Lock()
	defer r.recvMu.Unlock()
	r.mu.Lock()
	want, lostCtx := r.waiting, r.lostCtx
	r.mu.Unlock()
	if want == nil {
		return Msg{}, errors.Join(ErrState, errors.New("dripdrop: REQ must send a request before receiving"))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(lostCtx, func() { cancel(context.Cause(lostCtx)) })
	defer stop()
	for {
		m, err := r.s.in.pop(ctx, r.s.done)
		if err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, ErrPeerLost) {
				r.idle()
				return Msg{}, ErrPeerLost
			}
			return Msg{}, err
		}
		// A reply from another peer, or without the delimiter, is dropped.
		if m.p != want || len(m.frames) < 1 || len(m.frames[0]) != 0 {
			continue
		}
		r.idle()
		return Msg{Frames: m.frames[1:], Peer: m.p.info}, nil
	}
}

func (r *reqSocket) idle() {
	r.mu.Lock()
	r.waiting = nil
	if r.lost != nil {
		r.lost(nil)
		r.lost = nil
	}
	r.mu.Unlock()
}

// peerGone fails a pending request whose peer left.
func (r *reqSocket) peerGone(p *pipe) {
	r.mu.Lock()
	if r.waiting == p && r.lost != nil {
		r.lost(ErrPeerLost)
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
	recvMu   sync.Mutex
}

func newRepSocket(s *Socket) *repSocket { return &repSocket{base: base{s: s}} }

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
	r.mu.Unlock()
	frames := make([][]byte, 0, len(env)+len(m.Frames))
	frames = append(append(frames, env...), m.Frames...)
	if !p.tryPush(outMsg{frames: frames}) {
		r.s.stats.dropped.Add(1)
	}
	return nil
}
