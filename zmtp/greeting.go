package zmtp

import (
	"bytes"
	"fmt"
)

// GreetingSize is the length of a ZMTP 3.x greeting.
const GreetingSize = 64

// Greeting offsets (RFC 23/37 "Formal Grammar").
const (
	greetSignatureEnd = 10 // 0xFF, 8 padding octets, 0x7F
	greetMajor        = 10
	greetMinor        = 11
	greetMechanism    = 12
	greetMechanismEnd = 32
	greetAsServer     = 32
)

// Our version: we greet as ZMTP 3.1.
const (
	VersionMajor = 3
	VersionMinor = 1
)

// Greeting is the 64-octet opening of a ZMTP 3.x connection.
type Greeting struct {
	Major, Minor byte
	Mechanism    string // "NULL", "PLAIN", "CURVE", ...; at most 20 ASCII octets
	AsServer     bool
}

// AppendGreeting appends the 64-octet encoding of g. Padding and filler are
// zero. A mechanism name longer than 20 octets is truncated; callers use the
// fixed names.
func AppendGreeting(b []byte, g Greeting) []byte {
	var buf [GreetingSize]byte
	buf[0] = 0xFF
	buf[9] = 0x7F
	buf[greetMajor] = g.Major
	buf[greetMinor] = g.Minor
	copy(buf[greetMechanism:greetMechanismEnd], g.Mechanism)
	if g.AsServer {
		buf[greetAsServer] = 1
	}
	return append(b, buf[:]...)
}

// checkSignature validates the first octets of a peer's greeting, as many as
// are given (1 to 10). It refuses ZMTP 1.0 peers as soon as their first
// octet shows it, so they are closed at once rather than at a timeout.
func checkSignature(b []byte) error {
	if len(b) > 0 && b[0] != 0xFF {
		return fmt.Errorf("%w: peer speaks ZMTP 1.0 (first octet %#02x)", ErrVersion, b[0])
	}
	if len(b) >= greetSignatureEnd && b[9]&1 == 0 {
		return fmt.Errorf("%w: peer speaks ZMTP 1.0 (long identity)", ErrVersion)
	}
	return nil
}

// checkMajor validates the major version octet: 3 and above are accepted (a
// newer peer adapts to us, RFC 37); 1 and 2 are refused (D1).
func checkMajor(major byte) error {
	if major < VersionMajor {
		return fmt.Errorf("%w: peer speaks ZMTP %d.0; 3.0 or newer is required", ErrVersion, major)
	}
	return nil
}

// ParseGreeting parses a full 64-octet greeting. Padding and filler octets
// are never checked, as RFC 37 asks.
func ParseGreeting(b []byte) (Greeting, error) {
	if len(b) < GreetingSize {
		return Greeting{}, malformed("greeting of %d octets, want %d", len(b), GreetingSize)
	}
	if err := checkSignature(b[:greetSignatureEnd]); err != nil {
		return Greeting{}, err
	}
	if err := checkMajor(b[greetMajor]); err != nil {
		return Greeting{}, err
	}
	mech := b[greetMechanism:greetMechanismEnd]
	if i := bytes.IndexByte(mech, 0); i >= 0 {
		if bytes.ContainsFunc(mech[i:], func(r rune) bool { return r != 0 }) {
			return Greeting{}, malformed("mechanism name not NUL-padded")
		}
		mech = mech[:i]
	}
	for _, c := range mech {
		if c < 0x20 || c > 0x7E {
			return Greeting{}, malformed("mechanism name has non-ASCII octet %#02x", c)
		}
	}
	return Greeting{
		Major:     b[greetMajor],
		Minor:     b[greetMinor],
		Mechanism: string(mech),
		AsServer:  b[greetAsServer] == 1,
	}, nil
}
