package zmtp

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func zeros(n int) []byte { return make([]byte, n) }

// goldenNullGreeting31 is the wire notes' golden NULL 3.1 greeting:
// FF 00*8 7F 03 01 "NULL" 00*16 00 00*31 (RFC 37 "Worked Example").
var goldenNullGreeting31 = slices.Concat(
	[]byte{0xFF}, zeros(8), []byte{0x7F}, // signature
	[]byte{0x03, 0x01},        // version 3.1
	[]byte("NULL"), zeros(16), // mechanism, NUL-padded to 20
	[]byte{0x00}, // as-server
	zeros(31),    // filler
)

func TestGreetingGoldenNull31(t *testing.T) {
	if len(goldenNullGreeting31) != 64 {
		t.Fatalf("golden greeting is %d octets", len(goldenNullGreeting31))
	}
	got := AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	if !bytes.Equal(got, goldenNullGreeting31) {
		t.Fatalf("AppendGreeting\n% x\nwant\n% x", got, goldenNullGreeting31)
	}
	// Appends after what is there.
	got = AppendGreeting([]byte{0xAB}, Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	if got[0] != 0xAB || !bytes.Equal(got[1:], goldenNullGreeting31) {
		t.Fatalf("AppendGreeting did not append: % x", got)
	}
	if GreetingSize != 64 || VersionMajor != 3 || VersionMinor != 1 {
		t.Fatalf("GreetingSize %d version %d.%d", GreetingSize, VersionMajor, VersionMinor)
	}
}

func TestGreetingGoldenPlain(t *testing.T) {
	server := slices.Concat([]byte{0xFF}, zeros(8), []byte{0x7F, 0x03, 0x01},
		[]byte("PLAIN"), zeros(15), []byte{0x01}, zeros(31))
	got := AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN", AsServer: true})
	if !bytes.Equal(got, server) {
		t.Fatalf("PLAIN server greeting\n% x\nwant\n% x", got, server)
	}
	client := slices.Clone(server)
	client[32] = 0x00
	got = AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN"})
	if !bytes.Equal(got, client) {
		t.Fatalf("PLAIN client greeting\n% x\nwant\n% x", got, client)
	}
}

func TestParseGreetingGolden(t *testing.T) {
	g, err := ParseGreeting(goldenNullGreeting31)
	if err != nil {
		t.Fatal(err)
	}
	want := Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}
	if g != want {
		t.Fatalf("got %+v, want %+v", g, want)
	}
}

func TestParseGreetingAccepts(t *testing.T) {
	base := func() []byte { return slices.Clone(goldenNullGreeting31) }
	tests := []struct {
		name string
		in   []byte
		want Greeting
	}{
		{"3.0", func() []byte { b := base(); b[11] = 0; return b }(),
			Greeting{Major: 3, Minor: 0, Mechanism: "NULL"}},
		{"3.2", func() []byte { b := base(); b[11] = 2; return b }(),
			Greeting{Major: 3, Minor: 2, Mechanism: "NULL"}},
		{"4.0 (newer peers adapt to us)", func() []byte { b := base(); b[10], b[11] = 4, 0; return b }(),
			Greeting{Major: 4, Minor: 0, Mechanism: "NULL"}},
		{"255.255", func() []byte { b := base(); b[10], b[11] = 255, 255; return b }(),
			Greeting{Major: 255, Minor: 255, Mechanism: "NULL"}},
		{"libzmq padding (identity length + 1)", func() []byte {
			b := base()
			copy(b[1:9], []byte{0, 0, 0, 0, 0, 0, 0, 0x01})
			return b
		}(), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{"padding all ones", func() []byte {
			b := base()
			copy(b[1:9], bytes.Repeat([]byte{0xFF}, 8))
			return b
		}(), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{"octet 9 with other bits set", func() []byte { b := base(); b[9] = 0xFF; return b }(),
			Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{"non-zero filler", func() []byte {
			b := base()
			copy(b[33:], bytes.Repeat([]byte{0xAA}, 31))
			return b
		}(), Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
		{"PLAIN as-server", slices.Concat([]byte{0xFF}, zeros(8), []byte{0x7F, 3, 1},
			[]byte("PLAIN"), zeros(15), []byte{1}, zeros(31)),
			Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN", AsServer: true}},
		{"CURVE", slices.Concat([]byte{0xFF}, zeros(8), []byte{0x7F, 3, 1},
			[]byte("CURVE"), zeros(15), []byte{0}, zeros(31)),
			Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"}},
		{"20-octet mechanism", slices.Concat([]byte{0xFF}, zeros(8), []byte{0x7F, 3, 1},
			[]byte("ABCDEFGHIJ0123456789"), []byte{0}, zeros(31)),
			Greeting{Major: 3, Minor: 1, Mechanism: "ABCDEFGHIJ0123456789"}},
		{"longer input, only 64 octets used", append(base(), 0x04, 0x00),
			Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGreeting(tt.in)
			if err != nil {
				t.Fatalf("ParseGreeting: %v", err)
			}
			if g != tt.want {
				t.Fatalf("got %+v, want %+v", g, tt.want)
			}
		})
	}
}

func TestParseGreetingRejects(t *testing.T) {
	base := func() []byte { return slices.Clone(goldenNullGreeting31) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"major 1 (ZMTP 2.0 revision 1)", func() []byte { b := base(); b[10] = 1; return b }(), ErrVersion},
		{"major 2", func() []byte { b := base(); b[10] = 2; return b }(), ErrVersion},
		{"major 0", func() []byte { b := base(); b[10] = 0; return b }(), ErrVersion},
		{"first octet not 0xFF (ZMTP 1.0 short length)", func() []byte { b := base(); b[0] = 0x01; return b }(), ErrVersion},
		{"first octet 0xFE", func() []byte { b := base(); b[0] = 0xFE; return b }(), ErrVersion},
		{"octet 9 bit 0 clear (ZMTP 1.0 long length)", func() []byte { b := base(); b[9] = 0x7E; return b }(), ErrVersion},
		{"octet 9 zero", func() []byte { b := base(); b[9] = 0x00; return b }(), ErrVersion},
		{"non-ASCII mechanism", func() []byte { b := base(); b[13] = 0xC3; return b }(), ErrMalformed},
		{"control octet in mechanism", func() []byte { b := base(); b[12] = 0x01; return b }(), ErrMalformed},
		{"DEL in mechanism", func() []byte { b := base(); b[15] = 0x7F; return b }(), ErrMalformed},
		{"mechanism not NUL-padded", func() []byte { b := base(); b[20] = 'X'; return b }(), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"signature only", base()[:10], ErrMalformed},
		{"signature and version", base()[:12], ErrMalformed},
		{"63 octets", base()[:63], ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGreeting(tt.in)
			if err == nil {
				t.Fatalf("ParseGreeting accepted it: %+v", g)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v does not wrap ErrProtocol", err)
			}
		})
	}
}

// A greeting survives an encode/parse round trip for every field value the
// package can send.
func TestGreetingRoundTrip(t *testing.T) {
	for _, mech := range []string{"NULL", "PLAIN", "CURVE", "GSSAPI", "X"} {
		for _, minor := range []byte{0, 1, 9} {
			for _, srv := range []bool{false, true} {
				in := Greeting{Major: 3, Minor: minor, Mechanism: mech, AsServer: srv}
				g, err := ParseGreeting(AppendGreeting(nil, in))
				if err != nil || g != in {
					t.Errorf("%+v: round trip gave %+v, %v", in, g, err)
				}
			}
		}
	}
}
