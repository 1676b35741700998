package curve

// Tests written from RFC 26 (CurveZMQ) and RFC 25 (ZMTP-CURVE), with the
// errata of ../shared/ref/zmtp-wire-notes.md §8: every command is checked
// octet by octet on the wire, and every box is opened by the test itself.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// transcript is one recorded CURVE connection between our client (SUB)
// and our server (PUB).
type transcript struct {
	server       *Server
	client       *Client
	toServer     []wireFrame // what the client sent
	toClient     []wireFrame // what the server sent
	clientConn   *zmtp.Conn
	serverConn   *zmtp.Conn
	serverRecvd  [][]byte
	clientRecvd  [][]byte
	clientAuthed []byte
}

// record runs a handshake, a subscription (a command, so it travels with
// the COMMAND bit) and a three-frame message from the server, and returns
// both directions of the wire.
func record(t *testing.T) *transcript {
	t.Helper()
	tr := &transcript{server: newTestServer(t, nil), client: newTestClient(t, nil)}
	a, b := testkit.Pipe(0)
	ta, tb := &tapConn{Conn: a}, &tapConn{Conn: b}
	auth := &authCounter{}
	c, s := handshakeOver(t, ta, tb,
		zmtp.Config{SocketType: zmtp.Sub, Mechanism: tr.client},
		zmtp.Config{SocketType: zmtp.Pub, Mechanism: tr.server, Authenticator: auth})
	if c.err != nil || s.err != nil {
		t.Fatalf("handshake: client %v; server %v", c.err, s.err)
	}
	tr.clientConn, tr.serverConn = c.c, s.c
	if err := c.c.WriteSubscription([]byte("topic"), true); err != nil {
		t.Fatal(err)
	}
	if err := c.c.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := s.c.ReadMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.serverRecvd = msg
	if err := s.c.Send([][]byte{[]byte("topic"), {}, bytes.Repeat([]byte{0xAB}, 300)}); err != nil {
		t.Fatal(err)
	}
	if tr.clientRecvd, err = c.c.ReadMsg(nil); err != nil {
		t.Fatal(err)
	}
	tr.toServer, tr.toClient = splitWire(t, ta.sent()), splitWire(t, tb.sent())
	tr.clientAuthed = auth.keys[0]
	return tr
}

func TestSpecHandshakeOnTheWire(t *testing.T) {
	tr := record(t)
	S := serverPair(t)
	C := clientPair(t)
	if len(tr.toServer) != 2+1 || len(tr.toClient) != 2+3 {
		t.Fatalf("client sent %d frames, server %d; want HELLO INITIATE + 1 MESSAGE, WELCOME READY + 3 MESSAGEs", len(tr.toServer), len(tr.toClient))
	}

	// HELLO: a command frame of exactly 200 octets (short size 0xC8).
	hello := tr.toServer[0]
	if hello.flags != 0x04 || len(hello.body) != 200 {
		t.Fatalf("HELLO frame: flags %#02x, %d octets; want 0x04, 200", hello.flags, len(hello.body))
	}
	h := hello.body
	if string(h[:6]) != "\x05HELLO" || h[6] != 1 || h[7] != 0 {
		t.Fatalf("HELLO starts % x; want 05 HELLO 01 00", h[:8])
	}
	if !bytes.Equal(h[8:80], make([]byte, 72)) {
		t.Errorf("HELLO padding (octets 8-79) is not 72 zeros: % x", h[8:80])
	}
	clientTransient := Key(h[80:112])
	if n := binary.BigEndian.Uint64(h[112:120]); n != 1 {
		t.Errorf("HELLO short nonce %d, want 1 (libzmq starts at 1)", n)
	}
	var hn [24]byte
	copy(hn[:], "CurveZMQHELLO---")
	copy(hn[16:], h[112:120])
	sig, ok := box.Open(nil, h[120:200], &hn, (*[32]byte)(&clientTransient), (*[32]byte)(&S.Secret))
	if !ok || !bytes.Equal(sig, make([]byte, 64)) {
		t.Fatalf("HELLO signature box: opened %v, %x; want 64 zeros", ok, sig)
	}

	// WELCOME: a command frame of exactly 168 octets. Box[S' + cookie](S->C')
	// opens with C' and s as well as with S and c'.
	welcome := tr.toClient[0]
	if welcome.flags != 0x04 || len(welcome.body) != 168 || string(welcome.body[:8]) != "\x07WELCOME" {
		t.Fatalf("WELCOME frame: flags %#02x, %d octets, %q", welcome.flags, len(welcome.body), trunc(welcome.body))
	}
	var wn [24]byte
	copy(wn[:], "WELCOME-")
	copy(wn[8:], welcome.body[8:24])
	wp, ok := box.Open(nil, welcome.body[24:], &wn, (*[32]byte)(&clientTransient), (*[32]byte)(&S.Secret))
	if !ok || len(wp) != 128 {
		t.Fatalf("WELCOME box: opened %v, %d octets; want 128 (S' and a 96-octet cookie)", ok, len(wp))
	}
	serverTransient, cookie := Key(wp[:32]), wp[32:]
	cc, cs, _, err := tr.server.jar.open(cookie)
	if err != nil {
		t.Fatalf("cookie does not open with the server's cookie key: %v", err)
	}
	if cc != clientTransient {
		t.Errorf("cookie holds C' %x, HELLO had %x", cc, clientTransient)
	}
	if pub, _ := curve25519.X25519(cs[:], curve25519.Basepoint); !bytes.Equal(pub, serverTransient[:]) {
		t.Errorf("cookie's s' does not belong to WELCOME's S'")
	}

	// INITIATE: at least 257 octets, here with a long size (flags 0x06).
	ini := tr.toServer[1]
	if ini.flags != 0x06 || len(ini.body) < 257 || string(ini.body[:9]) != "\x08INITIATE" {
		t.Fatalf("INITIATE frame: flags %#02x, %d octets, %q", ini.flags, len(ini.body), trunc(ini.body))
	}
	if !bytes.Equal(ini.body[9:105], cookie) {
		t.Errorf("INITIATE does not echo the WELCOME's cookie")
	}
	if n := binary.BigEndian.Uint64(ini.body[105:113]); n != 2 {
		t.Errorf("INITIATE short nonce %d, want 2", n)
	}
	var shared [32]byte
	box.Precompute(&shared, (*[32]byte)(&clientTransient), (*[32]byte)(&cs))
	var in [24]byte
	copy(in[:], "CurveZMQINITIATE")
	copy(in[16:], ini.body[105:113])
	ip, ok := box.OpenAfterPrecomputation(nil, ini.body[113:], &in, &shared)
	if !ok || len(ip) < 128 {
		t.Fatalf("INITIATE box: opened %v, %d octets", ok, len(ip))
	}
	if Key(ip[:32]) != C.Public || !bytes.Equal(tr.clientAuthed, C.Public[:]) {
		t.Errorf("INITIATE carries C %x, the Authenticator saw %x; want %x", ip[:32], tr.clientAuthed, C.Public)
	}
	var vn [24]byte
	copy(vn[:], "VOUCH---")
	copy(vn[8:], ip[32:48])
	vp, ok := box.Open(nil, ip[48:128], &vn, (*[32]byte)(&C.Public), (*[32]byte)(&cs))
	if !ok || !bytes.Equal(vp[:32], clientTransient[:]) || !bytes.Equal(vp[32:], S.Public[:]) {
		t.Errorf("vouch: opened %v, want Box[C' + S](C->S')", ok)
	}
	md, err := zmtp.ParseMetadata(ip[128:])
	if err != nil || md.String(zmtp.PropSocketType) != "SUB" {
		t.Errorf("INITIATE metadata %v, %v; want Socket-Type SUB", md, err)
	}

	// READY: at least 30 octets, short nonce 1 from the server.
	ready := tr.toClient[1]
	if ready.flags != 0x04 || len(ready.body) < 30 || string(ready.body[:6]) != "\x05READY" {
		t.Fatalf("READY frame: flags %#02x, %d octets", ready.flags, len(ready.body))
	}
	if n := binary.BigEndian.Uint64(ready.body[6:14]); n != 1 {
		t.Errorf("READY short nonce %d, want 1", n)
	}
	rp, ok := box.OpenAfterPrecomputation(nil, ready.body[14:], shortNonce("CurveZMQREADY---", 1), &shared)
	if md, err := zmtp.ParseMetadata(rp); !ok || err != nil || md.String(zmtp.PropSocketType) != "PUB" {
		t.Errorf("READY box: opened %v, metadata %v %v; want Socket-Type PUB", ok, md, err)
	}

	// MESSAGEs travel as data frames with no flags (MORE is inside), as
	// libzmq 4.3 sends them, numbered on from the handshake.
	checkMessages := func(who string, frames []wireFrame, prefix string, first uint64, want []byte) {
		t.Helper()
		for i, f := range frames {
			if f.flags&^0x02 != 0 {
				t.Errorf("%s MESSAGE %d: frame flags %#02x, want 0x00 (0x02 if long)", who, i, f.flags)
			}
			if len(f.body) < 33 || string(f.body[:8]) != "\x07MESSAGE" {
				t.Fatalf("%s MESSAGE %d: %d octets %q", who, i, len(f.body), trunc(f.body))
			}
			n := binary.BigEndian.Uint64(f.body[8:16])
			if n != first+uint64(i) {
				t.Errorf("%s MESSAGE %d: short nonce %d, want %d", who, i, n, first+uint64(i))
			}
			p, ok := box.OpenAfterPrecomputation(nil, f.body[16:], shortNonce(prefix, n), &shared)
			if !ok {
				t.Fatalf("%s MESSAGE %d does not open with nonce prefix %q", who, i, prefix)
			}
			if p[0] != want[i] {
				t.Errorf("%s MESSAGE %d: plaintext flags %#02x, want %#02x", who, i, p[0], want[i])
			}
		}
	}
	// The subscription: COMMAND (0x02) set, payload "\x09SUBSCRIBE" + topic.
	checkMessages("client", tr.toServer[2:], "CurveZMQMESSAGEC", 3, []byte{0x02})
	sub, _ := box.OpenAfterPrecomputation(nil, tr.toServer[2].body[16:], shortNonce("CurveZMQMESSAGEC", 3), &shared)
	if string(sub[1:]) != "\x09SUBSCRIBEtopic" {
		t.Errorf("encrypted subscription payload %q, want \\x09SUBSCRIBEtopic", sub[1:])
	}
	checkMessages("server", tr.toClient[2:], "CurveZMQMESSAGES", 2, []byte{0x01, 0x01, 0x00})
	if f := tr.toClient[4]; f.flags != 0x02 {
		t.Errorf("300-octet frame sealed into a %d-octet body sent with flags %#02x, want 0x02 (LONG)", len(f.body), f.flags)
	}

	// And the application got what was sent.
	if len(tr.serverRecvd) != 1 || string(tr.serverRecvd[0]) != "\x01topic" {
		t.Errorf("PUB received %q, want the 3.0-form subscription \\x01topic", tr.serverRecvd)
	}
	if len(tr.clientRecvd) != 3 || string(tr.clientRecvd[0]) != "topic" || len(tr.clientRecvd[1]) != 0 || len(tr.clientRecvd[2]) != 300 {
		t.Errorf("SUB received %d frames %q", len(tr.clientRecvd), tr.clientRecvd)
	}
}

// RFC 26 C1: HELLO, INITIATE and MESSAGE short nonces strictly increase
// in each direction; a repeated or lower one means disconnect.
func TestRFC26C1NoncesIncrease(t *testing.T) {
	tr := record(t)
	nonceAt := map[string]int{"HELLO": 112, "INITIATE": 105, "READY": 6, "MESSAGE": 8}
	for who, frames := range map[string][]wireFrame{"client": tr.toServer, "server": tr.toClient} {
		var last uint64
		for _, f := range frames {
			name, _, err := zmtp.ParseCommand(f.body)
			if err != nil {
				t.Fatal(err)
			}
			off, ok := nonceAt[string(name)]
			if !ok {
				continue // WELCOME has a long nonce
			}
			n := binary.BigEndian.Uint64(f.body[off:])
			if n <= last {
				t.Errorf("%s: %s nonce %d after %d", who, name, n, last)
			}
			last = n
		}
		if last < 2 {
			t.Errorf("%s: last nonce %d", who, last)
		}
	}

	// The receiving side refuses what does not increase.
	var p peerCounter
	for _, n := range []uint64{1, 2, 5} {
		if err := p.check(n); err != nil {
			t.Fatalf("nonce %d refused: %v", n, err)
		}
		p.accept(n)
	}
	for _, n := range []uint64{0, 1, 5} {
		if err := p.check(n); !errors.Is(err, ErrReplay) {
			t.Errorf("nonce %d after 5: %v, want ErrReplay", n, err)
		}
	}
}

// RFC 26 C4: a new transient key pair per connection, on both sides.
func TestRFC26C4TransientKeysPerConnection(t *testing.T) {
	srv := newTestServer(t, nil)
	cli := newTestClient(t, nil)
	S := serverPair(t)
	seenC, seenS := map[Key]bool{}, map[Key]bool{}
	for range 3 {
		a, b := testkit.Pipe(0)
		ta := &tapConn{Conn: a}
		c, s := handshakeOver(t, ta, b,
			zmtp.Config{SocketType: zmtp.Dealer, Mechanism: cli},
			zmtp.Config{SocketType: zmtp.Router, Mechanism: srv})
		if c.err != nil || s.err != nil {
			t.Fatalf("handshake: %v / %v", c.err, s.err)
		}
		hello := splitWire(t, ta.sent())[0].body
		welcome := splitWire(t, ta.received())[0].body
		ct := Key(hello[80:112])
		wp, ok := box.Open(nil, welcome[24:], longNonce(prefixWelcome, welcome[8:]), (*[32]byte)(&ct), (*[32]byte)(&S.Secret))
		if !ok {
			t.Fatal("WELCOME does not open")
		}
		st := Key(wp[:32])
		if seenC[ct] || seenS[st] {
			t.Fatalf("transient key reused across connections (C' %v, S' %v)", seenC[ct], seenS[st])
		}
		seenC[ct], seenS[st] = true, true
		if ct == clientPair(t).Public || st == S.Public {
			t.Fatal("a permanent key was used as a transient key")
		}
	}
}

// RFC 26 C4, second half: a connection ends before 2^64-1 commands. The
// last nonce, 2^64-1, is used; then sending fails with ErrNonceExhausted.
func TestRFC26C4NonceExhaustion(t *testing.T) {
	cli := newTestClient(t, nil)
	cli.msgNonce = 1<<64 - 3
	srv := newTestServer(t, nil)
	c, s := mustPair(t, zmtp.Config{SocketType: zmtp.Push, Mechanism: cli}, zmtp.Config{SocketType: zmtp.Pull, Mechanism: srv})
	for i := range 3 {
		if err := c.Send([][]byte{{byte(i)}}); err != nil {
			t.Fatalf("message %d (nonce %d): %v", i, uint64(1<<64-3)+uint64(i), err)
		}
		m, err := s.ReadMsg(nil)
		if err != nil || len(m) != 1 || m[0][0] != byte(i) {
			t.Fatalf("server read %q, %v", m, err)
		}
	}
	for range 2 {
		if err := c.Send([][]byte{{9}}); !errors.Is(err, ErrNonceExhausted) {
			t.Fatalf("send after nonce 2^64-1: %v, want ErrNonceExhausted", err)
		}
	}
	// Nothing more went out: closing the client, the server reads EOF,
	// not a fourth message.
	c.Close()
	if m, err := s.ReadMsg(nil); err == nil {
		t.Fatalf("server read %q after the last nonce", m)
	}
}
