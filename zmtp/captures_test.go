package zmtp_test

// Golden tests against bytes a real libzmq 4.3.4 put on the wire
// (testdata/libzmq, see its README): our encoders must produce the same
// octets, and our decoder and handshake must accept libzmq's, including
// the non-zero greeting padding libzmq writes.

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

func capture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "libzmq", name))
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	return b
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got % x\nwant % x", what, got, want)
	}
}

// replay runs our Handshake against a scripted peer that has already
// written script (captured libzmq bytes) into a buffered pipe, and returns
// the Conn and the peer's end, from which our output can be read.
func replay(t *testing.T, cfg zmtp.Config, script ...[]byte) (*zmtp.Conn, net.Conn) {
	t.Helper()
	ours, theirs := testkit.Pipe(0)
	t.Cleanup(func() { theirs.Close() })
	for _, b := range script {
		if _, err := theirs.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := zmtp.Handshake(ctx, ours, cfg)
	if err != nil {
		t.Fatalf("handshake against captured libzmq bytes: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, theirs
}

// readOut reads exactly n octets we wrote.
func readOut(t *testing.T, nc net.Conn, n int) []byte {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(nc, b); err != nil {
		t.Fatalf("reading %d octets we sent: %v", n, err)
	}
	return b
}

// sameGreeting compares our greeting with libzmq's, except the padding
// (octets 1-8), which libzmq fills with its identity length.
func sameGreeting(t *testing.T, what string, ours, libzmq []byte) {
	t.Helper()
	if len(ours) != 64 || len(libzmq) != 64 {
		t.Fatalf("%s: greetings of %d and %d octets", what, len(ours), len(libzmq))
	}
	checkBytes(t, what+" (octet 0)", ours[:1], libzmq[:1])
	checkBytes(t, what+" (octets 9-63)", ours[9:], libzmq[9:])
}

func TestCaptureGreetings(t *testing.T) {
	for _, tc := range []struct {
		file, mech string
	}{
		{"dealer_greeting.bin", "NULL"},
		{"router_greeting.bin", "NULL"},
		{"sub_greeting.bin", "NULL"},
		{"plain_client_greeting.bin", "PLAIN"},
		// libzmq's PLAIN server sends as-server 0 (wire notes §1).
		{"plain_server_greeting.bin", "PLAIN"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := capture(t, tc.file)
			if bytes.Equal(b[1:9], make([]byte, 8)) {
				t.Fatalf("capture has zero padding; the test wants libzmq's non-zero padding")
			}
			g, err := zmtp.ParseGreeting(b)
			if err != nil {
				t.Fatalf("ParseGreeting: %v", err)
			}
			want := zmtp.Greeting{Major: 3, Minor: 1, Mechanism: tc.mech, AsServer: false}
			if g != want {
				t.Errorf("ParseGreeting = %+v, want %+v", g, want)
			}
			ours := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: tc.mech})
			sameGreeting(t, "AppendGreeting", ours, b)
		})
	}
}

func TestCaptureReady(t *testing.T) {
	t.Run("DEALER", func(t *testing.T) {
		want := capture(t, "dealer_ready.bin")
		got := zmtp.AppendReady(nil, zmtp.Metadata{
			{Name: zmtp.PropSocketType, Value: []byte("DEALER")},
			{Name: zmtp.PropIdentity, Value: []byte("dealer-1")},
		})
		checkBytes(t, "AppendReady DEALER dealer-1", got, want)
	})
	t.Run("ROUTER", func(t *testing.T) {
		want := capture(t, "router_ready.bin")
		got := zmtp.AppendReady(nil, zmtp.Metadata{
			{Name: zmtp.PropSocketType, Value: []byte("ROUTER")},
			{Name: zmtp.PropIdentity, Value: []byte{}},
		})
		checkBytes(t, "AppendReady ROUTER", got, want)
	})
	t.Run("SUB", func(t *testing.T) {
		want := capture(t, "sub_ready.bin")
		got := zmtp.AppendReady(nil, zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("SUB")}})
		checkBytes(t, "AppendReady SUB", got, want)
	})
}

// TestCaptureHandshakeDealer: our DEALER (identity dealer-1) meets a
// captured libzmq ROUTER. What we put on the wire after the greeting is
// libzmq's own DEALER READY, octet for octet.
func TestCaptureHandshakeDealer(t *testing.T) {
	c, peer := replay(t, zmtp.Config{SocketType: zmtp.Dealer, Identity: []byte("dealer-1")},
		capture(t, "router_greeting.bin"), capture(t, "router_ready.bin"))
	want := capture(t, "dealer_ready.bin")
	greeting := readOut(t, peer, 64)
	sameGreeting(t, "our DEALER greeting", greeting, capture(t, "dealer_greeting.bin"))
	checkBytes(t, "our DEALER READY", readOut(t, peer, len(want)), want)
	if c.PeerSocketType() != zmtp.Router {
		t.Errorf("PeerSocketType = %q", c.PeerSocketType())
	}
	if id, ok := c.PeerMetadata().Get(zmtp.PropIdentity); !ok || len(id) != 0 {
		t.Errorf("ROUTER's empty Identity: %q, present %v", id, ok)
	}
}

// TestCaptureHandshakeRouter: our ROUTER meets a captured libzmq DEALER
// (identity dealer-1) and decodes the message it sent, ["", "hello",
// "x"*256]; our READY is libzmq's ROUTER READY.
func TestCaptureHandshakeRouter(t *testing.T) {
	c, peer := replay(t, zmtp.Config{SocketType: zmtp.Router},
		capture(t, "dealer_greeting.bin"), capture(t, "dealer_ready.bin"), capture(t, "dealer_message.bin"))
	want := capture(t, "router_ready.bin")
	sameGreeting(t, "our ROUTER greeting", readOut(t, peer, 64), capture(t, "router_greeting.bin"))
	checkBytes(t, "our ROUTER READY", readOut(t, peer, len(want)), want)
	if got := string(c.PeerIdentity()); got != "dealer-1" {
		t.Errorf("PeerIdentity = %q, want dealer-1", got)
	}
	msg, err := c.ReadMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkMsg(t, "dealer_message.bin through a Conn", msg, [][]byte{{}, []byte("hello"), bytes.Repeat([]byte("x"), 256)})
}

// TestCaptureDealerMessageFrames decodes dealer_message.bin with
// ParseFrameHeader alone.
func TestCaptureDealerMessageFrames(t *testing.T) {
	b := capture(t, "dealer_message.bin")
	type frame struct {
		flags byte
		body  string
	}
	want := []frame{
		{zmtp.FlagMore, ""},
		{zmtp.FlagMore, "hello"},
		{zmtp.FlagLong, string(bytes.Repeat([]byte("x"), 256))},
	}
	var got []frame
	for len(b) > 0 {
		flags, size, n, err := zmtp.ParseFrameHeader(b)
		if err != nil || n == 0 {
			t.Fatalf("frame %d: header % x: n=%d err=%v", len(got), b[:min(len(b), 9)], n, err)
		}
		if uint64(len(b)-n) < size {
			t.Fatalf("frame %d: size %d, %d octets left", len(got), size, len(b)-n)
		}
		got = append(got, frame{flags, string(b[n : n+int(size)])})
		b = b[n+int(size):]
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d: flags %#02x, %d octets; want flags %#02x, %d octets",
				i, got[i].flags, len(got[i].body), want[i].flags, len(want[i].body))
		}
	}
}

func TestCaptureSubscriptionCommands(t *testing.T) {
	checkBytes(t, "AppendSubscribe", zmtp.AppendSubscribe(nil, []byte("topic")), capture(t, "sub_subscribe.bin"))
	checkBytes(t, "AppendCancel", zmtp.AppendCancel(nil, []byte("topic")), capture(t, "sub_cancel.bin"))
}

// TestCaptureSubscriptionWire: WriteSubscription on a SUB Conn writes
// exactly what libzmq's SUB writes, to a 3.1 peer (commands) and to a 3.0
// peer (0x01/0x00 messages).
func TestCaptureSubscriptionWire(t *testing.T) {
	pubReady := wireCommand("READY", append([]byte{11}, "Socket-Type\x00\x00\x00\x03PUB"...)...)
	greeting31 := capture(t, "router_greeting.bin") // any libzmq NULL greeting
	greeting30 := bytes.Clone(greeting31)
	greeting30[11] = 0 // minor 0: a ZMTP 3.0 peer
	for _, tc := range []struct {
		name              string
		greeting          []byte
		subscribe, cancel string
	}{
		{"3.1", greeting31, "sub_subscribe.bin", "sub_cancel.bin"},
		{"3.0", greeting30, "sub_zmtp30_subscribe.bin", "sub_zmtp30_cancel.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, peer := replay(t, zmtp.Config{SocketType: zmtp.Sub}, tc.greeting, pubReady)
			readOut(t, peer, 64)
			ready := capture(t, "sub_ready.bin")
			checkBytes(t, "our SUB READY", readOut(t, peer, len(ready)), ready)
			for _, step := range []struct {
				on   bool
				file string
			}{{true, tc.subscribe}, {false, tc.cancel}} {
				if err := c.WriteSubscription([]byte("topic"), step.on); err != nil {
					t.Fatal(err)
				}
				if err := c.Flush(); err != nil {
					t.Fatal(err)
				}
				want := capture(t, step.file)
				checkBytes(t, "WriteSubscription vs "+step.file, readOut(t, peer, len(want)), want)
			}
		})
	}
}

func TestCapturePlainCommands(t *testing.T) {
	checkBytes(t, "AppendHello", zmtp.AppendHello(nil, "admin", "secret"), capture(t, "plain_hello.bin"))
	initiate := zmtp.AppendCommand(nil, zmtp.CmdInitiate, zmtp.AppendMetadata(nil, zmtp.Metadata{
		{Name: zmtp.PropSocketType, Value: []byte("DEALER")},
		{Name: zmtp.PropIdentity, Value: []byte{}},
	}))
	checkBytes(t, "INITIATE", initiate, capture(t, "plain_initiate.bin"))
}

// TestCapturePlainClient: our PLAIN client DEALER meets a captured libzmq
// PLAIN server greeting (as-server 0): its HELLO and INITIATE are
// libzmq's.
func TestCapturePlainClient(t *testing.T) {
	welcome := wireCommand("WELCOME")
	_, peer := replay(t, zmtp.Config{SocketType: zmtp.Dealer, Mechanism: zmtp.PlainClient{Username: "admin", Password: "secret"}},
		capture(t, "plain_server_greeting.bin"), welcome, capture(t, "router_ready.bin"))
	sameGreeting(t, "our PLAIN client greeting", readOut(t, peer, 64), capture(t, "plain_client_greeting.bin"))
	hello := capture(t, "plain_hello.bin")
	checkBytes(t, "our HELLO", readOut(t, peer, len(hello)), hello)
	initiate := capture(t, "plain_initiate.bin")
	checkBytes(t, "our INITIATE", readOut(t, peer, len(initiate)), initiate)
}

// TestCapturePlainServer: our PLAIN server ROUTER accepts a captured libzmq
// PLAIN client, answers WELCOME and a READY equal to libzmq's ROUTER READY.
func TestCapturePlainServer(t *testing.T) {
	auth := &authRecorder{}
	c, peer := replay(t, zmtp.Config{SocketType: zmtp.Router, Mechanism: zmtp.PlainServer{}, Authenticator: auth},
		capture(t, "plain_client_greeting.bin"), capture(t, "plain_hello.bin"), capture(t, "plain_initiate.bin"))
	g := readOut(t, peer, 64)
	if pg, err := zmtp.ParseGreeting(g); err != nil || pg.Mechanism != "PLAIN" || !pg.AsServer {
		t.Errorf("our PLAIN server greeting: %+v, %v; want PLAIN as-server", pg, err)
	}
	checkBytes(t, "our WELCOME", readOut(t, peer, 10), wireCommand("WELCOME"))
	ready := capture(t, "router_ready.bin")
	checkBytes(t, "our READY", readOut(t, peer, len(ready)), ready)
	if c.UserID() != plainUID || c.PeerSocketType() != zmtp.Dealer {
		t.Errorf("UserID %q, PeerSocketType %q", c.UserID(), c.PeerSocketType())
	}
	if reqs := auth.requests(); len(reqs) != 1 || reqs[0].Username != "admin" || reqs[0].Password != "secret" {
		t.Errorf("Authenticator requests %+v", reqs)
	}
}
