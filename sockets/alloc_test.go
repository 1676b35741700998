//go:build !race

package sockets

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Allocation gates (issue 5): 0 allocations per sent message; at most 0.1
// per received message of up to 256 octets, about 1 (its body) for a
// larger one. They count every allocation of the process, the socket's
// goroutines included, against raw ZMTP peers that allocate nothing
// themselves. (Skipped under -race, which allocates on its own.)

// allocsPer runs f n times, after n/10 calls to warm up (queues grow to
// their working size, pools fill), and returns the allocations per call,
// exactly (testing.AllocsPerRun rounds down).
func allocsPer(n int, f func()) float64 {
	allocs, _ := allocatedPer(n, f)
	return allocs
}

// allocatedPer is allocsPer with the octets allocated per call too.
func allocatedPer(n int, f func()) (allocs, octets float64) {
	for range n / 10 {
		f()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n), float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

// allocPeer is a raw ZMTP peer: it handshakes as typ, and then either
// discards everything it receives or writes stream over and over.
type allocPeer struct {
	zc   *zmtp.Conn
	nc   net.Conn
	done chan struct{}
}

// allocListen accepts one connection on a fresh tcp port and handshakes
// it as typ; setup runs after the handshake, then the peer discards or
// writes stream in a loop until the test ends.
func allocListen(t *testing.T, cfg zmtp.Config, stream []byte, setup func(*zmtp.Conn)) (string, *allocPeer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := &allocPeer{done: make(chan struct{})}
	go func() {
		defer close(ap.done)
		nc, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		zc, err := zmtp.Handshake(ctx, nc, cfg)
		cancel()
		if err != nil {
			nc.Close()
			return
		}
		ap.zc, ap.nc = zc, nc
		if setup != nil {
			setup(zc)
		}
		if stream != nil {
			for {
				if _, err := nc.Write(stream); err != nil {
					return
				}
			}
		}
		buf := make([]byte, 64<<10)
		for {
			if _, err := nc.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if ap.zc != nil {
			ap.zc.Close()
		}
		<-ap.done
	})
	return "tcp://" + ln.Addr().String(), ap
}

// allocPubSubscribers counts the pipes a PUB would send a message to.
func allocPubSubscribers(s *Socket) int {
	ps := s.beh.(*pubSocket)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n := 0
	ps.subs.match([]byte("x"), func(*pipe) { n++ })
	return n
}

// allocConnected waits until s has a connected pipe.
func allocConnected(t *testing.T, s *Socket) {
	t.Helper()
	if !relWaitUntil(10*time.Second, func() bool { return specConnected(s) > 0 }) {
		t.Fatal("no connection")
	}
}

func TestSendAllocs(t *testing.T) {
	payload := make([]byte, 256)
	gate := func(t *testing.T, s *Socket, m Msg) {
		t.Helper()
		ctx := context.Background()
		var err error
		per := allocsPer(100_000, func() {
			if e := s.Send(ctx, m); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%.5f allocations per Send", per)
		if per > 0.001 {
			t.Errorf("%.5f allocations per sent message, want 0", per)
		}
		n := testing.AllocsPerRun(10_000, func() {
			if e := s.Send(ctx, m); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("AllocsPerRun: %v per Send, want 0", n)
		}
	}
	t.Run("PUSH/tcp", func(t *testing.T) {
		ep, _ := allocListen(t, zmtp.Config{SocketType: zmtp.Pull}, nil, nil)
		push := relNew(t, PUSH, WithLinger(0))
		relConnect(t, push, ep)
		allocConnected(t, push)
		gate(t, push, NewMsg(payload))
	})
	t.Run("DEALER/tcp multipart", func(t *testing.T) {
		ep, _ := allocListen(t, zmtp.Config{SocketType: zmtp.Router}, nil, nil)
		d := relNew(t, DEALER, WithLinger(0))
		relConnect(t, d, ep)
		allocConnected(t, d)
		gate(t, d, NewMsg([]byte("head"), payload, make([]byte, 16<<10)))
	})
	t.Run("ROUTER/tcp", func(t *testing.T) {
		r := relNew(t, ROUTER, WithLinger(0))
		ep, _ := allocListen(t, zmtp.Config{SocketType: zmtp.Dealer, Identity: []byte("d")}, nil, nil)
		relConnect(t, r, ep)
		allocConnected(t, r)
		relWaitRouterPeer(t, r, "d")
		gate(t, r, NewMsg([]byte("d"), payload))
	})
	t.Run("PUB/tcp to 4", func(t *testing.T) {
		pub := relNew(t, PUB, WithLinger(0), WithSendHWM(100))
		for range 4 {
			ep, _ := allocListen(t, zmtp.Config{SocketType: zmtp.Sub}, nil, func(zc *zmtp.Conn) {
				if err := zc.WriteSubscription(nil, true); err == nil {
					zc.Flush()
				}
			})
			relConnect(t, pub, ep)
		}
		if !relWaitUntil(10*time.Second, func() bool { return allocPubSubscribers(pub) == 4 }) {
			t.Fatal("the subscriptions never arrived")
		}
		gate(t, pub, NewMsg(payload))
	})
	t.Run("PUSH/inproc", func(t *testing.T) {
		pull := relNew(t, PULL)
		ep := relBind(t, pull, Inproc)
		push := relNew(t, PUSH, WithLinger(0))
		relConnect(t, push, ep)
		ctx, cancel := context.WithCancel(context.Background())
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			for {
				if _, err := pull.Recv(ctx); err != nil {
					return
				}
			}
		}()
		t.Cleanup(func() { cancel(); <-drained })
		gate(t, push, NewMsg(payload))
	})
}

// TestRecvAllocs: issue 5's receive targets, ≤ 0.1 allocations per
// message of up to 256 octets and 1 for a large one. A large message's 1
// is its body; on top of it comes about one frame-list chunk per 16
// messages (measured 0.04–0.07), because the reader lets go of its chunks
// each time it waits for the network, which a reader of large messages
// does often: hence the gate of 1.15. A receiver that releases each
// message (Msg.Release) has its bodies recycled, once it has as many as its
// queue holds, and allocates only those chunks (24 to 384 octets; measured
// 0.08–0.14 per 4 KiB message, 0.16–0.29 per 64 KiB one): gate 0.5, half a
// body's worth of allocations below the gate of 1.15. Small messages
// released have their slabs and frame lists recycled (measured 0 octets
// per message, against 42 at 16 octets and 282 at 256 unreleased): gated
// at maxOctets.
func TestRecvAllocs(t *testing.T) {
	for _, tc := range []struct {
		size      int
		n         int
		released  bool
		max       float64
		maxOctets float64 // 0: not gated
	}{
		{16, 200_000, false, 0.1, 0}, {256, 200_000, false, 0.1, 0}, {4 << 10, 20_000, false, 1.15, 0}, {64 << 10, 5_000, false, 1.15, 0},
		{16, 200_000, true, 0.05, 8}, {256, 200_000, true, 0.05, 8}, {4 << 10, 20_000, true, 0.5, 0}, {64 << 10, 20_000, true, 0.5, 0},
	} {
		name := fmt.Sprint(tc.size)
		if tc.released {
			name += "/released"
		}
		t.Run(name, func(t *testing.T) {
			var stream []byte
			for len(stream) < 256<<10 {
				stream = zmtp.AppendFrameHeader(stream, 0, tc.size)
				stream = append(stream, make([]byte, tc.size)...)
			}
			var opts []Option
			if tc.released {
				// Until as many bodies as can be queued are in use, the
				// reader allocates: keep that short of the measurement.
				opts = append(opts, WithRecvHWM(100))
			}
			pull := relNew(t, PULL, opts...)
			ep, _ := allocListen(t, zmtp.Config{SocketType: zmtp.Push}, stream, nil)
			relConnect(t, pull, ep)
			ctx := context.Background()
			var err error
			per, octets := allocatedPer(tc.n, func() {
				m, e := pull.Recv(ctx)
				if e != nil || len(m.Frames) != 1 || len(m.Frames[0]) != tc.size {
					err = fmt.Errorf("Recv: %d frames, %v", len(m.Frames), e)
				}
				if tc.released {
					m.Release()
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%.4f allocations, %.0f octets per received %d-octet message (released: %v)", per, octets, tc.size, tc.released)
			if per > tc.max {
				t.Errorf("%.4f allocations per received %d-octet message (released: %v), want ≤ %v", per, tc.size, tc.released, tc.max)
			}
			if tc.maxOctets > 0 && octets > tc.maxOctets {
				t.Errorf("%.0f octets allocated per received %d-octet message (released: %v), want ≤ %v", octets, tc.size, tc.released, tc.maxOctets)
			}
		})
	}
}
