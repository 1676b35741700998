package sockets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// ErrNoAuthenticator is why a server with neither an authenticator
// (WithZAP, WithPlainServer) nor a bound ZAP handler refuses its clients:
// always for PLAIN (nobody would check the passwords), and for CURVE and
// NULL with WithZAPEnforce. The client is sent ERROR "500".
var ErrNoAuthenticator = errors.New("dripdrop: no authenticator, and no ZAP handler is bound")

// authenticator returns what the handshakes of a connection secured by
// mech (nil: NULL) consult: the socket's own authenticator when it has
// one; else, for the server side of PLAIN and CURVE and for NULL with a
// ZAP domain, the ZAP handler if one is bound when the credentials are
// in (libzmq's rule); else nothing.
func (s *Socket) authenticator(mech zmtp.Mechanism) zmtp.Authenticator {
	o := &s.opts
	timeout := min(o.zapTimeout, o.handshakeTimeout)
	if o.authenticator != nil {
		return timedAuth{auth: o.authenticator, timeout: timeout}
	}
	name, server := "NULL", false
	if mech != nil {
		name, server = mech.Name(), mech.IsServer()
	}
	if !server && (name != "NULL" || o.zapDomain == "") {
		return nil
	}
	return zapAuth{endpoint: o.zapEndpoint, timeout: timeout, enforce: o.zapEnforce}
}

// timedAuth gives an application's authenticator the ZAP timeout as its
// context's deadline.
type timedAuth struct {
	auth    zmtp.Authenticator
	timeout time.Duration
}

func (a timedAuth) Authenticate(ctx context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
	tctx, cancel := context.WithTimeoutCause(ctx, a.timeout, ErrZAPTimeout)
	defer cancel()
	res, err := a.auth.Authenticate(tctx, r)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(tctx), ErrZAPTimeout) {
		return temporary("authenticator timed out"), fmt.Errorf("%w after %v: %w", ErrZAPTimeout, a.timeout, err)
	}
	return res, err
}

// zapAuth asks the ZAP handler bound at endpoint, if there is one, and
// applies the default policy if not: NULL and CURVE clients get in (for
// CURVE, any client that knows the server's key, as in libzmq), PLAIN
// ones do not, nor any with enforce (libzmq's ZMQ_ZAP_ENFORCE_DOMAIN).
type zapAuth struct {
	endpoint string
	timeout  time.Duration
	enforce  bool
}

func (a zapAuth) Authenticate(ctx context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
	if !inprocBound(a.endpoint[len("inproc://"):]) {
		if a.enforce || r.Mechanism == "PLAIN" {
			return zmtp.AuthResult{Status: zmtp.StatusInternal, StatusText: "no authenticator"}, ErrNoAuthenticator
		}
		return zmtp.AuthResult{Status: zmtp.StatusOK}, nil
	}
	return zapRequest(ctx, a.endpoint, a.timeout, r)
}

// temporary is the answer for a failure of the authentication machinery
// rather than a verdict on the client: status 300, so that the client
// tries again later.
func temporary(text string) zmtp.AuthResult {
	return zmtp.AuthResult{Status: zmtp.StatusTemporary, StatusText: text}
}

// inprocBound reports whether an inproc name is bound.
func inprocBound(name string) bool {
	inproc.mu.Lock()
	defer inproc.mu.Unlock()
	return inproc.names[name] != nil
}
