package zmtp_test

// Helpers for the interop tests (interop_test.go) and the capture tests
// (captures_test.go): connecting the bare engine to a libzmq peer in either
// TCP role, reading a Conn in the background, recording the bytes on the
// wire, and comparing messages byte for byte.

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// ioTimeout bounds every single wait of the interop tests: an accept, a
// handshake, a message.
const ioTimeout = 15 * time.Second

// interopSizes are the frame sizes every interop exchange carries: empty,
// the largest short frame, the smallest long frame, and 1 MiB.
var interopSizes = []int{0, 255, 256, 1 << 20}

// testFrames returns one frame per size, filled with pseudo-random octets
// drawn from seed, so that a frame delivered out of place or truncated
// never compares equal by accident.
func testFrames(seed uint64, sizes ...int) [][]byte {
	frames := make([][]byte, len(sizes))
	for i, n := range sizes {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		frames[i] = b
	}
	return frames
}

// prepend returns head followed by frames, in a new slice.
func prepend(head []byte, frames [][]byte) [][]byte {
	return append([][]byte{head}, frames...)
}

// describeMsg summarises a message for failure output: frame sizes and the
// first octets of each frame.
func describeMsg(msg [][]byte) string {
	parts := make([]string, len(msg))
	for i, f := range msg {
		head := f
		if len(head) > 8 {
			head = head[:8]
		}
		parts[i] = fmt.Sprintf("%d:%x", len(f), head)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkMsg fails the test unless got has exactly the frames of want, octet
// for octet.
func checkMsg(t testing.TB, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames %s, want %d frames %s", what, len(got), describeMsg(got), len(want), describeMsg(want))
	}
	for i := range want {
		if bytes.Equal(got[i], want[i]) {
			continue
		}
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s: frame %d is %d octets, want %d (got %s)", what, i, len(got[i]), len(want[i]), describeMsg(got))
		}
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("%s: frame %d (%d octets) differs first at octet %d: %#02x, want %#02x",
					what, i, len(want[i]), j, got[i][j], want[i][j])
			}
		}
	}
}

// ---- recording the wire ----------------------------------------------------

// tapConn records every octet read from and written to a net.Conn, and
// when each read or write completed.
type tapConn struct {
	net.Conn
	mu       sync.Mutex
	in, out  bytes.Buffer
	inTimes  []tapMark
	outTimes []tapMark
}

// tapMark says that the stream had reached end octets at time at.
type tapMark struct {
	at  time.Time
	end int
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	now := time.Now()
	c.mu.Lock()
	c.in.Write(b[:n])
	c.inTimes = append(c.inTimes, tapMark{now, c.in.Len()})
	c.mu.Unlock()
	return n, err
}

func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	now := time.Now()
	c.mu.Lock()
	c.out.Write(b[:n])
	c.outTimes = append(c.outTimes, tapMark{now, c.out.Len()})
	c.mu.Unlock()
	return n, err
}

// replyLatencies pairs the k-th occurrence of req in one direction with
// the k-th occurrence of resp in the other (PING and PONG) and returns how
// long each response took, from the read (or write) that completed the
// request to the write (or read) that completed the response.
func (c *tapConn) replyLatencies(reqIn bool, req, resp []byte) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	reqBuf, reqTimes, respBuf, respTimes := c.out.Bytes(), c.outTimes, c.in.Bytes(), c.inTimes
	if reqIn {
		reqBuf, reqTimes, respBuf, respTimes = respBuf, respTimes, reqBuf, reqTimes
	}
	at := func(marks []tapMark, end int) time.Time {
		for _, m := range marks {
			if m.end >= end {
				return m.at
			}
		}
		return time.Time{}
	}
	ends := func(buf, pat []byte) []int {
		var out []int
		for off := 0; ; {
			i := bytes.Index(buf[off:], pat)
			if i < 0 {
				return out
			}
			off += i + len(pat)
			out = append(out, off)
		}
	}
	reqs, resps := ends(reqBuf, req), ends(respBuf, resp)
	var lat []time.Duration
	for k := 0; k < len(reqs) && k < len(resps); k++ {
		lat = append(lat, at(respTimes, resps[k]).Sub(at(reqTimes, reqs[k])))
	}
	return lat
}

// received returns a copy of every octet read so far.
func (c *tapConn) received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.in.Bytes())
}

// sent returns a copy of every octet written so far.
func (c *tapConn) sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

// Command frames as they appear on the wire, built by hand from RFC 37
// (flags 0x04, 1-octet size, name length, name, data) so that the taps are
// checked against the spec, not against the package's encoders.
func wireCommand(name string, data ...byte) []byte {
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, data...)
	return append([]byte{0x04, byte(len(body))}, body...)
}

// ---- background reading ----------------------------------------------------

type readResult struct {
	msg [][]byte
	err error
}

// reader reads a Conn in a goroutine and hands over every message (and the
// final error) on a channel.
type reader struct {
	c  *zmtp.Conn
	ch chan readResult
}

// startReader reads c until it fails. The test's cleanup closes c and waits
// for the goroutine, so none outlives the test.
func startReader(t testing.TB, c *zmtp.Conn) *reader {
	r := &reader{c: c, ch: make(chan readResult, 16)}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			msg, err := c.ReadMsg(nil)
			select {
			case r.ch <- readResult{msg, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		close(done)
		<-exited
	})
	return r
}

// next returns the next message, failing the test on an error or after
// ioTimeout.
func (r *reader) next(t testing.TB) [][]byte {
	t.Helper()
	select {
	case res := <-r.ch:
		if res.err != nil {
			t.Fatalf("ReadMsg: %v", res.err)
		}
		return res.msg
	case <-time.After(ioTimeout):
		t.Fatalf("no message within %v", ioTimeout)
		return nil
	}
}

// ---- connecting to libzmq ----------------------------------------------------

// tcpRole says who opens the TCP connection.
type tcpRole int

const (
	// weDial: the libzmq socket binds, our engine dials it (TCP client).
	weDial tcpRole = iota
	// weListen: our engine listens, the libzmq socket connects (TCP server).
	weListen
)

var bothRoles = []tcpRole{weDial, weListen}

func (r tcpRole) String() string {
	if r == weDial {
		return "we-dial"
	}
	return "we-listen"
}

// lzLink describes one connection between our engine and a libzmq peer.
type lzLink struct {
	role     tcpRole
	cfg      zmtp.Config
	peerType string   // libzmq socket type
	args     []string // extra peer.py flags
	tap      bool     // record the wire (Conn's net.Conn is a *tapConn)
}

// lzConn is the outcome of a lzLink: the peer always, and either a Conn or
// the handshake error.
type lzConn struct {
	c    *zmtp.Conn
	err  error
	peer *libzmqpeer.Peer
	tap  *tapConn
}

// handshakeLibzmq starts the libzmq peer, opens the TCP connection in the
// requested direction and runs our handshake on it. A handshake error is
// returned in lzConn.err; a setup failure fails the test.
func handshakeLibzmq(t testing.TB, l lzLink) lzConn {
	t.Helper()
	libzmqpeer.Require(t)
	var out lzConn
	var nc net.Conn
	switch l.role {
	case weDial:
		out.peer = libzmqpeer.Start(t, libzmqpeer.Options{
			Type: l.peerType, Bind: []string{"tcp://127.0.0.1:0"}, Args: l.args,
		})
		addr := strings.TrimPrefix(out.peer.Endpoint(), "tcp://")
		var err error
		nc, err = net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			t.Fatalf("dial libzmq %s at %s: %v", l.peerType, addr, err)
		}
	case weListen:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		out.peer = libzmqpeer.Start(t, libzmqpeer.Options{
			Type: l.peerType, Connect: []string{"tcp://" + ln.Addr().String()}, Args: l.args,
		})
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout))
		if nc, err = ln.Accept(); err != nil {
			t.Fatalf("accept libzmq %s: %v\npeer stderr:\n%s", l.peerType, err, out.peer.Stderr())
		}
	}
	if l.tap {
		out.tap = &tapConn{Conn: nc}
		nc = out.tap
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	out.c, out.err = zmtp.Handshake(ctx, nc, l.cfg)
	if out.err == nil {
		c := out.c
		t.Cleanup(func() { _ = c.Close() })
	}
	return out
}

// connectLibzmq is handshakeLibzmq for links that must succeed.
func connectLibzmq(t testing.TB, l lzLink) (*zmtp.Conn, *libzmqpeer.Peer, *tapConn) {
	t.Helper()
	r := handshakeLibzmq(t, l)
	if r.err != nil {
		t.Fatalf("handshake %s with libzmq %s (%s): %v\npeer stderr:\n%s",
			l.cfg.SocketType, l.peerType, l.role, r.err, r.peer.Stderr())
	}
	return r.c, r.peer, r.tap
}

// hexArg renders an identity for peer.py's --identity flag.
func hexArg(s string) string { return hex.EncodeToString([]byte(s)) }

// waitFor polls cond every 20 ms until it holds or ioTimeout passes.
func waitFor(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, ioTimeout)
		}
		<-tick.C
	}
}

// ---- PLAIN authentication ----------------------------------------------------

const (
	plainUser = "admin"
	plainPass = "secret"
	plainUID  = "uid-admin"
)

// authRecorder is an Authenticator that accepts admin:secret and records
// every request it was asked.
type authRecorder struct {
	mu   sync.Mutex
	reqs []zmtp.AuthRequest
}

func (a *authRecorder) Authenticate(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
	a.mu.Lock()
	a.reqs = append(a.reqs, *r)
	a.mu.Unlock()
	if r.Username == plainUser && r.Password == plainPass {
		return zmtp.AuthResult{
			Status: zmtp.StatusOK, UserID: plainUID,
			Metadata: zmtp.Metadata{{Name: "X-Role", Value: []byte("operator")}},
		}, nil
	}
	return zmtp.AuthResult{Status: zmtp.StatusDenied, StatusText: "bad credentials"}, nil
}

func (a *authRecorder) requests() []zmtp.AuthRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]zmtp.AuthRequest(nil), a.reqs...)
}
