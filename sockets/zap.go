package sockets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// ZAPEndpoint is where a ZAP handler binds (RFC 27): a socket that
// authenticates clients and has no authenticator of its own (WithZAP)
// asks the handler bound there, if any, as libzmq does. ServeZAP binds
// one; an application may bind its own REP or ROUTER there instead.
const ZAPEndpoint = "inproc://zeromq.zap.01"

// zapVersion is the only version of ZAP.
const zapVersion = "1.0"

// Why a ZAP exchange failed. Each wraps ErrZAP. A server whose handler
// fails refuses the client with status 300 (try again later): the fault
// is the server's, not the client's credentials.
var (
	// ErrZAP marks a ZAP handler (or an authenticator) that did not give
	// a valid answer.
	ErrZAP = errors.New("dripdrop: ZAP handler failed")
	// ErrZAPTimeout: no reply within the ZAP timeout (WithZAPTimeout).
	ErrZAPTimeout = fmt.Errorf("%w: no reply in time", ErrZAP)
	// ErrZAPDisconnected: the handler went away before it replied.
	ErrZAPDisconnected = fmt.Errorf("%w: handler went away", ErrZAP)
	// ErrZAPMalformed: a reply that is not the 7 frames of RFC 27 (empty
	// delimiter, version, request id, status, status text, user id,
	// metadata).
	ErrZAPMalformed = fmt.Errorf("%w: malformed reply", ErrZAP)
	// ErrZAPVersion: a reply whose version is not "1.0".
	ErrZAPVersion = fmt.Errorf("%w: reply version is not 1.0", ErrZAP)
	// ErrZAPRequestID: a reply that does not echo the request id.
	ErrZAPRequestID = fmt.Errorf("%w: reply to another request", ErrZAP)
	// ErrZAPStatus: a status code other than 200, 300, 400 and 500.
	ErrZAPStatus = fmt.Errorf("%w: invalid status code", ErrZAP)
	// ErrZAPMetadata: a metadata frame that does not parse as ZMTP
	// properties.
	ErrZAPMetadata = fmt.Errorf("%w: malformed metadata", ErrZAP)
)

// zapRequestIDs numbers the requests of this process.
var zapRequestIDs atomic.Uint64

// zapRequest asks the handler at endpoint about r (RFC 27), through a
// DEALER of its own, as libzmq gives each connection its own ZAP pipe.
// A reply that breaks the protocol, none within timeout, or the handler
// going away yields temporary() and an error wrapping ErrZAP.
func zapRequest(ctx context.Context, endpoint string, timeout time.Duration, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
	id := []byte(strconv.FormatUint(zapRequestIDs.Add(1), 10))
	req := [][]byte{{}, []byte(zapVersion), id, []byte(r.Domain), []byte(r.Address), r.Identity, []byte(r.Mechanism)}
	switch r.Mechanism {
	case "PLAIN":
		req = append(req, []byte(r.Username), []byte(r.Password))
	case "CURVE":
		req = append(req, r.ClientKey)
	}

	events := make(chan Event, 16)
	c, err := New(DEALER, WithLinger(0), WithSendHWM(0), WithRecvHWM(0),
		WithReconnectInterval(-1, 0), WithMonitor(events))
	if err != nil {
		return temporary("ZAP client"), err
	}
	defer c.Close()
	if err := c.Connect(endpoint); err != nil {
		return temporary("ZAP client"), err
	}
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w after %v", ErrZAPTimeout, timeout))
	defer cancel()
	// The handler going away ends the wait at once.
	lost, lose := context.WithCancelCause(wctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case ev := <-events:
				switch ev.Type {
				case EventDisconnected, EventHandshakeFailed, EventReconnectStopped:
					lose(fmt.Errorf("%w (%v)", ErrZAPDisconnected, ev))
					return
				}
			case <-lost.Done():
				return
			}
		}
	}()
	defer func() {
		lose(nil)
		<-watched
	}()

	if err = c.Send(lost, NewMsg(req...)); err == nil {
		var m Msg
		if m, err = c.Recv(lost); err == nil {
			return parseZAPReply(m.Frames, id)
		}
	}
	if ctx.Err() != nil {
		return temporary("closing"), ctx.Err()
	}
	if cause := context.Cause(lost); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return temporary(err.Error()), err
}

// parseZAPReply checks a reply as the DEALER received it and turns it into
// an AuthResult.
func parseZAPReply(f [][]byte, id []byte) (zmtp.AuthResult, error) {
	fail := func(sentinel error, format string, args ...any) (zmtp.AuthResult, error) {
		err := fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
		return temporary(err.Error()), err
	}
	switch {
	case len(f) != 7:
		return fail(ErrZAPMalformed, "%d frames, want 7", len(f))
	case len(f[0]) != 0:
		return fail(ErrZAPMalformed, "no empty delimiter frame")
	case string(f[1]) != zapVersion:
		return fail(ErrZAPVersion, "version %.16q", f[1])
	case !bytes.Equal(f[2], id):
		return fail(ErrZAPRequestID, "request id %.16q, want %q", f[2], id)
	}
	status := string(f[3])
	switch status {
	case zmtp.StatusOK, zmtp.StatusTemporary, zmtp.StatusDenied, zmtp.StatusInternal:
	default:
		return fail(ErrZAPStatus, "status %.16q", f[3])
	}
	md, err := zmtp.ParseMetadata(f[6])
	if err != nil {
		return fail(ErrZAPMetadata, "%v", err)
	}
	res := zmtp.AuthResult{Status: status, StatusText: string(f[4])}
	if status == zmtp.StatusOK {
		res.UserID, res.Metadata = string(f[5]), md
	}
	return res, nil
}
