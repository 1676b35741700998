package zmtp

import (
	"encoding/binary"
	"math"
	"strings"
)

// Standard property names, spelled as libzmq spells them: libzmq compares
// names case-sensitively, so these exact spellings go on the wire.
const (
	PropSocketType  = "Socket-Type"
	PropIdentity    = "Identity"
	PropUserID      = "User-Id"
	PropPeerAddress = "Peer-Address"
)

// maxPropertyValue is the largest value RFC 37 allows (2^31-1 octets).
const maxPropertyValue = math.MaxInt32

// Property is one name/value pair of connection metadata.
type Property struct {
	Name  string
	Value []byte
}

// Metadata is an ordered list of properties, as carried by READY and
// INITIATE. Names compare case-insensitively (RFC 37).
type Metadata []Property

// Get returns the value of the first property with the given name, compared
// case-insensitively, and whether it was present.
func (m Metadata) Get(name string) ([]byte, bool) {
	for _, p := range m {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return nil, false
}

// String returns the value of the named property as a string ("" if absent).
func (m Metadata) String(name string) string {
	v, _ := m.Get(name)
	return string(v)
}

// AppendMetadata appends the wire encoding of m: for each property a
// 1-octet name length, the name, a 4-octet big-endian value length and the
// value. Properties whose name is empty or over 255 octets, or whose value is
// over 2^31-1 octets, are invalid; validate with [Metadata.Validate] first.
func AppendMetadata(b []byte, m Metadata) []byte {
	for _, p := range m {
		b = append(b, byte(len(p.Name)))
		b = append(b, p.Name...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(p.Value)))
		b = append(b, p.Value...)
	}
	return b
}

// Validate reports whether m can be encoded and would be accepted by a
// conforming peer: names of 1-255 octets of ALPHA, DIGIT and "-_.+", values
// of at most 2^31-1 octets.
func (m Metadata) Validate() error {
	for _, p := range m {
		if len(p.Name) == 0 || len(p.Name) > 255 {
			return malformed("property name of %d octets", len(p.Name))
		}
		for i := 0; i < len(p.Name); i++ {
			if !isPropertyNameChar(p.Name[i]) {
				return malformed("property name %q has octet %#02x", p.Name, p.Name[i])
			}
		}
		if len(p.Value) > maxPropertyValue {
			return malformed("property %q value of %d octets", p.Name, len(p.Value))
		}
	}
	return nil
}

// ParseMetadata parses a property list that fills b exactly. Values alias b.
// Every length is checked against the bytes that remain before slicing, so
// no input can make it panic or allocate more than one Property per 5 octets.
func ParseMetadata(b []byte) (Metadata, error) {
	var m Metadata
	for len(b) > 0 {
		nameLen := int(b[0])
		b = b[1:]
		if nameLen == 0 {
			return nil, malformed("property with an empty name")
		}
		if nameLen > len(b) {
			return nil, malformed("property name of %d octets, %d left", nameLen, len(b))
		}
		name := b[:nameLen]
		b = b[nameLen:]
		if len(b) < 4 {
			return nil, malformed("property %q without a value length", name)
		}
		valueLen := binary.BigEndian.Uint32(b)
		b = b[4:]
		if valueLen > maxPropertyValue || uint64(valueLen) > uint64(len(b)) {
			return nil, malformed("property %q value of %d octets, %d left", name, valueLen, len(b))
		}
		for _, c := range name {
			if !isPropertyNameChar(c) {
				return nil, malformed("property name %q has octet %#02x", name, c)
			}
		}
		m = append(m, Property{Name: string(name), Value: b[:valueLen:valueLen]})
		b = b[valueLen:]
	}
	return m, nil
}

// isPropertyNameChar reports whether c may appear in a property name: RFC 37
// allows ALPHA, DIGIT and "-", "_", ".", "+".
func isPropertyNameChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '-' || c == '_' || c == '.' || c == '+':
		return true
	}
	return false
}
