package curve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// Server is the server side of CURVE: a zmtp.Mechanism for
// zmtp.Config.Mechanism. Make it with NewServer; one Server serves every
// connection of a socket, and must, since it holds the cookie key.
//
// Clients are authenticated by the connection's zmtp.Config.Authenticator
// (the client's permanent public key is AuthRequest.ClientKey), which is
// asked only once every box of the INITIATE has opened. Without an
// Authenticator any client that knows the server's public key is let in,
// as libzmq does without a ZAP handler.
//
// Between a client's HELLO and its INITIATE the server keeps nothing for
// it: its transient secret key travels in the cookie, sealed with a
// cookie key shared by all clients that is replaced every
// CookieKeyLifetime (RFC 26). Each cookie is good for one INITIATE.
type Server struct {
	keys KeyPair
	jar  cookieJar

	rand     io.Reader // randomness; nil means crypto/rand (tests inject)
	msgNonce uint64    // tests: the first MESSAGE nonce, to reach 2^64-1
}

// NewServer returns a CURVE server with the given permanent secret key;
// its public key, which clients must know, is PublicKey.
func NewServer(secret Key) (*Server, error) {
	if secret.IsZero() {
		return nil, errors.New("dripdrop: CURVE server without a secret key")
	}
	kp, err := KeyPairFromSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Server{keys: kp, jar: cookieJar{lifetime: CookieKeyLifetime, maxSpent: maxSpentCookies}}, nil
}

// Name returns "CURVE".
func (*Server) Name() string { return "CURVE" }

// IsServer returns true.
func (*Server) IsServer() bool { return true }

// PublicKey is the server's permanent public key (S).
func (s *Server) PublicKey() Key { return s.keys.Public }

// Handshake opens the HELLO, answers with a WELCOME that carries a fresh
// cookie, opens the INITIATE (cookie, box and vouch), checks the client's
// metadata, asks the Authenticator and sends READY. A command that is
// malformed or does not open closes the connection without an ERROR, as
// RFC 26 and libzmq do; an Authenticator's refusal is sent as an ERROR
// carrying its status code.
func (s *Server) Handshake(ctx context.Context, hs *zmtp.HandshakeIO) (zmtp.Cipher, error) {
	if s.keys.Secret.IsZero() {
		return nil, errors.New("dripdrop: CURVE server not made by NewServer")
	}
	r := s.rand
	if r == nil {
		r = rand.Reader
	}
	var nonces counter
	var peer peerCounter

	data, err := expect(hs, cmdHello)
	if err != nil {
		return nil, err
	}
	clientTransient, hn, helloKey, err := openHello(data, &s.keys.Secret)
	if err != nil {
		return nil, err
	}
	peer.accept(hn)

	err = s.welcome(hs, r, helloKey, &clientTransient)
	clear(helloKey[:])
	if err != nil {
		return nil, err
	}

	if data, err = expect(hs, cmdInitiate); err != nil {
		return nil, err
	}
	if len(data) < initiateMin {
		return nil, malformed("INITIATE of %d octets, want at least 257", 9+len(data))
	}
	cookieClient, serverTransientSecret, ticket, err := s.jar.open(data[:cookieSize])
	if err != nil {
		return nil, err
	}
	defer clear(serverTransientSecret[:])
	if subtle.ConstantTimeCompare(cookieClient[:], clientTransient[:]) != 1 {
		return nil, wrapf(ErrCookie, "INITIATE cookie was made for another HELLO")
	}
	in := binary.BigEndian.Uint64(data[cookieSize:])
	if err := peer.check(in); err != nil {
		return nil, err
	}
	var shared [32]byte
	box.Precompute(&shared, (*[32]byte)(&clientTransient), (*[32]byte)(&serverTransientSecret))
	defer clear(shared[:])
	ib, err := openInitiateBox(data, in, &shared)
	if err != nil {
		return nil, err
	}
	peer.accept(in)
	if err := checkVouch(ib.vouch, &ib.clientKey, &serverTransientSecret, &clientTransient, &s.keys.Public); err != nil {
		return nil, err
	}
	if err := s.jar.spend(ticket); err != nil {
		return nil, err
	}

	if err := hs.AcceptPeerMetadata(ib.metadata); err != nil {
		return nil, fmt.Errorf("CURVE INITIATE: %w", err)
	}
	clientKey := ib.clientKey
	if err := hs.Authenticate(ctx, &zmtp.AuthRequest{ClientKey: clientKey[:]}); err != nil {
		return nil, err
	}

	rn, _ := nonces.take()
	md := zmtp.AppendMetadata(nil, hs.Local)
	if err := hs.WriteCommand(cmdReady, appendReady(make([]byte, 0, readyMin+len(md)), rn, &shared, md)); err != nil {
		return nil, err
	}
	if s.msgNonce != 0 {
		nonces.next = s.msgNonce
	}
	return newCipher(&shared, prefixMsgS, prefixMsgC, nonces, peer), nil
}

// welcome sends the WELCOME: a new transient key pair whose secret half
// leaves this function only inside the cookie.
func (s *Server) welcome(hs *zmtp.HandshakeIO, r io.Reader, helloKey *[32]byte, clientTransient *Key) error {
	transient, err := newKeyPair(r)
	if err != nil {
		return err
	}
	defer clear(transient.Secret[:])
	cookie, err := s.jar.seal(r, clientTransient, &transient.Secret)
	if err != nil {
		return err
	}
	welcome, err := appendWelcome(make([]byte, 0, welcomeData), r, helloKey, &transient.Public, cookie)
	if err != nil {
		return err
	}
	return hs.WriteCommand(cmdWelcome, welcome)
}

// expect reads the next command and fails with ErrMalformed unless it is
// named want.
func expect(hs *zmtp.HandshakeIO, want string) ([]byte, error) {
	name, data, err := hs.ReadCommand()
	if err != nil {
		return nil, err
	}
	if name != want {
		return nil, malformed("%.32q command, want %s", name, want)
	}
	return data, nil
}
