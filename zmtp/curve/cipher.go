package curve

import (
	"encoding/binary"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// Flags of a MESSAGE's plaintext, its first octet. RFC 26 defines MORE and
// reserves the other bits; libzmq uses bit 1 for COMMAND, to carry PING,
// PONG, SUBSCRIBE and CANCEL encrypted once the handshake is done.
const (
	msgMore    = 0x01
	msgCommand = 0x02
	msgKnown   = msgMore | msgCommand
)

// messageHeader is the start of every MESSAGE command body.
const messageHeader = "\x07MESSAGE"

// maxScratch is the largest plaintext buffer a cipher keeps for reuse;
// past it, the buffer of a big message is let go after use.
const maxScratch = 256 << 10

// cipher seals and opens the MESSAGE commands of one connection (it is the
// zmtp.Cipher of a CURVE Conn). The sending half is used by the writer, the
// opening half by the reader; they share only the precomputed key, which
// never changes.
type cipher struct {
	shared [32]byte

	sendNonce [24]byte
	send      counter
	plain     []byte

	recvNonce [24]byte
	recv      peerCounter
	opened    []byte
}

func newCipher(shared *[32]byte, sendPrefix, recvPrefix string, send counter, recv peerCounter) *cipher {
	c := &cipher{shared: *shared, send: send, recv: recv}
	copy(c.sendNonce[:16], sendPrefix)
	copy(c.recvNonce[:16], recvPrefix)
	return c
}

// Seal appends the body of a MESSAGE command that carries one frame:
// "\x07MESSAGE", the short nonce, and the box of the flags octet and the
// payload. flags may hold zmtp.FlagMore or zmtp.FlagCommand (a command
// body: name length, name, data). After 2^64-1 MESSAGEs it fails with
// ErrNonceExhausted and the connection must be closed.
func (c *cipher) Seal(dst []byte, flags byte, payload []byte) ([]byte, error) {
	n, err := c.send.take()
	if err != nil {
		return dst, err
	}
	var f byte
	if flags&zmtp.FlagMore != 0 {
		f |= msgMore
	}
	if flags&zmtp.FlagCommand != 0 {
		f |= msgCommand
	}
	c.plain = append(append(c.plain[:0], f), payload...)
	binary.BigEndian.PutUint64(c.sendNonce[16:], n)
	dst = append(dst, messageHeader...)
	dst = append(dst, c.sendNonce[16:]...)
	dst = box.SealAfterPrecomputation(dst, c.plain, &c.sendNonce, &c.shared)
	if cap(c.plain) > maxScratch {
		c.plain = nil
	}
	return dst, nil
}

// Open authenticates and decrypts a MESSAGE command body and returns the
// frame it carries: its flags (zmtp.FlagMore, zmtp.FlagCommand) and
// payload. The payload is valid until the next Open. A nonce that is not
// above the last one is refused before any decryption (ErrReplay); a box
// that does not open is ErrCrypto; reserved plaintext flags, or MORE on a
// command, are ErrMalformed.
func (c *cipher) Open(body []byte) (byte, []byte, error) {
	if cap(c.opened) > maxScratch {
		c.opened = nil
	}
	if len(body) < len(messageHeader) || string(body[:len(messageHeader)]) != messageHeader {
		name, _, err := zmtp.ParseCommand(body)
		if err != nil {
			return 0, nil, malformed("frame after the handshake is not a MESSAGE command")
		}
		return 0, nil, malformed("%.32q command after the handshake, want MESSAGE", name)
	}
	data := body[len(messageHeader):]
	if len(data) < messageMin {
		return 0, nil, malformed("MESSAGE of %d octets, want at least 33", len(body))
	}
	n := binary.BigEndian.Uint64(data)
	if err := c.recv.check(n); err != nil {
		return 0, nil, err
	}
	copy(c.recvNonce[16:], data[:8])
	opened, ok := box.OpenAfterPrecomputation(c.opened[:0], data[8:], &c.recvNonce, &c.shared)
	if !ok {
		return 0, nil, wrapf(ErrCrypto, "MESSAGE box (nonce %d)", n)
	}
	c.opened = opened
	c.recv.accept(n)
	f := opened[0]
	if f&^msgKnown != 0 {
		return 0, nil, malformed("MESSAGE flags %#02x have reserved bits set", f)
	}
	if f == msgKnown {
		return 0, nil, malformed("MESSAGE flags %#02x: a command cannot have MORE", f)
	}
	var flags byte
	if f&msgMore != 0 {
		flags |= zmtp.FlagMore
	}
	if f&msgCommand != 0 {
		flags |= zmtp.FlagCommand
	}
	return flags, opened[1:], nil
}
