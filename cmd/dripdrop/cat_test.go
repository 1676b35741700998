package main

// Tests of dripdrop cat (DESIGN.md, "CLI contract: dripdrop cat"). Each test
// calls run directly and puts one of our own sockets on the other side:
// either our socket binds tcp://127.0.0.1:0 and cat connects to the port it
// got, or cat binds a unique inproc name and our socket connects (inproc
// connect may come before the bind).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// catDeadline bounds every wait in these tests: a cat that has not ended
// by then is a failure, not a hang.
const catDeadline = 10 * time.Second

// lockedBuffer is a bytes.Buffer safe for concurrent use: cat writes to it
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// catProc is one run of dripdrop cat in a goroutine.
type catProc struct {
	args           []string
	stdout, stderr *lockedBuffer
	cancel         context.CancelFunc // the "interrupt"
	done           chan struct{}
	err            error // valid once done is closed
	started        time.Time
}

// startCat runs "dripdrop cat args..." in a goroutine. The run is cancelled
// (and, if stdin is an io.Closer such as an *io.PipeReader, stdin closed)
// when the test ends, and the goroutine is waited for.
func startCat(t *testing.T, stdin io.Reader, args ...string) *catProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), catDeadline)
	c := &catProc{
		args:    args,
		stdout:  &lockedBuffer{},
		stderr:  &lockedBuffer{},
		cancel:  cancel,
		done:    make(chan struct{}),
		started: time.Now(),
	}
	go func() {
		defer close(c.done)
		c.err = run(ctx, append([]string{"cat"}, args...), stdin, c.stdout, c.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if cl, ok := stdin.(io.Closer); ok {
			cl.Close()
		}
		select {
		case <-c.done:
		case <-time.After(catDeadline):
			t.Errorf("cat %q did not end after cancel and closing stdin", args)
		}
	})
	return c
}

// wait waits for cat to end and returns its error.
func (c *catProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(catDeadline + time.Second):
		t.Fatalf("cat %q still running after %v\nstdout: %q\nstderr: %q",
			c.args, catDeadline, c.stdout.String(), c.stderr.String())
		return nil
	}
}

// waitOK waits for cat to end and fails the test unless it returned nil.
func (c *catProc) waitOK(t *testing.T) {
	t.Helper()
	if err := c.wait(t); err != nil {
		t.Fatalf("cat %q: %v\nstdout: %q\nstderr: %q", c.args, err, c.stdout.String(), c.stderr.String())
	}
}

// stillRunning fails the test if cat ends within d.
func (c *catProc) stillRunning(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case <-c.done:
		t.Fatalf("cat %q ended (err %v) %s\nstdout: %q", c.args, c.err, why, c.stdout.String())
	case <-time.After(d):
	}
}

// waitStdout polls cat's stdout until it equals want.
func (c *catProc) waitStdout(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(catDeadline)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for c.stdout.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("cat %q: stdout %q, want %q", c.args, c.stdout.String(), want)
		}
		select {
		case <-tick.C:
		case <-c.done:
			if got := c.stdout.String(); got != want {
				t.Fatalf("cat %q ended (err %v) with stdout %q, want %q", c.args, c.err, got, want)
			}
		}
	}
}

func (c *catProc) wantStdout(t *testing.T, want string) {
	t.Helper()
	if got := c.stdout.String(); got != want {
		t.Fatalf("cat %q: stdout %q, want %q", c.args, got, want)
	}
}

// testCtx is a context that ends with the test, at the latest after
// catDeadline.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), catDeadline)
	t.Cleanup(cancel)
	return ctx
}

// newSocket creates one of our sockets, closed when the test ends. Unless
// opts say otherwise it does not linger: whatever the test needed has been
// received by then.
func newSocket(t *testing.T, typ sockets.Type, opts ...sockets.Option) *sockets.Socket {
	t.Helper()
	s, err := sockets.New(typ, append([]sockets.Option{sockets.WithLinger(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// bindLocal binds s to an ephemeral loopback port and returns the endpoint.
func bindLocal(t *testing.T, s *sockets.Socket) string {
	t.Helper()
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	eps := s.Endpoints()
	if len(eps) != 1 || !strings.HasPrefix(eps[0], "tcp://127.0.0.1:") || strings.HasSuffix(eps[0], ":0") {
		t.Fatalf("Endpoints() = %q", eps)
	}
	return eps[0]
}

var inprocSeq atomic.Uint64

// inprocEP returns an inproc endpoint no other test uses.
func inprocEP(t *testing.T) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return fmt.Sprintf("inproc://cat-test-%d-%s", inprocSeq.Add(1), name)
}

// endpointFor sets up the two sides of a test: with catBinds, cat binds a
// fresh inproc name and ours connects to it; otherwise ours binds a tcp port
// and cat connects. It returns cat's -bind/-connect arguments.
func endpointFor(t *testing.T, ours *sockets.Socket, catBinds bool) []string {
	t.Helper()
	if catBinds {
		ep := inprocEP(t)
		if err := ours.Connect(ep); err != nil {
			t.Fatal(err)
		}
		return []string{"-bind", ep}
	}
	return []string{"-connect", bindLocal(t, ours)}
}

// sides are the two ways of wiring a test.
var sides = []struct {
	name     string
	catBinds bool
}{
	{"cat-connects-tcp", false},
	{"cat-binds-inproc", true},
}

// args builds a cat command line: flags, then the endpoint flags, then TYPE.
func args(typ string, ep []string, flags ...string) []string {
	return append(append(flags, ep...), typ)
}

func frames(m sockets.Msg) []string {
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

// recvFrames receives one message on s.
func recvFrames(t *testing.T, ctx context.Context, s *sockets.Socket) []string {
	t.Helper()
	m, err := s.Recv(ctx)
	if err != nil {
		t.Fatalf("%s Recv: %v", s.Type(), err)
	}
	return frames(m)
}

func expectFrames(t *testing.T, ctx context.Context, s *sockets.Socket, want ...string) {
	t.Helper()
	if got := recvFrames(t, ctx, s); !slices.Equal(got, want) {
		t.Fatalf("%s received %q, want %q", s.Type(), got, want)
	}
}

func send(t *testing.T, ctx context.Context, s *sockets.Socket, fs ...string) {
	t.Helper()
	if err := s.Send(ctx, sockets.NewMsgString(fs...)); err != nil {
		t.Fatalf("%s Send %q: %v", s.Type(), fs, err)
	}
}

// background runs f in a goroutine whose context is cancelled, and which
// is waited for, when the test ends (before our sockets are closed).
func background(t *testing.T, f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// tickReader is a stdin that yields line once per tick until stop is
// closed, then EOF. It feeds send-only types whose peer needs a moment to
// subscribe (PUB and XPUB drop what nobody has subscribed to yet).
type tickReader struct {
	line string
	tick <-chan time.Time
	stop <-chan struct{}
}

func (r *tickReader) Read(p []byte) (int, error) {
	select {
	case <-r.stop:
		return 0, io.EOF
	case <-r.tick:
		return copy(p, r.line), nil
	}
}

func newTickReader(t *testing.T, line string, stop <-chan struct{}) *tickReader {
	tk := time.NewTicker(time.Millisecond)
	t.Cleanup(tk.Stop)
	return &tickReader{line: line, tick: tk.C, stop: stop}
}

// publishUntil publishes msgs in turn, paced, until done is closed.
func publishUntil(t *testing.T, pub *sockets.Socket, done <-chan struct{}, msgs ...[]string) {
	t.Helper()
	ctx := testCtx(t)
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		case <-ctx.Done():
			t.Fatal("cat did not end while we were publishing")
		case <-tk.C:
		}
		send(t, ctx, pub, msgs[i%len(msgs)]...)
	}
}

// writeLine writes to a pipe stdin within the deadline (io.Pipe writes wait
// for cat to read).
func writeLine(t *testing.T, w *io.PipeWriter, line string) {
	t.Helper()
	res := make(chan error, 1)
	go func() {
		_, err := io.WriteString(w, line)
		res <- err
	}()
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("writing %q to stdin: %v", line, err)
		}
	case <-time.After(catDeadline):
		w.CloseWithError(errors.New("test gave up"))
		<-res
		t.Fatalf("cat did not read %q from stdin", line)
	}
}

// pipeStdin is a stdin that ends only when the test closes the writer.
func pipeStdin(t *testing.T) (*io.PipeReader, *io.PipeWriter) {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	return r, w
}

// watchedStdin is a pipe stdin that tells when cat first reads it.
type watchedStdin struct {
	*io.PipeReader
	w    *io.PipeWriter
	once sync.Once
	read chan struct{} // closed at the first Read
}

// openStdin is a stdin that stays open until the test ends (or closes w).
func openStdin(t *testing.T) *watchedStdin {
	r, w := pipeStdin(t)
	return &watchedStdin{PipeReader: r, w: w, read: make(chan struct{})}
}

func (s *watchedStdin) Read(p []byte) (int, error) {
	s.once.Do(func() { close(s.read) })
	return s.PipeReader.Read(p)
}

// waitRead waits until cat has called Read: from then on it is blocked
// in stdin (the pipe has nothing for it).
func (s *watchedStdin) waitRead(t *testing.T) {
	t.Helper()
	select {
	case <-s.read:
	case <-time.After(catDeadline):
		t.Fatal("cat never read stdin")
	}
}

// ---------------------------------------------------------------- PUSH / PULL

func TestCatPush(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		t.Run(side.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			pull := newSocket(t, sockets.PULL)
			ep := endpointFor(t, pull, side.catBinds)
			c := startCat(t, strings.NewReader("a|b\nc\n"), args("PUSH", ep)...)
			// cat returns at EOF; what it queued is flushed (linger) first.
			c.waitOK(t)
			expectFrames(t, ctx, pull, "a", "b")
			expectFrames(t, ctx, pull, "c")
			c.wantStdout(t, "")
		})
	}
}

func TestCatPushSep(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	pull := newSocket(t, sockets.PULL)
	ep := endpointFor(t, pull, false)
	// Empty frames survive; "|" is an ordinary character with -sep ",".
	c := startCat(t, strings.NewReader("a,b|c\n,\nlast\n"), args("push", ep, "-sep", ",")...)
	c.waitOK(t)
	expectFrames(t, ctx, pull, "a", "b|c")
	expectFrames(t, ctx, pull, "", "")
	expectFrames(t, ctx, pull, "last")
}

func TestCatPull(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		for _, sep := range []string{"", ","} {
			name := side.name + "/sep-default"
			var flags []string
			want := "x|y\nz\n"
			if sep != "" {
				name = side.name + "/sep-comma"
				flags = []string{"-sep", sep}
				want = "x,y\nz\n"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := testCtx(t)
				push := newSocket(t, sockets.PUSH)
				ep := endpointFor(t, push, side.catBinds)
				c := startCat(t, strings.NewReader(""), args("PULL", ep, append(flags, "-n", "2")...)...)
				send(t, ctx, push, "x", "y")
				send(t, ctx, push, "z")
				c.waitOK(t)
				c.wantStdout(t, want)
			})
		}
	}
}

// A PULL prints what arrives until -n is reached; extra messages are not
// printed. They are queued before cat starts (our PUSH connects, so its
// pipe takes them before any peer is there).
func TestCatPullStopsAtN(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	push := newSocket(t, sockets.PUSH)
	ep := endpointFor(t, push, true)
	for _, m := range []string{"one", "two", "three"} {
		send(t, ctx, push, m)
	}
	c := startCat(t, strings.NewReader(""), args("PULL", ep, "-n", "1")...)
	c.waitOK(t)
	c.wantStdout(t, "one\n")
}

// -bind and -connect repeat, and mix: one PULL takes from a PUSH that it
// connected to and from one that connected to it.
func TestCatManyEndpoints(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	push1 := newSocket(t, sockets.PUSH)
	push2 := newSocket(t, sockets.PUSH)
	push3 := newSocket(t, sockets.PUSH)
	var eps []string
	eps = append(eps, endpointFor(t, push1, false)...)
	eps = append(eps, endpointFor(t, push2, false)...)
	eps = append(eps, endpointFor(t, push3, true)...)
	c := startCat(t, strings.NewReader(""), args("PULL", eps, "-n", "3")...)
	send(t, ctx, push1, "one")
	send(t, ctx, push2, "two")
	send(t, ctx, push3, "three")
	c.waitOK(t)
	got := strings.Split(strings.TrimSuffix(c.stdout.String(), "\n"), "\n")
	slices.Sort(got)
	if want := []string{"one", "three", "two"}; !slices.Equal(got, want) {
		t.Fatalf("stdout %q, want the lines %q", c.stdout.String(), want)
	}
}

// ---------------------------------------------------------------- PUB / SUB

func TestCatPub(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		t.Run(side.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			sub := newSocket(t, sockets.SUB)
			if err := sub.Subscribe([]byte("news")); err != nil {
				t.Fatal(err)
			}
			ep := endpointFor(t, sub, side.catBinds)
			stop := make(chan struct{})
			c := startCat(t, newTickReader(t, "news|hello\n", stop), args("PUB", ep)...)
			expectFrames(t, ctx, sub, "news", "hello")
			close(stop) // stdin ends
			c.waitOK(t)
			c.wantStdout(t, "")
		})
	}
}

func TestCatSub(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string // the lines, in any order
	}{
		{"prefix-a", []string{"-sub", "a", "-n", "1"}, []string{"a-kept|1"}},
		{"prefix-b", []string{"-sub", "b", "-n", "1"}, []string{"b-other|2"}},
		{"everything", []string{"-n", "2"}, []string{"a-kept|1", "b-other|2"}},
		{"two-prefixes", []string{"-sub", "a", "-sub", "b", "-n", "2"}, []string{"a-kept|1", "b-other|2"}},
		{"no-match", []string{"-sub", "c", "-n", "1", "-timeout", "300ms"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub := newSocket(t, sockets.PUB)
			ep := bindLocal(t, pub)
			c := startCat(t, strings.NewReader(""), args("SUB", []string{"-connect", ep}, tc.flags...)...)
			publishUntil(t, pub, c.done, []string{"b-other", "2"}, []string{"a-kept", "1"})
			err := c.wait(t)
			if tc.want == nil {
				if err == nil || exitCode(err, io.Discard) != 1 {
					t.Fatalf("cat %q = %v, want a runtime error (nothing matches)", c.args, err)
				}
				c.wantStdout(t, "")
				return
			}
			if err != nil {
				t.Fatalf("cat %q: %v", c.args, err)
			}
			got := strings.Split(strings.TrimSuffix(c.stdout.String(), "\n"), "\n")
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("stdout %q, want the lines %q", c.stdout.String(), tc.want)
			}
		})
	}
}

// SUB is receive-only: its stdin is never read.
func TestCatSubIgnoresStdin(t *testing.T) {
	t.Parallel()
	pub := newSocket(t, sockets.PUB)
	ep := bindLocal(t, pub)
	stdin, _ := pipeStdin(t) // never ends
	c := startCat(t, stdin, "-n", "1", "-connect", ep, "SUB")
	publishUntil(t, pub, c.done, []string{"only"})
	c.waitOK(t)
	c.wantStdout(t, "only\n")
}

// ---------------------------------------------------------------- XPUB / XSUB

func TestCatXPub(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		t.Run(side.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			sub := newSocket(t, sockets.SUB)
			if err := sub.Subscribe(nil); err != nil {
				t.Fatal(err)
			}
			ep := endpointFor(t, sub, side.catBinds)
			stop := make(chan struct{})
			c := startCat(t, newTickReader(t, "x|1\n", stop), args("XPUB", ep)...)
			expectFrames(t, ctx, sub, "x", "1")
			close(stop)
			c.waitOK(t)
			// Send-only: the subscription that arrived is not printed.
			c.wantStdout(t, "")
		})
	}
}

func TestCatXSub(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, want string
		flags      []string
	}{
		{"everything", "", []string{"-n", "1"}},
		{"prefix", "a|1\n", []string{"-sub", "a", "-n", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pub := newSocket(t, sockets.PUB)
			ep := bindLocal(t, pub)
			stdin, _ := pipeStdin(t) // receive-only: stdin is not read
			c := startCat(t, stdin, args("XSUB", []string{"-connect", ep}, tc.flags...)...)
			publishUntil(t, pub, c.done, []string{"b", "2"}, []string{"a", "1"})
			c.waitOK(t)
			got := c.stdout.String()
			if tc.want != "" {
				if got != tc.want {
					t.Fatalf("stdout %q, want %q", got, tc.want)
				}
			} else if got != "a|1\n" && got != "b|2\n" {
				t.Fatalf("stdout %q, want one published message", got)
			}
		})
	}
}

// ---------------------------------------------------------------- REQ / REP

// answerRequests makes rep answer every request with "re:" before its
// first frame.
func answerRequests(t *testing.T, rep *sockets.Socket) {
	background(t, func(ctx context.Context) {
		for {
			m, err := rep.Recv(ctx)
			if err != nil {
				return
			}
			m.Frames[0] = append([]byte("re:"), m.Frames[0]...)
			if err := rep.Send(ctx, sockets.Msg{Frames: m.Frames}); err != nil {
				return
			}
		}
	})
}

func TestCatReq(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		t.Run(side.name, func(t *testing.T) {
			t.Parallel()
			rep := newSocket(t, sockets.REP)
			ep := endpointFor(t, rep, side.catBinds)
			answerRequests(t, rep)
			c := startCat(t, strings.NewReader("q1\nq2|x\n"), args("REQ", ep)...)
			c.waitOK(t)
			c.wantStdout(t, "re:q1\nre:q2|x\n")
		})
	}
}

func TestCatRepEcho(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		t.Run(side.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			req := newSocket(t, sockets.REQ)
			ep := endpointFor(t, req, side.catBinds)
			c := startCat(t, strings.NewReader(""), args("REP", ep, "-echo", "-n", "2")...)
			for _, m := range [][]string{{"r1"}, {"r2", "x"}} {
				send(t, ctx, req, m...)
				expectFrames(t, ctx, req, m...)
			}
			c.waitOK(t)
			c.wantStdout(t, "r1\nr2|x\n")
		})
	}
}

// Without -echo a REP prints each request and answers it with the next
// stdin line.
func TestCatRepAnswersFromStdin(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		t.Run(side.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			req := newSocket(t, sockets.REQ)
			ep := endpointFor(t, req, side.catBinds)
			c := startCat(t, strings.NewReader("ans1\nans2|more\n"), args("REP", ep, "-n", "2")...)
			send(t, ctx, req, "q1")
			expectFrames(t, ctx, req, "ans1")
			send(t, ctx, req, "q2", "y")
			expectFrames(t, ctx, req, "ans2", "more")
			c.waitOK(t)
			c.wantStdout(t, "q1\nq2|y\n")
		})
	}
}

// ---------------------------------------------------------------- DEALER / ROUTER

// routerWithPeer binds a ROUTER on tcp and returns it, its endpoint, and a
// channel of its monitor events.
func routerWithPeer(t *testing.T) (*sockets.Socket, string, <-chan sockets.Event) {
	t.Helper()
	events := make(chan sockets.Event, 64)
	r := newSocket(t, sockets.ROUTER, sockets.WithMonitor(events))
	return r, bindLocal(t, r), events
}

// waitHandshake waits until a peer has joined s (its handshake succeeded),
// so that a ROUTER can route to it.
func waitHandshake(t *testing.T, events <-chan sockets.Event) {
	t.Helper()
	timeout := time.After(catDeadline)
	for {
		select {
		case e := <-events:
			if e.Type == sockets.EventHandshakeSucceeded {
				return
			}
		case <-timeout:
			t.Fatal("no peer joined the socket")
		}
	}
}

func TestCatDealerEcho(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	router, ep, events := routerWithPeer(t)
	c := startCat(t, strings.NewReader(""), "-echo", "-n", "1", "-identity", "cat-dealer", "-connect", ep, "DEALER")
	waitHandshake(t, events)
	send(t, ctx, router, "cat-dealer", "ping", "x")
	expectFrames(t, ctx, router, "cat-dealer", "ping", "x")
	c.waitOK(t)
	c.wantStdout(t, "ping|x\n")
}

// A duplex DEALER with -n 1 ends only when both its stdin has ended and a
// message has arrived, in either order.
func TestCatDealerDuplex(t *testing.T) {
	t.Parallel()
	t.Run("message-then-eof", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		router, ep, _ := routerWithPeer(t)
		stdin, w := pipeStdin(t)
		c := startCat(t, stdin, "-n", "1", "-identity", "d", "-connect", ep, "DEALER")
		writeLine(t, w, "hello|1\n")
		expectFrames(t, ctx, router, "d", "hello", "1")
		send(t, ctx, router, "d", "world")
		c.waitStdout(t, "world\n")
		c.stillRunning(t, 150*time.Millisecond, "before its stdin ended")
		writeLine(t, w, "more\n")
		expectFrames(t, ctx, router, "d", "more")
		w.Close()
		c.waitOK(t)
		c.wantStdout(t, "world\n")
	})
	t.Run("eof-then-message", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		router, ep, _ := routerWithPeer(t)
		c := startCat(t, strings.NewReader("hello\n"), "-n", "1", "-identity", "d", "-connect", ep, "DEALER")
		expectFrames(t, ctx, router, "d", "hello")
		c.stillRunning(t, 150*time.Millisecond, "before any message arrived")
		send(t, ctx, router, "d", "world", "2")
		c.waitOK(t)
		c.wantStdout(t, "world|2\n")
	})
	t.Run("no-n-ends-at-eof", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		router, ep, _ := routerWithPeer(t)
		c := startCat(t, strings.NewReader("a\nb\n"), "-identity", "d", "-connect", ep, "DEALER")
		c.waitOK(t) // stdin ended: done, after the linger flush
		expectFrames(t, ctx, router, "d", "a")
		expectFrames(t, ctx, router, "d", "b")
	})
}

func TestCatRouter(t *testing.T) {
	t.Parallel()
	t.Run("prints-without-identity", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		dealer := newSocket(t, sockets.DEALER, sockets.WithIdentity([]byte("d1")))
		ep := endpointFor(t, dealer, true)
		c := startCat(t, strings.NewReader(""), args("ROUTER", ep, "-n", "1")...)
		send(t, ctx, dealer, "hi", "there")
		c.waitOK(t)
		c.wantStdout(t, "hi|there\n")
	})
	t.Run("echo", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		dealer := newSocket(t, sockets.DEALER, sockets.WithIdentity([]byte("d1")))
		ep := endpointFor(t, dealer, true)
		c := startCat(t, strings.NewReader(""), args("ROUTER", ep, "-echo", "-n", "1")...)
		send(t, ctx, dealer, "ping")
		expectFrames(t, ctx, dealer, "ping")
		c.waitOK(t)
		c.wantStdout(t, "ping\n")
	})
	t.Run("echo-tcp", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		dealer := newSocket(t, sockets.DEALER, sockets.WithIdentity([]byte("d1")))
		ep := endpointFor(t, dealer, false)
		// cat connects to our DEALER, which binds: cat learns the identity
		// from the handshake.
		c := startCat(t, strings.NewReader(""), args("ROUTER", ep, "-echo", "-n", "1")...)
		send(t, ctx, dealer, "ping", "2")
		expectFrames(t, ctx, dealer, "ping", "2")
		c.waitOK(t)
		c.wantStdout(t, "ping|2\n")
	})
	t.Run("sends-by-first-frame", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		dealer := newSocket(t, sockets.DEALER, sockets.WithIdentity([]byte("d1")))
		ep := endpointFor(t, dealer, true)
		stdin, w := pipeStdin(t)
		c := startCat(t, stdin, args("ROUTER", ep, "-n", "1")...)
		send(t, ctx, dealer, "hello")
		c.waitStdout(t, "hello\n") // now cat's ROUTER knows d1
		writeLine(t, w, "d1|back|2\n")
		expectFrames(t, ctx, dealer, "back", "2")
		w.Close()
		c.waitOK(t)
	})
}

// ---------------------------------------------------------------- PAIR

func TestCatPair(t *testing.T) {
	t.Parallel()
	for _, side := range sides {
		t.Run("duplex/"+side.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			pair := newSocket(t, sockets.PAIR)
			ep := endpointFor(t, pair, side.catBinds)
			c := startCat(t, strings.NewReader("from-cat|1\n"), args("PAIR", ep, "-n", "1")...)
			expectFrames(t, ctx, pair, "from-cat", "1")
			send(t, ctx, pair, "from-test")
			c.waitOK(t)
			c.wantStdout(t, "from-test\n")
		})
		t.Run("echo/"+side.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			pair := newSocket(t, sockets.PAIR)
			ep := endpointFor(t, pair, side.catBinds)
			c := startCat(t, strings.NewReader(""), args("PAIR", ep, "-echo", "-n", "2")...)
			for _, m := range [][]string{{"e", "1"}, {"f"}} {
				send(t, ctx, pair, m...)
				expectFrames(t, ctx, pair, m...)
			}
			c.waitOK(t)
			c.wantStdout(t, "e|1\nf\n")
		})
	}
}

// ---------------------------------------------------------------- -timeout

// checkTimeout waits for cat to fail with a runtime error (exit 1) about
// 200 ms after it started.
func checkTimeout(t *testing.T, c *catProc) {
	t.Helper()
	err := c.wait(t)
	elapsed := time.Since(c.started)
	if err == nil {
		t.Fatalf("cat %q = nil, want an error (no message within -timeout)", c.args)
	}
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != 1 {
		t.Fatalf("cat %q: %v: exit %d, want 1", c.args, err, code)
	}
	if !strings.HasPrefix(stderr.String(), "dripdrop: ") {
		t.Errorf("exitCode wrote %q", stderr.String())
	}
	if elapsed < 200*time.Millisecond || elapsed > 5*time.Second {
		t.Fatalf("cat %q returned after %v, want about 200ms", c.args, elapsed)
	}
}

func TestCatTimeout(t *testing.T) {
	t.Parallel()
	t.Run("PULL", func(t *testing.T) {
		t.Parallel()
		c := startCat(t, strings.NewReader(""), "-timeout", "200ms", "-bind", inprocEP(t), "PULL")
		checkTimeout(t, c)
		c.wantStdout(t, "")
	})
	t.Run("SUB", func(t *testing.T) {
		t.Parallel()
		c := startCat(t, strings.NewReader(""), "-timeout", "200ms", "-bind", inprocEP(t), "SUB")
		checkTimeout(t, c)
	})
	t.Run("REQ-no-reply", func(t *testing.T) {
		t.Parallel()
		rep := newSocket(t, sockets.REP) // receives, never answers
		ep := bindLocal(t, rep)
		c := startCat(t, strings.NewReader("q\n"), "-timeout", "200ms", "-connect", ep, "REQ")
		checkTimeout(t, c)
	})
	t.Run("REP", func(t *testing.T) {
		t.Parallel()
		c := startCat(t, strings.NewReader(""), "-timeout", "200ms", "-echo", "-bind", inprocEP(t), "REP")
		checkTimeout(t, c)
	})
	// The timeout is per message: the first one arrives, the second not.
	// The first is queued before cat starts, and the timeout is long
	// enough for it to arrive on a loaded machine.
	t.Run("PULL-second-message", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		push := newSocket(t, sockets.PUSH)
		ep := endpointFor(t, push, true)
		send(t, ctx, push, "first") // waits in the connecting pipe
		c := startCat(t, strings.NewReader(""), args("PULL", ep, "-timeout", "1s", "-n", "2")...)
		c.waitStdout(t, "first\n")
		err := c.wait(t)
		if exitCode(err, io.Discard) != 1 {
			t.Fatalf("cat %q = %v, want exit 1", c.args, err)
		}
		if elapsed := time.Since(c.started); elapsed < time.Second {
			t.Fatalf("cat %q gave up after %v, before its -timeout", c.args, elapsed)
		}
	})
	// Duplex types wait for stdin's end: with stdin still open, -timeout
	// must still end them.
	t.Run("DEALER-stdin-open", func(t *testing.T) {
		t.Parallel()
		stdin, _ := pipeStdin(t)
		c := startCat(t, stdin, "-timeout", "200ms", "-bind", inprocEP(t), "DEALER")
		checkTimeout(t, c)
	})
	t.Run("DEALER-n-stdin-open", func(t *testing.T) {
		t.Parallel()
		stdin, _ := pipeStdin(t)
		c := startCat(t, stdin, "-timeout", "200ms", "-n", "1", "-bind", inprocEP(t), "DEALER")
		checkTimeout(t, c)
	})
	for _, typ := range []string{"ROUTER", "PAIR"} {
		t.Run(typ+"-stdin-open", func(t *testing.T) {
			t.Parallel()
			stdin := openStdin(t)
			c := startCat(t, stdin, "-timeout", "200ms", "-bind", inprocEP(t), typ)
			checkTimeout(t, c)
		})
	}
	// Without -n the timeout is per message too: one arrives, the next not.
	t.Run("DEALER-stdin-open-second-message", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		router, ep, events := routerWithPeer(t)
		stdin := openStdin(t)
		c := startCat(t, stdin, "-timeout", "1s", "-identity", "d", "-connect", ep, "DEALER")
		waitHandshake(t, events)
		send(t, ctx, router, "d", "first")
		c.waitStdout(t, "first\n")
		err := c.wait(t)
		if exitCode(err, io.Discard) != 1 || !strings.Contains(err.Error(), "no message within 1s") {
			t.Fatalf("cat %q = %v, want exit 1: no message within 1s", c.args, err)
		}
	})
}

// ---------------------------------------------------------------- interrupt

// An interrupt (ctx cancelled) ends cat promptly, whatever it is waiting
// for, stdin included, and is a normal end: run returns nil (exit 0).
func TestCatInterrupt(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, c *catProc) {
		t.Helper()
		c.cancel()
		start := time.Now()
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("cat %q still running %v after the interrupt", c.args, time.Since(start))
		}
		if c.err != nil {
			t.Fatalf("cat %q after the interrupt: %v, want nil (exit 0)", c.args, c.err)
		}
	}
	t.Run("PULL-waiting", func(t *testing.T) {
		t.Parallel()
		c := startCat(t, strings.NewReader(""), "-bind", inprocEP(t), "PULL")
		c.stillRunning(t, 50*time.Millisecond, "with nothing to receive")
		check(t, c)
	})
	t.Run("PUSH-no-peer", func(t *testing.T) {
		t.Parallel()
		// Send waits for a peer; stdin has a line ready.
		c := startCat(t, strings.NewReader("x\n"), "-bind", inprocEP(t), "PUSH")
		c.stillRunning(t, 50*time.Millisecond, "with no peer to send to")
		check(t, c)
	})
	// Every type that reads stdin, blocked in a Read of it.
	for _, typ := range []string{"PUSH", "PUB", "XPUB", "REQ", "DEALER", "ROUTER", "PAIR"} {
		t.Run(typ+"-stdin-open", func(t *testing.T) {
			t.Parallel()
			stdin := openStdin(t)
			c := startCat(t, stdin, "-bind", inprocEP(t), typ)
			stdin.waitRead(t)
			check(t, c)
		})
	}
	// REP has printed a request and waits for the stdin line that answers it.
	t.Run("REP-stdin-open", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		req := newSocket(t, sockets.REQ)
		ep := endpointFor(t, req, true)
		stdin := openStdin(t)
		c := startCat(t, stdin, args("REP", ep)...)
		send(t, ctx, req, "question")
		c.waitStdout(t, "question\n")
		stdin.waitRead(t)
		check(t, c)
	})
	// REQ blocked in Recv, waiting for a reply that never comes.
	t.Run("REQ-waiting-for-reply", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		rep := newSocket(t, sockets.REP) // receives, never answers
		ep := endpointFor(t, rep, false)
		stdin := openStdin(t)
		c := startCat(t, stdin, args("REQ", ep)...)
		writeLine(t, stdin.w, "q\n")
		expectFrames(t, ctx, rep, "q")
		check(t, c)
	})
}

// At the interrupt, what cat has queued is still delivered, within
// -linger. cat's PUSH connects to an inproc name nobody has bound yet, so
// its messages wait in the pipe; we bind only after the interrupt.
func TestCatInterruptFlushes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ep := inprocEP(t)
	stdin := openStdin(t)
	c := startCat(t, stdin, "-linger", "30s", "-connect", ep, "PUSH")
	// cat reads "3" only after it has handed "2" on, which it does only
	// after "1" has been queued.
	for _, l := range []string{"1\n", "2\n", "3\n"} {
		writeLine(t, stdin.w, l)
	}
	c.cancel()
	c.stillRunning(t, 50*time.Millisecond, "with a message queued and no peer")
	pull := newSocket(t, sockets.PULL)
	if err := pull.Bind(ep); err != nil {
		t.Fatal(err)
	}
	expectFrames(t, ctx, pull, "1")
	c.waitOK(t)
}

// ---------------------------------------------------------------- usage

func TestCatUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args func(ep string) []string
	}{
		{"no-type", func(ep string) []string { return []string{"-bind", ep} }},
		{"nothing", func(string) []string { return nil }},
		{"two-types", func(ep string) []string { return []string{"-bind", ep, "PUSH", "PULL"} }},
		{"unknown-type", func(ep string) []string { return []string{"-bind", ep, "SPIGOT"} }},
		{"no-endpoint", func(string) []string { return []string{"PUSH"} }},
		{"echo-on-push", func(ep string) []string { return []string{"-echo", "-bind", ep, "PUSH"} }},
		{"echo-on-pull", func(ep string) []string { return []string{"-echo", "-bind", ep, "PULL"} }},
		{"echo-on-pub", func(ep string) []string { return []string{"-echo", "-bind", ep, "PUB"} }},
		{"echo-on-req", func(ep string) []string { return []string{"-echo", "-bind", ep, "REQ"} }},
		{"sub-on-pull", func(ep string) []string { return []string{"-sub", "a", "-bind", ep, "PULL"} }},
		{"sub-on-pub", func(ep string) []string { return []string{"-sub", "a", "-bind", ep, "PUB"} }},
		{"n-negative", func(ep string) []string { return []string{"-n", "-1", "-bind", ep, "PULL"} }},
		{"n-not-a-number", func(ep string) []string { return []string{"-n", "many", "-bind", ep, "PULL"} }},
		{"timeout-not-a-duration", func(ep string) []string { return []string{"-timeout", "soon", "-bind", ep, "PULL"} }},
		{"unknown-flag", func(ep string) []string { return []string{"-bogus", "-bind", ep, "PULL"} }},
		{"empty-sep", func(ep string) []string { return []string{"-sep", "", "-bind", ep, "PULL"} }},
		{"identity-too-long", func(ep string) []string {
			return []string{"-identity", strings.Repeat("x", 256), "-bind", ep, "DEALER"}
		}},
		{"plain-server-without-user", func(ep string) []string { return []string{"-plain-server", "-bind", ep, "PULL"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ep := inprocEP(t)
			var stdout, stderr bytes.Buffer
			ctx := testCtx(t)
			err := run(ctx, append([]string{"cat"}, tc.args(ep)...), strings.NewReader("x\n"), &stdout, &stderr)
			if !errors.Is(err, errUsage) {
				t.Fatalf("cat %q = %v, want a usage error", tc.args(ep), err)
			}
			if code := exitCode(err, &stderr); code != 2 {
				t.Fatalf("cat %q: exit %d, want 2", tc.args(ep), code)
			}
			if stdout.Len() != 0 {
				t.Errorf("cat %q wrote to stdout: %q", tc.args(ep), stdout.String())
			}
			// Nothing was left bound.
			s := newSocket(t, sockets.PULL)
			if err := s.Bind(ep); err != nil {
				t.Fatalf("after the usage error, binding %s: %v", ep, err)
			}
		})
	}
}

// Failures that are not the command line's fault exit 1.
func TestCatRuntimeErrors(t *testing.T) {
	t.Parallel()
	t.Run("address-in-use", func(t *testing.T) {
		t.Parallel()
		ep := inprocEP(t)
		s := newSocket(t, sockets.PULL)
		if err := s.Bind(ep); err != nil {
			t.Fatal(err)
		}
		c := startCat(t, strings.NewReader(""), "-bind", ep, "PULL")
		err := c.wait(t)
		if !errors.Is(err, sockets.ErrAddrInUse) {
			t.Fatalf("cat %q = %v, want ErrAddrInUse", c.args, err)
		}
		if code := exitCode(err, io.Discard); code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
	})
}

// ---------------------------------------------------------------- PLAIN

func TestCatPlainServer(t *testing.T) {
	t.Parallel()
	t.Run("right-password", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		push := newSocket(t, sockets.PUSH, sockets.WithPlainClient("admin", "secret"))
		ep := bindLocal(t, push)
		c := startCat(t, strings.NewReader(""),
			"-plain-server", "-plain-user", "admin", "-plain-pass", "secret", "-n", "1", "-connect", ep, "PULL")
		send(t, ctx, push, "classified", "1")
		c.waitOK(t)
		c.wantStdout(t, "classified|1\n")
	})
	for _, cred := range [][2]string{{"admin", "wrong"}, {"mallory", "secret"}} {
		t.Run("wrong-"+cred[0]+"-"+cred[1], func(t *testing.T) {
			t.Parallel()
			events := make(chan sockets.Event, 64)
			push := newSocket(t, sockets.PUSH, sockets.WithPlainClient(cred[0], cred[1]), sockets.WithMonitor(events))
			ep := bindLocal(t, push)
			c := startCat(t, strings.NewReader(""),
				"-plain-server", "-plain-user", "admin", "-plain-pass", "secret",
				"-timeout", "500ms", "-n", "1", "-connect", ep, "PULL")
			// Our PUSH keeps trying to deliver; the handshake must never
			// let it.
			background(t, func(ctx context.Context) { push.Send(ctx, sockets.NewMsgString("leak")) })
			// cat's authenticator refuses the credentials: our client is
			// told so with ERROR "400" (RFC 27's status for a denial).
			err := firstHandshakeFailure(t, events)
			var refusal *zmtp.PeerError
			if !errors.Is(err, zmtp.ErrAuth) || !errors.As(err, &refusal) || refusal.Reason != zmtp.StatusDenied {
				t.Fatalf("our client's handshake failed with %v, want an ERROR %q from cat", err, zmtp.StatusDenied)
			}
			checkRefused(t, c, c.wait(t))
		})
	}
}

func TestCatPlainClient(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	auth := zmtp.AuthenticatorFunc(func(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
		if r.Username == "admin" && r.Password == "secret" {
			return zmtp.AuthResult{Status: zmtp.StatusOK, UserID: "admin"}, nil
		}
		return zmtp.AuthResult{Status: zmtp.StatusDenied}, nil
	})
	pull := newSocket(t, sockets.PULL, sockets.WithPlainServer(auth))
	ep := bindLocal(t, pull)
	c := startCat(t, strings.NewReader("hello|plain\n"), "-plain-user", "admin", "-plain-pass", "secret", "-connect", ep, "PUSH")
	c.waitOK(t)
	m, err := pull.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := frames(m); !slices.Equal(got, []string{"hello", "plain"}) {
		t.Fatalf("received %q", got)
	}
	if m.Peer == nil || m.Peer.UserID != "admin" {
		t.Fatalf("peer %+v, want User-Id admin", m.Peer)
	}
}
