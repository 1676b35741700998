//go:build !unix

package zmtp

import "net"

// rawReader is unused where raw reads are not implemented: reads go
// through net.Conn, which holds the buffer while it waits.
type rawReader struct{}

func (rawReader) ok() bool { return false }

func (fr *frameReader) useRaw(net.Conn) {}

func (fr *frameReader) rawRead() (int, error) { panic("unreachable") }

func (fr *frameReader) rawReadNow() (int, error) { panic("unreachable") }

func (fr *frameReader) rawReadWait() (int, error) { panic("unreachable") }

func (fr *frameReader) writeNow([]byte) (int, bool, error) { return 0, false, nil }

func (fr *frameReader) rawReadv(a, b []byte) (int, bool, error) { return 0, false, nil }
