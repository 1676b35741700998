package main

// Tests of dripdrop bench: each calls run directly, the two sides of a
// two-sided test in two goroutines (inproc, tcp or ipc), or one side
// against a socket of our own.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// benchDeadline bounds every bench run of these tests.
const benchDeadline = 20 * time.Second

// benchBuf is a buffer safe to write from the run and read from the test.
type benchBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *benchBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *benchBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// benchProc is dripdrop bench running in a goroutine.
type benchProc struct {
	args           []string
	stdout, stderr *benchBuf
	done           chan struct{}
	err            error
}

func startBench(t *testing.T, args ...string) *benchProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchDeadline)
	p := &benchProc{args: args, stdout: &benchBuf{}, stderr: &benchBuf{}, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.err = run(ctx, append([]string{"bench", "-progress", "0"}, args...), nil, p.stdout, p.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

func (p *benchProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(benchDeadline + 5*time.Second):
		t.Fatalf("bench %q did not end\nstdout: %q\nstderr: %q", p.args, p.stdout, p.stderr)
		return nil
	}
}

func (p *benchProc) waitOK(t *testing.T) string {
	t.Helper()
	if err := p.wait(t); err != nil {
		t.Fatalf("bench %q: %v\nstdout: %q\nstderr: %q", p.args, err, p.stdout, p.stderr)
	}
	return p.stdout.String()
}

// boundEndpoint polls stderr for the "bound to" line of a binding test.
func (p *benchProc) boundEndpoint(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`bound to (\S+)\n`)
	deadline := time.Now().Add(benchDeadline)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("bench %q ended before binding: %v\nstderr: %q", p.args, p.err, p.stderr)
		case <-tick.C:
			if time.Now().After(deadline) {
				t.Fatalf("bench %q did not bind\nstderr: %q", p.args, p.stderr)
			}
		}
	}
}

// The exact lines of libzmq's local_thr and inproc_thr.
var thrOutput = regexp.MustCompile(`^message size: (\d+) \[B\]
message count: (\d+)
mean throughput: (\d+) \[msg/s\]
mean throughput: (\d+\.\d{3}) \[Mb/s\]
$`)

// The exact lines of libzmq's remote_lat and inproc_lat.
var latOutput = regexp.MustCompile(`^message size: (\d+) \[B\]
roundtrip count: (\d+)
average latency: (\d+\.\d{3}) \[us\]
$`)

// checkThr checks local_thr's lines, and that the Mb/s follow from the
// msg/s as libzmq computes them.
func checkThr(t *testing.T, out string, size, count int) {
	t.Helper()
	m := thrOutput.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output is not local_thr's:\n%s", out)
	}
	if m[1] != strconv.Itoa(size) || m[2] != strconv.Itoa(count) {
		t.Fatalf("size %s count %s, want %d %d:\n%s", m[1], m[2], size, count, out)
	}
	thr, _ := strconv.ParseUint(m[3], 10, 64)
	if thr == 0 {
		t.Fatalf("throughput 0:\n%s", out)
	}
	if want := fmt.Sprintf("%.3f", float64(thr*uint64(size)*8)/1e6); m[4] != want {
		t.Fatalf("Mb/s %s, want %s from %d msg/s", m[4], want, thr)
	}
}

func checkLat(t *testing.T, out string, size, n int) {
	t.Helper()
	m := latOutput.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output is not remote_lat's:\n%s", out)
	}
	if m[1] != strconv.Itoa(size) || m[2] != strconv.Itoa(n) {
		t.Fatalf("size %s roundtrips %s, want %d %d:\n%s", m[1], m[2], size, n, out)
	}
	if lat, _ := strconv.ParseFloat(m[3], 64); lat <= 0 {
		t.Fatalf("latency %s:\n%s", m[3], out)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"local-thr"},
		{"local-thr", "tcp://127.0.0.1:0", "16"},
		{"local-thr", "tcp://127.0.0.1:0", "16", "10", "extra"},
		{"inproc-thr", "inproc://x", "16", "10"},
		{"inproc-thr", "sixteen", "10"},
		{"inproc-thr", "-1", "10"},
		{"inproc-thr", "16", "0"},
		{"inproc-lat", "16", "-5"},
		{"inproc-thr", "1073741824", "1"}, // 1 GiB messages: refused, not allocated
		{"inproc-thr", "16", "99999999999999999999"},
		{"-hwm", "-1", "inproc-thr", "16", "10"},
		{"-sndbuf", "-2", "inproc-thr", "16", "10"},
		{"-rcvbuf", "-2", "inproc-thr", "16", "10"},
		{"-progress", "-1s", "inproc-thr", "16", "10"},
		{"inproc-thr", "-bogus", "16", "10"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"bench"}, args...), nil, &out, &out)
		if !errors.Is(err, errUsage) {
			t.Errorf("bench %q = %v, want a usage error", args, err)
		}
	}
}

func TestBenchInprocThr(t *testing.T) {
	out := startBench(t, "inproc-thr", "16", "5000").waitOK(t)
	checkThr(t, out, 16, 5000)
}

// Flags may also come right after the test name; one message is the least.
func TestBenchInprocThrFlagsAfterTest(t *testing.T) {
	out := startBench(t, "inproc-thr", "-hwm", "10", "0", "1").waitOK(t)
	checkThr(t, out, 0, 1)
}

func TestBenchInprocLat(t *testing.T) {
	out := startBench(t, "inproc-lat", "1", "200").waitOK(t)
	checkLat(t, out, 1, 200)
}

// local-thr and remote-thr, two runs of the command, over each network
// transport.
func TestBenchThrPair(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			ep := "tcp://127.0.0.1:0"
			if tr == "ipc" {
				ep = "ipc://" + filepath.Join(t.TempDir(), "thr.ipc")
			}
			local := startBench(t, "local-thr", ep, "256", "20000")
			bound := local.boundEndpoint(t)
			remote := startBench(t, "remote-thr", bound, "256", "20000")
			if out := remote.waitOK(t); out != "" {
				t.Errorf("remote-thr printed %q; libzmq's prints nothing", out)
			}
			checkThr(t, local.waitOK(t), 256, 20000)
		})
	}
}

// -sndbuf and -rcvbuf reach the sockets: a run with small kernel buffers
// on both sides still delivers every message (WithSendBuffer and
// WithRecvBuffer are checked against the kernel in package sockets).
func TestBenchThrPairBuffers(t *testing.T) {
	local := startBench(t, "-rcvbuf", "8192", "-sndbuf", "0", "local-thr", "tcp://127.0.0.1:0", "4096", "2000")
	remote := startBench(t, "-sndbuf", "8192", "remote-thr", local.boundEndpoint(t), "4096", "2000")
	remote.waitOK(t)
	checkThr(t, local.waitOK(t), 4096, 2000)
}

func TestBenchLatPair(t *testing.T) {
	local := startBench(t, "local-lat", "tcp://127.0.0.1:0", "64", "300")
	remote := startBench(t, "remote-lat", local.boundEndpoint(t), "64", "300")
	checkLat(t, remote.waitOK(t), 64, 300)
	if out := local.waitOK(t); out != "" {
		t.Errorf("local-lat printed %q; libzmq's prints nothing", out)
	}
}

func TestBenchJSON(t *testing.T) {
	local := startBench(t, "-json", "local-thr", "tcp://127.0.0.1:0", "16", "3000")
	remote := startBench(t, "-json", "remote-thr", local.boundEndpoint(t), "16", "3000")
	var sent sendResult
	if err := json.Unmarshal([]byte(remote.waitOK(t)), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Test != "remote-thr" || sent.MessageCount != 3000 || sent.MessageSize != 16 {
		t.Errorf("remote-thr -json: %+v", sent)
	}
	var got thrResult
	if err := json.Unmarshal([]byte(local.waitOK(t)), &got); err != nil {
		t.Fatal(err)
	}
	want := newThrResult("local-thr", 16, 3000, time.Duration(got.ElapsedUS)*time.Microsecond)
	want.AllocsPerMsg = got.AllocsPerMsg
	if got != want || got.AllocsPerMsg < 0 {
		t.Errorf("local-thr -json: %+v, want %+v", got, want)
	}

	var lat latResult
	if err := json.Unmarshal([]byte(startBench(t, "-json", "inproc-lat", "8", "50").waitOK(t)), &lat); err != nil {
		t.Fatal(err)
	}
	if lat.Test != "inproc-lat" || lat.RoundtripCount != 50 || lat.MessageSize != 8 ||
		lat.LatencyUS != float64(lat.ElapsedUS)/100 {
		t.Errorf("inproc-lat -json: %+v", lat)
	}
}

// -cpuprofile writes a pprof profile (gzip-compressed protobuf).
func TestBenchCPUProfile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cpu.prof")
	checkThr(t, startBench(t, "-cpuprofile", file, "inproc-thr", "16", "20000").waitOK(t), 16, 20000)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile of %d octets does not start like gzip: % x", len(b), b[:min(len(b), 8)])
	}
	var out bytes.Buffer
	err = run(context.Background(), []string{"bench", "-cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir"), "inproc-thr", "1", "1"}, nil, &out, &out)
	if err == nil {
		t.Fatal("-cpuprofile into a missing directory did not fail")
	}
}

// local-thr counts exactly COUNT messages: after COUNT-1 it still waits,
// so a wrong-sized message then is an error.
func TestBenchLocalThrCountsExactly(t *testing.T) {
	local := startBench(t, "local-thr", "tcp://127.0.0.1:0", "16", "100")
	push := benchSocket(t, sockets.PUSH)
	if err := push.Connect(local.boundEndpoint(t)); err != nil {
		t.Fatal(err)
	}
	ctx := benchCtx(t)
	m := sockets.NewMsg(make([]byte, 16))
	for range 99 {
		if err := push.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := push.Send(ctx, sockets.NewMsg(make([]byte, 15))); err != nil {
		t.Fatal(err)
	}
	err := local.wait(t)
	if err == nil || !strings.Contains(err.Error(), errBadSize) {
		t.Fatalf("local-thr = %v, want %q", err, errBadSize)
	}
	if local.stdout.String() != "" {
		t.Errorf("local-thr printed %q after failing", local.stdout)
	}
}

// remote-thr sends exactly COUNT messages of SIZE zero octets.
func TestBenchRemoteThrSendsExactly(t *testing.T) {
	pull := benchSocket(t, sockets.PULL)
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	remote := startBench(t, "remote-thr", pull.Endpoints()[0], "5", "1000")
	ctx := benchCtx(t)
	for i := range 1000 {
		m, err := pull.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(m.Frames) != 1 || !bytes.Equal(m.Frames[0], make([]byte, 5)) {
			t.Fatalf("message %d: %q", i, m.Frames)
		}
	}
	remote.waitOK(t)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if m, err := pull.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after 1000 messages: %q, %v; want nothing more", m.Frames, err)
	}
}

// local-lat echoes what it gets and refuses a wrong size.
func TestBenchLocalLatEchoes(t *testing.T) {
	local := startBench(t, "local-lat", "tcp://127.0.0.1:0", "3", "3")
	req := benchSocket(t, sockets.REQ)
	if err := req.Connect(local.boundEndpoint(t)); err != nil {
		t.Fatal(err)
	}
	ctx := benchCtx(t)
	for i := range 2 {
		body := []byte{byte(i), 'a', 'b'}
		if err := req.Send(ctx, sockets.NewMsg(body)); err != nil {
			t.Fatal(err)
		}
		m, err := req.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Frames) != 1 || !bytes.Equal(m.Frames[0], body) {
			t.Fatalf("echo %d: %q, want %q", i, m.Frames, body)
		}
	}
	if err := req.Send(ctx, sockets.NewMsg([]byte("four"))); err != nil {
		t.Fatal(err)
	}
	if err := local.wait(t); err == nil || !strings.Contains(err.Error(), errBadSize) {
		t.Fatalf("local-lat = %v, want %q", err, errBadSize)
	}
}

// An interrupt ends a test that waits for messages, with an error.
func TestBenchInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut benchBuf
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"bench", "local-thr", "tcp://127.0.0.1:0", "16", "10"}, nil, &out, &errOut)
	}()
	p := &benchProc{stderr: &errOut, done: make(chan struct{})}
	p.boundEndpoint(t)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted local-thr = %v, want context.Canceled", err)
		}
	case <-time.After(benchDeadline):
		t.Fatal("local-thr did not end on interrupt")
	}
}

func TestThrResultLikeLibzmq(t *testing.T) {
	r := newThrResult("local-thr", 16, 1000, 1500*time.Microsecond)
	if r.ThroughputMsgS != 666666 || r.ElapsedUS != 1500 {
		t.Errorf("%+v: want 666666 msg/s (truncated) over 1500 us", r)
	}
	// Mb/s come from the truncated rate: 666666*16*8/1e6.
	if r.ThroughputMbS != 85.333248 {
		t.Errorf("Mb/s %v, want 85.333248", r.ThroughputMbS)
	}
	// A run too short to measure counts as 1 us, as local_thr's does.
	if r := newThrResult("local-thr", 1, 3, 0); r.ElapsedUS != 1 || r.ThroughputMsgS != 3_000_000 {
		t.Errorf("zero elapsed: %+v", r)
	}
	var out bytes.Buffer
	r.printHead(&out)
	r.printTail(&out)
	want := "message size: 16 [B]\nmessage count: 1000\nmean throughput: 666666 [msg/s]\nmean throughput: 85.333 [Mb/s]\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func TestLatResultLikeLibzmq(t *testing.T) {
	// remote_lat: elapsed us over (roundtrips * 2).
	r := newLatResult("remote-lat", 1, 1000, 35*time.Millisecond)
	if r.LatencyUS != 17.5 {
		t.Errorf("latency %v, want 17.5", r.LatencyUS)
	}
	var out bytes.Buffer
	r.printHead(&out)
	r.printTail(&out)
	want := "message size: 1 [B]\nroundtrip count: 1000\naverage latency: 17.500 [us]\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}

func benchCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), benchDeadline)
	t.Cleanup(cancel)
	return ctx
}

func benchSocket(t *testing.T, typ sockets.Type) *sockets.Socket {
	t.Helper()
	s, err := sockets.New(typ, sockets.WithLinger(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
