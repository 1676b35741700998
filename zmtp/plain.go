package zmtp

import (
	"context"
	"fmt"
)

// PlainClient is the client side of the PLAIN mechanism (RFC 24): it sends
// a username and password in the clear.
type PlainClient struct {
	Username, Password string // at most 255 octets each
}

// Name returns "PLAIN".
func (PlainClient) Name() string { return "PLAIN" }

// IsServer returns false.
func (PlainClient) IsServer() bool { return false }

// Handshake sends HELLO, waits for WELCOME, sends INITIATE and waits for
// READY. An ERROR from the server ends it with a *PeerError.
func (p PlainClient) Handshake(ctx context.Context, hs *HandshakeIO) (Cipher, error) {
	if len(p.Username) > 255 || len(p.Password) > 255 {
		return nil, fmt.Errorf("%w: PLAIN username and password are limited to 255 octets", ErrAuth)
	}
	if err := hs.WriteFrame(AppendHello(nil, p.Username, p.Password)); err != nil {
		return nil, err
	}
	data, err := hs.ExpectCommand(CmdWelcome)
	if err != nil {
		return nil, err
	}
	if len(data) != 0 {
		return nil, malformed("WELCOME with %d data octets", len(data))
	}
	if err := hs.WriteCommand(CmdInitiate, AppendMetadata(nil, hs.Local)); err != nil {
		return nil, err
	}
	if data, err = hs.ExpectCommand(CmdReady); err != nil {
		return nil, err
	}
	if hs.PeerMetadata, err = ParseMetadata(data); err != nil {
		return nil, fmt.Errorf("READY: %w", err)
	}
	return nil, nil
}

// PlainServer is the server side of the PLAIN mechanism. Credentials are
// checked by the Authenticator of the connection's Config, which must be
// set: a PLAIN server without one refuses every client.
type PlainServer struct{}

// Name returns "PLAIN".
func (PlainServer) Name() string { return "PLAIN" }

// IsServer returns true.
func (PlainServer) IsServer() bool { return true }

// Handshake waits for HELLO, asks the Authenticator, and answers WELCOME or
// ERROR; then it waits for INITIATE and sends READY.
func (PlainServer) Handshake(ctx context.Context, hs *HandshakeIO) (Cipher, error) {
	data, err := hs.ExpectCommand(CmdHello)
	if err != nil {
		return nil, err
	}
	user, pass, err := ParseHello(data)
	if err != nil {
		hs.SendError("malformed HELLO")
		return nil, err
	}
	if err := hs.Authenticate(ctx, &AuthRequest{Username: user, Password: pass}); err != nil {
		return nil, err
	}
	if err := hs.WriteCommand(CmdWelcome); err != nil {
		return nil, err
	}
	if data, err = hs.ExpectCommand(CmdInitiate); err != nil {
		return nil, err
	}
	if err := hs.AcceptPeerMetadata(data); err != nil {
		return nil, fmt.Errorf("INITIATE: %w", err)
	}
	if err := hs.WriteFrame(AppendReady(nil, hs.Local)); err != nil {
		return nil, err
	}
	return nil, nil
}
