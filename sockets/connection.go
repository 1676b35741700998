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

// connect makes p's connection ready: it joins routing, unless the
// behaviour refuses it.
func (s *Socket) connectPipe(p *pipe, info *PeerInfo) error {
	p.info = info
	p.identity = info.Identity
	if a, ok := s.beh.(admitter); ok {
		if err := a.admit(p); err != nil {
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
		for _, m := range batch {
			switch m.kind {
			case outMessage:
				err = zc.WriteMsg(m.frames)
			case outSubscribe, outUnsubscribe:
				err = zc.WriteSubscription(m.frames[0], m.kind == outSubscribe)
			}
			if err != nil {
				break
			}
		}
		clear(batch)
		flushed := false
		if err == nil && p.pending() == len(batch) {
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
