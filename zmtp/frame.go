package zmtp

import (
	"encoding/binary"
	"math"
)

// Frame flag bits (RFC 23/37 "Framing"). Bits 3–7 are reserved: they are
// sent as zero and ignored on receipt, as libzmq does.
const (
	FlagMore    byte = 0x01 // more frames of this message follow
	FlagLong    byte = 0x02 // the size is 8 octets, not 1
	FlagCommand byte = 0x04 // the frame is a command, not message data

	flagsKnown = FlagMore | FlagLong | FlagCommand
)

// MaxFrameHeader is the longest frame header: a flags octet and an 8-octet
// size.
const MaxFrameHeader = 9

// maxShortSize is the largest body a short (1-octet size) frame can carry.
const maxShortSize = 255

// AppendFrameHeader appends the header of a frame with the given flags
// (FlagMore and FlagCommand; FlagLong is chosen here) and body size. A long
// size is used only when size > 255, as libzmq does.
func AppendFrameHeader(b []byte, flags byte, size int) []byte {
	flags &^= FlagLong
	if size > maxShortSize {
		b = append(b, flags|FlagLong)
		return binary.BigEndian.AppendUint64(b, uint64(size))
	}
	return append(b, flags, byte(size))
}

// FrameHeaderLen is the length of the header AppendFrameHeader writes for a
// body of the given size.
func FrameHeaderLen(size int) int {
	if size > maxShortSize {
		return MaxFrameHeader
	}
	return 2
}

// ParseFrameHeader parses a frame header at the start of b. It returns the
// flags (reserved bits cleared), the declared body size and the header
// length n. n is 0 when b is too short to hold the whole header; more bytes
// are needed. A long size above math.MaxInt64 (the RFC's limit) is an error.
// The size is only a claim: callers must check it before allocating.
func ParseFrameHeader(b []byte) (flags byte, size uint64, n int, err error) {
	if len(b) < 2 {
		return 0, 0, 0, nil
	}
	flags = b[0] & flagsKnown
	if flags&FlagLong == 0 {
		return flags, uint64(b[1]), 2, nil
	}
	if len(b) < MaxFrameHeader {
		return 0, 0, 0, nil
	}
	size = binary.BigEndian.Uint64(b[1:9])
	if size > math.MaxInt64 {
		return 0, 0, 0, malformed("frame size %d over 2^63-1", size)
	}
	return flags, size, MaxFrameHeader, nil
}
