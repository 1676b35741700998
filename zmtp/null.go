package zmtp

import (
	"context"
	"fmt"
)

// Null is the NULL security mechanism (RFC 23/37): no authentication, no
// encryption. A NULL side with an Authenticator configured consults it
// before sending READY, as a libzmq NULL server does when a ZAP handler is
// bound.
type Null struct{}

// Name returns "NULL".
func (Null) Name() string { return "NULL" }

// IsServer returns false: NULL has no roles.
func (Null) IsServer() bool { return false }

// Handshake sends READY without waiting (libzmq does the same) and reads
// the peer's READY.
func (Null) Handshake(ctx context.Context, hs *HandshakeIO) (Cipher, error) {
	if hs.cfg.Authenticator != nil {
		if err := hs.Authenticate(ctx, &AuthRequest{}); err != nil {
			return nil, err
		}
	}
	if err := hs.WriteFrame(AppendReady(nil, hs.Local)); err != nil {
		return nil, err
	}
	data, err := hs.ExpectCommand(CmdReady)
	if err != nil {
		return nil, err
	}
	if hs.PeerMetadata, err = ParseMetadata(data); err != nil {
		return nil, fmt.Errorf("READY: %w", err)
	}
	return nil, nil
}
