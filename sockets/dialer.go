package sockets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// dialer keeps one connect-side pipe connected to an endpoint, redialling
// with backoff when the connection fails (DESIGN.md D8).
type dialer struct {
	s        *Socket
	endpoint string
	ep       Endpoint
	p        *pipe
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
}

// Connect connects the socket to an endpoint. It returns at once: the
// connection is made in the background, retried until it succeeds, and
// remade whenever it breaks. Messages sent meanwhile wait in the
// endpoint's queue (unless WithImmediate).
func (s *Socket) Connect(endpoint string) error {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return err
	}
	if ep.Transport == TCP {
		host, port, _ := net.SplitHostPort(ep.Address)
		if host == "*" || port == "0" {
			return invalid("cannot connect to %q: wildcard host or port", endpoint)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrClosed
	}
	if _, dup := s.dialers[endpoint]; dup {
		return fmt.Errorf("%w: already connected to %s", ErrInvalid, endpoint)
	}
	d := &dialer{s: s, endpoint: endpoint, ep: ep, done: make(chan struct{})}
	d.ctx, d.cancel = context.WithCancel(s.ctx)
	d.p = newPipe(s, endpoint, false)
	s.pipes[d.p] = struct{}{}
	s.dialers[endpoint] = d
	s.beh.pipeAdded(d.p)
	s.goSafe("dial", d.run)
	return nil
}

// Disconnect stops connecting to an endpoint, closes its connection and
// drops the messages queued for it.
func (s *Socket) Disconnect(endpoint string) error {
	s.mu.Lock()
	d, ok := s.dialers[endpoint]
	delete(s.dialers, endpoint)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotBound, endpoint)
	}
	d.cancel()
	<-d.done
	return nil
}

// run dials, serves and redials until the socket closes or the endpoint is
// disconnected.
func (d *dialer) run() {
	defer close(d.done)
	defer d.s.emit(EventClosed, d.endpoint, "", nil)
	defer d.s.removePipe(d.p)
	s := d.s
	backoff := s.opts.reconnectIvl
	var err error // why the last attempt ended
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if s.opts.reconnectIvl < 0 {
				return
			}
			s.emit(EventConnectDelayed, d.endpoint, "", err)
			if !sleepCtx(d.ctx, jitter(backoff)) {
				return
			}
			if max := s.opts.reconnectIvlMax; max > backoff {
				backoff = min(2*backoff, max)
			}
			s.emit(EventConnectRetried, d.endpoint, "", nil)
		}
		if d.ctx.Err() != nil {
			return
		}
		switch d.ep.Transport {
		case Inproc:
			err = d.connectInproc()
		default:
			err = d.connectNet()
		}
		if err == nil {
			backoff = s.opts.reconnectIvl // a working connection resets the backoff
		}
		if errors.Is(err, errPeerRefused) {
			s.emit(EventReconnectStopped, d.endpoint, "", err)
			<-d.ctx.Done()
			return
		}
		if d.ctx.Err() != nil {
			return
		}
	}
}

// connectNet dials once, handshakes and serves the connection until it
// ends. It returns nil if a connection was established.
func (d *dialer) connectNet() error {
	s := d.s
	network := "tcp"
	if d.ep.Transport == IPC {
		network = "unix"
	}
	nd := net.Dialer{Control: s.bufferControl(d.ep.Transport)}
	nc, err := nd.DialContext(d.ctx, network, d.ep.Address)
	if err != nil {
		return err
	}
	peer := nc.RemoteAddr().String()
	s.emit(EventConnected, d.endpoint, peer, nil)
	c := new(claim)
	zc, err := zmtp.Handshake(d.ctx, nc, s.handshakeConfig(c))
	if err != nil {
		s.unclaim(c)
		s.emit(EventHandshakeFailed, d.endpoint, peer, err)
		var pe *zmtp.PeerError
		if errors.As(err, &pe) && pe.Reason != zmtp.StatusTemporary {
			return fmt.Errorf("%w: %w", errPeerRefused, err)
		}
		return err
	}
	if err := s.connectPipe(d.p, peerInfo(zc), c); err != nil {
		zc.Close()
		s.emit(EventHandshakeFailed, d.endpoint, peer, err)
		return err
	}
	s.emit(EventHandshakeSucceeded, d.endpoint, peer, nil)
	err = s.serve(d.ctx, d.p, zc)
	s.disconnectPipe(d.p)
	s.emit(EventDisconnected, d.endpoint, peer, err)
	return nil
}

// jitter spreads a wait by ±25 %.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	q := int64(d / 4)
	if q == 0 {
		return d
	}
	return d - time.Duration(q) + time.Duration(rand.Int64N(2*q+1))
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
