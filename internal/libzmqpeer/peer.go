// Package libzmqpeer runs a real libzmq socket (through pyzmq) in a
// subprocess so that tests can check dripdrop against the reference
// implementation. It is a test kit: import it only from _test.go files.
//
// A Peer is one libzmq socket in one Python process (peer.py, next to this
// file). It is configured from Options, binds and/or connects, and is then
// driven by line commands (see peer.py for the protocol). Every call has a
// deadline; a peer that does not answer in time is killed and the call fails
// with its stderr attached, so a test never hangs on it.
//
//	libzmqpeer.Require(t)
//	p := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PULL", Bind: []string{"tcp://127.0.0.1:0"}})
//	// ... connect a dripdrop PUSH to p.Endpoint() and send ...
//	msg, err := p.Recv()
//
// Frames travel hex-encoded ("-" is an empty frame). The sendn / recvcheck
// convention: message i (from 0) is SIZE bytes, the first min(8, SIZE) bytes
// hold i big-endian (for SIZE < 8 the low-order SIZE bytes of the 8-byte
// big-endian index), the rest is 0x00. Payload and CheckPayload implement it
// for the Go side.
package libzmqpeer

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Python is the interpreter used for pyzmq. The environment variable
// LIBZMQPEER_PYTHON overrides it.
const Python = "/usr/bin/python3"

// Default deadlines.
const (
	DefaultTimeout = 30 * time.Second // one reply line (Options.Timeout)
	StartTimeout   = 20 * time.Second // until READY
	CloseTimeout   = 5 * time.Second  // from quit to exit, before the kill
)

//go:embed peer.py
var peerSource string

// Options configure a peer. Type is a libzmq socket type name (PUSH, PULL,
// PUB, SUB, XPUB, XSUB, REQ, REP, DEALER, ROUTER, PAIR). Bind endpoints may
// use port 0 ("tcp://127.0.0.1:0"), which is translated to libzmq's "*".
// Args are extra peer.py flags, e.g. "--rcvtimeo", "500", "--plain-server".
type Options struct {
	Type    string
	Bind    []string
	Connect []string
	Args    []string

	// Timeout bounds the wait for each reply line; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Peer is a running libzmq socket. Its methods are safe for concurrent use;
// commands are executed one at a time.
type Peer struct {
	name     string
	timeout  time.Duration
	cmd      *exec.Cmd
	stdin    *os.File
	stderr   *lockedBuffer
	endpoint string
	bound    []string

	mu     sync.Mutex // serializes commands; guards dead, closed
	dead   error      // set once the process was killed or is gone
	closed bool

	qmu    sync.Mutex // guards lines, eof
	lines  []string
	eof    bool
	notify chan struct{}

	done    chan struct{} // closed once stdout hit EOF and Wait returned
	waitErr error

	closeOnce  sync.Once
	closeErr   error
	userClosed bool // Close was called by the test (guarded by mu)
	killed     bool // Kill was called by the test (guarded by mu)
}

var avail struct {
	once    sync.Once
	err     error
	version string
}

func python() string {
	if p := os.Getenv("LIBZMQPEER_PYTHON"); p != "" {
		return p
	}
	return Python
}

// Available reports whether a libzmq peer can be started: nil if the Python
// interpreter exists and imports zmq (and zmq.auth.thread), else an error
// saying what is missing. The answer is cached.
func Available() error {
	avail.once.Do(func() {
		py := python()
		if _, err := os.Stat(py); err != nil {
			avail.err = fmt.Errorf("libzmqpeer: no Python interpreter at %s (install python3-zmq): %w", py, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		var out, errb bytes.Buffer
		c := exec.CommandContext(ctx, py, "-c", "import zmq, zmq.auth.thread; print(zmq.zmq_version())")
		c.Stdout, c.Stderr = &out, &errb
		c.WaitDelay = time.Second
		if err := c.Run(); err != nil {
			avail.err = fmt.Errorf("libzmqpeer: %s cannot import zmq (install python3-zmq): %v: %s",
				py, err, strings.TrimSpace(errb.String()))
			return
		}
		avail.version = strings.TrimSpace(out.String())
		if avail.version == "" {
			avail.err = fmt.Errorf("libzmqpeer: %s printed no libzmq version", py)
		}
	})
	return avail.err
}

// Version returns the libzmq version pyzmq is linked with ("4.3.4"), or ""
// when no peer is available.
func Version() string {
	if Available() != nil {
		return ""
	}
	return avail.version
}

// Require skips the test when no libzmq peer is available, or fails it when
// the environment variable CI is "true" (CI must have pyzmq installed).
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		_, err = scriptArgs()
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("libzmq peer required in CI: %v", err)
	}
	t.Skipf("libzmq peer unavailable: %v", err)
}

// ScriptPath is the path of peer.py next to this source file, or "" when the
// source tree is not at hand (e.g. a -trimpath build); then the embedded copy
// is run with python -c.
func ScriptPath() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	p := filepath.Join(filepath.Dir(file), "peer.py")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func scriptArgs() ([]string, error) {
	if p := ScriptPath(); p != "" {
		return []string{"-u", p}, nil
	}
	if peerSource == "" {
		return nil, errors.New("libzmqpeer: peer.py not found")
	}
	return []string{"-u", "-c", peerSource}, nil
}

// Start launches a peer and waits (at most StartTimeout) for it to bind and
// connect. It fails the test, with the peer's stderr, if that does not
// happen, and skips it (see Require) if no peer is available. The peer is
// closed by t.Cleanup; an unexpected non-zero exit then fails the test.
func Start(t testing.TB, o Options) *Peer {
	t.Helper()
	Require(t)
	p, err := start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		user := p.userClosed
		p.mu.Unlock()
		if err := p.close(); err != nil && !user {
			t.Errorf("%v", err)
		}
	})
	return p
}

func start(o Options) (*Peer, error) {
	if o.Type == "" {
		return nil, errors.New("libzmqpeer: Options.Type is empty")
	}
	args, err := scriptArgs()
	if err != nil {
		return nil, err
	}
	args = append(args, "--type", o.Type)
	for _, ep := range o.Bind {
		args = append(args, "--bind", ep)
	}
	for _, ep := range o.Connect {
		args = append(args, "--connect", ep)
	}
	args = append(args, o.Args...)

	p := &Peer{
		name:    fmt.Sprintf("libzmq %s peer", strings.ToUpper(o.Type)),
		timeout: o.Timeout,
		stderr:  &lockedBuffer{},
		notify:  make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	c := exec.Command(python(), args...)
	c.Stdin = inR
	c.Stdout = outW
	c.Stderr = p.stderr
	c.WaitDelay = 2 * time.Second
	c.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	if err := c.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("libzmqpeer: start %s: %w", python(), err)
	}
	inR.Close()
	outW.Close()
	p.cmd = c
	p.stdin = inW
	go p.readLoop(outR)

	// Wait for BOUND* READY.
	deadline := time.Now().Add(StartTimeout)
	for {
		line, err := p.readLine(deadline)
		if err != nil {
			p.kill()
			<-p.done
			return nil, fmt.Errorf("libzmqpeer: %s %v did not become ready: %v (exit: %v)\nstderr:\n%s",
				p.name, args[2:], err, p.waitErr, p.Stderr())
		}
		switch {
		case strings.HasPrefix(line, "BOUND "):
			p.bound = append(p.bound, strings.TrimPrefix(line, "BOUND "))
		case strings.HasPrefix(line, "READY "):
			p.endpoint = strings.TrimPrefix(line, "READY ")
			return p, nil
		default:
			p.kill()
			<-p.done
			return nil, fmt.Errorf("libzmqpeer: %s: unexpected line %q before READY\nstderr:\n%s",
				p.name, line, p.Stderr())
		}
	}
}

// readLoop owns stdout: it queues every line, and at EOF reaps the process.
func (p *Peer) readLoop(r *os.File) {
	defer close(p.done)
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			p.qmu.Lock()
			p.lines = append(p.lines, strings.TrimRight(line, "\r\n"))
			p.qmu.Unlock()
			p.signal()
		}
		if err != nil {
			break
		}
	}
	r.Close()
	p.waitErr = p.cmd.Wait()
	p.qmu.Lock()
	p.eof = true
	p.qmu.Unlock()
	p.signal()
}

func (p *Peer) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

var errNoReply = errors.New("no reply")

func (p *Peer) readLine(deadline time.Time) (string, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.qmu.Lock()
		if len(p.lines) > 0 {
			l := p.lines[0]
			p.lines[0] = ""
			p.lines = p.lines[1:]
			p.qmu.Unlock()
			return l, nil
		}
		eof := p.eof
		p.qmu.Unlock()
		if eof {
			return "", errors.New("peer process exited")
		}
		d := time.Until(deadline)
		if d <= 0 {
			return "", errNoReply
		}
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-p.notify:
		case <-timer.C:
		}
	}
}

func (p *Peer) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
}

// Endpoint is the endpoint the peer reported when ready: libzmq's
// ZMQ_LAST_ENDPOINT, which for a TCP bind carries the real port.
func (p *Peer) Endpoint() string { return p.endpoint }

// Bound lists the resolved endpoints of all --bind options, in order.
func (p *Peer) Bound() []string { return append([]string(nil), p.bound...) }

// Stderr returns what the peer has written to stderr so far.
func (p *Peer) Stderr() string { return p.stderr.String() }

// Cmd sends one raw command line and returns its reply lines: N lines for
// "recvn N" (fewer if one is not a MSG line), one line otherwise. The error is
// non-nil when the last line is ERR or TIMEOUT (the lines are returned too),
// or when the peer did not answer within the timeout (it is then killed), or
// is gone.
func (p *Peer) Cmd(line string) ([]string, error) {
	return p.CmdTimeout(line, 0)
}

// CmdTimeout is Cmd with a per-line reply timeout (0: Options.Timeout).
func (p *Peer) CmdTimeout(line string, timeout time.Duration) ([]string, error) {
	if timeout <= 0 {
		timeout = p.timeout
	}
	line = strings.TrimSpace(line)
	if strings.ContainsAny(line, "\n\r") {
		return nil, fmt.Errorf("libzmqpeer: command contains a newline")
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, errors.New("libzmqpeer: empty command")
	}
	if fields[0] == "quit" {
		return nil, errors.New("libzmqpeer: use Close, not quit")
	}
	want := 1
	if fields[0] == "recvn" && len(fields) > 1 {
		n, err := strconv.Atoi(fields[1])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("libzmqpeer: bad count in %q", line)
		}
		want = n
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead != nil {
		return nil, p.dead
	}
	if p.closed {
		return nil, fmt.Errorf("libzmqpeer: %s is closed", p.name)
	}
	_ = p.stdin.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return nil, p.fail(short(line), fmt.Errorf("write: %w", err))
	}
	var lines []string
	for len(lines) < want {
		l, err := p.readLine(time.Now().Add(timeout))
		if err != nil {
			if errors.Is(err, errNoReply) {
				err = fmt.Errorf("no reply within %v", timeout)
			}
			return lines, p.fail(short(line), err)
		}
		lines = append(lines, l)
		if fields[0] == "recvn" && !strings.HasPrefix(l, "MSG") {
			break
		}
	}
	if len(lines) > 0 {
		last := lines[len(lines)-1]
		if strings.HasPrefix(last, "ERR") || strings.HasPrefix(last, "TIMEOUT") {
			return lines, fmt.Errorf("libzmqpeer: %s: %s: %s", p.name, short(line), last)
		}
	}
	return lines, nil
}

// fail kills the process and records why; p.mu is held.
func (p *Peer) fail(what string, err error) error {
	p.kill()
	select {
	case <-p.done:
	case <-time.After(CloseTimeout):
	}
	p.dead = fmt.Errorf("libzmqpeer: %s: %s: %v; peer killed\nstderr:\n%s", p.name, what, err, p.Stderr())
	return p.dead
}

func short(line string) string {
	if len(line) > 80 {
		return line[:77] + "..."
	}
	return line
}

// EncodeFrames renders frames in the peer's line format.
func EncodeFrames(frames [][]byte) string {
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteByte(' ')
		}
		if len(f) == 0 {
			b.WriteByte('-')
		} else {
			b.WriteString(hex.EncodeToString(f))
		}
	}
	return b.String()
}

// DecodeFrames parses a MSG line ("MSG f1 f2 ...") or bare frame tokens.
func DecodeFrames(line string) ([][]byte, error) {
	toks := strings.Fields(line)
	if len(toks) > 0 && toks[0] == "MSG" {
		toks = toks[1:]
	}
	frames := make([][]byte, 0, len(toks))
	for _, tok := range toks {
		if tok == "-" {
			frames = append(frames, []byte{})
			continue
		}
		f, err := hex.DecodeString(tok)
		if err != nil {
			return nil, fmt.Errorf("libzmqpeer: bad frame %q: %w", short(tok), err)
		}
		frames = append(frames, f)
	}
	return frames, nil
}

// Send sends one multipart message (at least one frame; none sends one
// empty frame).
func (p *Peer) Send(frames ...[]byte) error {
	if len(frames) == 0 {
		frames = [][]byte{{}}
	}
	_, err := p.Cmd("send " + EncodeFrames(frames))
	return err
}

// Recv receives one multipart message; it fails on the peer's --rcvtimeo.
func (p *Peer) Recv() ([][]byte, error) {
	lines, err := p.Cmd("recv")
	if err != nil {
		return nil, err
	}
	return parseMsg(lines[0])
}

// RecvN receives n messages.
func (p *Peer) RecvN(n int) ([][][]byte, error) {
	lines, err := p.Cmd(fmt.Sprintf("recvn %d", n))
	msgs := make([][][]byte, 0, len(lines))
	for _, l := range lines {
		if !strings.HasPrefix(l, "MSG") {
			break
		}
		m, perr := parseMsg(l)
		if perr != nil {
			return msgs, perr
		}
		msgs = append(msgs, m)
	}
	return msgs, err
}

func parseMsg(line string) ([][]byte, error) {
	if line != "MSG" && !strings.HasPrefix(line, "MSG ") {
		return nil, fmt.Errorf("libzmqpeer: unexpected reply %q", short(line))
	}
	return DecodeFrames(line)
}

// SendN has the peer send n messages of size bytes (see Payload), each
// preceded by the prefix frames.
func (p *Peer) SendN(n, size int, prefix ...[]byte) error {
	cmd := fmt.Sprintf("sendn %d %d", n, size)
	if len(prefix) > 0 {
		cmd += " " + EncodeFrames(prefix)
	}
	_, err := p.Cmd(cmd)
	return err
}

// SendFrom is SendN for the messages start to start+n-1 of the convention,
// so that one stream can be sent in several commands.
func (p *Peer) SendFrom(start, n, size int, prefix ...[]byte) error {
	cmd := fmt.Sprintf("sendfrom %d %d %d", start, n, size)
	if len(prefix) > 0 {
		cmd += " " + EncodeFrames(prefix)
	}
	_, err := p.Cmd(cmd)
	return err
}

// RecvCheck has the peer receive n messages, in order, each exactly the
// prefix frames followed by message i of the Payload convention: the frame
// count, every prefix frame and the payload are compared, and the error
// names the first message and frame that differ.
func (p *Peer) RecvCheck(n, size int, prefix ...[]byte) error {
	cmd := fmt.Sprintf("recvcheck %d %d", n, size)
	if len(prefix) > 0 {
		cmd += " " + EncodeFrames(prefix)
	}
	_, err := p.Cmd(cmd)
	return err
}

// ReqN has a REQ peer make n round trips by itself: request i is the prefix
// frames followed by message i of the Payload convention, and each reply
// must be the same frames (an echo), checked as RecvCheck does.
func (p *Peer) ReqN(n, size int, prefix ...[]byte) error {
	cmd := fmt.Sprintf("reqn %d %d", n, size)
	if len(prefix) > 0 {
		cmd += " " + EncodeFrames(prefix)
	}
	_, err := p.Cmd(cmd)
	return err
}

// Echo has the peer receive n messages and send each back unchanged.
func (p *Peer) Echo(n int) error {
	_, err := p.Cmd(fmt.Sprintf("echo %d", n))
	return err
}

// Subscribe subscribes a SUB (socket option) or XSUB (0x01 frame) peer.
func (p *Peer) Subscribe(topic []byte) error {
	_, err := p.Cmd("sub " + EncodeFrames([][]byte{topic}))
	return err
}

// Unsubscribe cancels a subscription.
func (p *Peer) Unsubscribe(topic []byte) error {
	_, err := p.Cmd("unsub " + EncodeFrames([][]byte{topic}))
	return err
}

// Events returns the socket monitor events seen so far as "NAME:VALUE"
// (e.g. "HANDSHAKE_SUCCEEDED:0"); the peer must run with --monitor.
func (p *Peer) Events() ([]string, error) {
	lines, err := p.Cmd("events")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(lines[0])
	if len(f) == 0 || f[0] != "EVENTS" {
		return nil, fmt.Errorf("libzmqpeer: unexpected reply %q", lines[0])
	}
	return f[1:], nil
}

// Payload returns message i of the sendn convention.
func Payload(i uint64, size int) []byte {
	b := make([]byte, size)
	var idx [8]byte
	binary.BigEndian.PutUint64(idx[:], i)
	if size < 8 {
		copy(b, idx[8-size:])
	} else {
		copy(b, idx[:])
	}
	return b
}

// CheckPayload verifies that b is message i of the sendn convention.
func CheckPayload(i uint64, size int, b []byte) error {
	if len(b) != size {
		return fmt.Errorf("message %d: size %d, want %d", i, len(b), size)
	}
	want := Payload(i, size)
	if !bytes.Equal(b, want) {
		n := min(size, 8)
		if !bytes.Equal(b[:n], want[:n]) {
			return fmt.Errorf("message %d: index %x, want %x", i, b[:n], want[:n])
		}
		return fmt.Errorf("message %d: padding is not all 0x00", i)
	}
	return nil
}

// Kill kills the peer process at once (to test a vanishing peer). Close
// after Kill reports no error for the kill.
func (p *Peer) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killed = true
	p.kill()
	select {
	case <-p.done:
	case <-time.After(CloseTimeout):
	}
	if p.dead == nil {
		p.dead = fmt.Errorf("libzmqpeer: %s was killed", p.name)
	}
}

// Close sends quit and waits for the peer to exit (CloseTimeout, then it is
// killed). The peer closes its socket with linger 0 unless it was started
// with "--linger MS", so messages it still has queued are dropped. It returns an error, with the peer's stderr, if the peer exited
// non-zero or had to be killed. It waits for every goroutine it started and
// is idempotent.
func (p *Peer) Close() error {
	p.mu.Lock()
	p.userClosed = true
	p.mu.Unlock()
	return p.close()
}

func (p *Peer) close() error {
	p.closeOnce.Do(func() { p.closeErr = p.doClose() })
	return p.closeErr
}

func (p *Peer) doClose() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var why error
	if p.dead == nil {
		_ = p.stdin.SetWriteDeadline(time.Now().Add(CloseTimeout))
		_, _ = io.WriteString(p.stdin, "quit\n")
	}
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(CloseTimeout):
		why = fmt.Errorf("did not exit within %v of quit; killed", CloseTimeout)
		p.kill()
		select {
		case <-p.done:
		case <-time.After(2 * CloseTimeout):
			return fmt.Errorf("libzmqpeer: %s: cannot reap the process\nstderr:\n%s", p.name, p.Stderr())
		}
	}
	if p.killed {
		return nil
	}
	if p.dead != nil {
		return p.dead
	}
	if why == nil && p.waitErr != nil {
		why = fmt.Errorf("exit: %v", p.waitErr)
	}
	if why != nil {
		return fmt.Errorf("libzmqpeer: %s: %v\nstderr:\n%s", p.name, why, p.Stderr())
	}
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	const max = 1 << 20 // keep the first MiB: enough for a traceback
	if room := max - l.b.Len(); room > 0 {
		if len(b) > room {
			l.b.Write(b[:room])
		} else {
			l.b.Write(b)
		}
	}
	return len(b), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
