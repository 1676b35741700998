package curve

// Interop with libzmq 4.3 (pyzmq) at the zmtp.Handshake level: ours as
// CURVE server and as CURVE client, DEALER/ROUTER, PUSH/PULL, REQ/REP and
// PUB/SUB, over tcp and ipc, in both TCP roles, with multipart messages of
// 0-octet to 1 MiB frames. These tests fail (never skip) when CI=true and
// pyzmq is missing.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// interopFrames is a multipart message with frames of 0, 1, 255, 256 and
// 1 MiB pseudo-random octets.
func interopFrames(seed uint64) [][]byte {
	sizes := []int{0, 1, 255, 256, 1 << 20}
	out := make([][]byte, len(sizes))
	for i, n := range sizes {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		out[i] = b
	}
	return out
}

func sameFrames(t testing.TB, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: frame %d differs (%d octets, want %d)", what, i, len(got[i]), len(want[i]))
		}
	}
}

type exchangeFunc func(t *testing.T, c *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer)

type interopCase struct {
	ours      zmtp.SocketType
	peer      string
	exchange  exchangeFunc
	peerExtra []string
}

// interopCases are keyed by whether we are the CURVE server.
var interopCases = map[bool][]interopCase{
	false: { // we are the CURVE client
		{zmtp.Dealer, "ROUTER", func(t *testing.T, c *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer) {
			msg := interopFrames(1)
			if err := c.Send(msg); err != nil {
				t.Fatal(err)
			}
			if err := p.Echo(1); err != nil { // ROUTER routes it back by our Identity
				t.Fatal(err)
			}
			sameFrames(t, "echo from libzmq ROUTER", rd.next(t), msg)
		}, nil},
		{zmtp.Push, "PULL", func(t *testing.T, c *zmtp.Conn, _ *msgReader, p *libzmqpeer.Peer) {
			msg := interopFrames(2)
			if err := c.Send(msg); err != nil {
				t.Fatal(err)
			}
			got, err := p.Recv()
			if err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "libzmq PULL received", got, msg)
		}, nil},
		{zmtp.Req, "REP", func(t *testing.T, c *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer) {
			msg := append([][]byte{{}}, interopFrames(3)...) // REQ's empty delimiter
			if err := c.Send(msg); err != nil {
				t.Fatal(err)
			}
			if err := p.Echo(1); err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "reply from libzmq REP", rd.next(t), msg)
		}, nil},
		{zmtp.Sub, "PUB", func(t *testing.T, c *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer) {
			if err := c.WriteSubscription([]byte("t"), true); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			msg := append([][]byte{[]byte("t")}, interopFrames(4)[:4]...)
			// PUB drops until our (encrypted) SUBSCRIBE has reached it.
			var got [][]byte
			waitUntil(t, "a published message after subscribing", func() (bool, error) {
				select {
				case r := <-rd.ch:
					got = r.msg
					return true, r.err
				default:
				}
				return false, p.Send(msg...)
			})
			sameFrames(t, "libzmq PUB published", got, msg)
		}, nil},
	},
	true: { // we are the CURVE server
		{zmtp.Router, "DEALER", func(t *testing.T, c *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer) {
			msg := interopFrames(5)
			if err := p.Send(msg...); err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "from libzmq DEALER", rd.next(t), msg)
			reply := interopFrames(6)
			if err := c.Send(reply); err != nil {
				t.Fatal(err)
			}
			got, err := p.Recv()
			if err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "libzmq DEALER received", got, reply)
		}, nil},
		{zmtp.Pull, "PUSH", func(t *testing.T, _ *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer) {
			msg := interopFrames(7)
			if err := p.Send(msg...); err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "from libzmq PUSH", rd.next(t), msg)
		}, nil},
		{zmtp.Rep, "REQ", func(t *testing.T, c *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer) {
			msg := interopFrames(8)
			if err := p.Send(msg...); err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "request from libzmq REQ", rd.next(t), append([][]byte{{}}, msg...))
			reply := interopFrames(9)
			if err := c.Send(append([][]byte{{}}, reply...)); err != nil {
				t.Fatal(err)
			}
			got, err := p.Recv()
			if err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "libzmq REQ received", got, reply)
		}, nil},
		{zmtp.Pub, "SUB", func(t *testing.T, c *zmtp.Conn, rd *msgReader, p *libzmqpeer.Peer) {
			if err := p.Subscribe([]byte("t")); err != nil {
				t.Fatal(err)
			}
			// libzmq's encrypted SUBSCRIBE command reaches PUB as the
			// 3.0-form message. A bound libzmq SUB attaches the pipe of an
			// accepted connection (and sends it the subscriptions) only
			// when its application thread next calls into the socket, so
			// poke it with short receives until the subscription arrives.
			var sub [][]byte
			waitUntil(t, "the subscription from libzmq SUB", func() (bool, error) {
				select {
				case r := <-rd.ch:
					sub = r.msg
					return true, r.err
				default:
				}
				_, err := p.Recv() // --rcvtimeo 50: TIMEOUT expected
				if err != nil && !strings.Contains(err.Error(), "TIMEOUT") {
					return false, err
				}
				return false, nil
			})
			sameFrames(t, "subscription from libzmq SUB", sub, [][]byte{[]byte("\x01t")})
			msg := append([][]byte{[]byte("t")}, interopFrames(10)...)
			if err := c.Send(msg); err != nil {
				t.Fatal(err)
			}
			var got [][]byte
			waitUntil(t, "libzmq SUB to receive", func() (bool, error) {
				m, err := p.Recv()
				if err != nil && strings.Contains(err.Error(), "TIMEOUT") {
					return false, nil
				}
				got = m
				return err == nil, err
			})
			sameFrames(t, "libzmq SUB received", got, msg)
			if err := p.Unsubscribe([]byte("t")); err != nil {
				t.Fatal(err)
			}
			sameFrames(t, "cancel from libzmq SUB", rd.next(t), [][]byte{[]byte("\x00t")})
		}, []string{"--rcvtimeo", "50"}},
	},
}

func TestInteropLibzmq(t *testing.T) {
	libzmqpeer.Require(t)
	S, C := serverPair(t), clientPair(t)
	for _, weServer := range []bool{false, true} {
		for _, ic := range interopCases[weServer] {
			for _, transport := range []string{"tcp", "ipc"} {
				// Over tcp the CURVE client dials; over ipc it listens.
				weListen := weServer == (transport == "tcp")
				role := "our-client"
				if weServer {
					role = "our-server"
				}
				name := fmt.Sprintf("%s/%s-%s/%s", role, ic.ours, ic.peer, transport)
				t.Run(name, func(t *testing.T) {
					l := lzLink{transport: transport, weListen: weListen, peerType: ic.peer,
						cfg: zmtp.Config{SocketType: ic.ours}}
					auth := &authCounter{}
					if weServer {
						l.cfg.Mechanism = newTestServer(t, nil)
						l.cfg.Authenticator = auth
						l.peerArgs = peerCurveClient(C, S.Public, ic.peerExtra...)
					} else {
						l.cfg.Mechanism = newTestClient(t, nil)
						l.cfg.Identity = []byte("dd-client")
						l.peerArgs = peerCurveServer(S.Secret)
					}
					r := mustLink(t, l)
					if weServer && (auth.calls.Load() != 1 || !bytes.Equal(auth.keys[0], C.Public[:])) {
						t.Errorf("Authenticator called %d times with %x, want once with the client's key", auth.calls.Load(), auth.keys)
					}
					if got := r.c.PeerSocketType(); got != zmtp.SocketType(ic.peer) {
						t.Errorf("peer Socket-Type %q, want %q", got, ic.peer)
					}
					ic.exchange(t, r.c, startReading(t, r.c), r.peer)
				})
			}
		}
	}
}

// TestInteropLibzmqHeartbeats: both sides PING every 50 ms over CURVE (the
// PINGs and PONGs travel as encrypted MESSAGEs with the COMMAND bit) for
// more than 10 intervals in each direction, and the link stays up.
func TestInteropLibzmqHeartbeats(t *testing.T) {
	libzmqpeer.Require(t)
	S, C := serverPair(t), clientPair(t)
	for _, weServer := range []bool{false, true} {
		name := "our-client"
		if weServer {
			name = "our-server"
		}
		t.Run(name, func(t *testing.T) {
			l := lzLink{transport: "tcp", weListen: weServer,
				cfg: zmtp.Config{SocketType: zmtp.Dealer, HeartbeatInterval: 50e6, HeartbeatTimeout: 2e9}}
			hb := []string{"--heartbeat-ivl", "50", "--heartbeat-timeout", "2000", "--monitor"}
			if weServer {
				l.peerType = "DEALER"
				l.cfg.Mechanism = newTestServer(t, nil)
				l.peerArgs = peerCurveClient(C, S.Public, hb...)
			} else {
				l.peerType = "ROUTER"
				l.cfg.Mechanism = newTestClient(t, nil)
				l.cfg.Identity = []byte("dd-hb")
				l.peerArgs = peerCurveServer(S.Secret, hb...)
			}
			r := mustLink(t, l)
			rd := startReading(t, r.c)
			base := func() (in, out int) {
				return len(splitWire(t, r.tap.received())), len(splitWire(t, r.tap.sent()))
			}
			in0, out0 := base()
			// Idle: only heartbeats (PING and PONG) cross the wire.
			waitUntil(t, "11 heartbeat MESSAGEs each way", func() (bool, error) {
				in, out := base()
				return in-in0 >= 11 && out-out0 >= 11, nil
			})
			in, out := base()
			for _, f := range append(splitWire(t, r.tap.received())[in0:in], splitWire(t, r.tap.sent())[out0:out]...) {
				if f.flags != 0 || !bytes.HasPrefix(f.body, []byte(messageHeader)) {
					t.Fatalf("idle link carried frame flags %#02x %q; want MESSAGEs in data frames", f.flags, trunc(f.body))
				}
			}
			// Still up both ways, and libzmq never dropped us.
			if weServer {
				if err := r.peer.Send([]byte("after")); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := r.c.Send([][]byte{[]byte("ping-pong")}); err != nil {
					t.Fatal(err)
				}
				if err := r.peer.Echo(1); err != nil {
					t.Fatal(err)
				}
			}
			if m := rd.next(t); len(m) != 1 {
				t.Fatalf("after heartbeats: %q", m)
			}
			ev, err := r.peer.Events()
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(ev, func(e string) bool { return strings.HasPrefix(e, "DISCONNECTED") }) {
				t.Fatalf("libzmq disconnected during heartbeats: %v", ev)
			}
			t.Logf("%d MESSAGEs in, %d out while idle; libzmq events %v", in-in0, out-out0, ev)
		})
	}
}

// TestInteropLibzmqWrongServerKey: a client that has the wrong server key
// gets no session and delivers nothing, in both directions.
func TestInteropLibzmqWrongServerKey(t *testing.T) {
	libzmqpeer.Require(t)
	S, C := serverPair(t), clientPair(t)
	other, err := NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("our-client", func(t *testing.T) {
		cli, err := NewClient(C, other.Public)
		if err != nil {
			t.Fatal(err)
		}
		r := linkLibzmq(t, lzLink{transport: "tcp", peerType: "PULL",
			peerArgs: peerCurveServer(S.Secret, "--monitor", "--rcvtimeo", "300"),
			cfg:      zmtp.Config{SocketType: zmtp.Push, Mechanism: cli}})
		if !errors.Is(r.err, ErrNoWelcome) {
			t.Fatalf("handshake error %v, want ErrNoWelcome", r.err)
		}
		waitUntil(t, "libzmq HANDSHAKE_FAILED_PROTOCOL (cryptographic)", func() (bool, error) {
			ev, err := r.peer.Events()
			return slices.Contains(ev, fmt.Sprintf("HANDSHAKE_FAILED_PROTOCOL:%d", zmqProtocolErrorCryptographic)), err
		})
		if _, err := r.peer.Recv(); err == nil || !strings.Contains(err.Error(), "TIMEOUT") {
			t.Fatalf("libzmq received a message: %v", err)
		}
		t.Logf("our error: %v", r.err)
	})
	t.Run("libzmq-client", func(t *testing.T) {
		auth := &authCounter{}
		r := linkLibzmq(t, lzLink{transport: "tcp", weListen: true, peerType: "PUSH",
			peerArgs: peerCurveClient(C, other.Public, "--monitor"),
			cfg:      zmtp.Config{SocketType: zmtp.Pull, Mechanism: newTestServer(t, nil), Authenticator: auth}})
		if !errors.Is(r.err, ErrCrypto) || !strings.Contains(r.err.Error(), "HELLO") {
			t.Fatalf("handshake error %v, want ErrCrypto for the HELLO", r.err)
		}
		if n := auth.calls.Load(); n != 0 {
			t.Errorf("Authenticator called %d times for a HELLO that does not open", n)
		}
		if err := r.peer.Send([]byte("lost")); err != nil {
			t.Fatal(err) // queued by libzmq, never delivered: we have no Conn
		}
		t.Logf("our error: %v", r.err)
	})
}

// ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, libzmq's monitor value for a box
// that does not open.
const zmqProtocolErrorCryptographic = 0x11000001

// TestInteropLibzmqUnknownClientKey: a client key the server's ZAP
// authenticator does not know is refused with ERROR "400": libzmq's ZAP
// (pyzmq's authenticator) refusing our client, and our Authenticator
// refusing libzmq's client.
func TestInteropLibzmqUnknownClientKey(t *testing.T) {
	libzmqpeer.Require(t)
	S, C := serverPair(t), clientPair(t)
	other, err := NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("our-client", func(t *testing.T) {
		r := linkLibzmq(t, lzLink{transport: "tcp", peerType: "PULL",
			peerArgs: peerCurveServer(S.Secret, "--curve-allow="+other.Public.String(), "--monitor", "--rcvtimeo", "300"),
			cfg:      zmtp.Config{SocketType: zmtp.Push, Mechanism: newTestClient(t, nil)}})
		var pe *zmtp.PeerError
		if !errors.As(r.err, &pe) || pe.Reason != "400" || !errors.Is(r.err, zmtp.ErrAuth) {
			t.Fatalf("handshake error %v, want the server's ERROR 400 (ErrAuth)", r.err)
		}
		waitUntil(t, "libzmq HANDSHAKE_FAILED_AUTH:400", func() (bool, error) {
			ev, err := r.peer.Events()
			return slices.Contains(ev, "HANDSHAKE_FAILED_AUTH:400"), err
		})
		if _, err := r.peer.Recv(); err == nil || !strings.Contains(err.Error(), "TIMEOUT") {
			t.Fatalf("libzmq received a message: %v", err)
		}
		t.Logf("our error: %v", r.err)
	})
	t.Run("libzmq-client", func(t *testing.T) {
		auth := &authCounter{allow: map[Key]bool{other.Public: true}}
		r := linkLibzmq(t, lzLink{transport: "tcp", weListen: true, peerType: "PUSH",
			peerArgs: peerCurveClient(C, S.Public, "--monitor"),
			cfg:      zmtp.Config{SocketType: zmtp.Pull, Mechanism: newTestServer(t, nil), Authenticator: auth}})
		if !errors.Is(r.err, zmtp.ErrAuth) {
			t.Fatalf("handshake error %v, want ErrAuth", r.err)
		}
		if auth.calls.Load() != 1 || !bytes.Equal(auth.keys[0], C.Public[:]) {
			t.Errorf("Authenticator asked %d times about %x, want once about the client key", auth.calls.Load(), auth.keys)
		}
		waitUntil(t, "libzmq HANDSHAKE_FAILED_AUTH:400", func() (bool, error) {
			ev, err := r.peer.Events()
			return slices.Contains(ev, "HANDSHAKE_FAILED_AUTH:400"), err
		})
		t.Logf("our error: %v", r.err)
	})
}
