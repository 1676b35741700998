package zmtp

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// RFC 32 "Test Case": these 8 octets encode as "HelloWorld".
var rfc32Bin = []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}

const rfc32Text = "HelloWorld"

func TestZ85RFC32Vector(t *testing.T) {
	s, err := Z85Encode(rfc32Bin)
	if err != nil || s != rfc32Text {
		t.Fatalf("Z85Encode = %q, %v; want %q", s, err, rfc32Text)
	}
	b, err := Z85Decode(rfc32Text)
	if err != nil || !bytes.Equal(b, rfc32Bin) {
		t.Fatalf("Z85Decode = % x, %v; want % x", b, err, rfc32Bin)
	}
	// The Append forms append after what is there.
	out, err := AppendZ85([]byte("<"), rfc32Bin)
	if err != nil || string(out) != "<"+rfc32Text {
		t.Fatalf("AppendZ85 = %q, %v", out, err)
	}
	out, err = AppendZ85Decode([]byte{0xAA}, rfc32Text)
	if err != nil || !bytes.Equal(out, append([]byte{0xAA}, rfc32Bin...)) {
		t.Fatalf("AppendZ85Decode = % x, %v", out, err)
	}
	if n := Z85EncodedLen(8); n != 10 {
		t.Fatalf("Z85EncodedLen(8) = %d", n)
	}
	if n := Z85EncodedLen(32); n != 40 {
		t.Fatalf("Z85EncodedLen(32) = %d", n)
	}
}

// The CURVE test keys of libzmq's test suite and zmq_curve(7)
// documentation: the server public key and its 32 octets (as libzmq's Lua
// binding tests spell them), and two key pairs whose public halves are
// X25519(secret, 9).
const (
	curveServerPublic = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	curveServerSecret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
	curveClientPublic = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
	curveClientSecret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
)

var curveServerPublicBin = []byte{
	84, 252, 186, 36, 233, 50, 73, 150, 147, 22, 251, 97, 124, 135, 43, 176,
	193, 209, 255, 20, 128, 4, 39, 197, 148, 203, 250, 207, 27, 194, 214, 82,
}

func TestZ85CurveKeyVector(t *testing.T) {
	s, err := Z85Encode(curveServerPublicBin)
	if err != nil || s != curveServerPublic {
		t.Fatalf("Z85Encode(server key) = %q, %v; want %q", s, err, curveServerPublic)
	}
	b, err := Z85Decode(curveServerPublic)
	if err != nil || !bytes.Equal(b, curveServerPublicBin) {
		t.Fatalf("Z85Decode(server key) = % x, %v", b, err)
	}
}

// Decoding the documented key pairs gives keys that match under X25519,
// which checks the decoder against an independent computation.
func TestZ85CurveKeyPairs(t *testing.T) {
	for _, kp := range []struct{ public, secret string }{
		{curveServerPublic, curveServerSecret},
		{curveClientPublic, curveClientSecret},
	} {
		pub, err := Z85Decode(kp.public)
		if err != nil || len(pub) != 32 {
			t.Fatalf("decode %q: %d octets, %v", kp.public, len(pub), err)
		}
		sec, err := Z85Decode(kp.secret)
		if err != nil || len(sec) != 32 {
			t.Fatalf("decode %q: %d octets, %v", kp.secret, len(sec), err)
		}
		priv, err := ecdh.X25519().NewPrivateKey(sec)
		if err != nil {
			t.Fatal(err)
		}
		if derived := priv.PublicKey().Bytes(); !bytes.Equal(derived, pub) {
			t.Fatalf("X25519(%q) = % x, decoded public key % x", kp.secret, derived, pub)
		}
		for _, k := range []struct {
			bin  []byte
			text string
		}{{pub, kp.public}, {sec, kp.secret}} {
			if s, err := Z85Encode(k.bin); err != nil || s != k.text {
				t.Fatalf("re-encode = %q, %v; want %q", s, err, k.text)
			}
		}
	}
}

func TestZ85Boundaries(t *testing.T) {
	// 0 is "00000" (RFC 32: zero maps to '0'); 2^32-1 is the largest block:
	// 82*85^4 + 23*85^3 + 54*85^2 + 12*85 + 0 = 4294967295 -> "%nSc0".
	for _, c := range []struct {
		bin  []byte
		text string
	}{
		{[]byte{0, 0, 0, 0}, "00000"},
		{[]byte{0, 0, 0, 1}, "00001"},
		{[]byte{0, 0, 0, 84}, "0000#"},
		{[]byte{0, 0, 0, 85}, "00010"},
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF}, "%nSc0"},
		{nil, ""},
	} {
		s, err := Z85Encode(c.bin)
		if err != nil || s != c.text {
			t.Errorf("Z85Encode(% x) = %q, %v; want %q", c.bin, s, err, c.text)
		}
		b, err := Z85Decode(c.text)
		if err != nil || !bytes.Equal(b, c.bin) {
			t.Errorf("Z85Decode(%q) = % x, %v; want % x", c.text, b, err, c.bin)
		}
	}
}

// Every character of the RFC 32 table decodes to its position.
func TestZ85Alphabet(t *testing.T) {
	const table = "0123456789" + "abcdefghij" + "klmnopqrst" + "uvwxyzABCD" + "EFGHIJKLMN" +
		"OPQRSTUVWX" + "YZ.-:+=^!/" + "*?&<>()[]{" + "}@%$#"
	if len(table) != 85 {
		t.Fatalf("table has %d characters", len(table))
	}
	for i := 0; i < 85; i++ {
		b, err := Z85Decode("0000" + string(table[i]))
		if err != nil || len(b) != 4 || b[3] != byte(i) || b[0]|b[1]|b[2] != 0 {
			t.Errorf("Z85Decode(0000%c) = % x, %v; want value %d", table[i], b, err, i)
		}
		s, err := Z85Encode([]byte{0, 0, 0, byte(i)})
		if err != nil || s != "0000"+string(table[i]) {
			t.Errorf("Z85Encode(%d) = %q, %v", i, s, err)
		}
	}
}

func TestZ85Rejects(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 6, 7, 31, 33} {
		if s, err := Z85Encode(make([]byte, n)); !errors.Is(err, ErrZ85) {
			t.Errorf("Z85Encode(%d octets) = %q, %v; want ErrZ85", n, s, err)
		}
		if out, err := AppendZ85([]byte("keep"), make([]byte, n)); !errors.Is(err, ErrZ85) || string(out) != "keep" {
			t.Errorf("AppendZ85(%d octets) = %q, %v; want ErrZ85 and dst unchanged", n, out, err)
		}
	}
	for _, s := range []string{"0", "0000", "000000", "HelloWorl", "HelloWorld0", strings.Repeat("0", 39)} {
		if b, err := Z85Decode(s); !errors.Is(err, ErrZ85) {
			t.Errorf("Z85Decode(%q) = % x, %v; want ErrZ85", s, b, err)
		}
	}
	// Characters outside the RFC 32 alphabet.
	for _, c := range []byte{' ', '"', '\'', ',', ';', '\\', '_', '`', '|', '~', 0x00, '\n', 0x7F, 0x80, 0xFF} {
		s := "Hell" + string([]byte{c}) + "World"
		if b, err := Z85Decode(s); !errors.Is(err, ErrZ85) {
			t.Errorf("Z85Decode(%q) = % x, %v; want ErrZ85", s, b, err)
		}
	}
	// Blocks worth 2^32 or more.
	for _, s := range []string{"%nSc1", "%nSd0", "%%%%%", "#####", "HelloWorld%%%%%", "$0000"} {
		if b, err := Z85Decode(s); !errors.Is(err, ErrZ85) {
			t.Errorf("Z85Decode(%q) = % x, %v; want ErrZ85 (block >= 2^32)", s, b, err)
		}
	}
}

func TestZ85RoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 85))
	for i := 0; i < 2000; i++ {
		b := make([]byte, 4*rng.IntN(20))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		s, err := Z85Encode(b)
		if err != nil {
			t.Fatalf("Z85Encode(% x): %v", b, err)
		}
		if len(s) != Z85EncodedLen(len(b)) {
			t.Fatalf("Z85Encode(% x) is %d characters, want %d", b, len(s), Z85EncodedLen(len(b)))
		}
		for k := 0; k < len(s); k++ {
			if strings.IndexByte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#", s[k]) < 0 {
				t.Fatalf("Z85Encode produced %q outside the alphabet", s[k])
			}
		}
		got, err := Z85Decode(s)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of % x via %q gave % x, %v", b, s, got, err)
		}
	}
}
