package sockets

import (
	"context"
	"fmt"
	"sync"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// The inproc registry: bound names, and the dialers waiting for a name to
// be bound (connect before bind works, as in libzmq). Each waiter brings
// its own channel and takes it away when it stops waiting, so the registry
// holds no channel of a caller that has gone (a synctest bubble's
// channels must not outlive it).
var inproc = struct {
	mu      sync.Mutex
	names   map[string]*listener
	waiters map[string]map[chan struct{}]struct{}
}{names: make(map[string]*listener), waiters: make(map[string]map[chan struct{}]struct{})}

func inprocRegister(name string, l *listener) error {
	inproc.mu.Lock()
	defer inproc.mu.Unlock()
	if _, taken := inproc.names[name]; taken {
		return fmt.Errorf("%w: inproc://%s is already bound", ErrAddrInUse, name)
	}
	inproc.names[name] = l
	for c := range inproc.waiters[name] {
		close(c)
	}
	delete(inproc.waiters, name)
	return nil
}

func inprocUnregister(name string, l *listener) {
	inproc.mu.Lock()
	defer inproc.mu.Unlock()
	if inproc.names[name] == l {
		delete(inproc.names, name)
	}
}

// inprocWait returns the listener bound to name, waiting for one until ctx
// ends.
func inprocWait(ctx context.Context, name string) (*listener, error) {
	for {
		inproc.mu.Lock()
		if l := inproc.names[name]; l != nil {
			inproc.mu.Unlock()
			return l, nil
		}
		c := make(chan struct{})
		if inproc.waiters[name] == nil {
			inproc.waiters[name] = make(map[chan struct{}]struct{})
		}
		inproc.waiters[name][c] = struct{}{}
		inproc.mu.Unlock()
		select {
		case <-c:
		case <-ctx.Done():
			inproc.mu.Lock()
			if w := inproc.waiters[name]; w != nil {
				delete(w, c)
				if len(w) == 0 {
					delete(inproc.waiters, name)
				}
			}
			inproc.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

// connectInproc waits for the name to be bound, joins a pipe on each
// socket, and pumps messages both ways without encoding them until either
// side goes. It returns nil if the connection was established.
func (d *dialer) connectInproc() error {
	s := d.s
	name := d.ep.Address
	l, err := inprocWait(d.ctx, name)
	if err != nil {
		return err
	}
	peer := l.s
	s.emit(EventConnected, d.endpoint, "inproc", nil)
	peer.emit(EventAccepted, l.endpoint, "inproc", nil)
	// Both sides learn of a refusal, as over the network.
	refused := func(err error) {
		s.emit(EventHandshakeFailed, d.endpoint, "inproc", err)
		peer.emit(EventHandshakeFailed, l.endpoint, "inproc", err)
	}
	if !s.typ.zmtp().Compatible(peer.typ.zmtp()) {
		err := fmt.Errorf("%w: %s cannot talk to %s", zmtp.ErrSocketType, s.typ, peer.typ)
		refused(err)
		return fmt.Errorf("%w: %w", errPeerRefused, err)
	}
	pp := newPipe(peer, l.endpoint, true)
	if !peer.addPipe(pp) {
		return ErrClosed
	}
	if err := peer.connectPipe(pp, &PeerInfo{SocketType: s.typ.String(), Identity: s.opts.identity, PeerAddress: "inproc"}, new(claim)); err != nil {
		peer.removePipe(pp)
		refused(err)
		return err
	}
	if err := s.connectPipe(d.p, &PeerInfo{SocketType: peer.typ.String(), Identity: peer.opts.identity, PeerAddress: "inproc"}, new(claim)); err != nil {
		peer.disconnectPipe(pp)
		refused(err)
		return err
	}
	linkInproc(d.p, pp)
	linkInproc(pp, d.p)
	s.emit(EventHandshakeSucceeded, d.endpoint, "inproc", nil)
	peer.emit(EventHandshakeSucceeded, l.endpoint, "inproc", nil)

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
	unlinkInproc(d.p)
	unlinkInproc(pp)
	s.disconnectPipe(d.p)
	peer.disconnectPipe(pp)
	s.emit(EventDisconnected, d.endpoint, "inproc", nil)
	peer.emit(EventDisconnected, l.endpoint, "inproc", nil)
	return nil
}

// linkInproc makes from's high-water mark cover the pipe to as well, for
// as long as the connection lasts: SNDHWM + the receiver's RCVHWM, so that
// a sender may queue that many before the receiver reads any (as libzmq's
// inproc pipe, whose single queue has the sum for its mark), and not only
// once the pump has moved RCVHWM of them across. A zero mark on either
// side makes the pipe unlimited, as in libzmq.
func linkInproc(from, to *pipe) {
	snd, rcv := from.s.opts.sendHWM, to.s.in.hwm
	from.mu.Lock()
	from.peerIn, from.peerHeld = to, to.inShare()
	hwm := 0
	if snd != 0 && rcv != 0 {
		hwm = snd + rcv
	}
	from.setHWMLocked(hwm)
	from.mu.Unlock()
	from.s.sendSig.Notify() // the pipe may have room now
}

// unlinkInproc ends linkInproc: the pipe is bounded by its own SNDHWM
// again (a connect-side pipe keeps what it still holds for its next peer).
func unlinkInproc(p *pipe) {
	p.mu.Lock()
	p.peerIn, p.peerHeld = nil, 0
	p.setHWMLocked(p.s.opts.sendHWM)
	p.mu.Unlock()
	p.s.sendSig.Notify() // a smaller mark, but no peer's share in it
}

// pump moves messages from one socket's pipe into the other socket's
// inbound side, in batches. It is the inproc counterpart of a connection's
// writer and reader together. It takes from the sender's queue only what
// the receiver has room for, so that the receiver holds at most its
// RCVHWM of it and the sender's queue the rest of the sum linkInproc sets,
// and what is still queued when the connection ends stays in the sender's
// queue.
func pump(ctx context.Context, from *pipe, to *Socket, toPipe *pipe) {
	batch := make([]outMsg, 0, 64)
	var msgs [][][]byte
	_, headroom := to.beh.(headroomer)
	for {
		room := to.in.room(toPipe)
		if room == 0 {
			select {
			case <-toPipe.inSpace:
				continue
			case <-ctx.Done():
				return
			}
		}
		batch = from.takeN(batch[:0], min(room, maxWriteBatch))
		if len(batch) == 0 {
			select {
			case <-from.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		for _, m := range batch {
			msgs = append(msgs, inprocFrames(m, headroom))
		}
		if !to.beh.inbound(ctx, toPipe, msgs) {
			// The receiver is closing: what it had room for went in at
			// once or not at all, so nothing of the batch was delivered.
			from.putBack(batch)
			clear(batch)
			clear(msgs)
			if from.written(false) {
				from.s.sendSig.Notify()
			}
			return
		}
		clear(batch)
		clear(msgs)
		msgs = msgs[:0]
		if from.written(true) {
			from.s.sendSig.Notify()
		}
	}
}

// inprocFrames is what the receiving socket gets for a queued entry: the
// sender's own frames, shared, unless they need something in front (a
// REQ's delimiter, the receiver's headroom) or are a subscription, which
// reaches the publisher in its message form.
func inprocFrames(m outMsg, headroom bool) [][]byte {
	frames := m.frames
	switch m.kind {
	case outSubscribe, outUnsubscribe:
		sub := make([]byte, 1+len(m.frames[0]))
		if m.kind == outSubscribe {
			sub[0] = 1
		}
		copy(sub[1:], m.frames[0])
		frames = [][]byte{sub}
	case outRequest:
		frames = append(append(make([][]byte, 0, 2+len(frames)), nil, []byte{}), frames...)
		if !headroom {
			frames = frames[1:]
		}
		return frames
	}
	if headroom {
		frames = append(append(make([][]byte, 0, 1+len(frames)), nil), frames...)
	}
	return frames
}
