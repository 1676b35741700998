package zmtp

// A scripted ZMTP peer for tests that need to see or forge the wire. Every
// byte it sends is built here from the RFC grammar (RFC 23/37 "Formal
// Grammar", "Framing", "The NULL Security Mechanism"), never by the
// package's own encoders, so the tests that use it check the package
// against the spec rather than against itself.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
)

// rawGreeting builds a 64-octet ZMTP 3.x greeting octet by octet: %xFF, 8
// padding octets, %x7F, version-major, version-minor, the mechanism
// NUL-padded to 20 octets, as-server, 31 octets of filler.
func rawGreeting(major, minor byte, mechanism string, asServer bool) []byte {
	g := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, major, minor}
	mech := make([]byte, 20)
	copy(mech, mechanism)
	g = append(g, mech...)
	if asServer {
		g = append(g, 0x01)
	} else {
		g = append(g, 0x00)
	}
	return append(g, make([]byte, 31)...)
}

// rawSize appends a frame's flags and size: short (1 octet) up to 255,
// long (flags|0x02 and 8 octets, network order) above.
func rawSize(flags byte, size int) []byte {
	if size > 255 {
		b := []byte{flags | 0x02, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(b[1:], uint64(size))
		return b
	}
	return []byte{flags, byte(size)}
}

// rawFrame builds a message frame (flags 0x00 or 0x01 for MORE).
func rawFrame(more bool, body []byte) []byte {
	flags := byte(0x00)
	if more {
		flags = 0x01
	}
	return append(rawSize(flags, len(body)), body...)
}

// rawCommand builds a command frame: flags %x04 (%x06 when long), size,
// name length, name, data.
func rawCommand(name string, data ...[]byte) []byte {
	body := append([]byte{byte(len(name))}, name...)
	for _, d := range data {
		body = append(body, d...)
	}
	return append(rawSize(0x04, len(body)), body...)
}

// rawProps encodes name/value pairs as RFC 37 properties: name length (1
// octet), name, value length (4 octets, network order), value.
func rawProps(kv ...string) []byte {
	if len(kv)%2 != 0 {
		panic("rawProps needs name/value pairs")
	}
	var b []byte
	for i := 0; i < len(kv); i += 2 {
		b = append(b, byte(len(kv[i])))
		b = append(b, kv[i]...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(kv[i+1])))
		b = append(b, kv[i+1]...)
	}
	return b
}

// rawReady builds a READY command carrying the given properties.
func rawReady(kv ...string) []byte { return rawCommand("READY", rawProps(kv...)) }

// rawParseProps decodes a property list, failing on any inconsistency.
func rawParseProps(b []byte) (map[string]string, error) {
	m := map[string]string{}
	for len(b) > 0 {
		n := int(b[0])
		if n == 0 || 1+n+4 > len(b) {
			return nil, fmt.Errorf("bad property name length %d with %d octets left", n, len(b))
		}
		name := string(b[1 : 1+n])
		vlen := int(binary.BigEndian.Uint32(b[1+n:]))
		b = b[1+n+4:]
		if vlen > len(b) {
			return nil, fmt.Errorf("property %s value of %d octets, %d left", name, vlen, len(b))
		}
		m[name] = string(b[:vlen])
		b = b[vlen:]
	}
	return m, nil
}

// rawPeer is the far end of a testkit.Pipe, driven byte by byte.
type rawPeer struct {
	nc net.Conn
}

// rawPeerIOTimeout bounds each read and write of a rawPeer, so that a
// test whose expectation is not met fails instead of hanging. Inside a
// synctest bubble it is fake time, and long enough for every heartbeat
// test's silences.
const rawPeerIOTimeout = 10 * time.Second

func (p *rawPeer) write(chunks ...[]byte) error {
	p.nc.SetWriteDeadline(time.Now().Add(rawPeerIOTimeout))
	_, err := p.nc.Write(bytes.Join(chunks, nil))
	return err
}

func (p *rawPeer) readN(n int) ([]byte, error) {
	p.nc.SetReadDeadline(time.Now().Add(rawPeerIOTimeout))
	b := make([]byte, n)
	m, err := io.ReadFull(p.nc, b)
	return b[:m], err
}

// readFrame reads one frame: flags, a 1- or 8-octet size, the body.
func (p *rawPeer) readFrame() (flags byte, body []byte, err error) {
	h, err := p.readN(2)
	if err != nil {
		return 0, nil, err
	}
	flags, size := h[0], uint64(h[1])
	if flags&0x02 != 0 {
		rest, err := p.readN(7)
		if err != nil {
			return 0, nil, err
		}
		size = binary.BigEndian.Uint64(append(h[1:2:2], rest...))
		if size > 1<<30 {
			return 0, nil, fmt.Errorf("frame of %d octets is too large for a test", size)
		}
	}
	body, err = p.readN(int(size))
	return flags, body, err
}

// readCommand reads a frame that must be a command and splits it.
func (p *rawPeer) readCommand() (name string, data []byte, err error) {
	flags, body, err := p.readFrame()
	if err != nil {
		return "", nil, err
	}
	if flags&^0x02 != 0x04 {
		return "", nil, fmt.Errorf("frame flags %#02x, want a command", flags)
	}
	if len(body) == 0 || int(body[0]) > len(body)-1 {
		return "", nil, fmt.Errorf("command body % x does not hold its name", body)
	}
	return string(body[1 : 1+int(body[0])]), body[1+int(body[0]):], nil
}

// expect reads len(want) octets and fails unless they are want.
func (p *rawPeer) expect(want []byte) error {
	got, err := p.readN(len(want))
	if err != nil {
		return fmt.Errorf("reading %d octets: %w (got % x)", len(want), err, got)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("got\n% x\nwant\n% x", got, want)
	}
	return nil
}

// mustWrite, mustFrame, mustCommand and mustExpect are for the test
// goroutine only (they call t.Fatal).
func (p *rawPeer) mustWrite(t testing.TB, chunks ...[]byte) {
	t.Helper()
	if err := p.write(chunks...); err != nil {
		t.Fatalf("raw peer write: %v", err)
	}
}

func (p *rawPeer) mustFrame(t testing.TB) (byte, []byte) {
	t.Helper()
	flags, body, err := p.readFrame()
	if err != nil {
		t.Fatalf("raw peer read frame: %v", err)
	}
	return flags, body
}

func (p *rawPeer) mustCommand(t testing.TB) (string, []byte) {
	t.Helper()
	name, data, err := p.readCommand()
	if err != nil {
		t.Fatalf("raw peer read command: %v", err)
	}
	return name, data
}

func (p *rawPeer) mustExpect(t testing.TB, want []byte) {
	t.Helper()
	if err := p.expect(want); err != nil {
		t.Fatalf("raw peer: %v", err)
	}
}

// rawPeerOpts describes the raw peer's side of a NULL handshake.
type rawPeerOpts struct {
	major, minor byte     // default 3.1
	props        []string // READY properties; default Socket-Type only
	// wrap, when set, wraps our end of the pipe before Handshake sees it.
	wrap func(net.Conn) net.Conn
}

// dialRaw runs Handshake(cfg) on one end of a testkit.Pipe while a raw peer
// does the NULL handshake by hand on the other: it sends its greeting and
// READY at once (as libzmq does), reads and checks our greeting and READY,
// and returns both ends. peerType is the raw peer's Socket-Type. Both ends
// are closed when the test ends.
func dialRaw(t testing.TB, cfg Config, peerType SocketType, o rawPeerOpts) (*Conn, *rawPeer) {
	t.Helper()
	if o.major == 0 {
		o.major, o.minor = 3, 1
	}
	props := o.props
	if props == nil {
		props = []string{"Socket-Type", string(peerType)}
	}
	a, b := testkit.Pipe(0)
	p := &rawPeer{nc: b}
	t.Cleanup(func() { b.Close() })
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	var nc net.Conn = a
	if o.wrap != nil {
		nc = o.wrap(a)
	}
	go func() {
		c, err := Handshake(context.Background(), nc, cfg)
		done <- result{c, err}
	}()
	p.mustWrite(t, rawGreeting(o.major, o.minor, "NULL", false), rawReady(props...))
	greeting, err := p.readN(64)
	if err != nil {
		t.Fatalf("raw peer reading greeting: %v", err)
	}
	if want := rawGreeting(3, 1, "NULL", false); !bytes.Equal(greeting, want) {
		t.Fatalf("our greeting\n% x\nwant\n% x", greeting, want)
	}
	name, data := p.mustCommand(t)
	if name != "READY" {
		t.Fatalf("our first command is %s, want READY", name)
	}
	m, err := rawParseProps(data)
	if err != nil {
		t.Fatalf("our READY: %v", err)
	}
	if m["Socket-Type"] != string(cfg.SocketType) {
		t.Fatalf("our READY says Socket-Type %q, want %q", m["Socket-Type"], cfg.SocketType)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Handshake with raw peer: %v", r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	return r.c, p
}

// readMsgAsync runs c.ReadMsg in a goroutine; the result arrives on the
// returned channel.
type readResult struct {
	msg [][]byte
	err error
}

func readMsgAsync(c *Conn) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		msg, err := c.ReadMsg(nil)
		ch <- readResult{msg, err}
	}()
	return ch
}

// isClosedErr reports whether err is what a reader or writer sees after
// either end closed the connection.
func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe)
}
