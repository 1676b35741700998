//go:build unix

package sockets

import "syscall"

const (
	soSndbuf = syscall.SO_SNDBUF
	soRcvbuf = syscall.SO_RCVBUF
)

// setSockBuf sets a SOL_SOCKET buffer option of a socket descriptor.
func setSockBuf(fd uintptr, opt, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, n)
}
