package sockets

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchPair binds a and connects b over the transport.
func benchPair(b *testing.B, transport string, at, bt Type, aopts, bopts []Option) (*Socket, *Socket) {
	b.Helper()
	x, err := New(at, aopts...)
	if err != nil {
		b.Fatal(err)
	}
	y, err := New(bt, bopts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { y.Close(); x.Close() })
	ep := benchEndpoint(b, transport, x)
	if err := x.Bind(ep); err != nil {
		b.Fatal(err)
	}
	if transport == "tcp" {
		ep = x.Endpoints()[0]
	}
	if err := y.Connect(ep); err != nil {
		b.Fatal(err)
	}
	return x, y
}

// benchEndpoint is a fresh endpoint of the transport for socket x.
func benchEndpoint(b *testing.B, transport string, x *Socket) string {
	return map[string]string{
		"tcp":    "tcp://127.0.0.1:0",
		"ipc":    "ipc://" + b.TempDir() + "/b.sock",
		"inproc": fmt.Sprintf("inproc://bench-%p", x),
	}[transport]
}

var benchTransports = []string{"inproc", "ipc", "tcp"}

// BenchmarkPushPull measures one-way throughput, the receiver in another
// goroutine. Every Send passes the same Msg, as libzmq's perf tools and
// the bench/ harness do, so allocs/op are the library's own: the send and
// the receive side of one message together.
func BenchmarkPushPull(b *testing.B) {
	for _, tr := range benchTransports {
		for _, size := range []int{16, 256, 4 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%d", tr, size), func(b *testing.B) {
				pull, push := benchPair(b, tr, PULL, PUSH, nil, nil)
				ctx := context.Background()
				msg := NewMsg(make([]byte, size))
				n := b.N
				done := make(chan error, 1)
				go func() {
					for i := 0; i < n; i++ {
						if _, err := pull.Recv(ctx); err != nil {
							done <- err
							return
						}
					}
					done <- nil
				}()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < n; i++ {
					if err := push.Send(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
			})
		}
	}
}

// BenchmarkReqRep measures round trips of a 1-octet request.
func BenchmarkReqRep(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			rep, req := benchPair(b, tr, REP, REQ, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for {
					m, err := rep.Recv(ctx)
					if err != nil {
						return
					}
					if rep.Send(ctx, Msg{Frames: m.Frames}) != nil {
						return
					}
				}
			}()
			msg := NewMsg([]byte{1})
			b.ReportAllocs()
			for b.Loop() {
				if err := req.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := req.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDealerRouter measures round trips through a ROUTER echo.
func BenchmarkDealerRouter(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			router, dealer := benchPair(b, tr, ROUTER, DEALER, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for {
					m, err := router.Recv(ctx)
					if err != nil {
						return
					}
					if router.Send(ctx, Msg{Frames: m.Frames}) != nil {
						return
					}
				}
			}()
			msg := NewMsg(make([]byte, 16))
			b.ReportAllocs()
			for b.Loop() {
				if err := dealer.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := dealer.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPubSub measures delivered 16-octet messages to one and to four
// subscribers with no HWM, so nothing is dropped; msg/s counts deliveries
// (messages × subscribers).
func BenchmarkPubSub(b *testing.B) {
	for _, tr := range benchTransports {
		for _, nsub := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/%dsub", tr, nsub), func(b *testing.B) {
				benchPubSub(b, tr, nsub)
			})
		}
	}
}

func benchPubSub(b *testing.B, tr string, nsub int) {
	pub, err := New(PUB, WithSendHWM(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pub.Close() })
	ep := benchEndpoint(b, tr, pub)
	if err := pub.Bind(ep); err != nil {
		b.Fatal(err)
	}
	if tr == "tcp" {
		ep = pub.Endpoints()[0]
	}
	ctx := context.Background()
	subs := make([]*Socket, nsub)
	for i := range subs {
		sub, err := New(SUB, WithRecvHWM(0))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sub.Close() })
		if err := sub.Subscribe(nil); err != nil {
			b.Fatal(err)
		}
		if err := sub.Connect(ep); err != nil {
			b.Fatal(err)
		}
		subs[i] = sub
	}
	// Wait until every subscription has reached the publisher: warm-up
	// messages (first octet 'W') until each subscriber has one.
	warm := NewMsgString("W")
	for _, sub := range subs {
		for {
			if err := pub.Send(ctx, warm); err != nil {
				b.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
			_, err := sub.Recv(wctx)
			cancel()
			if err == nil {
				break
			}
		}
	}
	msg := NewMsg(make([]byte, 16))
	n := b.N
	done := make(chan error, nsub)
	for _, sub := range subs {
		go func() {
			for i := 0; i < n; {
				m, err := sub.Recv(ctx)
				if err != nil {
					done <- err
					return
				}
				if len(m.Frames[0]) == 16 {
					i++
				}
			}
			done <- nil
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		if err := pub.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	for range subs {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*nsub)/b.Elapsed().Seconds(), "msg/s")
}
