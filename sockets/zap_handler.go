package sockets

import (
	"context"
	"fmt"
	"sync"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// ZAPHandler serves an Authenticator as a ZAP handler (RFC 27): a ROUTER
// bound to an endpoint, usually ZAPEndpoint, that answers each request by
// asking the Authenticator. With it, one Go authenticator serves every
// socket of the process that has none of its own (sockets.WithZAP), the
// way a libzmq application's handler thread does. Make one with ServeZAP.
type ZAPHandler struct {
	sock   *Socket
	auth   zmtp.Authenticator
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{} // bounds the requests answered at once
	once   sync.Once
}

// zapHandlerConcurrency is how many requests a ZAPHandler answers at once;
// more wait for a slot.
const zapHandlerConcurrency = 64

// ServeZAP binds a ZAP handler to endpoint (ZAPEndpoint, or for a proxy
// handler any endpoint) and answers every request with auth's verdict
// until Close. Requests are answered concurrently. A request that is not
// RFC 27 is answered with status 500 when it has a request id, and
// dropped when it has not even that. An Authenticator error becomes
// status 500 with the error as the status text.
func ServeZAP(endpoint string, auth zmtp.Authenticator) (*ZAPHandler, error) {
	if auth == nil {
		return nil, invalid("ServeZAP without an Authenticator")
	}
	sock, err := New(ROUTER, WithLinger(0), WithSendHWM(0), WithRecvHWM(0))
	if err != nil {
		return nil, err
	}
	if err := sock.Bind(endpoint); err != nil {
		sock.Close()
		return nil, err
	}
	h := &ZAPHandler{sock: sock, auth: auth, slots: make(chan struct{}, zapHandlerConcurrency)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(1)
	go h.serve()
	return h, nil
}

// Close stops the handler and returns once the requests being answered
// are done (their authenticator calls see their context end). A second
// Close returns ErrClosed.
func (h *ZAPHandler) Close() error {
	err := ErrClosed
	h.once.Do(func() {
		h.cancel()
		err = h.sock.Close()
		h.wg.Wait()
	})
	return err
}

func (h *ZAPHandler) serve() {
	defer h.wg.Done()
	for {
		m, err := h.sock.Recv(h.ctx)
		if err != nil {
			return
		}
		select {
		case h.slots <- struct{}{}:
		case <-h.ctx.Done():
			return
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer func() { <-h.slots }()
			h.answer(m.Frames)
		}()
	}
}

// answer replies to one request: frames are the ROUTER's, routing ids
// first, then the empty delimiter (RFC 27 lets proxies add ids).
func (h *ZAPHandler) answer(frames [][]byte) {
	delim := -1
	for i, f := range frames {
		if len(f) == 0 {
			delim = i
			break
		}
	}
	if delim < 1 {
		return // no envelope to answer on
	}
	env, body := frames[:delim+1], frames[delim+1:]
	if len(body) < 2 {
		return // not even a request id
	}
	id := body[1]
	r, err := parseZAPRequest(body)
	var res zmtp.AuthResult
	if err == nil {
		res, err = h.auth.Authenticate(h.ctx, r)
	}
	if err != nil {
		res = zmtp.AuthResult{Status: zmtp.StatusInternal, StatusText: err.Error()}
	}
	if res.Status != zmtp.StatusOK {
		res.UserID, res.Metadata = "", nil
	}
	reply := append(env[:len(env):len(env)],
		[]byte(zapVersion), id, []byte(res.Status), []byte(truncate255(res.StatusText)),
		[]byte(res.UserID), zmtp.AppendMetadata(nil, res.Metadata))
	_ = h.sock.Send(h.ctx, NewMsg(reply...)) // a server that has gone misses nothing
}

// parseZAPRequest reads the request frames after the envelope: version,
// request id, domain, address, identity, mechanism, credentials.
func parseZAPRequest(f [][]byte) (*zmtp.AuthRequest, error) {
	if len(f) < 6 {
		return nil, fmt.Errorf("%w: request of %d frames, want at least 6", ErrInvalid, len(f))
	}
	if string(f[0]) != zapVersion {
		return nil, fmt.Errorf("%w: request version %.16q, want 1.0", ErrInvalid, f[0])
	}
	r := &zmtp.AuthRequest{
		Domain: string(f[2]), Address: string(f[3]), Identity: f[4], Mechanism: string(f[5]),
	}
	creds := f[6:]
	want := 0
	switch r.Mechanism {
	case "PLAIN":
		want = 2
		if len(creds) == want {
			r.Username, r.Password = string(creds[0]), string(creds[1])
		}
	case "CURVE":
		want = 1
		if len(creds) == want {
			if len(creds[0]) != 32 {
				return nil, fmt.Errorf("%w: CURVE key of %d octets", ErrInvalid, len(creds[0]))
			}
			r.ClientKey = creds[0]
		}
	case "NULL":
	default:
		return r, nil // the Authenticator decides what it makes of it
	}
	if len(creds) != want {
		return nil, fmt.Errorf("%w: %s request with %d credential frames, want %d", ErrInvalid, r.Mechanism, len(creds), want)
	}
	return r, nil
}

// truncate255 keeps a status text within RFC 27's 255 characters.
func truncate255(s string) string {
	if len(s) > 255 {
		return s[:255]
	}
	return s
}
