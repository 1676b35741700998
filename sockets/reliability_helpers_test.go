package sockets

// Helpers for the reliability and hostile-peer tests (reliability matrix
// §7 R06–R24 and §8). The raw ZMTP bytes here are built from the RFC 23/37
// grammar by hand, not with package zmtp's encoders, so that a hostile
// peer can say things our own encoder never would.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// relNew creates a socket closed by t.Cleanup (a second Close is harmless).
func relNew(t testing.TB, typ Type, opts ...Option) *Socket {
	t.Helper()
	s, err := New(typ, opts...)
	if err != nil {
		t.Fatalf("New(%v): %v", typ, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// relConnect connects s to ep; a refused Connect fails the test.
func relConnect(t testing.TB, s *Socket, ep string) {
	t.Helper()
	if err := s.Connect(ep); err != nil {
		t.Fatalf("Connect(%s): %v", ep, err)
	}
}

// relSubscribe subscribes s to prefix; a refusal fails the test.
func relSubscribe(t testing.TB, s *Socket, prefix []byte) {
	t.Helper()
	if err := s.Subscribe(prefix); err != nil {
		t.Fatalf("Subscribe(%q): %v", prefix, err)
	}
}

// relBind binds s to a fresh endpoint of the transport and returns the
// endpoint to connect to.
func relBind(t testing.TB, s *Socket, transport string) string {
	t.Helper()
	var ep string
	switch transport {
	case TCP:
		ep = "tcp://127.0.0.1:0"
	case IPC:
		ep = "ipc://" + relTempDir(t) + "/s"
	case Inproc:
		ep = fmt.Sprintf("inproc://rel-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), relUniq())
	default:
		t.Fatalf("transport %q", transport)
	}
	if err := s.Bind(ep); err != nil {
		t.Fatalf("Bind(%s): %v", ep, err)
	}
	if transport == TCP {
		return s.Endpoints()[0]
	}
	return ep
}

// relBindReserved binds s to a tcp port reserved for the test
// (relReservePort), for tests that close or unbind it and bind it again:
// no other bind can take the port in between.
func relBindReserved(t testing.TB, s *Socket) string {
	t.Helper()
	ep := relDeadTCP(t)
	if err := s.Bind(ep); err != nil {
		t.Fatalf("Bind(%s): %v", ep, err)
	}
	return ep
}

var relUniqMu sync.Mutex
var relUniqN int

func relUniq() int {
	relUniqMu.Lock()
	defer relUniqMu.Unlock()
	relUniqN++
	return relUniqN
}

// relTempDir is a temporary directory with a path short enough for a
// unix socket (t.TempDir can exceed the 107-octet limit for long test
// names).
func relTempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "dd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// relTCPAddr strips "tcp://".
func relTCPAddr(ep string) string { return strings.TrimPrefix(ep, "tcp://") }

// relDeadTCP returns a tcp endpoint where nobody listens, and where
// nothing else will listen while the test runs unless the test binds it
// (relReservePort).
func relDeadTCP(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("tcp://127.0.0.1:%d", relReservePort(t))
}

// relReservePort reserves a port on 127.0.0.1 until the test ends, without
// listening on it. Listening on a port and closing it to hand it to the
// test would free it for any bind to port 0 in the meantime (another
// test's, another package's): the test would connect to a stranger.
// Instead the port stays bound, with SO_REUSEADDR, by a socket that never
// listens: connections to it are refused, the kernel picks it for no bind
// to port 0 (it autobinds only to ports nobody holds, unless
// net.ipv4.ip_autobind_reuse is set), and a listener that asks for it by
// number may still take it, as Go's listeners set SO_REUSEADDR too (Linux
// lets a listener share a port with bound sockets that do not listen).
func relReservePort(t testing.TB) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok || in4.Port == 0 {
		t.Fatalf("reserved port: getsockname gave %#v", sa)
	}
	return in4.Port
}

func relCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// relSendT sends with its own timeout.
func relSendT(s *Socket, d time.Duration, m Msg) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Send(ctx, m)
}

// relRecvT receives with its own timeout.
// relSendAll sends messages 0 to count-1, frames(k) each, from a goroutine
// of its own, and reports the first failure (or nil) on the channel.
func relSendAll(s *Socket, count int, frames func(k int) [][]byte) <-chan error {
	sent := make(chan error, 1)
	go func() {
		for k := range count {
			if err := relSendT(s, 10*time.Second, NewMsg(frames(k)...)); err != nil {
				sent <- fmt.Errorf("send %d: %w", k, err)
				return
			}
		}
		sent <- nil
	}()
	return sent
}

func relRecvT(s *Socket, d time.Duration) (Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Recv(ctx)
}

// relWatchdog crashes the test binary, with every goroutine's stack, if the
// test is still running after d: a deadlock must not hang CI (libzmq's
// alarm in test_shutdown_stress).
func relWatchdog(t testing.TB, d time.Duration) {
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 8<<20)
		n := runtime.Stack(buf, true)
		fmt.Fprintf(os.Stderr, "relWatchdog: %s still running after %v; goroutines:\n%s\n", name, d, buf[:n])
		panic("relWatchdog: " + name + " deadlocked")
	})
	t.Cleanup(func() { timer.Stop() })
}

// relWaitUntil polls cond every millisecond until it holds or d passes.
func relWaitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}

// relWaitRouterPeer waits until a ROUTER routes to identity id (the
// connection is made in the background), without sending anything.
func relWaitRouterPeer(t testing.TB, r *Socket, id string) {
	t.Helper()
	rs := r.beh.(*routerSocket)
	if !relWaitUntil(5*time.Second, func() bool {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return rs.byID[id] != nil
	}) {
		t.Fatalf("the ROUTER never learnt the peer %q", id)
	}
}

// relPubTopics is the number of distinct topics a PUB or XPUB has
// subscriptions for.
func relPubTopics(pub *Socket) int {
	ps := pub.beh.(*pubSocket)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.subs.topics
}

// relFDs is the number of open file descriptors of the process.
func relFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("reading /proc/self/fd: %v", err)
	}
	return len(ents)
}

// relHeap is HeapInuse after two garbage collections.
func relHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// relFDLimit is the soft RLIMIT_NOFILE.
func relFDLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	return rl.Cur
}

// ---- monitor events ----

// relEvents collects a socket's monitor events.
type relEvents struct {
	ch   chan Event
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	evs    []Event
	notify chan struct{}
}

// newRelEvents returns a log and the option that feeds it. The log stops at
// t.Cleanup; register it before the socket so that the socket closes first.
func newRelEvents(t testing.TB) (*relEvents, Option) {
	l := &relEvents{
		ch:     make(chan Event, 4096),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		notify: make(chan struct{}),
	}
	go l.run()
	t.Cleanup(func() {
		close(l.stop)
		<-l.done
	})
	return l, WithMonitor(l.ch)
}

func (l *relEvents) run() {
	defer close(l.done)
	for {
		select {
		case e := <-l.ch:
			l.mu.Lock()
			l.evs = append(l.evs, e)
			close(l.notify)
			l.notify = make(chan struct{})
			l.mu.Unlock()
		case <-l.stop:
			return
		}
	}
}

func (l *relEvents) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

// count is the number of events of type typ so far.
func (l *relEvents) count(typ EventType) int {
	n := 0
	for _, e := range l.all() {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// wait waits up to d for the n-th event (from 1) matching pred and
// returns it.
func (l *relEvents) wait(d time.Duration, n int, pred func(Event) bool) (Event, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		l.mu.Lock()
		seen := 0
		for _, e := range l.evs {
			if pred(e) {
				seen++
				if seen == n {
					l.mu.Unlock()
					return e, true
				}
			}
		}
		c := l.notify
		l.mu.Unlock()
		select {
		case <-c:
		case <-timer.C:
			return Event{}, false
		}
	}
}

func relIs(typ EventType) func(Event) bool {
	return func(e Event) bool { return e.Type == typ }
}

func (l *relEvents) String() string {
	var b strings.Builder
	for _, e := range l.all() {
		fmt.Fprintf(&b, "  %s %s\n", e.Time.Format("15:04:05.000000"), e)
	}
	return b.String()
}

// ---- raw ZMTP bytes (RFC 23/37) ----

// relGreeting is a 64-octet greeting: 0xFF, 8 padding octets, 0x7F, the
// version, the mechanism padded to 20 octets, as-server, 31 filler octets.
func relGreeting(major, minor byte, mechanism string, asServer bool) []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xFF, 0x7F, major, minor
	copy(g[12:32], mechanism)
	if asServer {
		g[32] = 1
	}
	return g
}

// relHeader is a frame header: a short size up to 255, else the long form.
func relHeader(flags byte, size uint64) []byte {
	if size > 255 {
		b := []byte{flags | 0x02, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(b[1:], size)
		return b
	}
	return []byte{flags, byte(size)}
}

// relFrame is a message frame.
func relFrame(more bool, body []byte) []byte {
	var flags byte
	if more {
		flags = 0x01
	}
	return append(relHeader(flags, uint64(len(body))), body...)
}

// relCommand is a command frame with a name and raw data.
func relCommand(name string, data []byte) []byte {
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, data...)
	return append(relHeader(0x04, uint64(len(body))), body...)
}

// relProps encodes name/value pairs as RFC 37 properties.
func relProps(kv ...string) []byte {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(b, byte(len(kv[i])))
		b = append(b, kv[i]...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(kv[i+1])))
		b = append(b, kv[i+1]...)
	}
	return b
}

// relReady is a READY command with the given properties.
func relReady(kv ...string) []byte { return relCommand("READY", relProps(kv...)) }

// relPing is a PING command with a TTL in tenths of a second and a context.
func relPing(ttlDeci uint16, ctx []byte) []byte {
	data := binary.BigEndian.AppendUint16(nil, ttlDeci)
	return relCommand("PING", append(data, ctx...))
}

// relNullHello is what a NULL peer of type typ sends first: its greeting and
// its READY.
func relNullHello(typ string, kv ...string) []byte {
	b := relGreeting(3, 1, "NULL", false)
	return append(b, relReady(append([]string{"Socket-Type", typ}, kv...)...)...)
}

// relReadFrame reads one frame from r.
func relReadFrame(r io.Reader) (flags byte, body []byte, err error) {
	var h [9]byte
	if _, err = io.ReadFull(r, h[:2]); err != nil {
		return 0, nil, err
	}
	flags = h[0]
	size := uint64(h[1])
	if flags&0x02 != 0 {
		if _, err = io.ReadFull(r, h[2:9]); err != nil {
			return 0, nil, err
		}
		size = binary.BigEndian.Uint64(h[1:9])
	}
	if size > 1<<20 {
		return 0, nil, fmt.Errorf("frame of %d octets from the server", size)
	}
	body = make([]byte, size)
	_, err = io.ReadFull(r, body)
	return flags, body, err
}

// relRaw is a hand-driven ZMTP peer on a real connection.
type relRaw struct {
	net.Conn
}

// relDialRaw opens a raw tcp connection to a tcp endpoint.
func relDialRaw(t testing.TB, ep string) *relRaw {
	t.Helper()
	c, err := net.DialTimeout("tcp", relTCPAddr(ep), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", ep, err)
	}
	t.Cleanup(func() { c.Close() })
	return &relRaw{c}
}

// handshake sends a NULL greeting and READY as typ and reads the server's
// greeting and READY.
func (p *relRaw) handshake(typ string, kv ...string) error {
	p.SetDeadline(time.Now().Add(5 * time.Second))
	defer p.SetDeadline(time.Time{})
	if _, err := p.Write(relNullHello(typ, kv...)); err != nil {
		return err
	}
	var g [64]byte
	if _, err := io.ReadFull(p, g[:]); err != nil {
		return fmt.Errorf("reading greeting: %w", err)
	}
	flags, body, err := relReadFrame(p)
	if err != nil {
		return fmt.Errorf("reading READY: %w", err)
	}
	if flags&0x04 == 0 || len(body) < 6 || string(body[1:6]) != "READY" {
		return fmt.Errorf("expected READY, got flags %#x body %q", flags, body)
	}
	return nil
}

// readPong reads frames until a PONG and returns its context.
func (p *relRaw) readPong(d time.Duration) ([]byte, error) {
	p.SetReadDeadline(time.Now().Add(d))
	defer p.SetReadDeadline(time.Time{})
	for {
		flags, body, err := relReadFrame(p)
		if err != nil {
			return nil, err
		}
		if flags&0x04 != 0 && len(body) >= 5 && string(body[1:5]) == "PONG" {
			return body[5:], nil
		}
	}
}

// relWaitClosed reads and discards until the server closes the connection or
// d passes; it returns how long that took and whether it closed.
func relWaitClosed(c net.Conn, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	c.SetReadDeadline(start.Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return time.Since(start), false
			}
			return time.Since(start), true // EOF or reset: closed by the server
		}
	}
}

// ---- synctest and the inproc registry ----

// relInprocSignalHeld reports whether the inproc registry holds a wake-up
// channel (one of a connect still waiting for its binder).
func relInprocSignalHeld() bool {
	inproc.mu.Lock()
	defer inproc.mu.Unlock()
	return len(inproc.waiters) > 0
}

// relBubble runs f in a synctest bubble. The inproc registry is global:
// a bubble-owned channel left in it would crash the test binary when a
// Bind outside closed it ("close of synctest channel from outside
// bubble"); TestR16InprocRegistryBubbleHygiene checks none is left.
func relBubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, f)
}

// relPercentile returns the p-th relPercentile (0–100) of sorted durations.
func relPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}
