package curve

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// benchPair connects a PUSH and a PULL over transport ("pipe" or "tcp")
// with mech ("NULL" or "CURVE").
func benchPair(b *testing.B, transport, mech string) (push, pull *zmtp.Conn) {
	b.Helper()
	var a, c net.Conn
	switch transport {
	case "pipe":
		a, c = testkit.Pipe(0)
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		done := make(chan net.Conn, 1)
		go func() {
			nc, _ := ln.Accept()
			done <- nc
		}()
		if a, err = net.Dial("tcp", ln.Addr().String()); err != nil {
			b.Fatal(err)
		}
		if c = <-done; c == nil {
			b.Fatal("accept failed")
		}
	}
	ccfg := zmtp.Config{SocketType: zmtp.Push}
	scfg := zmtp.Config{SocketType: zmtp.Pull}
	if mech == "CURVE" {
		ccfg.Mechanism, scfg.Mechanism = newTestClient(b, nil), newTestServer(b, nil)
	}
	cl, sv := handshakeOver(b, a, c, ccfg, scfg)
	if cl.err != nil || sv.err != nil {
		b.Fatalf("%v / %v", cl.err, sv.err)
	}
	return cl.c, sv.c
}

// BenchmarkThroughput: one writer goroutine sends b.N single-frame
// messages (flushing only at the end, so the buffers batch them); the
// benchmark goroutine reads them. NULL is the baseline for CURVE.
func BenchmarkThroughput(b *testing.B) {
	for _, size := range []int{16, 64 << 10} {
		for _, transport := range []string{"pipe", "tcp"} {
			for _, mech := range []string{"NULL", "CURVE"} {
				b.Run(fmt.Sprintf("%s/%dB/%s", mech, size, transport), func(b *testing.B) {
					push, pull := benchPair(b, transport, mech)
					msg := [][]byte{bytes.Repeat([]byte{0xA5}, size)}
					b.SetBytes(int64(size))
					b.ReportAllocs()
					errc := make(chan error, 1)
					b.ResetTimer()
					go func() {
						for range b.N {
							if err := push.WriteMsg(msg); err != nil {
								errc <- err
								return
							}
						}
						errc <- push.Flush()
					}()
					var dst [][]byte
					for range b.N {
						var err error
						if dst, err = pull.ReadMsg(dst[:0]); err != nil {
							b.Fatal(err)
						}
					}
					if err := <-errc; err != nil {
						b.Fatal(err)
					}
				})
			}
		}
	}
}

// BenchmarkHandshake: complete CURVE handshakes (both sides, over an
// in-memory pipe) per second, NULL for comparison.
func BenchmarkHandshake(b *testing.B) {
	for _, mech := range []string{"NULL", "CURVE"} {
		b.Run(mech, func(b *testing.B) {
			ccfg := zmtp.Config{SocketType: zmtp.Dealer}
			scfg := zmtp.Config{SocketType: zmtp.Router}
			if mech == "CURVE" {
				ccfg.Mechanism, scfg.Mechanism = newTestClient(b, nil), newTestServer(b, nil)
			}
			b.ReportAllocs()
			for b.Loop() {
				a, c := testkit.Pipe(0)
				cl, sv := handshakeRaw(a, c, ccfg, scfg)
				if cl.err != nil || sv.err != nil {
					b.Fatalf("%v / %v", cl.err, sv.err)
				}
				cl.c.Close()
				sv.c.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkSealOpen: the MESSAGE cipher alone, into reused buffers.
func BenchmarkSealOpen(b *testing.B) {
	for _, size := range []int{16, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			cli, srv := cipherPair()
			payload := bytes.Repeat([]byte{1}, size)
			var dst []byte
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = cli.Seal(dst[:0], 0, payload); err != nil {
					b.Fatal(err)
				}
				if _, _, err = srv.Open(dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
