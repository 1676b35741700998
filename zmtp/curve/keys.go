package curve

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/curve25519"
)

// KeySize is the size of a CURVE key in octets.
const KeySize = 32

// Z85KeySize is the length of a key in Z85 text (RFC 32).
const Z85KeySize = 40

// Key is a Curve25519 public or secret key: 32 octets.
type Key [KeySize]byte

// String returns the key as 40 characters of Z85, the form libzmq's
// zmq_curve_keypair and certificate files use. It prints secret keys too:
// keep those out of logs.
func (k Key) String() string {
	b, _ := zmtp.AppendZ85(make([]byte, 0, Z85KeySize), k[:]) // 32 is a multiple of 4
	return string(b)
}

// IsZero reports whether every octet of the key is zero (an unset key).
func (k Key) IsZero() bool { return k == Key{} }

// MarshalText returns the key in Z85.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a key in Z85 (see ParseKey).
func (k *Key) UnmarshalText(text []byte) error {
	p, err := ParseKey(string(text))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// ParseKey reads a key from its 40 characters of Z85.
func ParseKey(text string) (Key, error) {
	var k Key
	if len(text) != Z85KeySize {
		return k, malformed("key of %d characters, want %d of Z85", len(text), Z85KeySize)
	}
	b, err := zmtp.Z85Decode(text)
	if err != nil {
		return k, fmt.Errorf("%w: key: %w", ErrMalformed, err)
	}
	copy(k[:], b)
	return k, nil
}

// KeyFromBytes accepts a key in the forms libzmq's ZMQ_CURVE_*KEY options
// take: 32 raw octets, 40 octets of Z85, or 41 octets of Z85 ending in a
// NUL.
func KeyFromBytes(b []byte) (Key, error) {
	switch len(b) {
	case KeySize:
		return Key(b), nil
	case Z85KeySize + 1:
		if b[Z85KeySize] != 0 {
			break
		}
		b = b[:Z85KeySize]
		fallthrough
	case Z85KeySize:
		return ParseKey(string(b))
	}
	return Key{}, malformed("key of %d octets, want 32 raw or 40 of Z85", len(b))
}

// KeyPair is a permanent or transient key pair.
type KeyPair struct {
	Public, Secret Key
}

// String shows the public key only, so that a key pair printed by mistake
// does not leak its secret.
func (kp KeyPair) String() string { return "CURVE key pair " + kp.Public.String() }

// NewKeyPair makes a random key pair, like libzmq's zmq_curve_keypair.
func NewKeyPair() (KeyPair, error) { return newKeyPair(rand.Reader) }

// newKeyPair makes a key pair from 32 octets of r.
func newKeyPair(r io.Reader) (KeyPair, error) {
	var secret Key
	if _, err := io.ReadFull(r, secret[:]); err != nil {
		return KeyPair{}, fmt.Errorf("dripdrop: CURVE key generation: %w", err)
	}
	return KeyPairFromSecret(secret)
}

// KeyPairFromSecret derives the public key that goes with secret, like
// libzmq's zmq_curve_public.
func KeyPairFromSecret(secret Key) (KeyPair, error) {
	pub, err := curve25519.X25519(secret[:], curve25519.Basepoint)
	if err != nil {
		return KeyPair{}, fmt.Errorf("dripdrop: CURVE secret key: %w", err)
	}
	return KeyPair{Public: Key(pub), Secret: secret}, nil
}
