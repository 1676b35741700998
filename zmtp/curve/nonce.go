package curve

import (
	"encoding/binary"
	"io"
	"math"
)

// Nonce prefixes (RFC 26). A short nonce is a 16-octet prefix and an
// 8-octet big-endian counter; a long nonce an 8-octet prefix and 16 random
// octets. The MESSAGE prefix ends in C from the client and S from the
// server, as RFC 26's text and libzmq have it (its grammar comment says
// "CurveZMQMESSAGE-").
const (
	prefixHello    = "CurveZMQHELLO---"
	prefixInitiate = "CurveZMQINITIATE"
	prefixReady    = "CurveZMQREADY---"
	prefixMsgC     = "CurveZMQMESSAGEC" // client to server
	prefixMsgS     = "CurveZMQMESSAGES" // server to client
	prefixWelcome  = "WELCOME-"
	prefixCookie   = "COOKIE--"
	prefixVouch    = "VOUCH---"
)

// shortNonce builds the nonce of a counter-numbered command.
func shortNonce(prefix string, n uint64) *[24]byte {
	var nonce [24]byte
	copy(nonce[:16], prefix)
	binary.BigEndian.PutUint64(nonce[16:], n)
	return &nonce
}

// longNonce builds a nonce from its prefix and the 16 octets that travel
// on the wire.
func longNonce(prefix string, wire []byte) *[24]byte {
	var nonce [24]byte
	copy(nonce[:8], prefix)
	copy(nonce[8:], wire[:16])
	return &nonce
}

// randomLongNonce draws a long nonce from r.
func randomLongNonce(r io.Reader, prefix string) (*[24]byte, error) {
	var nonce [24]byte
	copy(nonce[:8], prefix)
	if _, err := io.ReadFull(r, nonce[8:]); err != nil {
		return nil, err
	}
	return &nonce, nil
}

// counter hands out one direction's short nonces: 1, 2, ... 2^64-1, as
// libzmq numbers them (HELLO 1, INITIATE 2, the client's first MESSAGE 3;
// READY 1, the server's first MESSAGE 2). After 2^64-1 it refuses: RFC 26
// allows no more commands on one connection.
type counter struct {
	next      uint64 // 0 means 1: the zero value is ready to use
	exhausted bool
}

func (c *counter) take() (uint64, error) {
	if c.exhausted {
		return 0, ErrNonceExhausted
	}
	if c.next == 0 {
		c.next = 1
	}
	n := c.next
	if n == math.MaxUint64 {
		c.exhausted = true
	} else {
		c.next++
	}
	return n, nil
}

// peerCounter checks the other direction: every short nonce must be above
// the one before (RFC 26: a reused nonce means disconnect; CVE-2014-7203).
type peerCounter struct {
	last uint64
	seen bool
}

// check reports whether n may come next, without recording it.
func (p *peerCounter) check(n uint64) error {
	if p.seen && n <= p.last {
		return wrapf(ErrReplay, "short nonce %d is not above the previous %d", n, p.last)
	}
	return nil
}

// accept records n, which check has let through and whose box opened.
func (p *peerCounter) accept(n uint64) { p.last, p.seen = n, true }
