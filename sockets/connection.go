package sockets

import (
	"context"
	"net"
	"slices"

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

// readLoop hands every message read to the behaviour.
func (s *Socket) readLoop(ctx context.Context, p *pipe, zc *zmtp.Conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.stats.panics.Add(1)
			s.opts.logger.Error("dripdrop: reader panicked", "panic", r)
			err = context.Canceled
		}
	}()
	for {
		frames, err := zc.ReadMsg(nil)
		if err != nil {
			return err
		}
		if !s.beh.inbound(ctx, p, frames) {
			return ctx.Err()
		}
	}
}

// releaseEvery is how many octets the writer writes before it gives the
// room they took in the pipe back to senders, in the middle of a batch: a
// batch of large messages towards a slow peer must not hold its whole
// share of the high-water mark until its last octet is out.
const releaseEvery = 64 << 10

// writeLoop drains p's queue in batches, flushing when it is empty.
func (s *Socket) writeLoop(ctx context.Context, p *pipe, zc *zmtp.Conn) {
	batch := make([]outMsg, 0, 64)
	for {
		batch = p.take(batch[:0])
		if len(batch) == 0 {
			select {
			case <-p.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		var err error
		released, since := 0, 0
		for i, m := range batch {
			switch m.kind {
			case outMessage:
				err = zc.WriteMsg(m.frames)
				for _, f := range m.frames {
					since += len(f)
				}
			case outSubscribe, outUnsubscribe:
				err = zc.WriteSubscription(m.frames[0], m.kind == outSubscribe)
			}
			if err != nil {
				break
			}
			// Never the last one: until written below, the pipe must
			// not look idle (linger) with octets still buffered.
			if since >= releaseEvery && i+1 < len(batch) {
				if p.release(i + 1 - released) {
					s.sendSig.Notify()
				}
				released, since = i+1, 0
			}
		}
		clear(batch)
		flushed := false
		if err == nil && p.queued() == 0 {
			err = zc.Flush()
			flushed = err == nil
		}
		if p.written(flushed) {
			s.sendSig.Notify()
		}
		if err != nil {
			return
		}
	}
}
