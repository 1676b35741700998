package zmtp

import "fmt"

// z85Alphabet is the Z85 character set of RFC 32.
const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

// z85Decoder maps a character to its value plus one; 0 marks characters
// outside the alphabet.
var z85Decoder = func() (d [256]byte) {
	for i := 0; i < len(z85Alphabet); i++ {
		d[z85Alphabet[i]] = byte(i + 1)
	}
	return d
}()

// ErrZ85 marks input that is not valid Z85 or cannot be Z85-encoded.
var ErrZ85 = fmt.Errorf("dripdrop: invalid Z85")

// Z85EncodedLen is the length of the Z85 text for n binary octets (n must be
// a multiple of 4).
func Z85EncodedLen(n int) int { return n / 4 * 5 }

// AppendZ85 appends the Z85 encoding of src (RFC 32). len(src) must be a
// multiple of 4.
func AppendZ85(dst, src []byte) ([]byte, error) {
	if len(src)%4 != 0 {
		return dst, fmt.Errorf("%w: %d octets is not a multiple of 4", ErrZ85, len(src))
	}
	for i := 0; i < len(src); i += 4 {
		v := uint32(src[i])<<24 | uint32(src[i+1])<<16 | uint32(src[i+2])<<8 | uint32(src[i+3])
		var chunk [5]byte
		for j := 4; j >= 0; j-- {
			chunk[j] = z85Alphabet[v%85]
			v /= 85
		}
		dst = append(dst, chunk[:]...)
	}
	return dst, nil
}

// Z85Encode returns the Z85 text for src, whose length must be a multiple
// of 4.
func Z85Encode(src []byte) (string, error) {
	b, err := AppendZ85(make([]byte, 0, Z85EncodedLen(len(src))), src)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// AppendZ85Decode appends the octets Z85 text s decodes to. len(s) must be a
// multiple of 5, every character in the alphabet, and every 5-character
// block worth less than 2^32.
func AppendZ85Decode(dst []byte, s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return dst, fmt.Errorf("%w: %d characters is not a multiple of 5", ErrZ85, len(s))
	}
	for i := 0; i < len(s); i += 5 {
		var v uint64
		for j := i; j < i+5; j++ {
			d := z85Decoder[s[j]]
			if d == 0 {
				return dst, fmt.Errorf("%w: character %q at %d", ErrZ85, s[j], j)
			}
			v = v*85 + uint64(d-1)
		}
		if v > 0xFFFFFFFF {
			return dst, fmt.Errorf("%w: block at %d overflows 32 bits", ErrZ85, i)
		}
		dst = append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return dst, nil
}

// Z85Decode returns the octets Z85 text s decodes to.
func Z85Decode(s string) ([]byte, error) {
	return AppendZ85Decode(make([]byte, 0, len(s)/5*4), s)
}
