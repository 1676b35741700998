package zmtp

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestMetadataGolden(t *testing.T) {
	// property = name value; name = short-size 1*255name-char;
	// value = 4OCTET *OCTET (RFC 37 "The NULL Security Mechanism").
	got := AppendMetadata(nil, Metadata{
		{Name: "Socket-Type", Value: []byte("PUB")},
		{Name: "X-Key", Value: nil},
	})
	want := slices.Concat(
		[]byte{11}, []byte("Socket-Type"), []byte{0, 0, 0, 3}, []byte("PUB"),
		[]byte{5}, []byte("X-Key"), []byte{0, 0, 0, 0},
	)
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendMetadata\n% x\nwant\n% x", got, want)
	}
	if got := AppendMetadata([]byte("pre"), nil); string(got) != "pre" {
		t.Fatalf("empty metadata appended % x", got)
	}
	// A 256-octet value has a 4-octet length 00 00 01 00.
	v := bytes.Repeat([]byte{0xEE}, 256)
	got = AppendMetadata(nil, Metadata{{Name: "A", Value: v}})
	want = slices.Concat([]byte{1, 'A', 0, 0, 1, 0}, v)
	if !bytes.Equal(got, want) {
		t.Fatalf("256-octet value: header % x, want % x", got[:6], want[:6])
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	cases := []Metadata{
		nil,
		{{Name: "Socket-Type", Value: []byte("DEALER")}, {Name: "Identity", Value: []byte{}}},
		{{Name: "Identity", Value: []byte{0x01, 0x00, 0xFF}}},
		{{Name: "X-App.version+1_a", Value: []byte("1.2.3")}},
		{{Name: strings.Repeat("N", 255), Value: bytes.Repeat([]byte{7}, 70000)}},
		{{Name: "a", Value: []byte("1")}, {Name: "a", Value: []byte("2")}, {Name: "B", Value: nil}},
	}
	for i, m := range cases {
		if err := m.Validate(); err != nil {
			t.Fatalf("case %d: Validate: %v", i, err)
		}
		got, err := ParseMetadata(AppendMetadata(nil, m))
		if err != nil {
			t.Fatalf("case %d: ParseMetadata: %v", i, err)
		}
		if len(got) != len(m) {
			t.Fatalf("case %d: %d properties, want %d", i, len(got), len(m))
		}
		for j := range m {
			if got[j].Name != m[j].Name || !bytes.Equal(got[j].Value, m[j].Value) {
				t.Fatalf("case %d property %d: got %q=%q, want %q=%q", i, j, got[j].Name, got[j].Value, m[j].Name, m[j].Value)
			}
		}
	}
}

// Values are returned with their capacity cut, so appending to one cannot
// overwrite the next property in the shared input.
func TestParseMetadataValuesDoNotOverlap(t *testing.T) {
	in := AppendMetadata(nil, Metadata{{Name: "A", Value: []byte("xy")}, {Name: "B", Value: []byte("zz")}})
	m, err := ParseMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(m[0].Value, '!', '!', '!', '!', '!', '!', '!', '!')
	if got := string(m[1].Name) + "=" + string(m[1].Value); got != "B=zz" {
		t.Fatalf("appending to a value changed the next property: %s", got)
	}
}

func TestMetadataGetCaseInsensitive(t *testing.T) {
	m := Metadata{
		{Name: "Socket-Type", Value: []byte("ROUTER")},
		{Name: "Identity", Value: []byte("id1")},
		{Name: "identity", Value: []byte("second")},
		{Name: "X-Empty", Value: []byte{}},
	}
	for _, name := range []string{"Socket-Type", "socket-type", "SOCKET-TYPE", "sOcKeT-tYpE"} {
		v, ok := m.Get(name)
		if !ok || string(v) != "ROUTER" {
			t.Errorf("Get(%q) = %q %v", name, v, ok)
		}
	}
	// The first match wins.
	if v, ok := m.Get("IDENTITY"); !ok || string(v) != "id1" {
		t.Errorf("Get(IDENTITY) = %q %v, want the first one", v, ok)
	}
	if v, ok := m.Get("x-empty"); !ok || len(v) != 0 {
		t.Errorf("Get(x-empty) = %q %v, want present and empty", v, ok)
	}
	if v, ok := m.Get("Resource"); ok || v != nil {
		t.Errorf("Get(Resource) = %q %v, want absent", v, ok)
	}
	if v, ok := m.Get("Socket-Typ"); ok {
		t.Errorf("Get(Socket-Typ) = %q, a prefix must not match", v)
	}
	if s := m.String("SOCKET-type"); s != "ROUTER" {
		t.Errorf("String = %q", s)
	}
	if s := m.String("absent"); s != "" {
		t.Errorf("String(absent) = %q", s)
	}
	if v, ok := Metadata(nil).Get("x"); ok || v != nil {
		t.Errorf("nil metadata Get = %q %v", v, ok)
	}
}

func TestParseMetadataRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"name length 0", []byte{0, 0, 0, 0, 0}},
		{"name length 0 after a good property", slices.Concat(rawProps("A", "1"), []byte{0, 0, 0, 0, 0})},
		{"name length only", []byte{5}},
		{"name longer than what remains", []byte{5, 'A', 'B', 'C'}},
		{"name of 255, 254 octets left", slices.Concat([]byte{255}, bytes.Repeat([]byte{'A'}, 254))},
		{"missing value length", []byte{1, 'A'}},
		{"value length cut short (3 of 4)", []byte{1, 'A', 0, 0, 0}},
		{"value length 1 larger than what remains", []byte{1, 'A', 0, 0, 0, 3, 'x', 'y'}},
		{"value length 1 with nothing left", []byte{1, 'A', 0, 0, 0, 1}},
		{"value length 0x80000000", []byte{1, 'A', 0x80, 0, 0, 0, 'x'}},
		{"value length 0xFFFFFFFF", []byte{1, 'A', 0xFF, 0xFF, 0xFF, 0xFF, 'x'}},
		{"value length 0x7FFFFFFF, 1 octet left", []byte{1, 'A', 0x7F, 0xFF, 0xFF, 0xFF, 'x'}},
		{"trailing octet after a good property", slices.Concat(rawProps("A", "1"), []byte{1})},
		{"space in name", rawProps("Socket Type", "DEALER")},
		{"colon in name", rawProps("Socket:Type", "DEALER")},
		{"NUL in name", rawProps("A\x00", "x")},
		{"high octet in name", rawProps("caf\xc3\xa9", "x")},
		{"slash in name", rawProps("a/b", "x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata(tt.in)
			if err == nil {
				t.Fatalf("ParseMetadata(% x) accepted %q", tt.in, m)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseMetadataAcceptsNameChars(t *testing.T) {
	// name-char = ALPHA | DIGIT | "-" | "_" | "." | "+"
	name := "azAZ09-_.+"
	m, err := ParseMetadata(rawProps(name, "v"))
	if err != nil || len(m) != 1 || m[0].Name != name || string(m[0].Value) != "v" {
		t.Fatalf("ParseMetadata = %q %v", m, err)
	}
	m, err = ParseMetadata(nil)
	if err != nil || len(m) != 0 {
		t.Fatalf("ParseMetadata(nil) = %q %v", m, err)
	}
}

func TestMetadataValidate(t *testing.T) {
	good := []Metadata{
		nil,
		{{Name: "X-A", Value: nil}},
		{{Name: strings.Repeat("n", 255), Value: []byte("v")}},
		{{Name: "azAZ09-_.+", Value: []byte("v")}},
	}
	for _, m := range good {
		if err := m.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", m, err)
		}
	}
	bad := []struct {
		why string
		m   Metadata
	}{
		{"empty name", Metadata{{Name: "", Value: []byte("v")}}},
		{"256-octet name", Metadata{{Name: strings.Repeat("n", 256), Value: nil}}},
		{"empty name after a good one", Metadata{{Name: "A"}, {Name: ""}}},
	}
	for _, b := range bad {
		if err := b.m.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Validate = %v, want ErrMalformed", b.why, err)
		}
	}
}

// Validate must not pass what the same package's ParseMetadata (and every
// conforming peer) refuses: names are restricted to ALPHA, DIGIT and
// "-_.+" by RFC 37, so a Config.Metadata name with a space or a colon
// would produce a READY that the peer rejects as malformed.
func TestMetadataValidateAgreesWithParse(t *testing.T) {
	for _, name := range []string{"X Space", "X:Colon", "X/Slash", "X\x00", "caf\xc3\xa9"} {
		m := Metadata{{Name: name, Value: []byte("v")}}
		_, perr := ParseMetadata(AppendMetadata(nil, m))
		verr := m.Validate()
		if perr != nil && verr == nil {
			t.Errorf("Validate accepts name %q that ParseMetadata rejects (%v)", name, perr)
		}
	}
}
