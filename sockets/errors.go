package sockets

import (
	"errors"
	"fmt"
	"net"
)

// Errors returned by sockets. They can be compared with errors.Is.
var (
	// ErrClosed is returned by operations on a closed socket. It wraps
	// net.ErrClosed.
	ErrClosed = fmt.Errorf("dripdrop: socket closed: %w", net.ErrClosed)
	// ErrInvalid marks a bad argument: an unknown type, a malformed
	// endpoint, an option out of range.
	ErrInvalid = errors.New("dripdrop: invalid argument")
	// ErrNotSupported marks an operation the socket type does not have
	// (Send on a SUB, Subscribe on a PUSH, ...).
	ErrNotSupported = errors.New("dripdrop: operation not supported by this socket type")
	// ErrState marks an operation out of order, such as two Sends in a row
	// on a REQ socket.
	ErrState = errors.New("dripdrop: operation not valid in the socket's current state")
	// ErrHostUnreachable is returned by a ROUTER with RouterMandatory when
	// no peer has the message's identity.
	ErrHostUnreachable = errors.New("dripdrop: no peer with that identity")
	// ErrWouldBlock is returned by a ROUTER with RouterMandatory when the
	// peer's queue is full.
	ErrWouldBlock = errors.New("dripdrop: peer queue full")
	// ErrAddrInUse is returned by Bind when the endpoint is taken.
	ErrAddrInUse = errors.New("dripdrop: address in use")
	// ErrNotBound is returned by Unbind and Disconnect for an endpoint the
	// socket does not have.
	ErrNotBound = errors.New("dripdrop: endpoint not bound or connected")
	// ErrPeerLost is returned by a REQ socket's Recv when the peer that got
	// the request went away before replying; the socket may send again.
	ErrPeerLost = errors.New("dripdrop: peer went away before replying")
)
