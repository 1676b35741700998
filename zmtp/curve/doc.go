// Package curve implements the CURVE security mechanism of ZeroMQ:
// CurveZMQ (RFC 26) carried over ZMTP (RFC 25), interoperable with libzmq
// 4.3. It plugs into package zmtp as a [zmtp.Mechanism]:
//
//	server, _ := curve.NewServer(serverSecret)             // one per socket
//	zmtp.Config{SocketType: zmtp.Router, Mechanism: server, Authenticator: auth}
//
//	client, _ := curve.NewClient(clientKeys, serverPublic)
//	zmtp.Config{SocketType: zmtp.Dealer, Mechanism: client}
//
// The server asks the connection's zmtp.Authenticator about the client's
// permanent public key (AuthRequest.ClientKey) once every box of the
// client's INITIATE has opened, never before; without one it lets in any
// client that knows its public key, as libzmq does without a ZAP handler.
//
// # Keys and certificates
//
// Keys are 32 octets; in text they are 40 characters of Z85 (RFC 32), the
// form libzmq's zmq_curve_keypair prints. [KeyFromBytes] accepts what
// libzmq's key options accept (32 raw octets or 40 of Z85). [NewKeyPair]
// and [KeyPairFromSecret] are zmq_curve_keypair and zmq_curve_public.
// Certificates are the ZPL files of czmq's zcert and pyzmq's
// zmq.auth.create_certificates: [LoadCertificate], [Certificate.Save].
//
// # What goes on the wire
//
// As libzmq 4.3 sends them, and checked against it by this package's
// tests: HELLO is a 200-octet command (72 octets of padding, not RFC 26's
// 70), WELCOME 168, INITIATE at least 257 and READY at least 30. Short
// nonces count from 1 in each direction: a client's HELLO is 1, its
// INITIATE 2 and its MESSAGEs 3 on; a server's READY is 1 and its
// MESSAGEs 2 on. Each frame of a message travels as one MESSAGE in a ZMTP
// data frame with flags 0 (LONG when needed), never as a command frame:
// libzmq keeps the frame's COMMAND flag on what it decrypts and silently
// drops a MESSAGE that arrives in a command frame. The frame's MORE flag
// travels inside the box, in the plaintext flags octet, whose bit 1 is
// libzmq's COMMAND bit: PING, PONG, SUBSCRIBE and CANCEL cross an
// established CURVE connection encrypted, as MESSAGEs with that bit set.
// We accept a MESSAGE in a command frame too, as RFC 25 describes it.
//
// # Security properties
//
// Every connection uses fresh transient key pairs on both sides. Between a
// client's HELLO and its INITIATE the server keeps no state for it: its
// transient secret key exists only inside the cookie, sealed with a cookie
// key that all clients share and that is replaced every CookieKeyLifetime
// (a cookie opens for at least that long and at most twice as long). A
// cookie serves one INITIATE only, so a recorded handshake cannot be
// replayed onto a new connection. Short nonces must strictly increase in
// each direction (a replayed or reordered command closes the connection,
// CVE-2014-7203), and a connection refuses to send after 2^64-1 commands.
// INITIATE and READY metadata may have any size; every buffer is sized
// from what arrived (CVE-2019-13132), within zmtp's limit on handshake
// commands. Bad input is never answered with ERROR: the connection just
// closes, with an error wrapping one of this package's sentinels
// (ErrMalformed, ErrCrypto, ErrCookie, ErrVouch, ErrReplay).
//
// We are stricter than libzmq 4.3 in three places: the server checks that
// the vouch names its own public key (libzmq checks only C'), an INITIATE
// nonce must be above the HELLO's, and a MESSAGE whose plaintext flags
// have reserved bits set, or MORE on a command, is refused (libzmq masks
// them off). libzmq never sends any of these.
//
// The cryptography is golang.org/x/crypto's nacl/box and nacl/secretbox,
// the constructions of libsodium's crypto_box and crypto_secretbox (the
// tests hold known answers computed with libsodium).
package curve
