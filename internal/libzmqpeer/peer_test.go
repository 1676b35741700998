package libzmqpeer

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var local = []string{"tcp://127.0.0.1:0"}

func hexs(s string) string { return hex.EncodeToString([]byte(s)) }

func equalMsg(t *testing.T, got [][]byte, want ...[]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames %q, want %d frames", len(got), short(EncodeFrames(got)), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: got %d bytes %q, want %d bytes %q", i,
				len(got[i]), short(string(got[i])), len(want[i]), short(string(want[i])))
		}
	}
}

func TestVersion(t *testing.T) {
	Require(t)
	v := Version()
	if !strings.HasPrefix(v, "4.") {
		t.Fatalf("Version() = %q", v)
	}
	t.Logf("libzmq %s, peer.py at %q", v, ScriptPath())
}

func TestEncodeDecodeFrames(t *testing.T) {
	frames := [][]byte{{}, []byte("ab"), {0, 0xff}, {}}
	s := EncodeFrames(frames)
	if s != "- 6162 00ff -" {
		t.Fatalf("EncodeFrames = %q", s)
	}
	got, err := DecodeFrames("MSG " + s)
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, frames...)
	if _, err := DecodeFrames("MSG zz"); err == nil {
		t.Fatal("DecodeFrames accepted bad hex")
	}
}

func TestPayload(t *testing.T) {
	if got := Payload(0x0102, 10); !bytes.Equal(got, []byte{0, 0, 0, 0, 0, 0, 1, 2, 0, 0}) {
		t.Fatalf("Payload(0x102, 10) = %x", got)
	}
	if got := Payload(0x010203, 2); !bytes.Equal(got, []byte{2, 3}) {
		t.Fatalf("Payload(0x10203, 2) = %x", got)
	}
	if err := CheckPayload(7, 3, Payload(7, 3)); err != nil {
		t.Fatal(err)
	}
	if err := CheckPayload(7, 16, Payload(8, 16)); err == nil {
		t.Fatal("CheckPayload accepted a wrong index")
	}
	bad := Payload(7, 16)
	bad[15] = 1
	if err := CheckPayload(7, 16, bad); err == nil || !strings.Contains(err.Error(), "padding") {
		t.Fatalf("CheckPayload(bad padding) = %v", err)
	}
}

func TestPushPull(t *testing.T) {
	t.Parallel()
	pull := Start(t, Options{Type: "PULL", Bind: local})
	ep := pull.Endpoint()
	if !strings.HasPrefix(ep, "tcp://127.0.0.1:") || strings.HasSuffix(ep, ":0") || strings.HasSuffix(ep, ":*") {
		t.Fatalf("Endpoint() = %q, want a resolved tcp endpoint", ep)
	}
	if b := pull.Bound(); len(b) != 1 || b[0] != ep {
		t.Fatalf("Bound() = %q", b)
	}
	push := Start(t, Options{Type: "PUSH", Connect: []string{ep}})

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := push.Send([]byte("hello"), []byte{}, big, []byte{}); err != nil {
		t.Fatal(err)
	}
	got, err := pull.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("hello"), []byte{}, big, []byte{})

	if err := push.SendN(2000, 100); err != nil {
		t.Fatal(err)
	}
	if err := pull.RecvCheck(2000, 100); err != nil {
		t.Fatal(err)
	}
	// Small sizes: the low-order bytes of the index.
	if err := push.SendN(300, 1); err != nil {
		t.Fatal(err)
	}
	if err := pull.RecvCheck(300, 1); err != nil {
		t.Fatal(err)
	}
	if err := push.SendN(3, 4); err != nil {
		t.Fatal(err)
	}
	msgs, err := pull.RecvN(3)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if len(m) != 1 {
			t.Fatalf("message %d has %d frames", i, len(m))
		}
		if err := CheckPayload(uint64(i), 4, m[0]); err != nil {
			t.Fatal(err)
		}
	}
	// recvcheck notices a wrong order.
	if err := push.Send(Payload(1, 16)); err != nil {
		t.Fatal(err)
	}
	if err := pull.RecvCheck(1, 16); err == nil || !strings.Contains(err.Error(), "index") {
		t.Fatalf("RecvCheck of a misordered message: %v", err)
	}
}

// TestRecvCheckExact: recvcheck compares every frame of every message, so
// a change anywhere (a middle frame of 1 MiB with one octet off, an empty
// frame that is not empty, a frame too many or too few, the index, the
// padding) fails it, and the reply says where.
func TestRecvCheckExact(t *testing.T) {
	t.Parallel()
	pull := Start(t, Options{Type: "PULL", Bind: local})
	push := Start(t, Options{Type: "PUSH", Connect: []string{pull.Endpoint()}})
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	prefix := [][]byte{{}, big, []byte("x")}
	payload := Payload(0, 1<<20)
	corrupt := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x01
		return c
	}
	for _, c := range []struct {
		name string
		msg  [][]byte
		want string // in the error; "" means the message must pass
	}{
		{"exact", append(prefix[:3:3], payload), ""},
		{"middle 1 MiB frame one octet off", [][]byte{{}, corrupt(big, 700_000), []byte("x"), payload},
			"frame 1 is 1048576B:30313233343536373839616263646566..., want 1048576B:30313233343536373839616263646566... (first difference at octet 700000)"},
		{"empty frame not empty", [][]byte{[]byte("!"), big, []byte("x"), payload}, "frame 0 is 1B:21, want 0B:-"},
		{"short frame", [][]byte{{}, big, []byte("y"), payload}, "frame 2 is 1B:79, want 1B:78"},
		{"frame missing", [][]byte{{}, big, payload}, "3 frames, want 4"},
		{"frame too many", [][]byte{{}, big, []byte("x"), {}, payload}, "5 frames, want 4"},
		{"payload size", [][]byte{{}, big, []byte("x"), payload[:1000]}, "payload frame 3: size 1000, want 1048576"},
		{"payload index", [][]byte{{}, big, []byte("x"), Payload(1, 1<<20)}, "payload frame 3: index 0000000000000001, want 0000000000000000"},
		{"payload padding", [][]byte{{}, big, []byte("x"), corrupt(payload, 1<<19)}, "payload frame 3: padding is not all 0x00"},
	} {
		if err := push.Send(c.msg...); err != nil {
			t.Fatal(err)
		}
		err := pull.RecvCheck(1, 1<<20, prefix...)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), "message 0: "+c.want)):
			t.Errorf("%s: RecvCheck = %v, want an error with %q", c.name, err, c.want)
		}
	}
	// Single-frame messages: no prefix means exactly one frame.
	if err := push.Send([]byte{}, Payload(0, 8)); err != nil {
		t.Fatal(err)
	}
	if err := pull.RecvCheck(1, 8); err == nil || !strings.Contains(err.Error(), "2 frames, want 1") {
		t.Errorf("RecvCheck of a two-frame message without a prefix: %v", err)
	}
}

// TestSendFrom: a stream sent in pieces reads as one.
func TestSendFrom(t *testing.T) {
	t.Parallel()
	pull := Start(t, Options{Type: "PULL", Bind: local})
	push := Start(t, Options{Type: "PUSH", Connect: []string{pull.Endpoint()}})
	pre := []byte("p")
	for _, start := range []int{0, 300, 301} {
		n := 300
		if start == 300 {
			n = 1
		}
		if err := push.SendFrom(start, n, 16, pre); err != nil {
			t.Fatal(err)
		}
	}
	if err := pull.RecvCheck(601, 16, pre); err != nil {
		t.Fatal(err)
	}
}

// TestReqN: a libzmq REQ makes its round trips by itself against an echoing
// REP; a REP that answers something else fails it.
func TestReqN(t *testing.T) {
	t.Parallel()
	rep := Start(t, Options{Type: "REP", Bind: local})
	req := Start(t, Options{Type: "REQ", Connect: []string{rep.Endpoint()}, Args: []string{"--rcvtimeo", "5000"}})
	pre := [][]byte{{}, []byte("head")}
	done := make(chan error, 1)
	go func() { done <- rep.Echo(1000) }()
	if err := req.ReqN(1000, 32, pre...); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A wrong reply: the REP answers request 0 with message 1.
	go func() {
		if _, err := rep.Recv(); err != nil {
			done <- err
			return
		}
		done <- rep.Send(append(pre[:2:2], Payload(1, 32))...)
	}()
	if err := req.ReqN(1, 32, pre...); err == nil || !strings.Contains(err.Error(), "reply message 0: payload frame 2: index") {
		t.Fatalf("ReqN with a wrong reply: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReqRep(t *testing.T) {
	t.Parallel()
	rep := Start(t, Options{Type: "REP", Bind: local})
	req := Start(t, Options{Type: "REQ", Connect: []string{rep.Endpoint()}})

	if err := req.Send([]byte("ping"), []byte{}); err != nil {
		t.Fatal(err)
	}
	got, err := rep.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("ping"), []byte{}) // REP hides the envelope
	if err := rep.Send([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	got, err = req.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("pong"))

	// REQ may not send twice in a row: libzmq's EFSM comes back as ERR.
	if err := req.Send([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := req.Send([]byte("b")); err == nil || !strings.Contains(err.Error(), "EFSM") {
		t.Fatalf("second REQ send: %v, want EFSM", err)
	}
	if err := rep.Echo(1); err != nil {
		t.Fatal(err)
	}
	got, err = req.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("a"))
}

func TestPubSub(t *testing.T) {
	t.Parallel()
	pub := Start(t, Options{Type: "PUB", Bind: local})
	sub := Start(t, Options{Type: "SUB", Connect: []string{pub.Endpoint()}, Args: []string{"--rcvtimeo", "50"}})
	if err := sub.Subscribe([]byte("topic")); err != nil {
		t.Fatal(err)
	}
	// Slow joiner: publish until the subscription has arrived at the PUB.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := pub.Send([]byte("other"), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := pub.Send([]byte("topic.sync"), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Recv(); err == nil {
			break
		} else if !strings.Contains(err.Error(), "TIMEOUT") {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("subscription never took effect")
		}
	}
	if err := pub.Send([]byte("other"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := pub.Send([]byte("topic.end"), []byte("y")); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := sub.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got[0], []byte("topic")) {
			t.Fatalf("SUB received unsubscribed %q", got[0])
		}
		if string(got[0]) == "topic.end" {
			equalMsg(t, got, []byte("topic.end"), []byte("y"))
			break
		}
	}
}

func TestXPubSeesSubscriptions(t *testing.T) {
	t.Parallel()
	xpub := Start(t, Options{Type: "XPUB", Bind: local})
	sub := Start(t, Options{Type: "SUB", Connect: []string{xpub.Endpoint()}})
	if err := sub.Subscribe([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	got, err := xpub.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("\x01ab"))
	if err := xpub.Send([]byte("abc"), []byte{}); err != nil {
		t.Fatal(err)
	}
	got, err = sub.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("abc"), []byte{})
	if err := sub.Unsubscribe([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	got, err = xpub.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("\x00ab"))
}

func TestDealerRouter(t *testing.T) {
	t.Parallel()
	router := Start(t, Options{Type: "ROUTER", Bind: local, Args: []string{"--router-mandatory"}})
	dealer := Start(t, Options{Type: "DEALER", Connect: []string{router.Endpoint()},
		Args: []string{"--identity", hexs("dealer-1")}})

	if err := dealer.Send([]byte{}, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	got, err := router.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("dealer-1"), []byte{}, []byte("hi"))
	if err := router.Send([]byte("dealer-1"), []byte{}, []byte("back")); err != nil {
		t.Fatal(err)
	}
	got, err = dealer.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte{}, []byte("back"))

	// ROUTER_MANDATORY: unknown routing id.
	if err := router.Send([]byte("nobody"), []byte("x")); err == nil || !strings.Contains(err.Error(), "EHOSTUNREACH") {
		t.Fatalf("send to unknown id: %v, want EHOSTUNREACH", err)
	}

	// Round trip through echo, with an envelope, using the sendn convention.
	if err := dealer.SendN(500, 64, []byte{}); err != nil {
		t.Fatal(err)
	}
	if err := router.Echo(500); err != nil {
		t.Fatal(err)
	}
	if err := dealer.RecvCheck(500, 64, []byte{}); err != nil {
		t.Fatal(err)
	}
	// ROUTER side sendn with the routing id as prefix.
	if err := router.SendN(10, 8, []byte("dealer-1")); err != nil {
		t.Fatal(err)
	}
	if err := dealer.RecvCheck(10, 8); err != nil {
		t.Fatal(err)
	}
}

func TestPairBigAndEmptyFrames(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{Type: "PAIR", Bind: local})
	b := Start(t, Options{Type: "PAIR", Connect: []string{a.Endpoint()}})
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := a.Send(); err != nil { // one empty frame
		t.Fatal(err)
	}
	if err := a.Send([]byte{}, big, []byte{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Echo(2); err != nil {
		t.Fatal(err)
	}
	got, err := a.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte{})
	got, err = a.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte{}, big, []byte{})
	if err := a.SendN(3, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := b.RecvCheck(3, 1<<20); err != nil {
		t.Fatal(err)
	}
}

func TestPlain(t *testing.T) {
	t.Parallel()
	server := Start(t, Options{Type: "PULL", Bind: local, Args: []string{
		"--plain-server", "--plain-users", "admin:secret,guest:guest", "--rcvtimeo", "500", "--monitor"}})
	good := Start(t, Options{Type: "PUSH", Connect: []string{server.Endpoint()},
		Args: []string{"--plain-user", "admin", "--plain-pass", "secret"}})
	if err := good.Send([]byte("authorized")); err != nil {
		t.Fatal(err)
	}
	// rcvtimeo is 500 ms, so allow a few tries for the handshake + ZAP.
	var got [][]byte
	var err error
	for range 10 {
		if got, err = server.Recv(); err == nil || !strings.Contains(err.Error(), "TIMEOUT") {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("authorized"))
	if err := good.Close(); err != nil {
		t.Fatal(err)
	}

	bad := Start(t, Options{Type: "PUSH", Connect: []string{server.Endpoint()},
		Args: []string{"--plain-user", "admin", "--plain-pass", "wrong", "--sndtimeo", "1000"}})
	// Queued on the connect-side pipe, or refused with EAGAIN when libzmq
	// has already dropped the pipe after the server's ERROR 400.
	if err := bad.Send([]byte("intruder")); err != nil && !strings.Contains(err.Error(), "EAGAIN") {
		t.Fatal(err)
	}
	if got, err := server.Recv(); err == nil || !strings.Contains(err.Error(), "TIMEOUT") {
		t.Fatalf("wrong password delivered %q (err %v)", got, err)
	}
	// The server's monitor saw the ZAP denial (status 400).
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, err := server.Events()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.Join(ev, " "), "HANDSHAKE_FAILED_AUTH:400") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HANDSHAKE_FAILED_AUTH:400 event; events: %v", ev)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCurve(t *testing.T) {
	t.Parallel()
	// Fixed test keys (libzmq's test vectors from zmq_curve_keypair docs are
	// not needed: any valid pair works). Generated with zmq.curve_keypair().
	serverPub, serverSec := curveKeypair(t)
	clientPub, clientSec := curveKeypair(t)
	server := Start(t, Options{Type: "REP", Bind: local, Args: []string{
		"--curve-server", "--curve-secret", serverSec, "--curve-public", serverPub, "--curve-allow", clientPub}})
	client := Start(t, Options{Type: "REQ", Connect: []string{server.Endpoint()}, Args: []string{
		"--curve-serverkey", serverPub, "--curve-public", clientPub, "--curve-secret", clientSec}})
	if err := client.Send([]byte("secret")); err != nil {
		t.Fatal(err)
	}
	if err := server.Echo(1); err != nil {
		t.Fatal(err)
	}
	got, err := client.Recv()
	if err != nil {
		t.Fatal(err)
	}
	equalMsg(t, got, []byte("secret"))
}

func curveKeypair(t *testing.T) (pub, sec string) {
	t.Helper()
	Require(t)
	out, err := exec.Command(python(), "-c",
		"import zmq; p, s = zmq.curve_keypair(); print(p.decode(), s.decode())").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("curve_keypair printed %q", out)
	}
	return f[0], f[1]
}

func TestReplyTimeoutKillsPeer(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Type: "PULL", Bind: local, Timeout: 300 * time.Millisecond,
		Args: []string{"--rcvtimeo", "20000"}})
	start := time.Now()
	_, err := p.Recv()
	if err == nil || !strings.Contains(err.Error(), "no reply within") {
		t.Fatalf("Recv = %v, want a reply timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	if _, err := p.Cmd("recv"); err == nil {
		t.Fatal("command on a killed peer succeeded")
	}
	if err := p.Close(); err == nil {
		t.Fatal("Close after a kill reported success")
	}
}

func TestRecvTimeoutReply(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Type: "PULL", Bind: local, Args: []string{"--rcvtimeo", "50"}})
	lines, err := p.Cmd("recvn 3")
	if err == nil || len(lines) != 1 || lines[0] != "TIMEOUT" {
		t.Fatalf("recvn on an empty socket: %q, %v", lines, err)
	}
	if lines, err := p.Cmd("bogus"); err == nil || !strings.HasPrefix(lines[0], "ERR") {
		t.Fatalf("unknown command: %q, %v", lines, err)
	}
	if _, err := p.Cmd("quit"); err == nil {
		t.Fatal("Cmd(quit) accepted")
	}
	// Still alive and usable after the errors.
	if _, err := p.Cmd("sleep 1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestKill(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Type: "PAIR", Bind: local})
	p.Kill()
	if err := p.Send([]byte("x")); err == nil {
		t.Fatal("Send on a killed peer succeeded")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after Kill: %v", err)
	}
}

func TestBadUsage(t *testing.T) {
	t.Parallel()
	Require(t)
	_, err := start(Options{Type: "NOPE", Bind: local})
	if err == nil || !strings.Contains(err.Error(), "invalid choice") {
		t.Fatalf("start with a bad type: %v", err)
	}
	_, err = start(Options{Type: "PULL", Bind: []string{"tcp://256.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "bind") {
		t.Fatalf("start with a bad endpoint: %v", err)
	}
}

// The embedded copy of peer.py is the file (go test runs in this package's
// directory, so the file is always at hand), and ScriptPath, when it finds
// one, finds this one.
func TestEmbeddedScriptMatches(t *testing.T) {
	b, err := os.ReadFile("peer.py")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != peerSource {
		t.Fatal("embedded peer.py differs from the file")
	}
	if p := ScriptPath(); p != "" {
		want, err := filepath.Abs("peer.py")
		if err != nil {
			t.Fatal(err)
		}
		if p != want {
			t.Fatalf("ScriptPath() = %q, want %q", p, want)
		}
	}
}

// mainModule is the module whose root moduleRoot looks for.
const mainModule = "github.com/dripdrop-go/dripdrop"

// moduleRoot returns the directory of the main module's go.mod: up from the
// working directory (go test runs in the package's directory), passing over
// the go.mod of any other module on the way (bench/ and interop/ have
// their own).
func moduleRoot(t *testing.T) string {
	t.Helper()
	start, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := start; ; {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == mainModule {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of %s in %s or above", mainModule, start)
		}
		dir = parent
	}
}

// modulePath returns the path on the module line of a go.mod file.
func modulePath(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		rest, _, _ = strings.Cut(rest, "//")
		rest = strings.TrimSpace(rest)
		if p, err := strconv.Unquote(rest); err == nil {
			return p
		}
		return rest
	}
	return ""
}

func TestModuleRoot(t *testing.T) {
	for in, want := range map[string]string{
		"module " + mainModule + "\n\ngo 1.25\n":      mainModule,
		"// comment\nmodule \"example.com/q\" // x\n": "example.com/q",
		"\tmodule\texample.com/b\n":                   "example.com/b",
		"modules x\n":                                 "",
		"go 1.25\n":                                   "",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
	want, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if got := moduleRoot(t); got != want {
		t.Errorf("moduleRoot() = %q, want %q", got, want)
	}
}

// TestCapturesUpToDate re-runs testdata/libzmq/capture.py and checks that
// the local libzmq still sends exactly the committed bytes.
func TestCapturesUpToDate(t *testing.T) {
	t.Parallel()
	// The script and the captures are in the repository: missing is a
	// failure, wherever the tests run.
	dir := filepath.Join(moduleRoot(t), "testdata", "libzmq")
	script := filepath.Join(dir, "capture.py")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("capture.py: %v", err)
	}
	Require(t)
	out := t.TempDir()
	c := exec.Command(python(), script, "--out", out, "--quiet")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	c.WaitDelay = time.Second
	done := make(chan error, 1)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("capture.py: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = c.Process.Kill()
		<-done
		t.Fatalf("capture.py timed out\n%s", stderr.String())
	}
	files, err := filepath.Glob(filepath.Join(out, "*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("capture.py wrote no .bin files (%v)", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		got, _ := os.ReadFile(f)
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: not committed: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: libzmq %s now sends\n%s\nwant\n%s", name, Version(),
				hex.Dump(got), hex.Dump(want))
		}
	}
	if t.Failed() {
		fmt.Fprintln(os.Stderr, "regenerate with: /usr/bin/python3 testdata/libzmq/capture.py")
	}
}
