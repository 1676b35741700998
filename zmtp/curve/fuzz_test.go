package curve

// Fuzz targets for both CURVE roles and for the MESSAGE opener. The
// handshake targets replay a recorded conversation: the server (or client)
// under test draws its randomness from a fixed stream, so the seeds in
// testdata/fuzz/<Target>/, recorded from the same streams, stay valid
// CurveZMQ and let the fuzzer explore past HELLO into INITIATE, READY and
// MESSAGE. TestFuzzSeedsCurrent checks that those seed files match what
// the code records now (go test -run TestFuzzSeedsCurrent -update-seeds
// rewrites them).

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed files of TestFuzzSeedsCurrent")

// The randomness streams of the recorded server and client.
const (
	fuzzServerSeed = 42
	fuzzClientSeed = 43
)

// fuzzConn is the side under test of a fuzz run: it reads the fuzz input
// in small steps (so every parser sees split input) and discards what the
// side under test writes.
type fuzzConn struct {
	net.Conn
	step int
}

func (c *fuzzConn) Read(b []byte) (int, error) {
	if len(b) > c.step {
		b = b[:c.step]
	}
	return c.Conn.Read(b)
}

func (c *fuzzConn) Write(b []byte) (int, error) { return len(b), nil }

// feed runs side (our server or client) on a pipe that already holds
// greeting and input, and then end of stream, and returns how many
// messages were read after the handshake, and the handshake's error. Everything happens in
// this goroutine, in the same order every time, so the coverage an input
// produces does not depend on scheduling.
func feed(t testing.TB, cfg zmtp.Config, greeting, input []byte) (int, error) {
	a, b := testkit.Pipe(len(greeting) + len(input) + 1)
	_, _ = a.Write(greeting)
	_, _ = a.Write(input)
	a.Close()
	step := 1 << 16
	if len(input) > 0 {
		step = 1 + int(input[len(input)-1])%97
	}
	cfg.HandshakeTimeout = 5 * time.Second
	c, err := zmtp.Handshake(context.Background(), &fuzzConn{Conn: b, step: step}, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	n := 0
	for ; n < 1000; n++ {
		if _, err := c.ReadMsg(nil); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read timed out after %d messages", n)
			}
			break
		}
	}
	return n, nil
}

func fuzzServer(t testing.TB) *Server { return newTestServer(t, detRand(fuzzServerSeed)) }
func fuzzClient(t testing.TB) *Client { return newTestClient(t, detRand(fuzzClientSeed)) }

// The configurations of the recorded conversation, which the fuzz targets
// use too: a SUB client and a PUB server.
func fuzzServerConfig(srv *Server, auth zmtp.Authenticator) zmtp.Config {
	return zmtp.Config{SocketType: zmtp.Pub, Mechanism: srv, Authenticator: auth}
}

func fuzzClientConfig(cli *Client) zmtp.Config {
	return zmtp.Config{SocketType: zmtp.Sub, Mechanism: cli}
}

func FuzzCurveServer(f *testing.F) {
	greeting := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"})
	f.Fuzz(func(t *testing.T, input []byte) {
		srv := fuzzServer(t)
		auth := &authCounter{}
		_, err := feed(t, fuzzServerConfig(srv, auth), greeting, input)
		if err == nil && auth.calls.Load() != 1 {
			t.Fatalf("handshake succeeded with %d Authenticator calls", auth.calls.Load())
		}
		if auth.calls.Load() > 1 {
			t.Fatalf("%d Authenticator calls for one connection", auth.calls.Load())
		}
	})
}

// TestR02ServerSurvivesHostileInput: after each of the server seeds, and
// after mutations of them, a legitimate client completes a roundtrip with
// the same Server (its cookie jar is the state they share) within 1 s.
// This runs outside the fuzz target to keep the target single-goroutine.
func TestR02ServerSurvivesHostileInput(t *testing.T) {
	greeting := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"})
	srv := fuzzServer(t)
	cli := newTestClient(t, nil)
	r := rand.New(rand.NewPCG(7, 7))
	for name, seed := range fuzzSeeds(t)["FuzzCurveServer"] {
		for i := range 20 {
			in := bytes.Clone(seed)
			for k := 0; k < i && len(in) > 0; k++ {
				in[r.IntN(len(in))] ^= byte(1 + r.IntN(255))
			}
			_, _ = feed(t, fuzzServerConfig(srv, nil), greeting, in)
			start := time.Now()
			c, s := handshakeBoth(t, zmtp.Config{SocketType: zmtp.Sub, Mechanism: cli}, fuzzServerConfig(srv, nil))
			if c.err != nil || s.err != nil {
				t.Fatalf("%s/%d: legitimate handshake after the input: %v / %v", name, i, c.err, s.err)
			}
			if err := s.c.Send([][]byte{[]byte("ok")}); err != nil {
				t.Fatal(err)
			}
			if m, err := c.c.ReadMsg(nil); err != nil || string(m[0]) != "ok" {
				t.Fatalf("%s/%d: legitimate roundtrip: %q %v", name, i, m, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s/%d: legitimate roundtrip took %v", name, i, d)
			}
			c.c.Close()
			s.c.Close()
		}
	}
}

func FuzzCurveClient(f *testing.F) {
	greeting := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE", AsServer: true})
	f.Fuzz(func(t *testing.T, input []byte) {
		_, _ = feed(t, fuzzClientConfig(fuzzClient(t)), greeting, input)
	})
}

// FuzzCurveMessage feeds a sequence of MESSAGE bodies (each preceded by a
// 2-octet length) to the server's opener. Whatever opens must reseal to
// the same octets, must not open twice, and every refusal must name its
// reason.
func FuzzCurveMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, input []byte) {
		_, srv := cipherPair()
		for len(input) >= 2 {
			n := int(binary.BigEndian.Uint16(input))
			input = input[2:]
			if n > len(input) {
				n = len(input)
			}
			body := bytes.Clone(input[:n])
			input = input[n:]
			flags, payload, err := srv.Open(body)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrCrypto) && !errors.Is(err, ErrReplay) {
					t.Fatalf("Open error %v names no reason", err)
				}
				continue
			}
			nonce := binary.BigEndian.Uint64(body[8:16])
			resealer, _ := cipherPair()
			resealer.send = counter{next: nonce}
			again, err := resealer.Seal(nil, flags, payload)
			if err != nil || !bytes.Equal(again, body) {
				t.Fatalf("opened (%#x, %q) but reseals differently", flags, payload)
			}
			if _, _, err := srv.Open(body); !errors.Is(err, ErrReplay) {
				t.Fatalf("the same MESSAGE opened twice: %v", err)
			}
		}
	})
}

// ---- seeds ------------------------------------------------------------------

// recordConversation runs the deterministic client against the
// deterministic server and returns what each sent after its greeting.
func recordConversation(t *testing.T) (toServer, toClient []byte) {
	t.Helper()
	a, b := testkit.Pipe(0)
	ta, tb := &tapConn{Conn: a}, &tapConn{Conn: b}
	c, s := handshakeOver(t, ta, tb, fuzzClientConfig(fuzzClient(t)), fuzzServerConfig(fuzzServer(t), &authCounter{}))
	if c.err != nil || s.err != nil {
		t.Fatalf("%v / %v", c.err, s.err)
	}
	if err := c.c.WriteSubscription([]byte("top"), true); err != nil {
		t.Fatal(err)
	}
	if err := c.c.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.ReadMsg(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Send([][]byte{[]byte("top"), {}, bytes.Repeat([]byte("z"), 300)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.c.ReadMsg(nil); err != nil {
		t.Fatal(err)
	}
	return ta.sent()[zmtp.GreetingSize:], tb.sent()[zmtp.GreetingSize:]
}

// frameEnds returns the offsets at which each frame of a stream ends.
func frameEnds(b []byte) []int {
	var ends []int
	for off := 0; off+2 <= len(b); {
		size, hdr := int(b[off+1]), 2
		if b[off]&0x02 != 0 {
			size, hdr = int(binary.BigEndian.Uint64(b[off+1:])), 9
		}
		off += hdr + size
		ends = append(ends, off)
	}
	return ends
}

// fuzzSeeds returns every target's seeds.
func fuzzSeeds(t *testing.T) map[string]map[string][]byte {
	toServer, toClient := recordConversation(t)
	se, ce := frameEnds(toServer), frameEnds(toClient)
	seeds := map[string]map[string][]byte{
		"FuzzCurveServer": {
			"hello":             toServer[:se[0]],
			"hello-initiate":    toServer[:se[1]],
			"whole":             toServer,
			"hello-199":         append(append([]byte{0x04, 199}, toServer[2:se[0]-1]...), toServer[se[0]:]...),
			"initiate-cut":      toServer[:se[1]-1],
			"message-replayed":  append(bytes.Clone(toServer), toServer[se[1]:se[2]]...),
			"hello-twice":       append(bytes.Clone(toServer[:se[0]]), toServer[:se[0]]...),
			"empty":             {},
			"plaintext-command": append(bytes.Clone(toServer[:se[0]]), zmtp.AppendReady(nil, nil)...),
		},
		"FuzzCurveClient": {
			"welcome":           toClient[:ce[0]],
			"welcome-ready":     toClient[:ce[1]],
			"whole":             toClient,
			"error":             zmtp.AppendError(nil, "400"),
			"welcome-error":     append(bytes.Clone(toClient[:ce[0]]), zmtp.AppendError(nil, "400")...),
			"message-reordered": append(bytes.Clone(toClient[:ce[1]]), append(bytes.Clone(toClient[ce[3]:ce[4]]), toClient[ce[2]:ce[3]]...)...),
		},
		"FuzzCurveMessage": {},
	}
	// Message seeds: valid sequences from the client's cipher, and broken ones.
	cli, _ := cipherPair()
	var seq []byte
	add := func(body []byte) {
		seq = binary.BigEndian.AppendUint16(seq, uint16(len(body)))
		seq = append(seq, body...)
	}
	for _, m := range []struct {
		flags byte
		p     string
	}{{zmtp.FlagMore, "a"}, {0, ""}, {zmtp.FlagCommand, "\x04PING\x00\x00"}, {zmtp.FlagCommand, "\x09SUBSCRIBEx"}} {
		b, _ := cli.Seal(nil, m.flags, []byte(m.p))
		add(b)
	}
	seeds["FuzzCurveMessage"]["valid-sequence"] = bytes.Clone(seq)
	first := seq[2 : 2+binary.BigEndian.Uint16(seq)]
	add(first) // a replay at the end
	seeds["FuzzCurveMessage"]["replay"] = bytes.Clone(seq)
	seeds["FuzzCurveMessage"]["short"] = binary.BigEndian.AppendUint16(nil, 32)
	return seeds
}

func corpusFile(b []byte) []byte {
	return []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b))
}

// TestFuzzSeedsCurrent: the seed files are what the code records now, so
// the handshake seeds are valid conversations for the deterministic sides.
func TestFuzzSeedsCurrent(t *testing.T) {
	for target, files := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range files {
			path := filepath.Join(dir, name)
			want := corpusFile(b)
			if *updateSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s is stale or missing (%v); run: go test ./zmtp/curve -run TestFuzzSeedsCurrent -update-seeds", path, err)
			}
		}
	}
}

// TestFuzzSeedsReachDeep: the recorded conversation, fed to the fuzz
// harness, completes the handshake and delivers messages on both sides,
// so the fuzzers start from inputs that get everywhere.
func TestFuzzSeedsReachDeep(t *testing.T) {
	toServer, toClient := recordConversation(t)
	sg := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"})
	auth := &authCounter{}
	if n, err := feed(t, fuzzServerConfig(fuzzServer(t), auth), sg, toServer); err != nil || n != 1 || auth.calls.Load() != 1 {
		t.Errorf("server fed the recording: %v, %d messages; want 1 (the subscription)", err, n)
	}
	cg := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE", AsServer: true})
	if n, err := feed(t, fuzzClientConfig(fuzzClient(t)), cg, toClient); err != nil || n != 1 {
		t.Errorf("client fed the recording: %v, %d messages; want 1", err, n)
	}
}
