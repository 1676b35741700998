package sockets

import "net"

// bufferSizer is what a tcp or unix connection offers to set its kernel
// buffers.
type bufferSizer interface {
	SetReadBuffer(bytes int) error
	SetWriteBuffer(bytes int) error
}

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

// sizeBuffers applies WithSendBuffer and WithRecvBuffer (or their
// defaults) to a new tcp or ipc connection, before its handshake. A size
// the kernel refuses is logged, not fatal: the connection works with the
// system's.
func (s *Socket) sizeBuffers(nc net.Conn, transport string) {
	bs, ok := nc.(bufferSizer)
	if !ok {
		return
	}
	if n := s.opts.sendBufferFor(transport); n > 0 {
		if err := bs.SetWriteBuffer(n); err != nil {
			s.opts.logger.Warn("dripdrop: SO_SNDBUF not set", "size", n, "err", err)
		}
	}
	if n := s.opts.recvBuf; n > 0 {
		if err := bs.SetReadBuffer(n); err != nil {
			s.opts.logger.Warn("dripdrop: SO_RCVBUF not set", "size", n, "err", err)
		}
	}
}
