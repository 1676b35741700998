package sockets

import (
	"context"
	"fmt"
	"sync"
)

// The inproc registry: bound names and a signal for connects that wait
// for their binder (connect before bind works, as in libzmq).
var inproc = struct {
	mu      sync.Mutex
	names   map[string]*listener
	changed signal
}{names: make(map[string]*listener)}

func inprocRegister(name string, l *listener) error {
	inproc.mu.Lock()
	defer inproc.mu.Unlock()
	if _, taken := inproc.names[name]; taken {
		return fmt.Errorf("%w: inproc://%s is already bound", ErrAddrInUse, name)
	}
	inproc.names[name] = l
	inproc.changed.Notify()
	return nil
}

func inprocUnregister(name string, l *listener) {
	inproc.mu.Lock()
	defer inproc.mu.Unlock()
	if inproc.names[name] == l {
		delete(inproc.names, name)
	}
}

func inprocLookup(name string) *listener {
	inproc.mu.Lock()
	defer inproc.mu.Unlock()
	return inproc.names[name]
}

// connectInproc waits for the name to be bound, joins a pipe on each
// socket, and pumps messages both ways without encoding them until either
// side goes. It returns nil if the connection was established.
func (d *dialer) connectInproc() error {
	s := d.s
	name := d.ep.Address
	var l *listener
	for {
		c := inproc.changed.C()
		if l = inprocLookup(name); l != nil {
			break
		}
		select {
		case <-c:
		case <-d.ctx.Done():
			return d.ctx.Err()
		}
	}
	peer := l.s
	if !s.typ.zmtp().Compatible(peer.typ.zmtp()) {
		err := fmt.Errorf("%w: %s cannot talk to %s", ErrInvalid, s.typ, peer.typ)
		s.emit(EventHandshakeFailed, d.endpoint, "inproc", err)
		return fmt.Errorf("%w: %w", errPeerRefused, err)
	}
	s.emit(EventConnected, d.endpoint, "inproc", nil)
	pp := newPipe(peer, l.endpoint, true)
	if !peer.addPipe(pp) {
		return ErrClosed
	}
	if err := peer.connectPipe(pp, &PeerInfo{SocketType: s.typ.String(), Identity: s.opts.identity, PeerAddress: "inproc"}); err != nil {
		peer.removePipe(pp)
		s.emit(EventHandshakeFailed, d.endpoint, "inproc", err)
		return err
	}
	if err := s.connectPipe(d.p, &PeerInfo{SocketType: peer.typ.String(), Identity: peer.opts.identity, PeerAddress: "inproc"}); err != nil {
		peer.disconnectPipe(pp)
		s.emit(EventHandshakeFailed, d.endpoint, "inproc", err)
		return err
	}
	peer.emit(EventAccepted, l.endpoint, "inproc", nil)
	s.emit(EventHandshakeSucceeded, d.endpoint, "inproc", nil)

	ctx, cancel := context.WithCancel(d.ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	d.p.setKill(cancel)
	pp.setKill(cancel)
	var wg sync.WaitGroup
	wg.Add(1)
	s.goSafe("inproc-pump", func() {
		defer wg.Done()
		defer cancel()
		pump(ctx, pp, s, d.p)
	})
	pump(ctx, d.p, peer, pp)
	cancel()
	wg.Wait()
	stop()
	d.p.setKill(nil)
	pp.setKill(nil)
	s.disconnectPipe(d.p)
	peer.disconnectPipe(pp)
	s.emit(EventDisconnected, d.endpoint, "inproc", nil)
	peer.emit(EventDisconnected, l.endpoint, "inproc", nil)
	return nil
}

// pump moves messages from one socket's pipe into the other socket's
// inbound side, in batches. It is the inproc counterpart of a connection's
// writer and reader together.
func pump(ctx context.Context, from *pipe, to *Socket, toPipe *pipe) {
	batch := make([]outMsg, 0, 64)
	for {
		batch = from.take(batch[:0])
		if len(batch) == 0 {
			select {
			case <-from.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		for _, m := range batch {
			frames := m.frames
			switch m.kind {
			case outSubscribe, outUnsubscribe:
				sub := make([]byte, 1+len(m.frames[0]))
				if m.kind == outSubscribe {
					sub[0] = 1
				}
				copy(sub[1:], m.frames[0])
				frames = [][]byte{sub}
			}
			if !to.beh.inbound(ctx, toPipe, frames) {
				clear(batch)
				from.written(false)
				return
			}
		}
		clear(batch)
		if from.written(true) {
			from.s.sendSig.Notify()
		}
	}
}
