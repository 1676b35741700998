// Package curve implements the CURVE security mechanism of ZeroMQ:
// CurveZMQ (RFC 26) carried over ZMTP (RFC 25), interoperable with libzmq.
//
// A server needs its permanent key pair; a client needs its own pair and
// the server's public key:
//
//	serverKeys, _ := curve.NewKeyPair()
//	server := curve.NewServer(serverKeys)           // zmtp.Config.Mechanism on the server
//	clientKeys, _ := curve.NewKeyPair()
//	client := curve.Client{Keys: clientKeys, ServerKey: serverKeys.Public}
//
// Keys print as 40-character Z85 text (RFC 32) and load from the ZPL
// certificate files czmq and pyzmq write. Each connection uses fresh
// transient keys; the server keeps no state for a client between HELLO and
// INITIATE beyond what the cookie carries, sealed with a key that rotates
// every minute. Short nonces strictly increase in each direction, so a
// replayed or reordered MESSAGE closes the connection.
//
// The crypto is golang.org/x/crypto/nacl (box and secretbox), the same
// construction as libsodium's crypto_box and crypto_secretbox.
package curve
