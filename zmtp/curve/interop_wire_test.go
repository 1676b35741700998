package curve

// The wire facts of libzmq 4.3's CURVE, checked against the real thing:
// command sizes and frame flags, nonce numbering, and what libzmq puts
// inside its MESSAGE boxes (the COMMAND bit for PING and SUBSCRIBE).

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// sessionOf recovers the C'-S' session key of a connection our server
// handled, from its wire: C' is in the HELLO, the WELCOME opens with C' and
// the server's secret key, and its cookie opens with the server's cookie
// key, giving s'.
func sessionOf(t *testing.T, srv *Server, toServer, toClient []wireFrame) *[32]byte {
	t.Helper()
	ct := Key(toServer[0].body[80:112])
	w := toClient[0].body
	wp, ok := box.Open(nil, w[24:], longNonce(prefixWelcome, w[8:]), (*[32]byte)(&ct), (*[32]byte)(&srv.keys.Secret))
	if !ok {
		t.Fatal("our WELCOME does not open")
	}
	_, st, _, err := srv.jar.open(wp[32:])
	if err != nil {
		t.Fatal(err)
	}
	var shared [32]byte
	box.Precompute(&shared, (*[32]byte)(&ct), (*[32]byte)(&st))
	return &shared
}

// openAll opens the MESSAGE frames (from index from) of one direction.
func openAll(t *testing.T, frames []wireFrame, prefix string, shared *[32]byte) (plains [][]byte, wireFlags []byte, nonces []uint64) {
	t.Helper()
	for _, f := range frames {
		if !bytes.HasPrefix(f.body, []byte(messageHeader)) {
			t.Fatalf("frame %#02x %q is not a MESSAGE", f.flags, trunc(f.body))
		}
		n := binary.BigEndian.Uint64(f.body[8:16])
		p, ok := box.OpenAfterPrecomputation(nil, f.body[16:], shortNonce(prefix, n), shared)
		if !ok {
			t.Fatalf("libzmq MESSAGE (nonce %d) does not open", n)
		}
		plains, wireFlags, nonces = append(plains, p), append(wireFlags, f.flags), append(nonces, n)
	}
	return plains, wireFlags, nonces
}

func TestLibzmqWireFacts(t *testing.T) {
	libzmqpeer.Require(t)
	S, C := serverPair(t), clientPair(t)

	t.Run("libzmq-client", func(t *testing.T) {
		srv := newTestServer(t, nil)
		r := mustLink(t, lzLink{transport: "tcp", weListen: true, peerType: "DEALER",
			peerArgs: peerCurveClient(C, S.Public, "--heartbeat-ivl", "50", "--heartbeat-ttl", "3000"),
			cfg:      zmtp.Config{SocketType: zmtp.Router, Mechanism: srv}})
		rd := startReading(t, r.c)
		if err := r.peer.Send([]byte("a"), []byte("b")); err != nil {
			t.Fatal(err)
		}
		if m := rd.next(t); len(m) != 2 {
			t.Fatalf("got %q", m)
		}
		// Wait for a heartbeat after the message.
		waitUntil(t, "a libzmq PING and our PONG", func() (bool, error) {
			return len(splitWire(t, r.tap.received())) >= 5 && len(splitWire(t, r.tap.sent())) >= 3, nil
		})
		in, out := splitWire(t, r.tap.received()), splitWire(t, r.tap.sent())

		if h := in[0]; h.flags != 0x04 || len(h.body) != 200 || !bytes.HasPrefix(h.body, []byte("\x05HELLO\x01\x00")) {
			t.Errorf("libzmq HELLO: flags %#02x, %d octets, %q; want 0x04, 200, 05 HELLO 01 00", h.flags, len(h.body), trunc(h.body))
		}
		if !bytes.Equal(in[0].body[8:80], make([]byte, 72)) {
			t.Errorf("libzmq HELLO padding is not 72 zeros")
		}
		if n := binary.BigEndian.Uint64(in[0].body[112:]); n != 1 {
			t.Errorf("libzmq HELLO nonce %d, want 1", n)
		}
		if i := in[1]; i.flags != 0x06 || len(i.body) < 257 || !bytes.HasPrefix(i.body, []byte("\x08INITIATE")) {
			t.Errorf("libzmq INITIATE: flags %#02x, %d octets", i.flags, len(i.body))
		}
		if n := binary.BigEndian.Uint64(in[1].body[105:]); n != 2 {
			t.Errorf("libzmq INITIATE nonce %d, want 2", n)
		}
		shared := sessionOf(t, srv, in, out)
		plains, flags, nonces := openAll(t, in[2:], prefixMsgC, shared)
		for i, n := range nonces {
			if n != uint64(3+i) {
				t.Errorf("libzmq MESSAGE %d: nonce %d, want %d (after HELLO 1, INITIATE 2)", i, n, 3+i)
			}
			if flags[i] != 0x00 {
				t.Errorf("libzmq MESSAGE %d: frame flags %#02x, want 0x00 (a data frame, not a command)", i, flags[i])
			}
		}
		// PINGs may come before, between or after the message's frames.
		var data, pings [][]byte
		for _, p := range plains {
			if p[0]&msgCommand != 0 {
				pings = append(pings, p)
			} else {
				data = append(data, p)
			}
		}
		// The message: MORE inside the box, not on the frame.
		if len(data) != 2 || string(data[0]) != "\x01a" || string(data[1]) != "\x00b" {
			t.Errorf("libzmq multipart plaintexts %q, want 01 'a', 00 'b'", data)
		}
		// The heartbeat: flags 0x02 (COMMAND), then "\x04PING", the TTL in
		// tenths of a second (3000 ms -> 30) and an empty context.
		if len(pings) == 0 {
			t.Error("no PING from libzmq")
		}
		for _, p := range pings {
			if !bytes.Equal(p, []byte("\x02\x04PING\x00\x1e")) {
				t.Errorf("libzmq PING plaintext % x, want 02 04 'PING' 00 1e", p)
			}
		}
		// Our answer, a PONG, went out the same way.
		ours, ourFlags, ourNonces := openAll(t, out[2:], prefixMsgS, shared)
		if len(ours) == 0 || !bytes.Equal(ours[0], []byte("\x02\x04PONG")) || ourFlags[0] != 0 || ourNonces[0] != 2 {
			t.Errorf("our first MESSAGE %q (frame flags %v, nonce %v), want PONG with COMMAND, nonce 2", ours, ourFlags, ourNonces)
		}
	})

	t.Run("libzmq-sub", func(t *testing.T) {
		srv := newTestServer(t, nil)
		r := mustLink(t, lzLink{transport: "tcp", weListen: true, peerType: "SUB",
			peerArgs: peerCurveClient(C, S.Public), cfg: zmtp.Config{SocketType: zmtp.Pub, Mechanism: srv}})
		rd := startReading(t, r.c)
		if err := r.peer.Subscribe([]byte("news")); err != nil {
			t.Fatal(err)
		}
		if m := rd.next(t); string(m[0]) != "\x01news" {
			t.Fatalf("got %q", m)
		}
		in, out := splitWire(t, r.tap.received()), splitWire(t, r.tap.sent())
		plains, flags, _ := openAll(t, in[2:], prefixMsgC, sessionOf(t, srv, in, out))
		if len(plains) != 1 || string(plains[0]) != "\x02\x09SUBSCRIBEnews" || flags[0] != 0 {
			t.Errorf("libzmq subscription plaintext %q (frame flags %v), want 02 09 'SUBSCRIBE' 'news' in a data frame", plains, flags)
		}
	})

	t.Run("libzmq-server", func(t *testing.T) {
		r := mustLink(t, lzLink{transport: "tcp", peerType: "ROUTER", peerArgs: peerCurveServer(S.Secret),
			cfg: zmtp.Config{SocketType: zmtp.Dealer, Mechanism: newTestClient(t, nil), Identity: []byte("me")}})
		rd := startReading(t, r.c)
		if err := r.peer.Send([]byte("me"), []byte("x")); err != nil {
			t.Fatal(err)
		}
		rd.next(t)
		in := splitWire(t, r.tap.received())
		if w := in[0]; w.flags != 0x04 || len(w.body) != 168 || !bytes.HasPrefix(w.body, []byte("\x07WELCOME")) {
			t.Errorf("libzmq WELCOME: flags %#02x, %d octets", w.flags, len(w.body))
		}
		if rd := in[1]; rd.flags != 0x04 || len(rd.body) < 30 || !bytes.HasPrefix(rd.body, []byte("\x05READY")) || binary.BigEndian.Uint64(rd.body[6:]) != 1 {
			t.Errorf("libzmq READY: flags %#02x, %d octets, nonce %d; want 0x04, >= 30, 1", rd.flags, len(rd.body), binary.BigEndian.Uint64(rd.body[6:]))
		}
		m := in[2]
		if m.flags != 0x00 || !bytes.HasPrefix(m.body, []byte(messageHeader)) || binary.BigEndian.Uint64(m.body[8:]) != 2 || len(m.body) != 33+1 {
			t.Errorf("libzmq MESSAGE: flags %#02x, %d octets, nonce %d; want 0x00, 34, 2", m.flags, len(m.body), binary.BigEndian.Uint64(m.body[8:]))
		}
	})

	t.Run("libzmq-error", func(t *testing.T) {
		other, _ := NewKeyPair()
		r := linkLibzmq(t, lzLink{transport: "tcp", peerType: "PULL",
			peerArgs: peerCurveServer(S.Secret, "--curve-allow="+other.Public.String()),
			cfg:      zmtp.Config{SocketType: zmtp.Push, Mechanism: newTestClient(t, nil)}})
		in := splitWire(t, r.tap.received())
		if e := in[len(in)-1]; e.flags != 0x04 || string(e.body) != "\x05ERROR\x03400" {
			t.Errorf("libzmq's refusal: flags %#02x %q, want a 0x04 frame 05 'ERROR' 03 '400'", e.flags, e.body)
		}
	})
}

// TestLibzmqDropsCommandFramedMessage: why we send MESSAGE in a data
// frame. libzmq 4.3 keeps the frame's COMMAND flag on the decrypted
// message and then drops it as an unknown command, silently: a MESSAGE in
// a 0x04 frame never reaches its application. (It does not close the
// connection: the next MESSAGE, in a data frame, arrives.)
func TestLibzmqDropsCommandFramedMessage(t *testing.T) {
	libzmqpeer.Require(t)
	S, C := serverPair(t), clientPair(t)
	p := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: []string{"tcp://127.0.0.1:0"},
		Args: peerCurveServer(S.Secret, "--rcvtimeo", "300")})
	nc := dialTCP(t, strings.TrimPrefix(p.Endpoint(), "tcp://"))
	c := newRawClient(t, nc, C, S.Public)
	c.handshake(zmtp.Push)
	if err := c.writeFrame(zmtp.FlagCommand, c.sealMessage(0, []byte("as-command"))); err != nil {
		t.Fatal(err)
	}
	if err := c.writeFrame(0, c.sealMessage(0, []byte("as-data"))); err != nil {
		t.Fatal(err)
	}
	m, err := p.Recv()
	if err != nil || len(m) != 1 || string(m[0]) != "as-data" {
		t.Fatalf("libzmq received %q, %v; want only \"as-data\"", m, err)
	}
	if m, err := p.Recv(); err == nil {
		t.Fatalf("libzmq received a second message %q", m)
	}
}
