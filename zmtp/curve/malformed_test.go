package curve

// Reliability row R08 (malformed CURVE) and RFC 26 C2: every malformed
// command closes the connection at once, with a specific error, without an
// ERROR reply, and without asking the Authenticator when the failure is
// cryptographic. Each case runs in a testing/synctest bubble, so "at once"
// is exact: no timer (the 30 s handshake timeout, say) may fire before the
// close, and the fake clock must advance by less than 100 ms.

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// closeBudget is R08's bound on how long a malformed input may keep a
// connection open.
const closeBudget = 100 * time.Millisecond

// serverOutcome is what our server side of a case did.
type serverOutcome struct {
	hsErr   error
	msgs    [][][]byte
	readErr error
}

// runServer runs our CURVE server (a PULL) on nc until the handshake or a
// read fails, then closes the connection.
func runServer(nc net.Conn, cfg zmtp.Config, out chan<- serverOutcome) {
	c, err := zmtp.Handshake(context.Background(), nc, cfg)
	if err != nil {
		out <- serverOutcome{hsErr: err}
		return
	}
	var o serverOutcome
	for {
		m, err := c.ReadMsg(nil)
		if err != nil {
			o.readErr = err
			break
		}
		o.msgs = append(o.msgs, m)
	}
	c.Close()
	out <- o
}

type serverCase struct {
	name string
	// drive speaks to our server and sends the bad input last.
	drive func(t *testing.T, c *rawClient)
	want  error // sentinel the server's error must wrap
	// inHandshake: the failure is in the handshake (else in ReadMsg,
	// after msgs good messages).
	inHandshake bool
	msgs        int
}

// helloThen sends a valid greeting; then either a HELLO built by edit, or
// (edit nil) the valid HELLO, WELCOME and then what after returns.
func greetAndHello(t *testing.T, c *rawClient, edit func([]byte) (string, []byte)) {
	if _, err := c.greet(false); err != nil {
		t.Fatal(err)
	}
	name, data := cmdHello, c.hello()
	if edit != nil {
		name, data = edit(data)
	}
	if err := c.writeCommand(name, data); err != nil {
		t.Fatal(err)
	}
}

func badHello(edit func([]byte) (string, []byte)) func(*testing.T, *rawClient) {
	return func(t *testing.T, c *rawClient) { greetAndHello(t, c, edit) }
}

func badInitiate(edit func(*rawClient) (string, []byte)) func(*testing.T, *rawClient) {
	return func(t *testing.T, c *rawClient) {
		greetAndHello(t, c, nil)
		c.welcome()
		name, data := edit(c)
		if err := c.writeCommand(name, data); err != nil {
			t.Fatal(err)
		}
	}
}

var pullMeta = zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("PUSH")}}

func afterOneMessage(bad func(c *rawClient, good []byte) []byte) func(*testing.T, *rawClient) {
	return func(t *testing.T, c *rawClient) {
		c.handshake(zmtp.Push)
		good := c.sealMessage(0, []byte("good"))
		if err := c.writeFrame(0, good); err != nil {
			t.Fatal(err)
		}
		if err := c.writeFrame(0, bad(c, good)); err != nil {
			t.Fatal(err)
		}
	}
}

func noise(n int) []byte {
	b := make([]byte, n)
	_, _ = detRand(byte(n)).Read(b)
	return b
}

var serverCases = []serverCase{
	{name: "HELLO of 199 octets", want: ErrMalformed, inHandshake: true,
		drive: badHello(func(d []byte) (string, []byte) { return cmdHello, d[:len(d)-1] })},
	{name: "HELLO of 201 octets", want: ErrMalformed, inHandshake: true,
		drive: badHello(func(d []byte) (string, []byte) { return cmdHello, append(d, 0) })},
	{name: "HELLP", want: ErrMalformed, inHandshake: true,
		drive: badHello(func(d []byte) (string, []byte) { return "HELLP", d })},
	{name: "HELLO version 2.0", want: ErrMalformed, inHandshake: true,
		drive: badHello(func(d []byte) (string, []byte) { d[0] = 2; return cmdHello, d })},
	{name: "HELLO garbage signature box", want: ErrCrypto, inHandshake: true,
		drive: badHello(func(d []byte) (string, []byte) { copy(d[114:], noise(80)); return cmdHello, d })},
	{name: "HELLO for another server key", want: ErrCrypto, inHandshake: true,
		drive: badHello(func(d []byte) (string, []byte) {
			other, _ := newKeyPair(detRand(3))
			tr, _ := newKeyPair(detRand(4))
			return cmdHello, appendHello(nil, precompute(&other.Public, &tr.Secret), &tr.Public, 1)
		})},
	{name: "INITIATE of 256 octets", want: ErrMalformed, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) {
			return cmdInitiate, c.initiate(pullMeta, nil)[:256-9]
		})},
	{name: "INITIATX", want: ErrMalformed, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) { return "INITIATX", c.initiate(pullMeta, nil) })},
	{name: "INITIATE garbage cookie", want: ErrCookie, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) {
			d := c.initiate(pullMeta, nil)
			copy(d, noise(cookieSize))
			return cmdInitiate, d
		})},
	{name: "INITIATE garbage box", want: ErrCrypto, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) {
			d := c.initiate(pullMeta, nil)
			d[cookieSize+8+40] ^= 0x55
			return cmdInitiate, d
		})},
	{name: "INITIATE vouch for a different C'", want: ErrVouch, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) {
			other, _ := newKeyPair(detRand(5))
			return cmdInitiate, c.initiate(pullMeta, func(f *initiateFields) { f.clientTransient = &other.Public })
		})},
	{name: "INITIATE vouch for a different S", want: ErrVouch, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) {
			other, _ := newKeyPair(detRand(6))
			return cmdInitiate, c.initiate(pullMeta, func(f *initiateFields) { f.serverKey = &other.Public })
		})},
	{name: "INITIATE vouch by another client key", want: ErrVouch, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) {
			other, _ := newKeyPair(detRand(8))
			// C claims a key the vouch was not sealed with.
			return cmdInitiate, c.initiate(pullMeta, func(f *initiateFields) {
				f.client = &KeyPair{Public: other.Public, Secret: c.keys.Secret}
			})
		})},
	{name: "INITIATE nonce not above HELLO's", want: ErrReplay, inHandshake: true,
		drive: badInitiate(func(c *rawClient) (string, []byte) {
			return cmdInitiate, c.initiate(pullMeta, func(f *initiateFields) { f.n = 1 })
		})},
	{name: "MESSAGE replayed byte for byte", want: ErrReplay, msgs: 1,
		drive: afterOneMessage(func(_ *rawClient, good []byte) []byte { return good })},
	{name: "MESSAGE nonce equal to the previous", want: ErrReplay, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte { return c.sealRaw(3, []byte("\x00other")) })},
	{name: "MESSAGE nonce below the previous", want: ErrReplay, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte { return c.sealRaw(2, []byte("\x00other")) })},
	{name: "MESSAGE plaintext flags 0x80", want: ErrMalformed, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte { return c.sealRaw(4, []byte("\x80reserved")) })},
	{name: "MESSAGE plaintext flags 0x04", want: ErrMalformed, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte { return c.sealRaw(4, []byte("\x04reserved")) })},
	{name: "MESSAGE command with MORE", want: ErrMalformed, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte { return c.sealRaw(4, []byte("\x03\x04PING\x00\x00")) })},
	{name: "MESSAGE garbage box", want: ErrCrypto, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte {
			b := c.sealMessage(0, []byte("x"))
			b[20] ^= 1
			return b
		})},
	{name: "MESSAGE sealed server-to-client", want: ErrCrypto, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte {
			// A reflected MESSAGE: right key, the other direction's prefix.
			body := append([]byte(messageHeader), 0, 0, 0, 0, 0, 0, 0, 9)
			return box.SealAfterPrecomputation(body, []byte("\x00x"), shortNonce(prefixMsgS, 9), &c.shared)
		})},
	{name: "MESSAGE of 32 octets", want: ErrMalformed, msgs: 1,
		drive: afterOneMessage(func(c *rawClient, _ []byte) []byte { return c.sealMessage(0, nil)[:32] })},
	{name: "plaintext PING after the handshake", want: ErrMalformed, msgs: 1,
		drive: afterOneMessage(func(*rawClient, []byte) []byte { return []byte("\x04PING\x00\x00") })},
}

func TestR08MalformedToServer(t *testing.T) {
	for _, tc := range serverCases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := testkit.Pipe(0)
				auth := &authCounter{}
				out := make(chan serverOutcome, 1)
				go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: newTestServer(t, nil), Authenticator: auth}, out)
				c := newRawClient(t, a, clientPair(t), serverPair(t).Public)
				tc.drive(t, c)
				start := time.Now()
				err := c.waitClosed() // fails the test on any frame, ERROR included
				if took := time.Since(start); took >= closeBudget {
					t.Errorf("closed after %v, want under %v", took, closeBudget)
				}
				if !isClosedErr(err) {
					t.Errorf("raw client read %v, want the connection closed", err)
				}
				a.Close()
				o := <-out
				got := o.readErr
				if tc.inHandshake {
					got = o.hsErr
				} else if o.hsErr != nil {
					t.Fatalf("handshake failed: %v", o.hsErr)
				}
				if !errors.Is(got, tc.want) {
					t.Errorf("server error %v, want %v", got, tc.want)
				}
				if len(o.msgs) != tc.msgs {
					t.Errorf("%d messages delivered, want %d", len(o.msgs), tc.msgs)
				}
				wantAuth := int32(0)
				if !tc.inHandshake {
					wantAuth = 1
				}
				if n := auth.calls.Load(); n != wantAuth {
					t.Errorf("Authenticator called %d times, want %d", n, wantAuth)
				}
				t.Logf("%v", got)
			})
		})
	}
}

// TestR08LargeMetadataInitiate: INITIATE metadata is not limited to the
// 256 octets of libzmq's old fixed buffers (CVE-2019-13132): 64 KiB (the
// R08 row) and 900 KiB of properties reach the server intact.
func TestR08LargeMetadataInitiate(t *testing.T) {
	for _, size := range []int{64 << 10, 900 << 10} {
		big := bytes.Repeat([]byte("m"), size)
		auth := &authCounter{}
		c, s := mustPair(t,
			zmtp.Config{SocketType: zmtp.Dealer, Mechanism: newTestClient(t, nil), Identity: bytes.Repeat([]byte("i"), 255),
				Metadata: zmtp.Metadata{{Name: "X-Big", Value: big}}},
			zmtp.Config{SocketType: zmtp.Router, Mechanism: newTestServer(t, nil), Authenticator: auth,
				Metadata: zmtp.Metadata{{Name: "X-Back", Value: big}}})
		if v, _ := s.PeerMetadata().Get("X-Big"); !bytes.Equal(v, big) {
			t.Errorf("%d octets: server got X-Big of %d octets", size, len(v))
		}
		if v, _ := c.PeerMetadata().Get("X-Back"); !bytes.Equal(v, big) {
			t.Errorf("%d octets: client got X-Back (in READY) of %d octets", size, len(v))
		}
		if len(s.PeerIdentity()) != 255 || auth.calls.Load() != 1 {
			t.Errorf("identity %d octets, %d Authenticator calls", len(s.PeerIdentity()), auth.calls.Load())
		}
	}
}

// TestR08ReplayedMessagesAllRefused: 100 % of replayed MESSAGEs are
// refused. Each of 50 recorded MESSAGEs is replayed on its own connection
// after the traffic that followed it; every replay closes the connection
// with ErrReplay and none is delivered.
func TestR08ReplayedMessagesAllRefused(t *testing.T) {
	const n = 50
	refused := 0
	for k := range n {
		synctest.Test(t, func(t *testing.T) {
			a, b := testkit.Pipe(0)
			out := make(chan serverOutcome, 1)
			go runServer(b, zmtp.Config{SocketType: zmtp.Pull, Mechanism: newTestServer(t, nil)}, out)
			c := newRawClient(t, a, clientPair(t), serverPair(t).Public)
			c.handshake(zmtp.Push)
			var sent [][]byte
			for i := range n {
				sent = append(sent, c.sealMessage(0, []byte{byte(i)}))
				if err := c.writeFrame(0, sent[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.writeFrame(0, sent[k]); err != nil {
				t.Fatal(err)
			}
			if err := c.waitClosed(); !isClosedErr(err) {
				t.Fatalf("read %v", err)
			}
			a.Close()
			o := <-out
			if len(o.msgs) != n {
				t.Fatalf("replay of MESSAGE %d: %d messages delivered, want %d", k, len(o.msgs), n)
			}
			if errors.Is(o.readErr, ErrReplay) {
				refused++
			}
		})
	}
	if refused != n {
		t.Fatalf("%d of %d replayed MESSAGEs refused", refused, n)
	}
}

type clientCase struct {
	name        string
	drive       func(t *testing.T, s *rawServer)
	want        error
	inHandshake bool
}

func toClientAfterHello(bad func(s *rawServer) (string, []byte)) func(*testing.T, *rawServer) {
	return func(t *testing.T, s *rawServer) {
		if _, err := s.greet(true); err != nil {
			t.Fatal(err)
		}
		s.hello()
		name, data := bad(s)
		if err := s.writeCommand(name, data); err != nil {
			t.Fatal(err)
		}
	}
}

func toClientAfterInitiate(bad func(s *rawServer) []byte) func(*testing.T, *rawServer) {
	return func(t *testing.T, s *rawServer) {
		if _, err := s.greet(true); err != nil {
			t.Fatal(err)
		}
		s.hello()
		if err := s.writeCommand(cmdWelcome, s.welcome()); err != nil {
			t.Fatal(err)
		}
		s.initiate()
		if err := s.writeCommand(cmdReady, bad(s)); err != nil {
			t.Fatal(err)
		}
	}
}

func toClientMessage(bad func(s *rawServer) []byte) func(*testing.T, *rawServer) {
	return func(t *testing.T, s *rawServer) {
		s.handshake(zmtp.Pull)
		if err := s.writeFrame(0, bad(s)); err != nil {
			t.Fatal(err)
		}
	}
}

var clientCases = []clientCase{
	{name: "WELCOME of 167 octets", want: ErrMalformed, inHandshake: true,
		drive: toClientAfterHello(func(s *rawServer) (string, []byte) { return cmdWelcome, s.welcome()[:159] })},
	{name: "WELCOME garbage box", want: ErrCrypto, inHandshake: true,
		drive: toClientAfterHello(func(s *rawServer) (string, []byte) {
			d := s.welcome()
			d[50] ^= 1
			return cmdWelcome, d
		})},
	{name: "WELCOME from another server key", want: ErrCrypto, inHandshake: true,
		drive: toClientAfterHello(func(s *rawServer) (string, []byte) {
			other, _ := newKeyPair(detRand(9))
			d, _ := appendWelcome(nil, detRand(1), precompute(&s.clientTransient, &other.Secret), &s.transient.Public, make([]byte, cookieSize))
			return cmdWelcome, d
		})},
	{name: "READY instead of WELCOME", want: ErrMalformed, inHandshake: true,
		drive: toClientAfterHello(func(s *rawServer) (string, []byte) { return cmdReady, s.welcome() })},
	{name: "READY garbage box", want: ErrCrypto, inHandshake: true,
		drive: toClientAfterInitiate(func(s *rawServer) []byte {
			d := s.ready(zmtp.Pull)
			d[len(d)-1] ^= 1
			return d
		})},
	{name: "READY of 29 octets", want: ErrMalformed, inHandshake: true,
		drive: toClientAfterInitiate(func(s *rawServer) []byte { return s.ready(zmtp.Pull)[:23] })},
	{name: "MESSAGE with the READY's nonce", want: ErrReplay,
		drive: toClientMessage(func(s *rawServer) []byte { return s.sealRaw(1, []byte("\x00x")) })},
	{name: "MESSAGE garbage box", want: ErrCrypto,
		drive: toClientMessage(func(s *rawServer) []byte { return append(s.sealRaw(2, []byte("\x00x")), 0) })},
	{name: "MESSAGE plaintext flags 0x80", want: ErrMalformed,
		drive: toClientMessage(func(s *rawServer) []byte { return s.sealRaw(2, []byte("\x80x")) })},
}

// TestR08MalformedToClient: garbage WELCOME, READY and MESSAGE towards our
// client.
func TestR08MalformedToClient(t *testing.T) {
	for _, tc := range clientCases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := testkit.Pipe(0)
				type outcome struct{ hsErr, readErr error }
				out := make(chan outcome, 1)
				go func() {
					c, err := zmtp.Handshake(context.Background(), a, zmtp.Config{SocketType: zmtp.Push, Mechanism: newTestClient(t, nil)})
					if err != nil {
						out <- outcome{hsErr: err}
						return
					}
					_, err = c.ReadMsg(nil)
					c.Close()
					out <- outcome{readErr: err}
				}()
				s := newRawServer(t, b, serverPair(t))
				tc.drive(t, s)
				start := time.Now()
				if err := s.waitClosed(); !isClosedErr(err) {
					t.Errorf("raw server read %v, want the connection closed", err)
				}
				if took := time.Since(start); took >= closeBudget {
					t.Errorf("closed after %v, want under %v", took, closeBudget)
				}
				b.Close()
				o := <-out
				got := o.readErr
				if tc.inHandshake {
					got = o.hsErr
				} else if o.hsErr != nil {
					t.Fatalf("handshake failed: %v", o.hsErr)
				}
				if !errors.Is(got, tc.want) {
					t.Errorf("client error %v, want %v", got, tc.want)
				}
				t.Logf("%v", got)
			})
		})
	}
}
