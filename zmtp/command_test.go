package zmtp

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// goldenDealerReady is RFC 37's worked example: the READY a DEALER sends,
// with Socket-Type "DEALER" and an empty Identity (41-octet body).
var goldenDealerReady = slices.Concat(
	[]byte{0x04, 41},
	[]byte{0x05}, []byte("READY"),
	[]byte{11}, []byte("Socket-Type"), []byte{0x00, 0x00, 0x00, 0x06}, []byte("DEALER"),
	[]byte{8}, []byte("Identity"), []byte{0x00, 0x00, 0x00, 0x00},
)

// goldenRouterReady is the ROUTER's reply in the same example: Socket-Type
// only, a 28-octet body.
var goldenRouterReady = slices.Concat(
	[]byte{0x04, 28},
	[]byte{0x05}, []byte("READY"),
	[]byte{11}, []byte("Socket-Type"), []byte{0x00, 0x00, 0x00, 0x06}, []byte("ROUTER"),
)

func TestReadyGoldenRFC37(t *testing.T) {
	if len(goldenDealerReady) != 2+41 || len(goldenRouterReady) != 2+28 {
		t.Fatalf("golden lengths %d %d", len(goldenDealerReady), len(goldenRouterReady))
	}
	got := AppendReady(nil, Metadata{
		{Name: "Socket-Type", Value: []byte("DEALER")},
		{Name: "Identity", Value: []byte("")},
	})
	if !bytes.Equal(got, goldenDealerReady) {
		t.Fatalf("DEALER READY\n% x\nwant\n% x", got, goldenDealerReady)
	}
	got = AppendReady(nil, Metadata{{Name: "Socket-Type", Value: []byte("ROUTER")}})
	if !bytes.Equal(got, goldenRouterReady) {
		t.Fatalf("ROUTER READY\n% x\nwant\n% x", got, goldenRouterReady)
	}
	// An Identity given as nil encodes like an empty one.
	got = AppendReady(nil, Metadata{
		{Name: "Socket-Type", Value: []byte("DEALER")},
		{Name: "Identity"},
	})
	if !bytes.Equal(got, goldenDealerReady) {
		t.Fatalf("DEALER READY with nil identity\n% x\nwant\n% x", got, goldenDealerReady)
	}
	// An empty READY: name only.
	got = AppendReady(nil, nil)
	if want := []byte{0x04, 0x06, 0x05, 'R', 'E', 'A', 'D', 'Y'}; !bytes.Equal(got, want) {
		t.Fatalf("empty READY % x, want % x", got, want)
	}
}

func TestReadyGoldenParse(t *testing.T) {
	flags, size, n, err := ParseFrameHeader(goldenDealerReady)
	if err != nil || flags != FlagCommand || size != 41 || n != 2 {
		t.Fatalf("header: %#x %d %d %v", flags, size, n, err)
	}
	name, data, err := ParseCommand(goldenDealerReady[2:])
	if err != nil {
		t.Fatal(err)
	}
	if string(name) != "READY" {
		t.Fatalf("name %q", name)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Name != "Socket-Type" || string(m[0].Value) != "DEALER" ||
		m[1].Name != "Identity" || len(m[1].Value) != 0 {
		t.Fatalf("metadata %q", m)
	}
}

func TestAppendCommandGolden(t *testing.T) {
	got := AppendCommand(nil, "ABC", []byte{1, 2}, nil, []byte{3})
	want := []byte{0x04, 0x07, 0x03, 'A', 'B', 'C', 1, 2, 3}
	if !bytes.Equal(got, want) {
		t.Fatalf("% x, want % x", got, want)
	}
	// A body over 255 octets takes a long size, flags %x06.
	data := bytes.Repeat([]byte{'z'}, 300)
	got = AppendCommand(nil, "LONG", data)
	want = slices.Concat([]byte{0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x31, 0x04}, []byte("LONG"), data)
	if !bytes.Equal(got, want) {
		t.Fatalf("long command header % x, want % x", got[:10], want[:10])
	}
}

func TestErrorGolden(t *testing.T) {
	got := AppendError(nil, "bad")
	want := slices.Concat([]byte{0x04, 10, 0x05}, []byte("ERROR"), []byte{3}, []byte("bad"))
	if !bytes.Equal(got, want) {
		t.Fatalf("ERROR\n% x\nwant\n% x", got, want)
	}
	got = AppendError(nil, "")
	want = slices.Concat([]byte{0x04, 7, 0x05}, []byte("ERROR"), []byte{0})
	if !bytes.Equal(got, want) {
		t.Fatalf("empty ERROR % x, want % x", got, want)
	}
	// The reason has a 1-octet length: it is cut at 255. The body is then
	// 1+5+1+255 = 262 octets, so the frame is long.
	long := strings.Repeat("r", 300)
	got = AppendError(nil, long)
	want = slices.Concat([]byte{0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x06, 0x05}, []byte("ERROR"),
		[]byte{255}, []byte(long[:255]))
	if !bytes.Equal(got, want) {
		t.Fatalf("cut ERROR: got %d octets % x..., want %d octets % x...", len(got), got[:16], len(want), want[:16])
	}
}

func TestParseError(t *testing.T) {
	for _, reason := range []string{"", "400", "invalid socket type", strings.Repeat("x", 255)} {
		frame := AppendError(nil, reason)
		_, _, n, _ := ParseFrameHeader(frame)
		name, data, err := ParseCommand(frame[n:])
		if err != nil || string(name) != "ERROR" {
			t.Fatalf("%q: %q %v", reason, name, err)
		}
		got, err := ParseError(data)
		if err != nil || got != reason {
			t.Fatalf("ParseError = %q, %v; want %q", got, err, reason)
		}
	}
	// By hand, from the grammar: error-reason = short-size 0*255VCHAR.
	got, err := ParseError(slices.Concat([]byte{3}, []byte("500")))
	if err != nil || got != "500" {
		t.Fatalf("ParseError = %q, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {}, {1}, {4, 'a', 'b', 'c'}, {255}} {
		if got, err := ParseError(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseError(% x) = %q, %v; want ErrMalformed", bad, got, err)
		}
	}
}

func TestPingGolden(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
		ctx  []byte
		want []byte
	}{
		{"no ttl no context", 0, nil, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x00}},
		{"1.5 s with context", 1500 * time.Millisecond, []byte("ab"),
			[]byte{0x04, 0x09, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x0F, 'a', 'b'}},
		{"1 s", time.Second, nil, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x0A}},
		{"tenths are truncated", 1599 * time.Millisecond, nil, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x0F}},
		{"under a tenth is 0", 99 * time.Millisecond, nil, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x00}},
		{"max 6553.5 s", 6553500 * time.Millisecond, nil, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0xFF, 0xFF}},
		{"capped above the max", 2 * time.Hour, nil, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0xFF, 0xFF}},
		{"negative is 0", -time.Second, nil, []byte{0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x00}},
		{"16-octet context", 0, []byte("0123456789abcdef"),
			slices.Concat([]byte{0x04, 0x17, 0x04}, []byte("PING"), []byte{0, 0}, []byte("0123456789abcdef"))},
		{"context cut at 16", 0, []byte("0123456789abcdefXYZ"),
			slices.Concat([]byte{0x04, 0x17, 0x04}, []byte("PING"), []byte{0, 0}, []byte("0123456789abcdef"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendPing(nil, tt.ttl, tt.ctx)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("AppendPing(%v, %q) =\n% x\nwant\n% x", tt.ttl, tt.ctx, got, tt.want)
			}
		})
	}
}

func TestParsePing(t *testing.T) {
	ttl, ctx, err := ParsePing([]byte{0x00, 0x0F, 'a', 'b'})
	if err != nil || ttl != 1500*time.Millisecond || string(ctx) != "ab" {
		t.Fatalf("ParsePing = %v %q %v", ttl, ctx, err)
	}
	ttl, ctx, err = ParsePing([]byte{0xFF, 0xFF})
	if err != nil || ttl != 6553500*time.Millisecond || len(ctx) != 0 {
		t.Fatalf("ParsePing max = %v %q %v", ttl, ctx, err)
	}
	ttl, ctx, err = ParsePing(slices.Concat([]byte{0, 1}, []byte("0123456789abcdefXYZ")))
	if err != nil || ttl != 100*time.Millisecond || string(ctx) != "0123456789abcdef" {
		t.Fatalf("ParsePing long context = %v %q %v", ttl, ctx, err)
	}
	for _, bad := range [][]byte{nil, {}, {0x00}} {
		if _, _, err := ParsePing(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePing(% x): %v, want ErrMalformed", bad, err)
		}
	}
}

func TestPongGolden(t *testing.T) {
	got := AppendPong(nil, []byte("ctx"))
	want := []byte{0x04, 0x08, 0x04, 'P', 'O', 'N', 'G', 'c', 't', 'x'}
	if !bytes.Equal(got, want) {
		t.Fatalf("PONG % x, want % x", got, want)
	}
	got = AppendPong(nil, nil)
	want = []byte{0x04, 0x05, 0x04, 'P', 'O', 'N', 'G'}
	if !bytes.Equal(got, want) {
		t.Fatalf("empty PONG % x, want % x", got, want)
	}
	got = AppendPong(nil, []byte("0123456789abcdefXYZ"))
	want = slices.Concat([]byte{0x04, 0x15, 0x04}, []byte("PONG"), []byte("0123456789abcdef"))
	if !bytes.Equal(got, want) {
		t.Fatalf("PONG cut at 16\n% x\nwant\n% x", got, want)
	}
	if MaxPingContext != 16 {
		t.Fatalf("MaxPingContext %d", MaxPingContext)
	}
}

func TestSubscribeCancelGolden(t *testing.T) {
	// subscribe = command-size %d9 "SUBSCRIBE" subscription: flags 04,
	// size 1+9+len(topic), no separator after the name.
	got := AppendSubscribe(nil, []byte("topic"))
	want := slices.Concat([]byte{0x04, 0x0F, 0x09}, []byte("SUBSCRIBE"), []byte("topic"))
	if !bytes.Equal(got, want) {
		t.Fatalf("SUBSCRIBE\n% x\nwant\n% x", got, want)
	}
	got = AppendSubscribe(nil, nil)
	want = slices.Concat([]byte{0x04, 0x0A, 0x09}, []byte("SUBSCRIBE"))
	if !bytes.Equal(got, want) {
		t.Fatalf("empty SUBSCRIBE % x, want % x", got, want)
	}
	got = AppendCancel(nil, []byte("topic"))
	want = slices.Concat([]byte{0x04, 0x0C, 0x06}, []byte("CANCEL"), []byte("topic"))
	if !bytes.Equal(got, want) {
		t.Fatalf("CANCEL\n% x\nwant\n% x", got, want)
	}
	// A binary topic with a NUL is carried as is.
	got = AppendSubscribe(nil, []byte{0x00, 0xFF})
	want = slices.Concat([]byte{0x04, 0x0C, 0x09}, []byte("SUBSCRIBE"), []byte{0x00, 0xFF})
	if !bytes.Equal(got, want) {
		t.Fatalf("binary SUBSCRIBE % x, want % x", got, want)
	}
	// A long topic makes a long command frame.
	topic := bytes.Repeat([]byte{'t'}, 250)
	got = AppendSubscribe(nil, topic)
	want = slices.Concat([]byte{0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x04, 0x09}, []byte("SUBSCRIBE"), topic)
	if !bytes.Equal(got, want) {
		t.Fatalf("long SUBSCRIBE header % x, want % x", got[:11], want[:11])
	}
}

func TestHelloGolden(t *testing.T) {
	// hello = command-size %d5 "HELLO" username password, each a 1-octet
	// length and the text (RFC 24).
	got := AppendHello(nil, "user", "pw")
	want := slices.Concat([]byte{0x04, 14, 0x05}, []byte("HELLO"), []byte{4}, []byte("user"), []byte{2}, []byte("pw"))
	if !bytes.Equal(got, want) {
		t.Fatalf("HELLO\n% x\nwant\n% x", got, want)
	}
	got = AppendHello(nil, "", "")
	want = slices.Concat([]byte{0x04, 8, 0x05}, []byte("HELLO"), []byte{0, 0})
	if !bytes.Equal(got, want) {
		t.Fatalf("empty HELLO % x, want % x", got, want)
	}
}

func TestParseHello(t *testing.T) {
	for _, c := range []struct{ user, pass string }{
		{"user", "pw"}, {"", ""}, {"admin", ""}, {"", "secret"},
		{strings.Repeat("u", 255), strings.Repeat("p", 255)},
	} {
		frame := AppendHello(nil, c.user, c.pass)
		_, _, n, err := ParseFrameHeader(frame)
		if err != nil {
			t.Fatal(err)
		}
		name, data, err := ParseCommand(frame[n:])
		if err != nil || string(name) != "HELLO" {
			t.Fatalf("%q/%q: %q %v", c.user, c.pass, name, err)
		}
		u, p, err := ParseHello(data)
		if err != nil || u != c.user || p != c.pass {
			t.Fatalf("ParseHello = %q %q %v, want %q %q", u, p, err, c.user, c.pass)
		}
	}
	u, p, err := ParseHello([]byte{1, 'a', 2, 'b', 'c'})
	if err != nil || u != "a" || p != "bc" {
		t.Fatalf("ParseHello by hand = %q %q %v", u, p, err)
	}
	for _, bad := range [][]byte{
		nil,
		{},
		{5, 'a', 'b'},                // username longer than the data
		{1, 'a'},                     // no password length
		{1, 'a', 3, 'x', 'y'},        // password longer than the data
		{1, 'a', 1, 'x', 'y'},        // trailing octet after the password
		{0, 0, 0},                    // trailing octet
		{255},                        // username length and nothing else
		{2, 'a', 'b', 255, 'p', 'w'}, // password length past the end
	} {
		if u, p, err := ParseHello(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHello(% x) = %q %q %v, want ErrMalformed", bad, u, p, err)
		}
	}
}

func TestParseCommand(t *testing.T) {
	name, data, err := ParseCommand([]byte{0x04, 'P', 'I', 'N', 'G', 0, 1, 'x'})
	if err != nil || string(name) != "PING" || !bytes.Equal(data, []byte{0, 1, 'x'}) {
		t.Fatalf("ParseCommand = %q % x %v", name, data, err)
	}
	// Name filling the whole body: data is empty.
	name, data, err = ParseCommand([]byte{0x07, 'W', 'E', 'L', 'C', 'O', 'M', 'E'})
	if err != nil || string(name) != "WELCOME" || len(data) != 0 {
		t.Fatalf("ParseCommand = %q % x %v", name, data, err)
	}
	// ALPHA includes lower case.
	if name, _, err = ParseCommand([]byte{0x03, 'a', 'B', 'z'}); err != nil || string(name) != "aBz" {
		t.Fatalf("lower-case name: %q %v", name, err)
	}
	// 255-octet name.
	long := slices.Concat([]byte{255}, bytes.Repeat([]byte{'N'}, 255))
	if name, _, err = ParseCommand(long); err != nil || len(name) != 255 {
		t.Fatalf("255-octet name: %d %v", len(name), err)
	}
	for _, bad := range []struct {
		why  string
		body []byte
	}{
		{"empty body", nil},
		{"empty body (non-nil)", []byte{}},
		{"name length 0", []byte{0x00, 'A'}},
		{"name length 0 alone", []byte{0x00}},
		{"name longer than body", []byte{0x05, 'R', 'E', 'A', 'D'}},
		{"name length only", []byte{0x01}},
		{"name length 255, short body", slices.Concat([]byte{255}, bytes.Repeat([]byte{'N'}, 254))},
		{"digit in name", []byte{0x03, 'A', '1', 'B'}},
		{"hyphen in name", []byte{0x03, 'A', '-', 'B'}},
		{"space in name", []byte{0x03, 'A', ' ', 'B'}},
		{"NUL in name", []byte{0x03, 'A', 0, 'B'}},
		{"high octet in name", []byte{0x02, 'A', 0xC1}},
		{"@ (just below A)", []byte{0x01, '@'}},
		{"[ (just above Z)", []byte{0x01, '['}},
		{"` (just below a)", []byte{0x01, '`'}},
		{"{ (just above z)", []byte{0x01, '{'}},
	} {
		if name, data, err := ParseCommand(bad.body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseCommand(% x) = %q % x %v, want ErrMalformed", bad.why, bad.body, name, data, err)
		}
	}
}

// libzmq 4.3.4's PLAIN server spells ERROR "\x5eRROR" (captured from a
// pyzmq PLAIN server refusing a wrong password through its ZAP handler:
// 04 09 5e 'RROR' 03 '400'). ParseCommand reads it as ERROR "400".
func TestParseCommandLibzmqPlainError(t *testing.T) {
	body := []byte{0x5e, 'R', 'R', 'O', 'R', 0x03, '4', '0', '0'}
	name, data, err := ParseCommand(body)
	if err != nil || string(name) != CmdError {
		t.Fatalf("ParseCommand(% x) = %q, %v; want ERROR", body, name, err)
	}
	reason, err := ParseError(data)
	if err != nil || reason != "400" {
		t.Fatalf("ParseError = %q, %v; want 400", reason, err)
	}
	// Only that spelling: a real 94-octet name still parses as itself, and
	// other short bodies with a long name length stay malformed.
	long := slices.Concat([]byte{0x5e}, []byte("RROR"), bytes.Repeat([]byte{'X'}, 90))
	if name, _, err := ParseCommand(long); err != nil || len(name) != 94 {
		t.Fatalf("94-octet name: %q, %v", name, err)
	}
	for _, bad := range [][]byte{{0x5e, 'R', 'R', 'O', 'R'}, {0x5e, 'R', 'R', 'O', 'X', 0x00}} {
		if _, _, err := ParseCommand(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCommand(% x) = %v, want ErrMalformed", bad, err)
		}
	}
}
