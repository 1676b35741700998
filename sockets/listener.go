package sockets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// listener accepts connections for one bound endpoint.
type listener struct {
	s         *Socket
	endpoint  string // resolved
	given     string // as passed to Bind
	transport string // TCP, IPC or Inproc
	ln        net.Listener
	inproc    bool
	ctx       context.Context
	cancel    context.CancelFunc
	stopOnce  sync.Once
	done      chan struct{} // closed when the accept loop has ended
	path      string        // ipc socket file to remove on close
}

// Bind binds the socket to an endpoint and starts accepting connections.
// For tcp, port 0 or "*" picks a free port: Endpoints shows which.
func (s *Socket) Bind(endpoint string) error {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	s.mu.Unlock()

	l := &listener{s: s, given: endpoint, transport: ep.Transport, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(s.ctx)
	switch ep.Transport {
	case TCP:
		lc := net.ListenConfig{Control: s.bufferControl(TCP)} // accepted connections inherit them
		l.ln, err = lc.Listen(s.ctx, "tcp", ep.tcpHostPort())
		if err == nil {
			l.endpoint = "tcp://" + l.ln.Addr().String()
		}
	case IPC:
		l.ln, err = listenIPC(ep.Address)
		if err == nil {
			l.endpoint = "ipc://" + ep.Address
			if ep.Address[0] != '@' {
				l.path = ep.Address
			}
		}
	case Inproc:
		l.inproc = true
		l.endpoint = endpoint
		err = inprocRegister(ep.Address, l)
	}
	if err != nil {
		l.cancel()
		if errors.Is(err, syscall.EADDRINUSE) {
			err = fmt.Errorf("%w: %s: %v", ErrAddrInUse, endpoint, err)
		}
		s.emit(EventBindFailed, endpoint, "", err)
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.stop()
		l.cleanup()
		return ErrClosed
	}
	if _, dup := s.listeners[l.endpoint]; dup {
		s.mu.Unlock()
		l.stop()
		return fmt.Errorf("%w: %s is already bound", ErrAddrInUse, l.endpoint)
	}
	s.listeners[l.endpoint] = l
	s.mu.Unlock()
	if l.ln != nil {
		s.goSafe("accept", l.acceptLoop)
	} else {
		close(l.done)
	}
	s.emit(EventListening, l.endpoint, "", nil)
	return nil
}

// listenIPC binds a unix socket, replacing a stale socket file as libzmq
// does.
func listenIPC(path string) (net.Listener, error) {
	ln, err := net.Listen("unix", path)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) && path[0] != '@' {
		if c, derr := net.Dial("unix", path); derr == nil {
			c.Close()
			return nil, err // someone is listening: really in use
		}
		if fi, serr := os.Lstat(path); serr == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
			ln, err = net.Listen("unix", path)
		}
	}
	return ln, err
}

// Unbind stops listening on an endpoint (as returned by Endpoints, or as
// given to Bind). Connections it accepted are closed.
func (s *Socket) Unbind(endpoint string) error {
	s.mu.Lock()
	var l *listener
	for ep, cand := range s.listeners {
		if ep == endpoint || cand.given == endpoint {
			l = cand
			delete(s.listeners, ep)
			break
		}
	}
	s.mu.Unlock()
	if l == nil {
		return fmt.Errorf("%w: %s", ErrNotBound, endpoint)
	}
	l.stop()
	<-l.done
	l.cleanup()
	return nil
}

// stop closes the listening socket and ends its connections.
func (l *listener) stop() {
	l.stopOnce.Do(func() {
		if l.ln != nil {
			l.ln.Close()
		}
		if l.inproc {
			inprocUnregister(l.endpoint[len("inproc://"):], l)
		}
	})
}

// cleanup ends the connections the listener accepted and removes its
// socket file. Called when they are no longer needed.
func (l *listener) cleanup() {
	l.cancel()
	if l.path != "" {
		// net.UnixListener removes its file on Close; make sure.
		os.Remove(l.path)
		l.path = ""
	}
	l.s.emit(EventClosed, l.endpoint, "", nil)
}

// acceptLoop accepts connections; each handshakes in its own goroutine,
// so a silent peer cannot slow others (DESIGN.md D6).
func (l *listener) acceptLoop() {
	defer close(l.done)
	s := l.s
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.emit(EventBindFailed, l.endpoint, "", err)
			if isTemporaryAcceptErr(err) {
				continue
			}
			return
		}
		s.emit(EventAccepted, l.endpoint, nc.RemoteAddr().String(), nil)
		s.goSafe("accepted", func() { l.handle(nc) })
	}
}

// isTemporaryAcceptErr reports errors after which accepting may go on
// (out of file descriptors, aborted connections).
func isTemporaryAcceptErr(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS)
}

// handle handshakes an accepted connection and serves it on a new
// bind-side pipe.
func (l *listener) handle(nc net.Conn) {
	s := l.s
	if l.transport == IPC {
		s.sizeAccepted(nc) // accepted tcp connections have their listener's
	}
	peer := nc.RemoteAddr().String()
	c := new(claim)
	zc, err := zmtp.Handshake(l.ctx, nc, s.handshakeConfig(c))
	if err != nil {
		s.unclaim(c)
		s.emit(EventHandshakeFailed, l.endpoint, peer, err)
		return
	}
	p := newPipe(s, l.endpoint, true)
	if !s.addPipe(p) {
		s.unclaim(c)
		zc.Close()
		return
	}
	if err := s.connectPipe(p, peerInfo(zc), c); err != nil {
		zc.Close()
		s.removePipe(p)
		s.emit(EventHandshakeFailed, l.endpoint, peer, err)
		return
	}
	s.emit(EventHandshakeSucceeded, l.endpoint, peer, nil)
	err = s.serve(l.ctx, p, zc)
	s.disconnectPipe(p)
	s.emit(EventDisconnected, l.endpoint, peer, err)
}
