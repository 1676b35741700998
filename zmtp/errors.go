package zmtp

import (
	"errors"
	"fmt"
	"net"
)

// Sentinel errors. Errors returned by this package wrap one of these (or an
// I/O error from the underlying connection), so callers can branch with
// [errors.Is].
var (
	// ErrProtocol marks a peer that broke the ZMTP grammar.
	ErrProtocol = errors.New("dripdrop: zmtp protocol violation")
	// ErrVersion marks a peer that speaks ZMTP 1.0 or 2.0. Such peers are
	// refused (DESIGN.md decision D1).
	ErrVersion = fmt.Errorf("%w: unsupported ZMTP version", ErrProtocol)
	// ErrMechanism marks a peer whose greeting names another security
	// mechanism than ours, or a role conflict (both sides as-server).
	ErrMechanism = fmt.Errorf("%w: security mechanism mismatch", ErrProtocol)
	// ErrSocketType marks a peer whose Socket-Type cannot talk to ours.
	ErrSocketType = fmt.Errorf("%w: incompatible socket type", ErrProtocol)
	// ErrMsgTooLarge marks a frame or message over the size limit.
	ErrMsgTooLarge = fmt.Errorf("%w: message too large", ErrProtocol)
	// ErrMalformed marks a frame, command or property list that does not
	// parse.
	ErrMalformed = fmt.Errorf("%w: malformed input", ErrProtocol)
	// ErrAuth marks a handshake refused by authentication, on either side.
	ErrAuth = errors.New("dripdrop: authentication failed")
	// ErrHandshakeTimeout marks a handshake that did not finish in time.
	ErrHandshakeTimeout = errors.New("dripdrop: handshake timeout")
	// ErrHeartbeatTimeout marks a connection closed because the peer went
	// silent for longer than the heartbeat timeout or its PING TTL.
	ErrHeartbeatTimeout = errors.New("dripdrop: heartbeat timeout")
	// ErrClosed is returned by a Conn after Close. It wraps net.ErrClosed.
	ErrClosed = fmt.Errorf("dripdrop: connection closed: %w", net.ErrClosed)
)

// PeerError is the reason carried by an ERROR command the peer sent. It
// wraps ErrAuth when it arrives during the handshake, as an ERROR there is a
// refusal that must not be retried with the same credentials (RFC 37).
type PeerError struct {
	Reason string
}

func (e *PeerError) Error() string { return "dripdrop: peer sent ERROR: " + e.Reason }

// Unwrap lets errors.Is(err, ErrAuth) hold for a peer's ERROR.
func (e *PeerError) Unwrap() error { return ErrAuth }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
