package curve

import (
	"errors"
	"fmt"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Sentinel errors. Every error this package returns wraps one of them (or
// an error of package zmtp, or an I/O error), so callers can branch with
// [errors.Is]. None of them is answered with an ERROR command: a CURVE peer
// that sends a bad command is disconnected without a word (RFC 26).
var (
	// ErrMalformed marks a CURVE command whose size, name, version or
	// layout is wrong: a HELLO that is not 200 octets, an INITIATE under
	// 257, a MESSAGE whose plaintext flags have reserved bits set. It wraps
	// zmtp.ErrMalformed.
	ErrMalformed = fmt.Errorf("%w: CURVE command", zmtp.ErrMalformed)

	// ErrCrypto marks a box that does not open: forged, corrupted, or
	// sealed for other keys (a client that has the wrong server key sends a
	// HELLO whose signature box does not open). It wraps zmtp.ErrProtocol.
	ErrCrypto = fmt.Errorf("%w: CURVE box does not open", zmtp.ErrProtocol)

	// ErrCookie marks an INITIATE whose cookie does not open with a live
	// cookie key: forged, or older than the cookie key's lifetime. It wraps
	// ErrCrypto.
	ErrCookie = fmt.Errorf("%w: cookie forged or expired", ErrCrypto)

	// ErrVouch marks an INITIATE whose vouch does not bind this
	// handshake's transient key and this server's key. It wraps ErrCrypto.
	ErrVouch = fmt.Errorf("%w: vouch is not for this handshake", ErrCrypto)

	// ErrReplay marks a short nonce that is not above the previous one from
	// the same peer (a replayed or reordered command, CVE-2014-7203), and an
	// INITIATE whose cookie was already used. It wraps zmtp.ErrProtocol.
	ErrReplay = fmt.Errorf("%w: CURVE replay", zmtp.ErrProtocol)

	// ErrNonceExhausted is returned once a connection has sent 2^64-1
	// commands: RFC 26 allows no more, and the connection must be closed.
	ErrNonceExhausted = errors.New("dripdrop: CURVE short nonces exhausted; close the connection")

	// ErrNoWelcome is returned by a client whose server closed the
	// connection instead of answering HELLO, which is what libzmq does when
	// the HELLO was sealed for another server key.
	ErrNoWelcome = errors.New("dripdrop: CURVE server closed the connection after HELLO (is ServerKey the server's public key?)")
)

// malformed returns an ErrMalformed error.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// wrapf returns sentinel with details.
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
