//go:build unix

package zmtp

import (
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// rawReader reads a network connection's descriptor through the runtime's
// poller (syscall.RawConn), so that the reader learns when it would wait:
// net.Conn's Read waits inside, holding the caller's buffer.
type rawReader struct {
	rc syscall.RawConn
	fn func(fd uintptr) bool // made once: a new closure per read would allocate
	n  int
	e  error

	nfn    func(fd uintptr) bool // rawReadNow's: one attempt, never a wait
	vfn    func(fd uintptr) bool // rawReadv's: waits, without fn's idle work
	iov    [2]syscall.Iovec
	waitfn func(fd uintptr) bool // rawReadWait's: waits, without fn's idle work

	// writeNow's, under the connection's write lock.
	wfn func(fd uintptr) bool
	wb  []byte
	wn  int
	we  error
}

func (r *rawReader) ok() bool { return r.rc != nil }

// useRaw switches fr to raw reads when nc allows them.
func (fr *frameReader) useRaw(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	fr.raw.rc = rc
	fr.raw.fn = func(fd uintptr) bool {
		fr.takeBuf()
		n, again, err := readOnce(fd, fr.room())
		if again {
			fr.idle()
			return false // wait until readable, then call again
		}
		fr.raw.n, fr.raw.e = n, err
		return true
	}
	fr.raw.waitfn = func(fd uintptr) bool {
		n, again, err := readOnce(fd, fr.room())
		fr.raw.n, fr.raw.e = n, err
		return !again
	}
	fr.raw.vfn = func(fd uintptr) bool {
		n, again, err := readvOnce(fd, fr.raw.iov[:])
		fr.raw.n, fr.raw.e = n, err
		return !again
	}
	fr.raw.nfn = func(fd uintptr) bool {
		n, _, err := readOnce(fd, fr.room())
		fr.raw.n, fr.raw.e = n, err // nothing there: 0 octets, no error
		return true                 // one attempt: never wait here
	}
}

// readOnce reads fd once into b: again when it would block, io.EOF at
// the end of the stream.
func readOnce(fd uintptr, b []byte) (n int, again bool, err error) {
	for {
		n, err := syscall.Read(int(fd), b)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, true, nil
		case err != nil:
			return 0, false, os.NewSyscallError("read", err)
		case n == 0:
			return 0, false, io.EOF
		}
		return n, false, nil
	}
}

// readvOnce reads fd once into the buffers of iov, in order (readv):
// again when it would block, io.EOF at the end of the stream.
func readvOnce(fd uintptr, iov []syscall.Iovec) (n int, again bool, err error) {
	for {
		r, _, e := syscall.Syscall(syscall.SYS_READV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		runtime.KeepAlive(iov)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return 0, true, nil
		case e != 0:
			return 0, false, os.NewSyscallError("readv", e)
		case r == 0:
			return 0, false, io.EOF
		}
		return int(r), false, nil
	}
}

// rawReadv reads once into a and then b with one system call, waiting
// through the poller, leaving the buffer and the idle work alone while it
// waits (as rawReadWait). ok is false when the connection has no raw
// access.
func (fr *frameReader) rawReadv(a, b []byte) (n int, ok bool, err error) {
	if !fr.raw.ok() || len(a) == 0 || len(b) == 0 {
		return 0, false, nil
	}
	iov := &fr.raw.iov
	iov[0].Base, iov[1].Base = &a[0], &b[0]
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	n, err = fr.rawReadWith(fr.raw.vfn)
	iov[0].Base, iov[1].Base = nil, nil // pin nothing
	return n, true, err
}

// rawRead reads once into fr.room(), waiting through the poller.
func (fr *frameReader) rawRead() (int, error) { return fr.rawReadWith(fr.raw.fn) }

// rawReadNow reads once into fr.room() without waiting: 0 octets and no
// error when nothing is there.
func (fr *frameReader) rawReadNow() (int, error) { return fr.rawReadWith(fr.raw.nfn) }

// rawReadWait reads once into fr.room(), waiting through the poller, for
// a goroutine the connection is lent to (WaitRead): unlike rawRead, it
// leaves the buffer and the reader's idle work alone while it waits.
func (fr *frameReader) rawReadWait() (int, error) { return fr.rawReadWith(fr.raw.waitfn) }

func (fr *frameReader) rawReadWith(fn func(fd uintptr) bool) (int, error) {
	if err := fr.raw.rc.Read(fn); err != nil {
		return 0, err
	}
	n, err := fr.raw.n, fr.raw.e
	fr.raw.n, fr.raw.e = 0, nil
	return n, err
}

// writeNow writes b once, without waiting: the octets the kernel took
// (0 when it would block) and any error but EAGAIN. ok is false when the
// connection has no raw access.
func (fr *frameReader) writeNow(b []byte) (n int, ok bool, err error) {
	r := &fr.raw
	if r.rc == nil {
		return 0, false, nil
	}
	if r.wfn == nil {
		r.wfn = func(fd uintptr) bool {
			for {
				n, err := syscall.Write(int(fd), r.wb)
				if err == syscall.EINTR {
					continue
				}
				if err == syscall.EAGAIN {
					n, err = 0, nil
				}
				r.wn, r.we = max(n, 0), err
				return true // one attempt: never wait here
			}
		}
	}
	r.wb = b
	cerr := r.rc.Write(r.wfn)
	n, err = r.wn, r.we
	r.wb, r.wn, r.we = nil, 0, nil
	if cerr != nil {
		return 0, true, cerr
	}
	if err != nil {
		err = os.NewSyscallError("write", err)
	}
	return n, true, err
}
