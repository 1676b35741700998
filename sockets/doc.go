// Package sockets implements the ZeroMQ socket types (PAIR, PUB, SUB, XPUB,
// XSUB, REQ, REP, DEALER, ROUTER, PUSH, PULL) over tcp, ipc and inproc, with
// libzmq's routing rules: load balancing to peers with room, fair queuing
// from peers, per-subscriber high-water marks, counted prefix
// subscriptions, REQ/REP envelopes and ROUTER identities.
//
// Every method of a *Socket is safe to call from many goroutines (unlike
// libzmq). Send and Recv take a context: its deadline is the timeout, and a
// timeout never closes the socket.
//
//	pull, _ := sockets.New(sockets.PULL)
//	defer pull.Close()
//	_ = pull.Bind("tcp://127.0.0.1:0")
//	push, _ := sockets.New(sockets.PUSH)
//	defer push.Close()
//	_ = push.Connect(pull.Endpoints()[0]) // asynchronous: returns at once
//	_ = push.Send(ctx, sockets.NewMsg([]byte("hello")))
//	msg, _ := pull.Recv(ctx)
//
// Each connection has one reader and one writer goroutine. The writer drains
// its peer's queue in batches and flushes only when the queue is empty; a
// connection still in its handshake has no queue, identity or place in
// load balancing. See DEVIATIONS.md for where behaviour differs from libzmq
// or the RFCs.
//
// Received frames belong to the caller. A receiver that calls Msg.Release
// on each message once done with it has the next ones read into the same
// memory: large frames (4 KiB and more) into recycled bodies, small ones
// into recycled slabs, with their frame lists in recycled chunks. A steady
// stream then allocates next to nothing per message, which roughly doubles
// what a receiver of 64 KiB or of 256-octet messages keeps up with
// (docs/PERFORMANCE.md). Release is optional.
//
// A connection's reader and the goroutine calling Recv hand each message
// over; when they run on different CPUs, every message crosses between
// them. So a PULL's reader, when whole messages are buffered and a Recv
// waits, lends its connection to Recv, which then takes those messages
// itself, one per call, without ever waiting for the network; the reader
// takes the connection back when nothing whole is left, when another
// connection has messages, or after 20 ms. On REQ and REP, whose
// messages alternate, the reader lends its connection as soon as it has
// handed over a message a Recv waited for, and the next Recv waits for
// the network on it itself: the reply wakes the goroutine that wants it,
// a hand-off fewer per round trip. Meanwhile a request from another peer,
// the end of Recv's context, or the reader taking the connection back
// ends the wait; a REQ's Send drops what the lent connection holds, which
// came before the request (no encrypted connections: their frames are
// opened one at a time by the reader). Where a sending and a
// receiving process share a small machine, GOMAXPROCS=1 in each also
// keeps each process's hand-offs on one CPU (docs/PERFORMANCE.md).
//
// A peer's outbound queue is a list of 255-message chunks, as libzmq's
// pipe is: with no high-water mark, a queue that grows because its peer
// lags costs 32 octets per message and gives its chunks back as it
// drains. ipc connections ask the kernel for a 1 MiB send buffer
// (DefaultIPCSendBuffer; WithSendBuffer and WithRecvBuffer set SO_SNDBUF
// and SO_RCVBUF of tcp and ipc connections): with a unix socket's default,
// a sender of large messages waits for its receiver every few hundred KiB.
//
// Security: WithCurveServer and WithCurveClient encrypt and authenticate
// tcp and ipc connections with CURVE; WithPlainServer and WithPlainClient
// use PLAIN; WithZAP (with Auth, a ready-made authenticator), or a ZAP
// handler bound at ZAPEndpoint (ServeZAP, or the application's own), decide
// which clients get in, as libzmq's ZAP does. See docs/CURVE.md.
package sockets
