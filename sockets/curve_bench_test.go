package sockets

import (
	"context"
	"fmt"
	"testing"
)

// curveOpts returns a CURVE server's and a client's options.
func curveOpts() (server, client []Option) {
	return []Option{WithCurveServer(zapServerKeys.Secret)},
		[]Option{WithCurveClient(zapClientKeys, zapServerKeys.Public)}
}

// BenchmarkCurvePushPull is BenchmarkPushPull over CURVE: one-way
// throughput, every frame sealed and opened, the receiver in another
// goroutine. Compare with BenchmarkPushPull/tcp/SIZE for the cost of the
// encryption.
func BenchmarkCurvePushPull(b *testing.B) {
	for _, tr := range []string{"tcp", "ipc"} {
		for _, size := range []int{16, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%d", tr, size), func(b *testing.B) {
				srv, cli := curveOpts()
				pull, push := benchPair(b, tr, PULL, PUSH, srv, cli)
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

// BenchmarkCurveHandshake measures connections per second to a CURVE
// server: a REQ connects, makes one round trip and closes, one after the
// other (the handshake is most of it: both transient key pairs, four
// boxes each way, the cookie).
func BenchmarkCurveHandshake(b *testing.B) {
	srvOpts, cliOpts := curveOpts()
	rep, err := New(REP, append(srvOpts, WithLinger(0))...)
	if err != nil {
		b.Fatal(err)
	}
	defer rep.Close()
	if err := rep.Bind("tcp://127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	ep := rep.Endpoints()[0]
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
		req, err := New(REQ, append(cliOpts, WithLinger(0))...)
		if err != nil {
			b.Fatal(err)
		}
		if err := req.Connect(ep); err != nil {
			b.Fatal(err)
		}
		if err := req.Send(ctx, Msg{Frames: msg}); err != nil {
			b.Fatal(err)
		}
		if _, err := req.Recv(ctx); err != nil {
			b.Fatal(err)
		}
		req.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
