package sockets

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sysctlInt reads an integer from /proc/sys.
func sysctlInt(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		t.Fatalf("sysctl %s: %v", name, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("sysctl %s: %v", name, err)
	}
	return n
}

// connBuffers reads SO_SNDBUF and SO_RCVBUF of the connection of s's one
// connected pipe.
func connBuffers(t *testing.T, s *Socket) (snd, rcv int) {
	t.Helper()
	var zcFound bool
	for _, p := range specPipeList(s) {
		p.mu.Lock()
		zc := p.zc
		p.mu.Unlock()
		if zc == nil {
			continue
		}
		sc, ok := zc.NetConn().(syscall.Conn)
		if !ok {
			t.Fatalf("%T has no SyscallConn", zc.NetConn())
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var serr, rerr error
		if err := rc.Control(func(fd uintptr) {
			snd, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
			rcv, rerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		}); err != nil {
			t.Fatal(err)
		}
		if serr != nil || rerr != nil {
			t.Fatalf("getsockopt: %v, %v", serr, rerr)
		}
		zcFound = true
	}
	if !zcFound {
		t.Fatalf("%v has no connection", s.Type())
	}
	return snd, rcv
}

// TestSocketBuffers: WithSendBuffer and WithRecvBuffer reach the kernel on
// both ends of tcp and ipc connections (Linux doubles what it is asked
// for, capped at net.core.[wr]mem_max), ipc connections ask for
// DefaultIPCSendBuffer unless told otherwise, and 0 leaves the system's.
func TestSocketBuffers(t *testing.T) {
	wmax, rmax := sysctlInt(t, "net.core.wmem_max"), sysctlInt(t, "net.core.rmem_max")
	wdef := sysctlInt(t, "net.core.wmem_default")
	granted := func(asked, max int) int { return 2 * min(asked, max) }
	const size = 96 << 10
	for _, tc := range []struct {
		name      string
		transport string
		opts      []Option
		snd, rcv  int // what both ends must report; 0: not checked
		notSnd    int // a value SO_SNDBUF must not have
	}{
		{name: "ipc default", transport: IPC, snd: granted(DefaultIPCSendBuffer, wmax)},
		{name: "ipc system", transport: IPC, opts: []Option{WithSendBuffer(0)}, snd: wdef},
		{name: "ipc sized", transport: IPC, opts: []Option{WithSendBuffer(size), WithRecvBuffer(size)},
			snd: granted(size, wmax), rcv: granted(size, rmax)},
		{name: "tcp default", transport: TCP, notSnd: granted(DefaultIPCSendBuffer, wmax)},
		{name: "tcp sized", transport: TCP, opts: []Option{WithSendBuffer(size), WithRecvBuffer(size)},
			snd: granted(size, wmax), rcv: granted(size, rmax)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pull := relNew(t, PULL, tc.opts...)
			push := relNew(t, PUSH, append([]Option{WithLinger(0)}, tc.opts...)...)
			relConnect(t, push, relBind(t, pull, tc.transport))
			specWaitConnected(t, push, 1)
			specWaitConnected(t, pull, 1)
			if !relWaitUntil(5*time.Second, func() bool {
				for _, s := range []*Socket{push, pull} {
					for _, p := range specPipeList(s) {
						p.mu.Lock()
						zc := p.zc
						p.mu.Unlock()
						if zc == nil {
							return false
						}
					}
				}
				return true
			}) {
				t.Fatal("the pipes never got their connections")
			}
			for _, end := range []struct {
				name string
				s    *Socket
			}{{"connecting", push}, {"accepting", pull}} {
				snd, rcv := connBuffers(t, end.s)
				if tc.snd != 0 && snd != tc.snd {
					t.Errorf("%s end: SO_SNDBUF %d, want %d", end.name, snd, tc.snd)
				}
				if tc.rcv != 0 && rcv != tc.rcv {
					t.Errorf("%s end: SO_RCVBUF %d, want %d", end.name, rcv, tc.rcv)
				}
				if tc.notSnd != 0 && snd == tc.notSnd {
					t.Errorf("%s end: SO_SNDBUF %d, the ipc default, on tcp", end.name, snd)
				}
			}
		})
	}
}

func TestSocketBuffersInvalid(t *testing.T) {
	for _, opt := range []Option{WithSendBuffer(-1), WithRecvBuffer(-1)} {
		if _, err := New(PUSH, opt); !errors.Is(err, ErrInvalid) {
			t.Errorf("New with a negative buffer: %v, want ErrInvalid", err)
		}
	}
}

// TestSmallRecvBufferDelivers: a small receive buffer on a tcp connection,
// on the binding or the connecting side, slows nothing to a halt. Set once
// the connection was up, as at first, it left the window scale agreed for
// a large buffer, and over loopback (64 KiB segments) the connection
// stalled: 0 of 2000 4 KiB messages in 8 s, where libzmq, which sets it
// before listening or connecting, took 0.09 s.
func TestSmallRecvBufferDelivers(t *testing.T) {
	const n, size = 2000, 4 << 10
	for _, side := range []string{"binding", "connecting"} {
		t.Run(side, func(t *testing.T) {
			small := []Option{WithRecvBuffer(8 << 10)}
			var pull, push *Socket
			if side == "binding" {
				pull = relNew(t, PULL, small...)
				push = relNew(t, PUSH, WithLinger(0))
				relConnect(t, push, relBind(t, pull, TCP))
			} else {
				push = relNew(t, PUSH, WithLinger(0))
				pull = relNew(t, PULL, small...)
				relConnect(t, pull, relBind(t, push, TCP))
			}
			sent := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				m := NewMsg(make([]byte, size))
				for range n {
					if err := push.Send(ctx, m); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for i := range n {
				m, err := pull.Recv(ctx)
				if err != nil {
					t.Fatalf("message %d of %d: %v", i, n, err)
				}
				if len(m.Frames) != 1 || len(m.Frames[0]) != size {
					t.Fatalf("message %d: %d frames", i, len(m.Frames))
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}
