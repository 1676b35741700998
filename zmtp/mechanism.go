package zmtp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Mechanism is a ZMTP security mechanism: NULL and PLAIN here, CURVE in
// package zmtp/curve. A Mechanism value holds one side's configuration and
// may be shared by many connections.
type Mechanism interface {
	// Name is the mechanism name sent in the greeting ("NULL", "PLAIN", ...).
	Name() string
	// IsServer reports whether this side plays the server role (sent as the
	// greeting's as-server octet).
	IsServer() bool
	// Handshake runs the mechanism's command exchange after the greetings.
	// It sends hs.Local in its READY or INITIATE, stores what the peer sent
	// in hs.PeerMetadata, and, on a server, consults hs.Authenticate. It
	// returns the cipher that protects traffic afterwards, or nil for
	// mechanisms that send in the clear.
	Handshake(ctx context.Context, hs *HandshakeIO) (Cipher, error)
}

// Cipher protects message traffic after an encrypting handshake (CURVE).
// Each frame of a message travels as one frame (a data frame with no
// flags, as libzmq sends CURVE MESSAGEs) whose body Seal produces and Open
// reverses; the frame's own flags travel inside. A Cipher is used by one reader and one writer
// goroutine at once: sealing and opening must not share mutable state.
type Cipher interface {
	// Seal appends the body of the frame that carries one frame with the
	// given flags (FlagMore, FlagCommand) and payload.
	Seal(dst []byte, flags byte, payload []byte) ([]byte, error)
	// Open returns the flags and payload carried by a frame body.
	// The payload may alias body.
	Open(body []byte) (flags byte, payload []byte, err error)
}

// HandshakeIO is a Mechanism's view of a connection during its handshake.
type HandshakeIO struct {
	// Local holds the properties to send (Socket-Type, Identity, ...).
	Local Metadata
	// Peer is the peer's greeting.
	Peer Greeting
	// PeerMetadata is set by the mechanism to what the peer sent.
	PeerMetadata Metadata
	// UserID and AuthMetadata are set from the authenticator's answer.
	UserID       string
	AuthMetadata Metadata

	c        *Conn
	cfg      *Config
	peerType SocketType
	checked  bool // PeerMetadata has passed checkPeerMetadata
}

// ReadCommand reads the next command frame. An ERROR command comes back as
// a *PeerError; a data frame is a protocol error. name and data are owned
// by the caller.
func (hs *HandshakeIO) ReadCommand() (name string, data []byte, err error) {
	flags, size, err := hs.c.rd.readHeader(maxHandshakeCommand)
	if err != nil {
		return "", nil, err
	}
	if flags&FlagCommand == 0 || flags&FlagMore != 0 {
		return "", nil, fmt.Errorf("%w: message frame during handshake", ErrProtocol)
	}
	body, err := hs.c.rd.readBody(size, true)
	if err != nil {
		return "", nil, err
	}
	n, d, err := ParseCommand(body)
	if err != nil {
		return "", nil, err
	}
	if string(n) == CmdError {
		reason, err := ParseError(d)
		if err != nil {
			return "", nil, err
		}
		return "", nil, &PeerError{Reason: reason}
	}
	return string(n), d, nil
}

// ExpectCommand reads the next command and fails unless it is named want.
func (hs *HandshakeIO) ExpectCommand(want string) ([]byte, error) {
	name, data, err := hs.ReadCommand()
	if err != nil {
		return nil, err
	}
	if name != want {
		return nil, fmt.Errorf("%w: got %s, want %s", ErrProtocol, name, want)
	}
	return data, nil
}

// WriteCommand sends a command frame with the given name and data parts,
// and flushes it.
func (hs *HandshakeIO) WriteCommand(name string, parts ...[]byte) error {
	return hs.WriteFrame(AppendCommand(nil, name, parts...))
}

// WriteFrame sends an encoded frame and flushes it. When the write fails
// because the peer has already refused us and closed, the peer's ERROR,
// if it arrived, is returned instead of the write error: it is the reason.
func (hs *HandshakeIO) WriteFrame(frame []byte) error {
	err := hs.c.wr.writeRaw(frame)
	if err == nil {
		err = hs.c.wr.flush()
	}
	if err != nil {
		if pe := hs.peerErrorAfterWriteFailure(); pe != nil {
			return pe
		}
	}
	return err
}

// peerErrorGrace bounds how long a failed handshake write waits for the
// ERROR that may explain it.
const peerErrorGrace = 50 * time.Millisecond

// peerErrorAfterWriteFailure reads what the peer sent before it went away,
// briefly, and returns its ERROR command if there is one.
func (hs *HandshakeIO) peerErrorAfterWriteFailure() error {
	if hs.c.rd.buffered() == 0 {
		_ = hs.c.nc.SetReadDeadline(time.Now().Add(peerErrorGrace))
	}
	for range 4 {
		_, _, err := hs.ReadCommand()
		var pe *PeerError
		if errors.As(err, &pe) {
			return pe
		}
		if err != nil {
			return nil
		}
	}
	return nil
}

// SendError sends an ERROR command with reason, best effort: a failure to
// send is ignored, as the connection is about to close anyway.
func (hs *HandshakeIO) SendError(reason string) {
	_ = hs.WriteFrame(AppendError(nil, reason))
}

// RemoteAddr is the peer's network address as text.
func (hs *HandshakeIO) RemoteAddr() string {
	if a := hs.c.nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Authenticate asks the configured Authenticator about a peer. When none is
// configured it lets NULL and CURVE peers in (a CURVE client has proved it
// knows the server's key, as with libzmq without a ZAP handler) and
// refuses PLAIN ones, whose password nobody would check. On refusal
// it sends the peer an ERROR whose reason is the status code, as libzmq
// does, and returns an error wrapping ErrAuth.
func (hs *HandshakeIO) Authenticate(ctx context.Context, r *AuthRequest) error {
	auth := hs.cfg.Authenticator
	if auth == nil {
		if m := hs.Peer.Mechanism; m == "NULL" || m == "CURVE" {
			return nil
		}
		hs.SendError(StatusInternal)
		return fmt.Errorf("%w: %s server has no Authenticator", ErrAuth, hs.Peer.Mechanism)
	}
	r.Domain = hs.cfg.Domain
	r.Address = hostOnly(hs.RemoteAddr())
	r.Identity = hs.cfg.Identity
	r.Mechanism = hs.Peer.Mechanism
	res, err := auth.Authenticate(ctx, r)
	if err != nil && (res.Status == "" || res.Status == StatusOK) {
		res = AuthResult{Status: StatusInternal, StatusText: err.Error()}
	}
	if res.Status != StatusOK {
		hs.SendError(res.Status)
		if err != nil {
			return fmt.Errorf("%w: status %s: %w", ErrAuth, res.Status, err)
		}
		return fmt.Errorf("%w: status %s %s", ErrAuth, res.Status, res.StatusText)
	}
	hs.UserID = res.UserID
	hs.AuthMetadata = res.Metadata
	return nil
}
