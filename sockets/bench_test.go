package sockets

import (
	"context"
	"fmt"
	"testing"
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
	ep := map[string]string{
		"tcp":    "tcp://127.0.0.1:0",
		"ipc":    "ipc://" + b.TempDir() + "/b.sock",
		"inproc": fmt.Sprintf("inproc://bench-%p", x),
	}[transport]
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

var benchTransports = []string{"inproc", "ipc", "tcp"}

// BenchmarkPushPull measures one-way throughput, the receiver in another
// goroutine.
func BenchmarkPushPull(b *testing.B) {
	for _, tr := range benchTransports {
		for _, size := range []int{16, 256, 4 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%d", tr, size), func(b *testing.B) {
				pull, push := benchPair(b, tr, PULL, PUSH, nil, nil)
				ctx := context.Background()
				payload := make([]byte, size)
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
					if err := push.Send(ctx, Msg{Frames: [][]byte{payload}}); err != nil {
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
			msg := [][]byte{{1}}
			b.ReportAllocs()
			for b.Loop() {
				if err := req.Send(ctx, Msg{Frames: msg}); err != nil {
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
			msg := [][]byte{make([]byte, 16)}
			b.ReportAllocs()
			for b.Loop() {
				if err := dealer.Send(ctx, Msg{Frames: msg}); err != nil {
					b.Fatal(err)
				}
				if _, err := dealer.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPubSub measures delivered messages to one subscriber with no
// HWM, so nothing is dropped.
func BenchmarkPubSub(b *testing.B) {
	for _, tr := range benchTransports {
		b.Run(tr, func(b *testing.B) {
			pub, sub := benchPair(b, tr, PUB, SUB,
				[]Option{WithSendHWM(0)}, []Option{WithRecvHWM(0)})
			ctx := context.Background()
			if err := sub.Subscribe(nil); err != nil {
				b.Fatal(err)
			}
			// Wait until the subscription has reached the publisher.
			for {
				pub.Send(ctx, NewMsgString("warmup"))
				pctx, cancel := context.WithTimeout(ctx, 10e6)
				_, err := sub.Recv(pctx)
				cancel()
				if err == nil {
					break
				}
			}
			payload := make([]byte, 16)
			n := b.N
			done := make(chan error, 1)
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
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < n; i++ {
				pub.Send(ctx, Msg{Frames: [][]byte{payload}})
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
