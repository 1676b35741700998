// Package zmtp implements the ZeroMQ Message Transport Protocol: ZMTP 3.1
// (RFC 37) with 3.0 peers (RFC 23) accepted, the NULL and PLAIN security
// mechanisms (RFC 24) and the Z85 text encoding (RFC 32).
//
// The package works on any [net.Conn]. [Handshake] runs the greeting and the
// mechanism handshake under a deadline and returns a message-level [Conn]:
//
//	c, err := zmtp.Handshake(ctx, netConn, zmtp.Config{SocketType: zmtp.Dealer})
//	if err != nil { ... }
//	defer c.Close()
//	err = c.WriteMsg([][]byte{[]byte("hello")}) // buffered
//	err = c.Flush()
//	msg, err := c.ReadMsg(nil)
//
// A Conn answers PING with PONG itself, sends heartbeats when asked to, and
// never hands a command to its caller: SUBSCRIBE and CANCEL from a 3.1 peer
// are turned into the 3.0 message form (0x01 or 0x00 followed by the topic),
// so that publishers see one form whatever the peer speaks.
//
// Hostile input never drives an allocation: a frame's declared size is
// checked against [Config.MaxMsgSize] first, and a large body grows only as
// its bytes arrive. Every decoding error is a clear error value; nothing in
// this package panics on bad input.
//
// The package imports only the standard library. Socket semantics (routing,
// queues, reconnects) live in package sockets.
package zmtp
