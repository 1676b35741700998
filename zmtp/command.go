package zmtp

import (
	"encoding/binary"
	"time"
)

// Command names (RFC 37, RFC 24).
const (
	CmdReady     = "READY"
	CmdError     = "ERROR"
	CmdSubscribe = "SUBSCRIBE"
	CmdCancel    = "CANCEL"
	CmdPing      = "PING"
	CmdPong      = "PONG"
	CmdHello     = "HELLO"
	CmdWelcome   = "WELCOME"
	CmdInitiate  = "INITIATE"
)

// MaxPingContext is the longest PING context echoed in a PONG (RFC 37);
// longer contexts are cut to this length, as libzmq does.
const MaxPingContext = 16

// maxErrorReason is the longest ERROR reason (1-octet length).
const maxErrorReason = 255

// AppendCommand appends a whole command frame (header and body) named name
// whose data is the concatenation of parts. The name must be 1–255 octets.
func AppendCommand(b []byte, name string, parts ...[]byte) []byte {
	size := 1 + len(name)
	for _, p := range parts {
		size += len(p)
	}
	b = AppendFrameHeader(b, FlagCommand, size)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// ParseCommand splits a command frame body into its name and data. Both
// alias body.
func ParseCommand(body []byte) (name, data []byte, err error) {
	if len(body) == 0 {
		return nil, nil, malformed("empty command")
	}
	n := int(body[0])
	if n == 0 || n > len(body)-1 {
		if isLibzmqPlainError(body) {
			return []byte(CmdError), body[len(libzmqPlainError):], nil
		}
		return nil, nil, malformed("command name of %d octets, %d left", n, len(body)-1)
	}
	name = body[1 : 1+n]
	for _, c := range name {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return nil, nil, malformed("command name %q is not alphabetic", name)
		}
	}
	return name, body[1+n:], nil
}

// AppendReady appends a READY command carrying m.
func AppendReady(b []byte, m Metadata) []byte {
	return AppendCommand(b, CmdReady, AppendMetadata(nil, m))
}

// AppendError appends an ERROR command. A reason over 255 octets is cut.
func AppendError(b []byte, reason string) []byte {
	if len(reason) > maxErrorReason {
		reason = reason[:maxErrorReason]
	}
	return AppendCommand(b, CmdError, []byte{byte(len(reason))}, []byte(reason))
}

// ParseError returns the reason carried by an ERROR command's data.
func ParseError(data []byte) (string, error) {
	if len(data) == 0 || int(data[0]) > len(data)-1 {
		return "", malformed("ERROR reason does not fit its command")
	}
	return string(data[1 : 1+int(data[0])]), nil
}

// AppendPing appends a PING command with a time-to-live (sent in tenths of
// a second, capped at 6553.5 s) and a context of at most 16 octets.
func AppendPing(b []byte, ttl time.Duration, context []byte) []byte {
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	tenths := ttl / (100 * time.Millisecond)
	if tenths > 0xFFFF {
		tenths = 0xFFFF
	}
	if tenths < 0 {
		tenths = 0
	}
	var t [2]byte
	binary.BigEndian.PutUint16(t[:], uint16(tenths))
	return AppendCommand(b, CmdPing, t[:], context)
}

// ParsePing parses a PING command's data: the peer's TTL and its context
// (cut to 16 octets, aliasing data).
func ParsePing(data []byte) (ttl time.Duration, context []byte, err error) {
	if len(data) < 2 {
		return 0, nil, malformed("PING of %d data octets, want at least 2", len(data))
	}
	ttl = time.Duration(binary.BigEndian.Uint16(data)) * 100 * time.Millisecond
	context = data[2:]
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	return ttl, context, nil
}

// AppendPong appends a PONG command echoing context (cut to 16 octets).
func AppendPong(b []byte, context []byte) []byte {
	if len(context) > MaxPingContext {
		context = context[:MaxPingContext]
	}
	return AppendCommand(b, CmdPong, context)
}

// AppendSubscribe appends a ZMTP 3.1 SUBSCRIBE command for topic.
func AppendSubscribe(b []byte, topic []byte) []byte {
	return AppendCommand(b, CmdSubscribe, topic)
}

// AppendCancel appends a ZMTP 3.1 CANCEL command for topic.
func AppendCancel(b []byte, topic []byte) []byte {
	return AppendCommand(b, CmdCancel, topic)
}

// AppendHello appends a PLAIN HELLO command. Username and password are at
// most 255 octets each.
func AppendHello(b []byte, username, password string) []byte {
	return AppendCommand(b, CmdHello,
		[]byte{byte(len(username))}, []byte(username),
		[]byte{byte(len(password))}, []byte(password))
}

// ParseHello parses a PLAIN HELLO command's data.
func ParseHello(data []byte) (username, password string, err error) {
	if len(data) < 1 || int(data[0]) > len(data)-1 {
		return "", "", malformed("HELLO username does not fit")
	}
	u := data[1 : 1+int(data[0])]
	rest := data[1+int(data[0]):]
	if len(rest) < 1 || int(rest[0]) != len(rest)-1 {
		return "", "", malformed("HELLO password does not fit")
	}
	return string(u), string(rest[1:]), nil
}

// libzmqPlainError is how libzmq 4.3 (through 4.3.4 at least) spells the
// ERROR command its PLAIN server sends: the C literal "\x05ERROR" reads
// "\x05E" as the one octet 0x5E, so the name length is '^' and "RROR"
// follows. A name length of 94 with so few octets after it can mean
// nothing else, so ParseCommand takes it as ERROR: without that, a PLAIN
// client refused by libzmq would not learn it was refused, and would retry.
const libzmqPlainError = "^RROR"

func isLibzmqPlainError(body []byte) bool {
	return len(body) > len(libzmqPlainError) && string(body[:len(libzmqPlainError)]) == libzmqPlainError
}
