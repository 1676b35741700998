package sockets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Socket is a ZeroMQ socket. Create it with New; every method is safe for
// concurrent use.
type Socket struct {
	typ  Type
	opts options
	beh  behaviour

	ctx    context.Context // cancelled when the socket has finished closing
	cancel context.CancelFunc
	done   chan struct{} // closed when Close starts: Send and Recv give up
	closed atomic.Bool   // set as done is closed, for a check per Send without a channel

	mu        sync.Mutex
	closing   bool
	listeners map[string]*listener // by resolved endpoint
	dialers   map[string]*dialer   // by endpoint as given
	pipes     map[*pipe]struct{}   // every live pipe
	wg        sync.WaitGroup       // every goroutine the socket owns

	in      inbox
	sendSig signal // notified when a pipe gains room or joins

	nextPipeID atomic.Uint64
	stats      stats
}

// stats counts what would otherwise pass unseen.
type stats struct {
	panics        atomic.Uint64
	eventsDropped atomic.Uint64
	dropped       atomic.Uint64
	loans         atomic.Uint64 // connections lent to Recv (loan.go); not in Stats
}

// Stats is a snapshot of a socket's counters.
type Stats struct {
	// Panics counts connection goroutines that panicked and were closed by
	// the safety net (DESIGN.md D5). It should always be 0.
	Panics uint64
	// EventsDropped counts monitor events that did not fit the channel.
	EventsDropped uint64
	// Dropped counts messages dropped by design: PUB at a subscriber's
	// high-water mark, ROUTER to an unknown or full peer, REP to a gone
	// requester, REQ a reply from a peer it did not ask or one that came
	// while no request was out (RFC 28 Q5), or without its delimiter.
	Dropped uint64
}

// New creates a socket of type t.
func New(t Type, opts ...Option) (*Socket, error) {
	if !t.valid() {
		return nil, invalid("socket type %d", t)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.conflate {
		switch t {
		case PUB, SUB, PUSH, PULL, DEALER:
		default:
			return nil, invalid("WithConflate on a %s socket (PUB, SUB, PUSH, PULL and DEALER only)", t)
		}
	}
	s := &Socket{
		typ:       t,
		opts:      o,
		done:      make(chan struct{}),
		listeners: make(map[string]*listener),
		dialers:   make(map[string]*dialer),
		pipes:     make(map[*pipe]struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.in.hwm = o.recvHWM
	s.in.conflate = o.conflate
	s.beh = newBehaviour(s)
	if wl, ok := s.beh.(waitLender); ok {
		s.in.waitOn = wl.mayWaitOn
	}
	if rt, ok := s.beh.(replyTaker); ok {
		s.in.took = rt.took
	}
	return s, nil
}

// Type returns the socket's type.
func (s *Socket) Type() Type { return s.typ }

// Stats returns the socket's counters.
func (s *Socket) Stats() Stats {
	return Stats{
		Panics:        s.stats.panics.Load(),
		EventsDropped: s.stats.eventsDropped.Load(),
		Dropped:       s.stats.dropped.Load(),
	}
}

// Send sends a message according to the socket type's rules. The socket
// keeps the frames until they are written: do not modify them after Send.
// A type that waits for room (PUSH, DEALER, REQ, PAIR) waits until ctx
// ends; the ctx error is returned and the socket stays usable.
func (s *Socket) Send(ctx context.Context, m Msg) error {
	if len(m.Frames) == 0 {
		return invalid("a message needs at least one frame")
	}
	if s.isClosing() {
		return ErrClosed
	}
	return s.beh.send(ctx, m)
}

// Recv receives the next message. It waits until one arrives, ctx ends
// (its error is returned; the socket stays usable) or the socket closes.
func (s *Socket) Recv(ctx context.Context) (Msg, error) {
	if s.isClosing() {
		return Msg{}, ErrClosed
	}
	return s.beh.recv(ctx)
}

// Subscribe adds a subscription (SUB, XSUB). Subscriptions are counted:
// subscribing twice to a prefix needs two Unsubscribes.
func (s *Socket) Subscribe(prefix []byte) error {
	sb, ok := s.beh.(subscriber)
	if !ok {
		return fmt.Errorf("%w: Subscribe on %s", ErrNotSupported, s.typ)
	}
	if s.isClosing() {
		return ErrClosed
	}
	sb.subscribe(prefix, true)
	return nil
}

// Unsubscribe removes one count of a subscription (SUB, XSUB).
func (s *Socket) Unsubscribe(prefix []byte) error {
	sb, ok := s.beh.(subscriber)
	if !ok {
		return fmt.Errorf("%w: Unsubscribe on %s", ErrNotSupported, s.typ)
	}
	if s.isClosing() {
		return ErrClosed
	}
	sb.subscribe(prefix, false)
	return nil
}

func (s *Socket) isClosing() bool { return s.closed.Load() }

// Endpoints returns the bound endpoints, resolved: a tcp port 0 shows the
// port the system picked.
func (s *Socket) Endpoints() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := make([]string, 0, len(s.listeners))
	for ep := range s.listeners {
		eps = append(eps, ep)
	}
	slices.Sort(eps)
	return eps
}

// Close closes the socket. It first gives queued messages up to the linger
// time to be delivered, then closes every connection and returns once every
// goroutine the socket started has ended. Blocked Send and Recv calls
// return ErrClosed. A second Close returns ErrClosed.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closing = true
	s.closed.Store(true)
	close(s.done)
	listeners := make([]*listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		listeners = append(listeners, l)
	}
	s.mu.Unlock()

	for _, l := range listeners {
		l.stop()
	}
	s.linger()
	s.cancel()
	s.in.close()
	s.wg.Wait()
	for _, l := range listeners {
		l.cleanup()
	}
	return nil
}

// linger waits, up to the linger time, until every pipe has written what
// it holds.
func (s *Socket) linger() {
	if s.opts.linger == 0 {
		return
	}
	var deadline <-chan time.Time
	if s.opts.linger > 0 {
		t := time.NewTimer(s.opts.linger)
		defer t.Stop()
		deadline = t.C
	}
	for {
		var busy *pipe
		var w *waiter
		s.mu.Lock()
		for p := range s.pipes {
			w = p.idle.wait()
			if p.pending() > 0 {
				busy = p
				break
			}
			p.idle.done(w)
		}
		s.mu.Unlock()
		if busy == nil {
			return
		}
		select {
		case <-w.c:
			busy.idle.done(w)
		case <-deadline:
			busy.idle.done(w)
			return
		}
	}
}

// go runs f as a goroutine the socket owns, behind the panic safety net.
func (s *Socket) goSafe(name string, f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				s.stats.panics.Add(1)
				s.opts.logger.Error("dripdrop: goroutine panicked", "goroutine", name, "panic", r)
			}
		}()
		f()
	}()
}

// zmtpConfig is the handshake configuration of the socket's connections.
func (s *Socket) zmtpConfig() zmtp.Config {
	o := &s.opts
	var mech zmtp.Mechanism
	if o.mechanism != nil {
		mech = o.mechanism(false)
	}
	return zmtp.Config{
		SocketType:        s.typ.zmtp(),
		Identity:          o.identity,
		Mechanism:         mech,
		Authenticator:     s.authenticator(mech),
		Domain:            o.zapDomain,
		Metadata:          o.metadata,
		HandshakeTimeout:  o.handshakeTimeout,
		MaxMsgSize:        o.maxMsgSize,
		HeartbeatInterval: o.heartbeatIvl,
		HeartbeatTimeout:  o.heartbeatTimeout,
		HeartbeatTTL:      o.heartbeatTTL,
	}
}

// addPipe registers a new pipe with the socket and its behaviour.
func (s *Socket) addPipe(p *pipe) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing && p.bindSide {
		return false
	}
	s.pipes[p] = struct{}{}
	return true
}

// removePipe forgets a pipe: its queued messages are dropped.
func (s *Socket) removePipe(p *pipe) {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.drop()
	s.beh.pipeRemoved(p)
	s.mu.Lock()
	delete(s.pipes, p)
	s.mu.Unlock()
	s.sendSig.Notify()
}

// waitForRoom blocks until a pipe may have gained room, ctx ends or the
// socket closes. w must have been registered with s.sendSig before the
// failed attempt; the caller ends the registration.
func (s *Socket) waitForRoom(ctx context.Context, w *waiter) error {
	select {
	case <-w.c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

// errPeerRefused marks handshake failures after which a dialer stops: the
// peer sent ERROR with a permanent status.
var errPeerRefused = errors.New("dripdrop: peer refused the connection")
