//go:build windows

package sockets

import "syscall"

const (
	soSndbuf = syscall.SO_SNDBUF
	soRcvbuf = syscall.SO_RCVBUF
)

// setSockBuf sets a SOL_SOCKET buffer option of a socket handle.
func setSockBuf(fd uintptr, opt, n int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, opt, n)
}
