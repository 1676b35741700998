package zmtp

import "context"

// Status codes of an authentication result (RFC 27).
const (
	StatusOK        = "200"
	StatusTemporary = "300"
	StatusDenied    = "400"
	StatusInternal  = "500"
)

// AuthRequest is what a server-side mechanism knows about a peer when it
// asks an [Authenticator]: the fields of a ZAP request (RFC 27).
type AuthRequest struct {
	Domain    string // the socket's ZAP domain
	Address   string // the peer's network address, without port for tcp
	Identity  []byte // the local socket's identity, as libzmq sends it
	Mechanism string // "NULL", "PLAIN" or "CURVE"
	Username  string // PLAIN
	Password  string // PLAIN
	ClientKey []byte // CURVE: the client's permanent public key, 32 octets
}

// AuthResult is an authenticator's answer.
type AuthResult struct {
	Status     string   // StatusOK lets the handshake go on; anything else refuses
	StatusText string   // human-readable reason
	UserID     string   // exposed as the User-Id property of the peer's messages
	Metadata   Metadata // merged into the peer's properties
}

// Authenticator decides whether a peer may finish its handshake. It is
// called by NULL (when set), PLAIN and CURVE servers once the mechanism has
// the peer's credentials. An error is treated as status 500, unless the
// result carries another refusing status (300 or 400), which is then what
// the peer is told; either way the handshake's error wraps it.
type Authenticator interface {
	Authenticate(ctx context.Context, r *AuthRequest) (AuthResult, error)
}

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(ctx context.Context, r *AuthRequest) (AuthResult, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, r *AuthRequest) (AuthResult, error) {
	return f(ctx, r)
}
