package sockets

import (
	"net"
	"syscall"
)

// sendBufferFor is the SO_SNDBUF to ask for on a connection of the given
// transport (0: leave the system's).
func (o *options) sendBufferFor(transport string) int {
	if o.sendBuf >= 0 {
		return o.sendBuf
	}
	if transport == IPC {
		return DefaultIPCSendBuffer
	}
	return 0
}

// bufferControl returns a net.Dialer or net.ListenConfig Control function
// that sizes a socket's kernel buffers before it connects or listens (nil
// when there is nothing to set), as libzmq does: a tcp receive buffer
// shrunk once the connection is up leaves the window scale agreed for the
// larger one, and on loopback, where a segment can be 64 KiB, a buffer of
// a few KiB then stalls the connection for seconds at a time. A size the
// kernel refuses is logged, not fatal: the connection works with the
// system's.
func (s *Socket) bufferControl(transport string) func(network, address string, c syscall.RawConn) error {
	snd, rcv := s.opts.sendBufferFor(transport), s.opts.recvBuf
	if snd <= 0 && rcv <= 0 {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			if snd > 0 {
				if err := setSockBuf(fd, soSndbuf, snd); err != nil {
					s.opts.logger.Warn("dripdrop: SO_SNDBUF not set", "size", snd, "err", err)
				}
			}
			if rcv > 0 {
				if err := setSockBuf(fd, soRcvbuf, rcv); err != nil {
					s.opts.logger.Warn("dripdrop: SO_RCVBUF not set", "size", rcv, "err", err)
				}
			}
		})
	}
}

// sizeAccepted sizes the buffers of an ipc connection just accepted,
// which, unlike a tcp one, does not inherit them from its listener: the
// same Control function, applied to the connection.
func (s *Socket) sizeAccepted(nc net.Conn) {
	ctl := s.bufferControl(IPC)
	sc, ok := nc.(syscall.Conn)
	if ctl == nil || !ok {
		return
	}
	if rc, err := sc.SyscallConn(); err == nil {
		_ = ctl("", "", rc)
	}
}
