//go:build !unix && !windows

package sockets

import "errors"

const (
	soSndbuf = 0
	soRcvbuf = 1
)

// setSockBuf is not available here: the system's buffers stay.
func setSockBuf(uintptr, int, int) error {
	return errors.New("socket buffer sizes are not supported on this system")
}
