package curve

import (
	"crypto/subtle"
	"encoding/binary"
	"io"

	"golang.org/x/crypto/nacl/box"
)

// Command names and the sizes of their data, the octets after the name
// (RFC 26 grammar; libzmq accepts exactly these): HELLO is 200 octets with
// its name "\x05HELLO", WELCOME 168, INITIATE at least 257, READY at least
// 30 and MESSAGE at least 33.
const (
	cmdHello    = "HELLO"
	cmdWelcome  = "WELCOME"
	cmdInitiate = "INITIATE"
	cmdReady    = "READY"
	cmdMessage  = "MESSAGE"

	helloPadding = 72 // RFC 26 prose says 70; its grammar and libzmq say 72
	helloBox     = 64 + box.Overhead
	helloData    = 2 + helloPadding + KeySize + 8 + helloBox           // 194
	welcomeBox   = KeySize + cookieSize + box.Overhead                 // 144
	welcomeData  = 16 + welcomeBox                                     // 160
	vouchSize    = 16 + 2*KeySize + box.Overhead                       // 96
	initiateMin  = cookieSize + 8 + KeySize + vouchSize + box.Overhead // 248
	readyMin     = 8 + box.Overhead                                    // 24
	messageMin   = 8 + box.Overhead + 1                                // 25

	versionMajor, versionMinor = 1, 0
)

// precompute returns the key shared by a public key and a secret key
// (crypto_box_beforenm). The C'-S pair seals HELLO's signature and opens
// WELCOME, so each side computes it once for both.
func precompute(peerPublic, secret *Key) *[32]byte {
	var k [32]byte
	box.Precompute(&k, (*[32]byte)(peerPublic), (*[32]byte)(secret))
	return &k
}

// appendHello appends the data of a HELLO: version 1.0, 72 octets of
// padding, C', the short nonce n and Box[64 zeros](C'->S), sealed with the
// C'-S key k.
func appendHello(dst []byte, k *[32]byte, clientTransient *Key, n uint64) []byte {
	dst = append(dst, versionMajor, versionMinor)
	dst = append(dst, make([]byte, helloPadding)...)
	dst = append(dst, clientTransient[:]...)
	dst = binary.BigEndian.AppendUint64(dst, n)
	var zeros [64]byte
	return box.SealAfterPrecomputation(dst, zeros[:], shortNonce(prefixHello, n), k)
}

// openHello checks a HELLO's data and returns C', its short nonce and the
// C'-S key. Only the version and the signature box are checked, as libzmq
// does: the padding is there to make HELLO larger than WELCOME, and its
// value does not matter.
func openHello(data []byte, serverSecret *Key) (clientTransient Key, n uint64, k *[32]byte, err error) {
	if len(data) != helloData {
		return clientTransient, 0, nil, malformed("HELLO of %d octets, want exactly 200", 6+len(data))
	}
	if data[0] != versionMajor || data[1] != versionMinor {
		return clientTransient, 0, nil, malformed("HELLO for CurveZMQ %d.%d, want 1.0", data[0], data[1])
	}
	p := 2 + helloPadding
	copy(clientTransient[:], data[p:p+KeySize])
	n = binary.BigEndian.Uint64(data[p+KeySize:])
	k = precompute(&clientTransient, serverSecret)
	var zeros [64]byte
	sig, ok := box.OpenAfterPrecomputation(zeros[:0], data[p+KeySize+8:], shortNonce(prefixHello, n), k)
	if !ok {
		return clientTransient, 0, nil, wrapf(ErrCrypto, "HELLO signature box (the client may have the wrong server key)")
	}
	if subtle.ConstantTimeCompare(sig, make([]byte, 64)) != 1 {
		return clientTransient, 0, nil, malformed("HELLO signature is not 64 zeros")
	}
	return clientTransient, n, k, nil
}

// appendWelcome appends the data of a WELCOME: a long nonce and
// Box[S' + cookie](S->C'), sealed with the C'-S key k.
func appendWelcome(dst []byte, r io.Reader, k *[32]byte, serverTransient *Key, cookie []byte) ([]byte, error) {
	nonce, err := randomLongNonce(r, prefixWelcome)
	if err != nil {
		return dst, err
	}
	var plain [KeySize + cookieSize]byte
	copy(plain[:KeySize], serverTransient[:])
	copy(plain[KeySize:], cookie)
	dst = append(dst, nonce[8:]...)
	return box.SealAfterPrecomputation(dst, plain[:], nonce, k), nil
}

// openWelcome opens a WELCOME's data with the C'-S key k and returns S'
// and the cookie.
func openWelcome(data []byte, k *[32]byte) (serverTransient Key, cookie []byte, err error) {
	if len(data) != welcomeData {
		return serverTransient, nil, malformed("WELCOME of %d octets, want exactly 168", 8+len(data))
	}
	plain, ok := box.OpenAfterPrecomputation(make([]byte, 0, KeySize+cookieSize), data[16:], longNonce(prefixWelcome, data), k)
	if !ok {
		return serverTransient, nil, wrapf(ErrCrypto, "WELCOME box: not from the server whose key we have")
	}
	copy(serverTransient[:], plain[:KeySize])
	return serverTransient, plain[KeySize:], nil
}

// initiateFields are what a client puts in an INITIATE.
type initiateFields struct {
	cookie          []byte
	n               uint64
	shared          *[32]byte // C'-S' precomputation
	client          *KeyPair  // C, c
	serverKey       *Key      // S
	serverTransient *Key      // S'
	clientTransient *Key      // C'
	metadata        []byte
}

// appendInitiate appends the data of an INITIATE: the cookie, the short
// nonce and Box[C + vouch + metadata](C'->S'), where the vouch is a long
// nonce and Box[C' + S](C->S'). The metadata may have any size: every
// buffer is sized from it.
func appendInitiate(dst []byte, r io.Reader, f *initiateFields) ([]byte, error) {
	vn, err := randomLongNonce(r, prefixVouch)
	if err != nil {
		return dst, err
	}
	var vouchPlain [2 * KeySize]byte
	copy(vouchPlain[:KeySize], f.clientTransient[:])
	copy(vouchPlain[KeySize:], f.serverKey[:])
	plain := make([]byte, 0, KeySize+vouchSize+len(f.metadata))
	plain = append(plain, f.client.Public[:]...)
	plain = append(plain, vn[8:]...)
	plain = box.Seal(plain, vouchPlain[:], vn, (*[32]byte)(f.serverTransient), (*[32]byte)(&f.client.Secret))
	plain = append(plain, f.metadata...)

	dst = append(dst, f.cookie...)
	dst = binary.BigEndian.AppendUint64(dst, f.n)
	return box.SealAfterPrecomputation(dst, plain, shortNonce(prefixInitiate, f.n), f.shared), nil
}

// initiateBox is an INITIATE's box, opened.
type initiateBox struct {
	clientKey Key    // C
	vouch     []byte // 96 octets
	metadata  []byte
}

// openInitiateBox opens the box of an INITIATE with the C'-S'
// precomputation.
func openInitiateBox(data []byte, n uint64, shared *[32]byte) (initiateBox, error) {
	var ib initiateBox
	sealed := data[cookieSize+8:]
	plain, ok := box.OpenAfterPrecomputation(make([]byte, 0, len(sealed)-box.Overhead), sealed, shortNonce(prefixInitiate, n), shared)
	if !ok {
		return ib, wrapf(ErrCrypto, "INITIATE box")
	}
	copy(ib.clientKey[:], plain[:KeySize])
	ib.vouch = plain[KeySize : KeySize+vouchSize]
	ib.metadata = plain[KeySize+vouchSize:]
	return ib, nil
}

// checkVouch opens the vouch and checks that it binds C' and S to C.
func checkVouch(vouch []byte, clientKey, serverTransientSecret, clientTransient, serverKey *Key) error {
	var plain [2 * KeySize]byte
	got, ok := box.Open(plain[:0], vouch[16:], longNonce(prefixVouch, vouch), (*[32]byte)(clientKey), (*[32]byte)(serverTransientSecret))
	if !ok {
		return wrapf(ErrVouch, "vouch box does not open with the client key C")
	}
	if subtle.ConstantTimeCompare(got[:KeySize], clientTransient[:]) != 1 {
		return wrapf(ErrVouch, "vouch is for another transient key C'")
	}
	if subtle.ConstantTimeCompare(got[KeySize:], serverKey[:]) != 1 {
		return wrapf(ErrVouch, "vouch is for another server key S")
	}
	return nil
}

// appendReady appends the data of a READY: the short nonce and
// Box[metadata](S'->C').
func appendReady(dst []byte, n uint64, shared *[32]byte, metadata []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, n)
	return box.SealAfterPrecomputation(dst, metadata, shortNonce(prefixReady, n), shared)
}

// openReady opens a READY's data and returns its short nonce and metadata.
func openReady(data []byte, shared *[32]byte) (uint64, []byte, error) {
	if len(data) < readyMin {
		return 0, nil, malformed("READY of %d octets, want at least 30", 6+len(data))
	}
	n := binary.BigEndian.Uint64(data)
	md, ok := box.OpenAfterPrecomputation(make([]byte, 0, len(data)-readyMin), data[8:], shortNonce(prefixReady, n), shared)
	if !ok {
		return 0, nil, wrapf(ErrCrypto, "READY box")
	}
	return n, md, nil
}
