package curve

// Shared test helpers: fixed keys, deterministic randomness, handshakes
// over in-memory pipes, and a hand-driven CURVE peer ("raw peer") that
// speaks the wire directly so tests can send what our own mechanisms
// never would.

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// The key pairs of libzmq's test suite and zmq_curve(7).
const (
	testServerPublic = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	testServerSecret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
	testClientPublic = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
	testClientSecret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
)

func mustKey(t testing.TB, z85 string) Key {
	t.Helper()
	k, err := ParseKey(z85)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serverPair(t testing.TB) KeyPair {
	return KeyPair{Public: mustKey(t, testServerPublic), Secret: mustKey(t, testServerSecret)}
}

func clientPair(t testing.TB) KeyPair {
	return KeyPair{Public: mustKey(t, testClientPublic), Secret: mustKey(t, testClientSecret)}
}

// detRand is a deterministic randomness source.
func detRand(seed byte) io.Reader {
	var s [32]byte
	for i := range s {
		s[i] = seed + byte(i)
	}
	return rand.NewChaCha8(s)
}

// newTestServer returns a Server with the fixed server key, and
// deterministic randomness when r is not nil.
func newTestServer(t testing.TB, r io.Reader) *Server {
	t.Helper()
	s, err := NewServer(serverPair(t).Secret)
	if err != nil {
		t.Fatal(err)
	}
	s.rand = r
	return s
}

// newTestClient returns a Client with the fixed client and server keys.
func newTestClient(t testing.TB, r io.Reader) *Client {
	t.Helper()
	c, err := NewClient(clientPair(t), serverPair(t).Public)
	if err != nil {
		t.Fatal(err)
	}
	c.rand = r
	return c
}

// authCounter is an Authenticator that counts its calls and lets in the
// client keys in allow (everyone when allow is nil).
type authCounter struct {
	calls atomic.Int32
	mu    sync.Mutex
	keys  [][]byte
	allow map[Key]bool
}

func (a *authCounter) Authenticate(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
	a.calls.Add(1)
	a.mu.Lock()
	a.keys = append(a.keys, bytes.Clone(r.ClientKey))
	a.mu.Unlock()
	if a.allow != nil && !a.allow[Key(r.ClientKey)] {
		return zmtp.AuthResult{Status: zmtp.StatusDenied, StatusText: "unknown key"}, nil
	}
	return zmtp.AuthResult{Status: zmtp.StatusOK, UserID: "user-" + Key(r.ClientKey).String()[:4]}, nil
}

// pairResult is the outcome of one side of handshakeBoth.
type pairResult struct {
	c   *zmtp.Conn
	err error
}

// handshakeBoth runs a client and a server handshake over a buffered
// in-memory pipe and returns both outcomes. Conns that came up are closed
// by the test's cleanup.
func handshakeBoth(t testing.TB, ccfg, scfg zmtp.Config) (client, server pairResult) {
	t.Helper()
	a, b := testkit.Pipe(0)
	return handshakeOver(t, a, b, ccfg, scfg)
}

func handshakeOver(t testing.TB, a, b net.Conn, ccfg, scfg zmtp.Config) (client, server pairResult) {
	t.Helper()
	client, server = handshakeRaw(a, b, ccfg, scfg)
	for _, r := range []pairResult{client, server} {
		if r.c != nil {
			c := r.c
			t.Cleanup(func() { _ = c.Close() })
		}
	}
	return client, server
}

// handshakeRaw runs both handshakes; the caller closes what came up.
func handshakeRaw(a, b net.Conn, ccfg, scfg zmtp.Config) (client, server pairResult) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch := make(chan pairResult, 1)
	go func() {
		c, err := zmtp.Handshake(ctx, b, scfg)
		ch <- pairResult{c, err}
	}()
	cc, cerr := zmtp.Handshake(ctx, a, ccfg)
	return pairResult{cc, cerr}, <-ch
}

// mustPair is handshakeBoth for handshakes that must succeed.
func mustPair(t testing.TB, ccfg, scfg zmtp.Config) (client, server *zmtp.Conn) {
	t.Helper()
	c, s := handshakeBoth(t, ccfg, scfg)
	if c.err != nil || s.err != nil {
		t.Fatalf("handshake: client %v; server %v", c.err, s.err)
	}
	return c.c, s.c
}

// ---- recording the wire -----------------------------------------------------

// tapConn records every octet read and written.
type tapConn struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.in.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	c.out.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tapConn) received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.in.Bytes())
}

func (c *tapConn) sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

// wireFrame is one ZMTP frame as it crossed the wire: its flags octet as
// sent (LONG included), and its body.
type wireFrame struct {
	flags byte
	body  []byte
}

// splitWire parses a recorded stream: the 64-octet greeting, then frames,
// decoded by hand from RFC 23 (flags, 1- or 8-octet size, body) rather
// than with the package's decoder. A trailing partial frame is dropped.
func splitWire(t testing.TB, b []byte) []wireFrame {
	t.Helper()
	if len(b) < zmtp.GreetingSize {
		t.Fatalf("stream of %d octets has no greeting", len(b))
	}
	b = b[zmtp.GreetingSize:]
	var out []wireFrame
	for len(b) >= 2 {
		flags := b[0]
		var size uint64
		hdr := 2
		if flags&0x02 != 0 {
			if len(b) < 9 {
				break
			}
			size, hdr = binary.BigEndian.Uint64(b[1:9]), 9
		} else {
			size = uint64(b[1])
		}
		if uint64(len(b)-hdr) < size {
			break
		}
		out = append(out, wireFrame{flags, b[hdr : hdr+int(size)]})
		b = b[hdr+int(size):]
	}
	return out
}

// ---- a hand-driven CURVE peer -----------------------------------------------

// rawPeer speaks ZMTP frames on a net.Conn directly.
type rawPeer struct {
	t  testing.TB
	nc net.Conn
	rd []byte // bytes read but not yet parsed
}

func newRawPeer(t testing.TB, nc net.Conn) *rawPeer { return &rawPeer{t: t, nc: nc} }

// greet sends a CURVE greeting and reads the peer's.
func (p *rawPeer) greet(asServer bool) (zmtp.Greeting, error) {
	g := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE", AsServer: asServer})
	if _, err := p.nc.Write(g); err != nil {
		return zmtp.Greeting{}, err
	}
	b, err := p.need(zmtp.GreetingSize)
	if err != nil {
		return zmtp.Greeting{}, err
	}
	p.rd = p.rd[zmtp.GreetingSize:]
	return zmtp.ParseGreeting(b)
}

func (p *rawPeer) need(n int) ([]byte, error) {
	buf := make([]byte, 64<<10)
	for len(p.rd) < n {
		m, err := p.nc.Read(buf)
		p.rd = append(p.rd, buf[:m]...)
		if err != nil && len(p.rd) < n {
			return nil, err
		}
	}
	return p.rd[:n], nil
}

// readFrame reads one frame.
func (p *rawPeer) readFrame() (wireFrame, error) {
	h, err := p.need(2)
	if err != nil {
		return wireFrame{}, err
	}
	size, hdr := uint64(h[1]), 2
	if h[0]&0x02 != 0 {
		if h, err = p.need(9); err != nil {
			return wireFrame{}, err
		}
		size, hdr = binary.BigEndian.Uint64(h[1:9]), 9
	}
	if size > 64<<20 {
		return wireFrame{}, fmt.Errorf("raw peer: frame of %d octets", size)
	}
	b, err := p.need(hdr + int(size))
	if err != nil {
		return wireFrame{}, err
	}
	f := wireFrame{flags: b[0], body: bytes.Clone(b[hdr:])}
	p.rd = p.rd[hdr+int(size):]
	return f, nil
}

// readCommand reads a command frame and splits it.
func (p *rawPeer) readCommand() (string, []byte, error) {
	f, err := p.readFrame()
	if err != nil {
		return "", nil, err
	}
	if f.flags&0x04 == 0 {
		return "", nil, fmt.Errorf("raw peer: data frame (flags %#02x) where a command was due", f.flags)
	}
	name, data, err := zmtp.ParseCommand(f.body)
	return string(name), data, err
}

func (p *rawPeer) expect(want string) []byte {
	p.t.Helper()
	name, data, err := p.readCommand()
	if err != nil {
		p.t.Fatalf("raw peer: reading %s: %v", want, err)
	}
	if name != want {
		p.t.Fatalf("raw peer: got %s, want %s", name, want)
	}
	return data
}

// writeFrame sends a frame with the given flags (LONG is chosen here).
func (p *rawPeer) writeFrame(flags byte, body []byte) error {
	_, err := p.nc.Write(append(zmtp.AppendFrameHeader(nil, flags, len(body)), body...))
	return err
}

// writeCommand sends a command frame.
func (p *rawPeer) writeCommand(name string, data []byte) error {
	_, err := p.nc.Write(zmtp.AppendCommand(nil, name, data))
	return err
}

// waitClosed reads until the connection fails and returns the error; it
// fails the test if any frame arrives first.
func (p *rawPeer) waitClosed() error {
	for {
		f, err := p.readFrame()
		if err != nil {
			return err
		}
		p.t.Errorf("raw peer: frame %#02x %q arrived before the close", f.flags, trunc(f.body))
	}
}

func trunc(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}

// rawClient is a CURVE client driven step by step.
type rawClient struct {
	*rawPeer
	keys            KeyPair // C
	serverKey       Key     // S
	transient       KeyPair // C'
	serverTransient Key     // S'
	cookie          []byte
	shared          [32]byte
	nonces          counter
	cipher          *cipher
}

func newRawClient(t testing.TB, nc net.Conn, keys KeyPair, serverKey Key) *rawClient {
	t.Helper()
	tr, err := NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{rawPeer: newRawPeer(t, nc), keys: keys, serverKey: serverKey, transient: tr}
}

// hello builds a valid HELLO's data (with the next nonce).
func (c *rawClient) hello() []byte {
	n, _ := c.nonces.take()
	return appendHello(nil, precompute(&c.serverKey, &c.transient.Secret), &c.transient.Public, n)
}

// welcome reads and opens the WELCOME.
func (c *rawClient) welcome() {
	c.t.Helper()
	data := c.expect(cmdWelcome)
	st, cookie, err := openWelcome(data, precompute(&c.serverKey, &c.transient.Secret))
	if err != nil {
		c.t.Fatalf("raw client: %v", err)
	}
	c.serverTransient, c.cookie = st, cookie
	box.Precompute(&c.shared, (*[32]byte)(&st), (*[32]byte)(&c.transient.Secret))
}

// initiate builds a valid INITIATE's data carrying md; edit may change the
// fields first.
func (c *rawClient) initiate(md zmtp.Metadata, edit func(*initiateFields)) []byte {
	c.t.Helper()
	n, _ := c.nonces.take()
	f := &initiateFields{
		cookie: c.cookie, n: n, shared: &c.shared,
		client: &c.keys, serverKey: &c.serverKey,
		serverTransient: &c.serverTransient, clientTransient: &c.transient.Public,
		metadata: zmtp.AppendMetadata(nil, md),
	}
	if edit != nil {
		edit(f)
	}
	data, err := appendInitiate(nil, crand.Reader, f)
	if err != nil {
		c.t.Fatal(err)
	}
	return data
}

// ready reads and opens the READY, and sets up the MESSAGE cipher.
func (c *rawClient) ready() zmtp.Metadata {
	c.t.Helper()
	data := c.expect(cmdReady)
	n, md, err := openReady(data, &c.shared)
	if err != nil {
		c.t.Fatalf("raw client: %v", err)
	}
	var peer peerCounter
	peer.accept(n)
	c.cipher = newCipher(&c.shared, prefixMsgC, prefixMsgS, c.nonces, peer)
	m, err := zmtp.ParseMetadata(md)
	if err != nil {
		c.t.Fatalf("raw client: READY metadata: %v", err)
	}
	return m
}

// handshake runs the whole client handshake as socketType.
func (c *rawClient) handshake(socketType zmtp.SocketType) zmtp.Metadata {
	c.t.Helper()
	if _, err := c.greet(false); err != nil {
		c.t.Fatalf("raw client: greeting: %v", err)
	}
	if err := c.writeCommand(cmdHello, c.hello()); err != nil {
		c.t.Fatal(err)
	}
	c.welcome()
	md := zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte(socketType)}}
	if err := c.writeCommand(cmdInitiate, c.initiate(md, nil)); err != nil {
		c.t.Fatal(err)
	}
	return c.ready()
}

// sealMessage returns a MESSAGE body carrying one frame.
func (c *rawClient) sealMessage(flags byte, payload []byte) []byte {
	c.t.Helper()
	b, err := c.cipher.Seal(nil, flags, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// sealRaw seals an arbitrary plaintext (flags octet included) under short
// nonce n, bypassing the cipher's checks.
func (c *rawClient) sealRaw(n uint64, plain []byte) []byte {
	body := append([]byte(messageHeader), binary.BigEndian.AppendUint64(nil, n)...)
	return box.SealAfterPrecomputation(body, plain, shortNonce(prefixMsgC, n), &c.shared)
}

// isClosedErr reports whether a read error means the other side closed.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe)
}

// rawServer is a CURVE server driven step by step.
type rawServer struct {
	*rawPeer
	keys            KeyPair // S
	transient       KeyPair // S'
	clientTransient Key     // C'
	shared          [32]byte
	nonces          counter
	peer            peerCounter
	cipher          *cipher
}

func newRawServer(t testing.TB, nc net.Conn, keys KeyPair) *rawServer {
	t.Helper()
	tr, err := NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return &rawServer{rawPeer: newRawPeer(t, nc), keys: keys, transient: tr}
}

// hello reads and opens the client's HELLO.
func (s *rawServer) hello() {
	s.t.Helper()
	ct, n, _, err := openHello(s.expect(cmdHello), &s.keys.Secret)
	if err != nil {
		s.t.Fatalf("raw server: %v", err)
	}
	s.clientTransient = ct
	s.peer.accept(n)
	box.Precompute(&s.shared, (*[32]byte)(&ct), (*[32]byte)(&s.transient.Secret))
}

// welcome builds a WELCOME's data; the cookie is 96 octets of noise, as
// the client never looks inside it.
func (s *rawServer) welcome() []byte {
	s.t.Helper()
	data, err := appendWelcome(nil, detRand(7), precompute(&s.clientTransient, &s.keys.Secret), &s.transient.Public, make([]byte, cookieSize))
	if err != nil {
		s.t.Fatal(err)
	}
	return data
}

// initiate reads the INITIATE and returns the client's permanent key.
func (s *rawServer) initiate() Key {
	s.t.Helper()
	data := s.expect(cmdInitiate)
	n := binary.BigEndian.Uint64(data[cookieSize:])
	ib, err := openInitiateBox(data, n, &s.shared)
	if err != nil {
		s.t.Fatalf("raw server: %v", err)
	}
	s.peer.accept(n)
	return ib.clientKey
}

// ready builds a READY's data (with the next nonce) and sets up the
// MESSAGE cipher.
func (s *rawServer) ready(socketType zmtp.SocketType) []byte {
	n, _ := s.nonces.take()
	md := zmtp.AppendMetadata(nil, zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte(socketType)}})
	s.cipher = newCipher(&s.shared, prefixMsgS, prefixMsgC, s.nonces, s.peer)
	return appendReady(nil, n, &s.shared, md)
}

// handshake runs the whole server handshake as socketType.
func (s *rawServer) handshake(socketType zmtp.SocketType) {
	s.t.Helper()
	if _, err := s.greet(true); err != nil {
		s.t.Fatalf("raw server: greeting: %v", err)
	}
	s.hello()
	if err := s.writeCommand(cmdWelcome, s.welcome()); err != nil {
		s.t.Fatal(err)
	}
	s.initiate()
	if err := s.writeCommand(cmdReady, s.ready(socketType)); err != nil {
		s.t.Fatal(err)
	}
}

// sealRaw seals an arbitrary plaintext under short nonce n, server to
// client.
func (s *rawServer) sealRaw(n uint64, plain []byte) []byte {
	body := append([]byte(messageHeader), binary.BigEndian.AppendUint64(nil, n)...)
	return box.SealAfterPrecomputation(body, plain, shortNonce(prefixMsgS, n), &s.shared)
}
