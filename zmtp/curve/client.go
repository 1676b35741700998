package curve

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// Client is the client side of CURVE: a zmtp.Mechanism for
// zmtp.Config.Mechanism. Keys is the client's permanent key pair (C, c),
// ServerKey the server's permanent public key (S). One Client may serve
// any number of connections at once; each gets fresh transient keys.
type Client struct {
	Keys      KeyPair
	ServerKey Key

	rand     io.Reader // randomness; nil means crypto/rand (tests inject)
	msgNonce uint64    // tests: the first MESSAGE nonce, to reach 2^64-1
}

// NewClient returns a CURVE client with its permanent key pair and the
// server's public key, after checking that neither is unset and that the
// pair's public key belongs to its secret key.
func NewClient(keys KeyPair, serverKey Key) (*Client, error) {
	if err := checkClientKeys(keys, serverKey); err != nil {
		return nil, err
	}
	kp, err := KeyPairFromSecret(keys.Secret)
	if err != nil {
		return nil, err
	}
	if kp.Public != keys.Public {
		return nil, fmt.Errorf("dripdrop: CURVE client: public key %s does not belong to the secret key", keys.Public)
	}
	return &Client{Keys: keys, ServerKey: serverKey}, nil
}

func checkClientKeys(keys KeyPair, serverKey Key) error {
	switch {
	case serverKey.IsZero():
		return errors.New("dripdrop: CURVE client without the server's public key")
	case keys.Secret.IsZero() || keys.Public.IsZero():
		return errors.New("dripdrop: CURVE client without its own key pair")
	}
	return nil
}

// Name returns "CURVE".
func (*Client) Name() string { return "CURVE" }

// IsServer returns false.
func (*Client) IsServer() bool { return false }

// Handshake sends HELLO, opens the WELCOME, sends INITIATE (with the
// metadata in hs.Local and a vouch for its transient key), and opens the
// READY. An ERROR from the server (a refusal, for example by a ZAP
// handler) ends it with a *zmtp.PeerError; a server that hangs up after
// HELLO, which libzmq does when ServerKey is wrong, with ErrNoWelcome.
func (c *Client) Handshake(_ context.Context, hs *zmtp.HandshakeIO) (zmtp.Cipher, error) {
	if err := checkClientKeys(c.Keys, c.ServerKey); err != nil {
		return nil, err
	}
	r := c.rand
	if r == nil {
		r = rand.Reader
	}
	transient, err := newKeyPair(r)
	if err != nil {
		return nil, err
	}
	defer clear(transient.Secret[:])
	var nonces counter
	var peer peerCounter

	helloKey := precompute(&c.ServerKey, &transient.Secret)
	defer clear(helloKey[:])
	n, _ := nonces.take()
	if err := hs.WriteCommand(cmdHello, appendHello(make([]byte, 0, helloData), helloKey, &transient.Public, n)); err != nil {
		return nil, err
	}

	data, err := expect(hs, cmdWelcome)
	if err != nil {
		if hungUp(err) {
			return nil, fmt.Errorf("%w: %w", ErrNoWelcome, err)
		}
		return nil, err
	}
	serverTransient, cookie, err := openWelcome(data, helloKey)
	if err != nil {
		return nil, err
	}
	var shared [32]byte
	box.Precompute(&shared, (*[32]byte)(&serverTransient), (*[32]byte)(&transient.Secret))
	defer clear(shared[:])

	n, _ = nonces.take()
	md := zmtp.AppendMetadata(nil, hs.Local)
	initiate, err := appendInitiate(make([]byte, 0, initiateMin+len(md)), r, &initiateFields{
		cookie: cookie, n: n, shared: &shared,
		client: &c.Keys, serverKey: &c.ServerKey,
		serverTransient: &serverTransient, clientTransient: &transient.Public,
		metadata: md,
	})
	if err != nil {
		return nil, err
	}
	if err := hs.WriteCommand(cmdInitiate, initiate); err != nil {
		return nil, err
	}

	if data, err = expect(hs, cmdReady); err != nil {
		return nil, err
	}
	rn, meta, err := openReady(data, &shared)
	if err != nil {
		return nil, err
	}
	peer.accept(rn)
	if hs.PeerMetadata, err = zmtp.ParseMetadata(meta); err != nil {
		return nil, fmt.Errorf("CURVE READY: %w", err)
	}
	if c.msgNonce != 0 {
		nonces.next = c.msgNonce
	}
	return newCipher(&shared, prefixMsgC, prefixMsgS, nonces, peer), nil
}

// hungUp reports whether a read failed because the peer closed the
// connection (rather than a timeout or a protocol error).
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
