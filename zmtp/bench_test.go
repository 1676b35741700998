package zmtp

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"
)

var benchSizes = []int{16, 256, 4 << 10, 64 << 10}

// discardConn is a net.Conn whose writes vanish and whose reads replay one
// encoded stream forever, so that benchmarks measure encoding and decoding
// and not the kernel.
type discardConn struct {
	replay []byte
	pos    int
}

func (d *discardConn) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m := copy(b[n:], d.replay[d.pos:])
		n += m
		d.pos = (d.pos + m) % len(d.replay)
	}
	return n, nil
}
func (d *discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (d *discardConn) Close() error                     { return nil }
func (d *discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (d *discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (d *discardConn) SetDeadline(time.Time) error      { return nil }
func (d *discardConn) SetReadDeadline(time.Time) error  { return nil }
func (d *discardConn) SetWriteDeadline(time.Time) error { return nil }

// readyConn builds a Conn as Handshake leaves it, over nc.
func readyConn(nc net.Conn, t SocketType) *Conn {
	c := newConn(nc, Config{SocketType: t})
	c.peer = Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}
	c.start()
	return c
}

func BenchmarkWriteMsg(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			c := readyConn(&discardConn{}, Push)
			msg := [][]byte{make([]byte, size)}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMsg(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWriteBatch encodes 64 messages per Batch, as a socket's writer
// does, against WriteMsg's lock per message (BenchmarkWriteMsg).
func BenchmarkWriteBatch(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			c := readyConn(&discardConn{}, Push)
			msg := [][]byte{make([]byte, size)}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; i < b.N; {
				zb := c.BeginBatch()
				for j := 0; j < 64 && i < b.N; j, i = j+1, i+1 {
					if err := zb.WriteMsg(msg); err != nil {
						b.Fatal(err)
					}
				}
				if err := zb.End(); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkReadMsg(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) { benchReadMsg(b, size, false) })
	}
}

// benchReadMsg reads one-frame messages of size octets from a replayed
// stream, giving each one back (Recycle, RecycleRef) when recycle is set.
func benchReadMsg(b *testing.B, size int, recycle bool) {
	c := readyConn(&discardConn{replay: frameStream(size, 1<<20)}, Pull)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var msg [][]byte
	var err error
	for b.Loop() {
		if msg, err = c.ReadMsg(msg[:0]); err != nil {
			b.Fatal(err)
		}
		if recycle {
			Recycle(msg...)
			RecycleRef(c.SlabRef())
		}
	}
}

// frameStream is one-frame messages of size octets, at least total octets
// of them, for a discardConn to replay.
func frameStream(size, total int) []byte {
	var stream []byte
	for len(stream) < total {
		stream = AppendFrameHeader(stream, 0, size)
		stream = append(stream, make([]byte, size)...)
	}
	return stream
}

// BenchmarkTCP sends messages from one Conn to another over loopback TCP
// and reports delivered messages per second.
func BenchmarkTCP(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			tx, rx := tcpPair(b, Push, Pull)
			defer tx.Close()
			defer rx.Close()
			msg := [][]byte{make([]byte, size)}
			done := make(chan error, 1)
			n := b.N
			go func() {
				var m [][]byte
				var err error
				for i := 0; i < n; i++ {
					if m, err = rx.ReadMsg(m[:0]); err != nil {
						break
					}
				}
				done <- err
			}()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < n; i++ {
				if err := tx.WriteMsg(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// tcpPair handshakes two Conns over loopback TCP.
func tcpPair(tb testing.TB, a, bt SocketType) (*Conn, *Conn) {
	tb.Helper()
	return netPair(tb, "tcp", "127.0.0.1:0", a, bt, nil)
}

// netPair handshakes two Conns over a listener of network at address,
// applying tune (if set) to the dialled connection before its handshake.
func netPair(tb testing.TB, network, address string, a, bt SocketType, tune func(net.Conn) error) (*Conn, *Conn) {
	tb.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type result struct {
		c   *Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			accepted <- result{nil, err}
			return
		}
		c, err := Handshake(ctx, nc, Config{SocketType: bt})
		accepted <- result{c, err}
	}()
	nc, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	if tune != nil {
		if err := tune(nc); err != nil {
			tb.Fatal(err)
		}
	}
	ca, err := Handshake(ctx, nc, Config{SocketType: a})
	if err != nil {
		tb.Fatal(err)
	}
	r := <-accepted
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return ca, r.c
}
