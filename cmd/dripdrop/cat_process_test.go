//go:build linux

package main

// The real program, in a child process: how dripdrop cat ends at an
// interrupt (SIGINT) and at -timeout while its stdin, a pipe or a terminal
// in blocking mode as a shell gives it, stays open and silent. The test
// binary runs main when asMainEnv is set (main_test.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// child is dripdrop running in a child process.
type child struct {
	cmd            *exec.Cmd
	stdin          io.Writer // open until the child has exited
	stdout, stderr *lockedBuffer
	done           chan struct{} // closed when the child has exited
	started        time.Time
}

// startChild runs "dripdrop args..." with stdin as its fd 0 (a pipe when
// stdin is nil); the test keeps stdin open until the child has exited. The
// child is killed, if still running, when the test ends.
func startChild(t *testing.T, stdin *os.File, args ...string) *child {
	t.Helper()
	c := &child{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], args...)
	c.cmd.Env = append(os.Environ(), asMainEnv+"=1")
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	c.cmd.WaitDelay = catDeadline
	if stdin == nil {
		w, err := c.cmd.StdinPipe() // closed by Wait, once the child has exited
		if err != nil {
			t.Fatal(err)
		}
		c.stdin = w
	} else {
		c.cmd.Stdin, c.stdin = stdin, stdin
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.started = time.Now()
	go func() {
		defer close(c.done)
		c.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// wait waits for the child to exit, at most within, and returns how long
// after start it did.
func (c *child) wait(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	select {
	case <-c.done:
		return time.Since(c.started)
	case <-time.After(within):
		t.Fatalf("dripdrop %q still running after %v\nstderr: %q", c.cmd.Args[1:], within, c.stderr.String())
		return 0
	}
}

// exitCode is the child's exit status; it fails the test if a signal
// killed it.
func (c *child) exitCode(t *testing.T) int {
	t.Helper()
	ws := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("dripdrop %q killed by %v\nstderr: %q", c.cmd.Args[1:], ws.Signal(), c.stderr.String())
	}
	return ws.ExitStatus()
}

func (c *child) interrupt(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("SIGINT: %v", err)
	}
}

// openTerminal returns both ends of a new pseudo-terminal.
func openTerminal(t *testing.T) (master, term *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	ioctl := func(req uintptr, arg unsafe.Pointer) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), req, uintptr(arg)); e != 0 {
			t.Fatalf("ioctl %#x on /dev/ptmx: %v", req, e)
		}
	}
	var unlock int32
	ioctl(syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	var n uint32
	ioctl(syscall.TIOCGPTN, unsafe.Pointer(&n))
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// stdinKinds are the stdins a shell gives: a pipe (sleep 100 | dripdrop
// ...) and a terminal. It returns the file for the child (nil: a pipe) and
// where to write its lines.
var stdinKinds = []struct {
	name string
	open func(t *testing.T) (forChild *os.File, lines func(*child) io.Writer)
}{
	{"pipe", func(*testing.T) (*os.File, func(*child) io.Writer) {
		return nil, func(c *child) io.Writer { return c.stdin }
	}},
	{"terminal", func(t *testing.T) (*os.File, func(*child) io.Writer) {
		m, s := openTerminal(t)
		return s, func(*child) io.Writer { return m }
	}},
}

// At SIGINT, cat ends at once with exit 0 though stdin is open and its
// Read of stdin cannot be cancelled.
func TestCatProcessInterrupt(t *testing.T) {
	t.Parallel()
	for _, kind := range stdinKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			pull := newSocket(t, sockets.PULL)
			ep := bindLocal(t, pull)
			stdin, lines := kind.open(t)
			c := startChild(t, stdin, "cat", "-connect", ep, "PUSH")
			// Once this line has arrived the signal handler is installed,
			// and cat's next Read of stdin is one that nothing will end.
			if _, err := io.WriteString(lines(c), "ready\n"); err != nil {
				t.Fatal(err)
			}
			expectFrames(t, ctx, pull, "ready")
			c.interrupt(t)
			start := time.Now()
			c.wait(t, 5*time.Second)
			if code := c.exitCode(t); code != 0 || c.stderr.String() != "" {
				t.Fatalf("after SIGINT: exit %d, stderr %q; want 0 and nothing", code, c.stderr.String())
			}
			t.Logf("exited %v after SIGINT", time.Since(start))
		})
	}
}

// -timeout ends a DEALER whose stdin stays open: exit 1, and stderr says why.
func TestCatProcessTimeout(t *testing.T) {
	t.Parallel()
	for _, kind := range stdinKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			stdin, _ := kind.open(t)
			c := startChild(t, stdin, "cat", "-timeout", "200ms", "-bind", "inproc://process-timeout", "DEALER")
			elapsed := c.wait(t, catDeadline)
			if code := c.exitCode(t); code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", code, c.stderr.String())
			}
			if got, want := c.stderr.String(), "dripdrop: no message within 200ms\n"; got != want {
				t.Fatalf("stderr %q, want %q", got, want)
			}
			if elapsed < 200*time.Millisecond {
				t.Fatalf("exited after %v, before its -timeout", elapsed)
			}
			t.Logf("exited %v after start", elapsed)
		})
	}
}

// After SIGINT cat still delivers what is queued for up to -linger, and
// more SIGINTs (timeout -s INT sends two; users press Ctrl-C again) do not
// cut that short: exit 0 once the linger is over.
func TestCatProcessInterruptLingers(t *testing.T) {
	t.Parallel()
	// A tcp peer that accepts and never answers: cat's PUSH queues for it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	const linger = 500 * time.Millisecond
	c := startChild(t, nil, "cat", "-linger", linger.String(), "-connect", "tcp://"+ln.Addr().String(), "PUSH")
	conn, err := acceptWithin(ln, catDeadline)
	if err != nil {
		t.Fatalf("cat did not connect: %v; stderr %q", err, c.stderr.String())
	}
	t.Cleanup(func() { conn.Close() })
	// Lines far longer than a pipe holds: cat has finished reading the
	// third only after handing on the second, which it does only once its
	// Send of the first has returned: queued.
	line := strings.Repeat("x", 1<<20) + "\n"
	for range 3 {
		if _, err := io.WriteString(c.stdin, line); err != nil {
			t.Fatal(err)
		}
	}
	c.interrupt(t)
	first := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), catDeadline)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			lingered := time.Since(first)
			if code := c.exitCode(t); code != 0 || c.stderr.String() != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, c.stderr.String())
			}
			if lingered < linger {
				t.Fatalf("exited %v after the first SIGINT, before its -linger %v", lingered, linger)
			}
			return
		case <-ctx.Done():
			t.Fatalf("cat still running %v after SIGINT, with -linger %v", time.Since(first), linger)
		case <-tick.C:
			if err := c.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatalf("SIGINT: %v", err)
			}
		}
	}
}

func acceptWithin(ln net.Listener, d time.Duration) (net.Conn, error) {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(d))
	return ln.Accept()
}
