package curve

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"testing/synctest"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// cipherPair returns the client's and the server's MESSAGE ciphers over
// one session key, numbered as after a libzmq handshake.
func cipherPair() (client, server *cipher) {
	var shared [32]byte
	copy(shared[:], "a session key of thirty-two octs")
	var cn, sn counter
	cn.take() // HELLO
	cn.take() // INITIATE
	sn.take() // READY
	var cp, sp peerCounter
	cp.accept(1)
	sp.accept(2)
	return newCipher(&shared, prefixMsgC, prefixMsgS, cn, cp), newCipher(&shared, prefixMsgS, prefixMsgC, sn, sp)
}

func TestMessageSealOpen(t *testing.T) {
	cli, srv := cipherPair()
	for _, tc := range []struct {
		flags byte
		size  int
		plain byte // the flags octet inside the box
	}{
		{0, 0, 0x00}, {zmtp.FlagMore, 1, 0x01}, {zmtp.FlagMore, 0, 0x01},
		{0, 1000, 0x00}, {zmtp.FlagCommand, 7, 0x02},
	} {
		payload := bytes.Repeat([]byte{0x5A}, tc.size)
		if tc.flags == zmtp.FlagCommand {
			payload = []byte("\x04PING\x00\x00")
		}
		body, err := cli.Seal(nil, tc.flags, payload)
		if err != nil {
			t.Fatal(err)
		}
		// 8 ("\x07MESSAGE") + 8 (short nonce) + 16 (box overhead) + 1 (flags).
		if len(body) != 33+len(payload) || !bytes.HasPrefix(body, []byte("\x07MESSAGE")) {
			t.Fatalf("MESSAGE for %d octets is %d octets, want %d", len(payload), len(body), 33+len(payload))
		}
		flags, got, err := srv.Open(body)
		if err != nil || flags != tc.flags || !bytes.Equal(got, payload) {
			t.Fatalf("Open = %#x %q %v, want %#x %q", flags, got, err, tc.flags, payload)
		}
		if srv.recv.last != cli.send.next-1 {
			t.Fatalf("opener at nonce %d, sealer at %d", srv.recv.last, cli.send.next-1)
		}
	}
	// The other direction has its own prefix and counter.
	body := mustSeal(t, srv, []byte("down"))
	if _, got, err := cli.Open(body); err != nil || string(got) != "down" {
		t.Fatalf("server to client: %q %v", got, err)
	}
	// A MESSAGE reflected back to its sender does not open.
	up := mustSeal(t, cli, []byte("up"))
	if _, _, err := cli.Open(up); !errors.Is(err, ErrCrypto) {
		t.Fatalf("reflected MESSAGE: %v, want ErrCrypto", err)
	}
}

// TestMessageReplayRefusedUnit: after 1000 MESSAGEs, each of them replayed
// is refused (100 %), and refusing does not disturb the opener.
func TestMessageReplayRefusedUnit(t *testing.T) {
	cli, srv := cipherPair()
	var sent [][]byte
	for i := range 1000 {
		b, err := cli.Seal(nil, 0, []byte{byte(i), byte(i >> 8)})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, b)
		if _, _, err := srv.Open(b); err != nil {
			t.Fatalf("MESSAGE %d: %v", i, err)
		}
	}
	refused := 0
	for _, b := range sent {
		if _, _, err := srv.Open(b); errors.Is(err, ErrReplay) {
			refused++
		}
	}
	if refused != len(sent) {
		t.Fatalf("%d of %d replays refused", refused, len(sent))
	}
	b := mustSeal(t, cli, []byte("fresh"))
	if _, got, err := srv.Open(b); err != nil || string(got) != "fresh" {
		t.Fatalf("after the replays: %q %v", got, err)
	}
}

func TestMessageOpenRefuses(t *testing.T) {
	cli, srv := cipherPair()
	good := mustSeal(t, cli, []byte("x"))
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"another command", []byte("\x05READY"), ErrMalformed},
		{"not a command", []byte("\x00\x01"), ErrMalformed},
		{"32 octets", good[:32], ErrMalformed},
		{"trailing octet", append(bytes.Clone(good), 0), ErrCrypto},
	} {
		if _, _, err := srv.Open(tc.body); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCounterExhaustion(t *testing.T) {
	c := counter{next: math.MaxUint64 - 1}
	for _, want := range []uint64{math.MaxUint64 - 1, math.MaxUint64} {
		if n, err := c.take(); err != nil || n != want {
			t.Fatalf("take = %d, %v; want %d", n, err, want)
		}
	}
	for range 2 {
		if _, err := c.take(); !errors.Is(err, ErrNonceExhausted) {
			t.Fatalf("take after 2^64-1: %v", err)
		}
	}
	var z counter
	if n, _ := z.take(); n != 1 {
		t.Fatalf("first nonce %d, want 1 (as libzmq)", n)
	}
}

// TestMessageFramingOnReceive: libzmq 4.3 sends a MESSAGE as a data frame
// with flags 0; RFC 25/26 call it a command. We send the first and accept
// both, but never a frame with MORE set (multipart travels inside).
func TestMessageFramingOnReceive(t *testing.T) {
	for _, tc := range []struct {
		wireFlags byte
		ok        bool
	}{{0x00, true}, {0x04, true}, {0x01, false}, {0x05, false}} {
		synctest.Test(t, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			out := make(chan serverOutcome, 1)
			go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: newTestServer(t, nil)}, out)
			c := newRawClient(t, a, clientPair(t), serverPair(t).Public)
			c.handshake(zmtp.Push)
			// When the first frame is refused the server may already have
			// closed the pipe under the second write.
			err1 := c.writeFrame(tc.wireFlags, c.sealMessage(zmtp.FlagMore, []byte("a")))
			err2 := c.writeFrame(tc.wireFlags&^zmtp.FlagMore, c.sealMessage(0, []byte("b")))
			if tc.ok && (err1 != nil || err2 != nil) {
				t.Fatal(err1, err2)
			}
			a.Close()
			o := <-out
			if tc.ok && (len(o.msgs) != 1 || len(o.msgs[0]) != 2 || string(o.msgs[0][1]) != "b") {
				t.Errorf("wire flags %#02x: delivered %q (%v), want one message [a b]", tc.wireFlags, o.msgs, o.readErr)
			}
			if !tc.ok && (len(o.msgs) != 0 || !errors.Is(o.readErr, zmtp.ErrProtocol)) {
				t.Errorf("wire flags %#02x: delivered %q, error %v; want a protocol error", tc.wireFlags, o.msgs, o.readErr)
			}
		})
	}
}

// TestRFC26C2NoErrorReply: malformed HELLO and INITIATE mean disconnect,
// and a bad MESSAGE is never answered with ERROR: the raw peer's
// waitClosed fails the test if any frame at all comes back.
func TestRFC26C2NoErrorReply(t *testing.T) {
	names := map[string]bool{"HELLO of 199 octets": true, "INITIATE garbage cookie": true, "MESSAGE garbage box": true, "MESSAGE replayed byte for byte": true}
	for _, tc := range serverCases {
		if !names[tc.name] {
			continue
		}
		delete(names, tc.name)
		synctest.Test(t, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			out := make(chan serverOutcome, 1)
			go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: newTestServer(t, nil)}, out)
			c := newRawClient(t, a, clientPair(t), serverPair(t).Public)
			tc.drive(t, c)
			if err := c.waitClosed(); !isClosedErr(err) {
				t.Errorf("%s: %v", tc.name, err)
			}
			a.Close()
			<-out
		})
	}
	if len(names) != 0 {
		t.Fatalf("cases not found: %v", names)
	}
}

// mustSeal seals a final data frame, failing the test if it cannot.
func mustSeal(t *testing.T, c interface {
	Seal(dst []byte, flags byte, payload []byte) ([]byte, error)
}, payload []byte) []byte {
	t.Helper()
	b, err := c.Seal(nil, 0, payload)
	if err != nil {
		t.Fatalf("Seal(%q): %v", payload, err)
	}
	return b
}
