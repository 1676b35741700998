package zmtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// Golden frame headers from RFC 23/37 "Framing": flags (bit 0 MORE, bit 1
// LONG, bit 2 COMMAND), then a 1-octet size, or 8 octets in network order
// when LONG is set. LONG is used only above 255 octets.
func TestAppendFrameHeaderGolden(t *testing.T) {
	tests := []struct {
		name  string
		flags byte
		size  int
		want  []byte
	}{
		{"empty", 0, 0, []byte{0x00, 0x00}},
		{"one octet", 0, 1, []byte{0x00, 0x01}},
		{"largest short", 0, 255, []byte{0x00, 0xFF}},
		{"smallest long", 0, 256, []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00}},
		{"1 MiB", 0, 1 << 20, []byte{0x02, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00}},
		{"MORE short", FlagMore, 5, []byte{0x01, 0x05}},
		{"MORE long", FlagMore, 256, []byte{0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x00}},
		{"COMMAND short", FlagCommand, 41, []byte{0x04, 0x29}},
		{"COMMAND long", FlagCommand, 300, []byte{0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x2C}},
		{"LONG requested for a short body is dropped", FlagLong, 5, []byte{0x00, 0x05}},
		{"LONG|COMMAND requested for a short body", FlagLong | FlagCommand, 0, []byte{0x04, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendFrameHeader(nil, tt.flags, tt.size)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("AppendFrameHeader(%#02x, %d) = % x, want % x", tt.flags, tt.size, got, tt.want)
			}
			if n := FrameHeaderLen(tt.size); n != len(tt.want) {
				t.Fatalf("FrameHeaderLen(%d) = %d, want %d", tt.size, n, len(tt.want))
			}
			got = AppendFrameHeader([]byte("x"), tt.flags, tt.size)
			if got[0] != 'x' || !bytes.Equal(got[1:], tt.want) {
				t.Fatalf("AppendFrameHeader did not append: % x", got)
			}
		})
	}
	if FlagMore != 0x01 || FlagLong != 0x02 || FlagCommand != 0x04 || MaxFrameHeader != 9 {
		t.Fatalf("flag constants %#x %#x %#x, MaxFrameHeader %d", FlagMore, FlagLong, FlagCommand, MaxFrameHeader)
	}
}

func TestParseFrameHeaderGolden(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		flags byte
		size  uint64
		n     int
	}{
		{"empty short", []byte{0x00, 0x00}, 0, 0, 2},
		{"short 255", []byte{0x00, 0xFF}, 0, 255, 2},
		{"short MORE", []byte{0x01, 0x07}, FlagMore, 7, 2},
		{"short command", []byte{0x04, 0x29}, FlagCommand, 41, 2},
		{"long 256", []byte{0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00}, FlagLong, 256, 9},
		{"long MORE", []byte{0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x00}, FlagLong | FlagMore, 256, 9},
		{"long command", []byte{0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x2C}, FlagLong | FlagCommand, 300, 9},
		{"long frame of small size is accepted", []byte{0x02, 0, 0, 0, 0, 0, 0, 0, 0x05}, FlagLong, 5, 9},
		{"long frame of size 0", []byte{0x02, 0, 0, 0, 0, 0, 0, 0, 0}, FlagLong, 0, 9},
		{"largest legal size 2^63-1", []byte{0x02, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, FlagLong, math.MaxInt64, 9},
		{"body bytes after the header are not consumed", []byte{0x00, 0x03, 'a', 'b', 'c'}, 0, 3, 2},
		{"long header followed by body", []byte{0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0xAA}, FlagLong, 256, 9},
		// Reserved bits 3-7 are ignored on receipt (libzmq v2_decoder).
		{"reserved bits ignored (short)", []byte{0xF8, 0x04}, 0, 4, 2},
		{"reserved bits ignored with MORE", []byte{0x09, 0x04}, FlagMore, 4, 2},
		{"reserved bits ignored with COMMAND", []byte{0xFC, 0x04}, FlagCommand, 4, 2},
		{"reserved bits ignored (long)", []byte{0xFA, 0, 0, 0, 0, 0, 0, 0x01, 0x00}, FlagLong, 256, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags, size, n, err := ParseFrameHeader(tt.in)
			if err != nil {
				t.Fatalf("ParseFrameHeader(% x): %v", tt.in, err)
			}
			if flags != tt.flags || size != tt.size || n != tt.n {
				t.Fatalf("ParseFrameHeader(% x) = flags %#02x size %d n %d, want %#02x %d %d",
					tt.in, flags, size, n, tt.flags, tt.size, tt.n)
			}
		})
	}
}

func TestParseFrameHeaderIncomplete(t *testing.T) {
	for _, in := range [][]byte{
		nil,
		{},
		{0x00},
		{0x04},
		{0x02},
		{0x02, 0x00},
		{0x02, 0, 0, 0, 0, 0, 0, 0x01}, // 8 of 9 octets
		{0x06, 0, 0, 0},
		{0x03, 0, 0, 0, 0, 0, 0},
	} {
		flags, size, n, err := ParseFrameHeader(in)
		if err != nil || n != 0 {
			t.Errorf("ParseFrameHeader(% x) = %#02x %d n=%d %v, want n=0 and no error", in, flags, size, n, err)
		}
	}
}

func TestParseFrameHeaderSizeOverflow(t *testing.T) {
	for _, in := range [][]byte{
		{0x02, 0x80, 0, 0, 0, 0, 0, 0, 0},                         // 2^63
		{0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},    // 2^64-1
		{0x06, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01},    // command, 2^63+1
		{0x03, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 1}, // MORE, extra octet
	} {
		_, size, n, err := ParseFrameHeader(in)
		if err == nil {
			t.Errorf("ParseFrameHeader(% x) accepted size %d (n=%d)", in, size, n)
			continue
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMsgTooLarge) {
			t.Errorf("ParseFrameHeader(% x): error %v is neither ErrMalformed nor ErrMsgTooLarge", in, err)
		}
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("ParseFrameHeader(% x): error %v does not wrap ErrProtocol", in, err)
		}
	}
}

func TestFrameHeaderRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 2, 127, 128, 254, 255, 256, 257, 511, 512, 65535, 65536,
		1<<20 - 1, 1 << 20, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1<<40 + 12345, math.MaxInt64}
	for _, size := range sizes {
		for _, flags := range []byte{0, FlagMore, FlagCommand} {
			h := AppendFrameHeader(nil, flags, size)
			wantLong := size > 255
			if (h[0]&FlagLong != 0) != wantLong {
				t.Fatalf("size %d: header % x, LONG should be %v", size, h, wantLong)
			}
			gf, gs, n, err := ParseFrameHeader(h)
			if err != nil {
				t.Fatalf("size %d flags %#x: %v", size, flags, err)
			}
			wantFlags := flags
			if wantLong {
				wantFlags |= FlagLong
			}
			if gf != wantFlags || gs != uint64(size) || n != len(h) {
				t.Fatalf("size %d flags %#x: parsed %#x %d n=%d from % x", size, flags, gf, gs, n, h)
			}
			// Every proper prefix is reported as incomplete.
			for i := 0; i < len(h); i++ {
				if _, _, n, err := ParseFrameHeader(h[:i]); n != 0 || err != nil {
					t.Fatalf("size %d: prefix % x gave n=%d err=%v", size, h[:i], n, err)
				}
			}
		}
	}
}

// TestReadLongFormFrames: a sender may give any size the long (8-octet)
// form, and ReadMsg's fast path for whole small frames takes both forms:
// every body must come out exact, whether it is cut by the fast path or
// the general one, and the message size limit holds for both.
func TestReadLongFormFrames(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i, n := range []int{0, 1, 5, 255, 256, 300, 512, 513, 4096} {
		body := bytes.Repeat([]byte{byte(i + 1)}, n)
		flags := byte(FlagLong)
		if i%3 == 1 {
			flags |= 0x10 // a reserved bit: ignored
		}
		stream = append(stream, flags)
		stream = binary.BigEndian.AppendUint64(stream, uint64(n))
		stream = append(stream, body...)
		want = append(want, body)
	}
	fc := &fixedConn{data: stream, closed: make(chan struct{})}
	defer close(fc.closed)
	c := readyConn(fc, Pull)
	for i, w := range want {
		msg, err := c.ReadMsg(nil)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(msg) != 1 || !bytes.Equal(msg[0], w) {
			t.Fatalf("message %d (%d octets): not what was sent", i, len(w))
		}
	}

	over := append([]byte{FlagLong}, binary.BigEndian.AppendUint64(nil, 300)...)
	over = append(over, make([]byte, 300)...)
	c = readyConn(&fixedConn{data: over}, Pull)
	c.maxMsg = 300
	if _, err := c.rd.need(2); err != nil { // buffered: the fast path's case
		t.Fatal(err)
	}
	if _, err := c.ReadMsg(nil); !errors.Is(err, ErrMsgTooLarge) {
		t.Fatalf("a 300-octet long-form frame with a limit of 300 octets per message: %v, want ErrMsgTooLarge", err)
	}
}
