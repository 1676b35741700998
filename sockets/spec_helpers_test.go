package sockets

// Helpers for the RFC spec suite (spec_test.go). Every name starts with
// "spec" so that other test files of the package can pick their own.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// specTransports is the transport table every statement runs over.
var specTransports = []string{"inproc", "ipc", "tcp"}

// specFastReconnect keeps reconnect-driven tests quick.
const specFastReconnect = 10 * time.Millisecond

// specQuiet is how long a test watches for something that must not happen
// (a message that must not arrive, a reconnect that must not be made). It
// is an observation window, never a way to wait for something.
const specQuiet = 150 * time.Millisecond

var specSeq atomic.Uint64

// specNew creates a socket with linger 0 and a 10 ms reconnect interval
// (later options override them); it is closed when the test ends.
func specNew(t *testing.T, typ Type, opts ...Option) *Socket {
	t.Helper()
	base := []Option{WithLinger(0), WithReconnectInterval(specFastReconnect, 0)}
	return mustNew(t, typ, append(base, opts...)...)
}

// specTempDir returns a short directory for ipc socket files (t.TempDir
// paths can exceed the 107-octet limit with long subtest names).
func specTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ddspec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// specEndpoint returns a fresh endpoint of transport tr that nobody is
// bound to yet, for tests that connect before anything is bound, and for
// specBind. For tcp it is a port reserved for the test (relReservePort).
func specEndpoint(t *testing.T, tr string) string {
	t.Helper()
	n := specSeq.Add(1)
	switch tr {
	case TCP:
		// Held for the test, so that no other bind takes it meanwhile.
		return fmt.Sprintf("tcp://127.0.0.1:%d", relReservePort(t))
	case IPC:
		return fmt.Sprintf("ipc://%s/%d.sock", specTempDir(t), n)
	case Inproc:
		return fmt.Sprintf("inproc://spec-%d", n)
	}
	t.Fatalf("unknown transport %q", tr)
	return ""
}

// specBind binds s to a fresh endpoint of transport tr and returns it.
func specBind(t *testing.T, s *Socket, tr string) string {
	t.Helper()
	if tr != TCP {
		ep := specEndpoint(t, tr)
		specBindAt(t, s, ep)
		return ep
	}
	// A port reserved for the test, not port 0: many statements restart
	// a peer at the same endpoint, and no other bind may take the port
	// while it is free (port 0 itself is TestTCPEndpoints' subject).
	ep := specEndpoint(t, tr)
	before := s.Endpoints()
	if err := s.Bind(ep); err != nil {
		t.Fatal(err)
	}
	for _, got := range s.Endpoints() {
		if !slices.Contains(before, got) {
			if got != ep {
				t.Fatalf("bound %s, Endpoints() lists %s", ep, got)
			}
			return ep
		}
	}
	t.Fatal("bound endpoint not listed")
	return ""
}

// specBindAt binds s to ep, retrying for a while if a socket that was just
// closed still holds it.
func specBindAt(t *testing.T, s *Socket, ep string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.Bind(ep)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrAddrInUse) || time.Now().After(deadline) {
			t.Fatalf("bind %s: %v", ep, err)
		}
		specPause(5 * time.Millisecond)
	}
}

// specPause waits between two polls of a condition.
func specPause(d time.Duration) {
	tm := time.NewTimer(d)
	<-tm.C
}

func specConnect(t *testing.T, s *Socket, ep string) {
	t.Helper()
	if err := s.Connect(ep); err != nil {
		t.Fatalf("connect %s: %v", ep, err)
	}
}

// specEventually polls cond until it holds, failing the test after timeout.
func specEventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		specPause(2 * time.Millisecond)
	}
}

// specWithin runs f and fails the test if it has not returned within d:
// the check for "never blocks".
func specWithin(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-done:
	case <-tm.C:
		t.Fatalf("%s: still blocked after %v", what, d)
	}
}

// specGo runs f in a goroutine with a context cancelled, and waited for,
// when the test ends.
func specGo(t *testing.T, f func(ctx context.Context)) {
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

// --- messages ---

func specMsg(frames ...string) Msg { return NewMsgString(frames...) }

func specStrs(m Msg) []string {
	out := make([]string, len(m.Frames))
	for i, f := range m.Frames {
		out[i] = string(f)
	}
	return out
}

func specSend(t *testing.T, s *Socket, frames ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Send(ctx, specMsg(frames...)); err != nil {
		t.Fatalf("%s send %q: %v", s.Type(), frames, err)
	}
}

func specSendMsg(t *testing.T, s *Socket, m Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Send(ctx, m); err != nil {
		t.Fatalf("%s send: %v", s.Type(), err)
	}
}

// specSendErr sends with a short deadline and returns the error.
func specSendErr(s *Socket, d time.Duration, frames ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Send(ctx, specMsg(frames...))
}

func specRecv(t *testing.T, s *Socket) Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.Recv(ctx)
	if err != nil {
		t.Fatalf("%s recv: %v", s.Type(), err)
	}
	return m
}

// specRecvWant receives one message and checks its frames.
func specRecvWant(t *testing.T, s *Socket, want ...string) Msg {
	t.Helper()
	m := specRecv(t, s)
	if got := specStrs(m); !slices.Equal(got, want) {
		t.Fatalf("%s received %q, want %q", s.Type(), got, want)
	}
	return m
}

// specNothing checks that s receives nothing for the quiet window.
func specNothing(t *testing.T, s *Socket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), specQuiet)
	defer cancel()
	m, err := s.Recv(ctx)
	if err == nil {
		t.Fatalf("%s received %q, want nothing", s.Type(), specStrs(m))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s recv: %v, want a timeout", s.Type(), err)
	}
}

// specPayload is a message body of n octets: small on inproc, large on the
// network transports, where kernel buffers must fill before a queue does.
func specPayload(tr string) []byte {
	if tr == Inproc {
		return []byte("payload")
	}
	return bytes.Repeat([]byte{'p'}, 256<<10)
}

// --- white-box views (the suite is in package sockets) ---

// specInboxLen is how many received messages wait for Recv.
func specInboxLen(s *Socket) int { return s.in.len() }

func specPipeList(s *Socket) []*pipe {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := make([]*pipe, 0, len(s.pipes))
	for p := range s.pipes {
		ps = append(ps, p)
	}
	return ps
}

// specPipes counts the socket's pipes, connected or not.
func specPipes(s *Socket) int { return len(specPipeList(s)) }

// specConnected counts the socket's pipes with a live connection.
func specConnected(s *Socket) int {
	n := 0
	for _, p := range specPipeList(s) {
		if p.isConnected() {
			n++
		}
	}
	return n
}

func specWaitConnected(t *testing.T, s *Socket, n int) {
	t.Helper()
	specEventually(t, 5*time.Second, fmt.Sprintf("%s to have %d connected peers", s.Type(), n),
		func() bool { return specConnected(s) == n })
}

// specRouterKnows reports whether a ROUTER routes to id.
func specRouterKnows(s *Socket, id string) bool {
	r := s.beh.(*routerSocket)
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.byID[id]
	return ok
}

// specRouterPeers counts the identities a ROUTER routes to.
func specRouterPeers(s *Socket) int {
	r := s.beh.(*routerSocket)
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

// specPubHas reports whether any subscriber of a PUB or XPUB holds topic.
func specPubHas(s *Socket, topic string) bool {
	ps := s.beh.(*pubSocket)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.subs.has([]byte(topic))
}

// --- publish/subscribe synchronisation ---

// specProbeTopic is subscribed to by every SUB that needs specSync.
const specProbeTopic = "\xff"

// specIsProbe reports whether frames are a probe: any two-frame message
// whose second frame is "probe" or "probe-end" (see specSyncWith).
func specIsProbe(frames []string) bool {
	return len(frames) == 2 && (frames[1] == "probe" || frames[1] == "probe-end")
}

func specSubscribe(t *testing.T, s *Socket, topic string) {
	t.Helper()
	var err error
	if s.Type() == XSUB {
		err = s.Send(context.Background(), NewMsg(append([]byte{1}, topic...)))
	} else {
		err = s.Subscribe([]byte(topic))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// specSyncWith publishes the probe [topic, "probe"] on pub until sub
// receives it: then every subscription sub sent before has reached pub (a
// connection keeps its order). It then publishes [topic, "probe-end"] and
// reads up to it, so no probe of pub's is left in flight to sub. Other
// probes met meanwhile are skipped (specRecvSkip skips them too, for other
// subscribers of the same publisher).
func specSyncWith(t *testing.T, pub, sub *Socket, topic string) {
	t.Helper()
	probe := []string{topic, "probe"}
	end := []string{topic, "probe-end"}
	deadline := time.Now().Add(5 * time.Second)
	synced := false
	var dropped uint64 // pub's drop count when end was sent
	for time.Now().Before(deadline) {
		if !synced {
			specSend(t, pub, probe...)
		} else if d := pub.Stats().Dropped; d != dropped {
			// A full queue may have dropped the end marker: send another.
			dropped = d
			specSend(t, pub, end...)
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			m, err := sub.Recv(ctx)
			cancel()
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatal(err)
				}
				break
			}
			got := specStrs(m)
			if slices.Equal(got, end) {
				return
			}
			if !synced && slices.Equal(got, probe) {
				synced = true
				dropped = pub.Stats().Dropped
				specSend(t, pub, end...)
				continue
			}
			if !specIsProbe(got) {
				t.Fatalf("while synchronising, %s received %q", sub.Type(), got)
			}
		}
	}
	t.Fatalf("%s never received %q from %s", sub.Type(), probe, pub.Type())
}

// specSync is specSyncWith the standard probe (sub subscribes to "\xff").
func specSync(t *testing.T, pub, sub *Socket) {
	t.Helper()
	specSyncWith(t, pub, sub, specProbeTopic)
}

// specRecvSkip receives the next message that is not a probe.
func specRecvSkip(t *testing.T, s *Socket) Msg {
	t.Helper()
	for {
		m := specRecv(t, s)
		if !specIsProbe(specStrs(m)) {
			return m
		}
	}
}

// specRawSync publishes [topic, "probe"] on pub until the raw subscriber r
// reads it.
func specRawSync(t *testing.T, pub *Socket, r *specRaw, topic string) {
	t.Helper()
	probe := []string{topic, "probe"}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		specSend(t, pub, probe...)
		for {
			got, ok := r.nextMsg(10 * time.Millisecond)
			if !ok {
				break
			}
			if slices.Equal(got, probe) {
				return
			}
			if !specIsProbe(got) {
				t.Fatalf("while synchronising, the raw peer read %q", got)
			}
		}
	}
	t.Fatalf("the raw peer never read %q", probe)
}

// specRawRecvSkip reads the next message that is not a probe.
func specRawRecvSkip(t *testing.T, r *specRaw) []string {
	t.Helper()
	for {
		got, ok := r.nextMsg(5 * time.Second)
		if !ok {
			t.Fatalf("raw peer: no message (connection: %v)", r.readErr())
		}
		if !specIsProbe(got) {
			return got
		}
	}
}

// specInboxHas reports whether a received message waiting for Recv
// satisfies pred.
func specInboxHas(s *Socket, pred func([]string) bool) bool {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	for _, p := range s.in.turns[s.in.head:] {
		for _, frames := range p.in.q[p.in.head:] {
			f := make([]string, len(frames))
			for i, b := range frames {
				f[i] = string(b)
			}
			if pred(f) {
				return true
			}
		}
	}
	return false
}

// --- fair queuing ---

// specCheckFair checks the first window tags taken from a receiver whose
// per-peer queues were all full: every sender appears at least min times,
// and each sender's sequence numbers come in order.
func specCheckFair(t *testing.T, got []string, senders []string, window, min int) {
	t.Helper()
	counts := map[string]int{}
	for _, g := range got[:window] {
		counts[g]++
	}
	for _, s := range senders {
		if counts[s] < min {
			t.Fatalf("first %d messages hold %d from %s, want at least %d (all counts %v): %v",
				window, counts[s], s, min, counts, got[:window])
		}
	}
}

// --- monitor ---

type specMon struct{ ch chan Event }

func specMonitor() (*specMon, Option) {
	ch := make(chan Event, 4096)
	return &specMon{ch}, WithMonitor(ch)
}

// wait returns the first event that satisfies pred, failing after timeout.
func (m *specMon) wait(t *testing.T, timeout time.Duration, what string, pred func(Event) bool) Event {
	t.Helper()
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		select {
		case e := <-m.ch:
			if pred(e) {
				return e
			}
		case <-tm.C:
			t.Fatalf("no %s event within %v", what, timeout)
			return Event{}
		}
	}
}

// waitOK is wait that reports failure instead of failing the test.
func (m *specMon) waitOK(timeout time.Duration, pred func(Event) bool) (Event, bool) {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		select {
		case e := <-m.ch:
			if pred(e) {
				return e, true
			}
		case <-tm.C:
			return Event{}, false
		}
	}
}

// count counts the events that satisfy pred over the window d; with d 0,
// among the events already there. Every event read is consumed.
func (m *specMon) count(d time.Duration, pred func(Event) bool) int {
	n := 0
	if d <= 0 {
		for {
			select {
			case e := <-m.ch:
				if pred(e) {
					n++
				}
			default:
				return n
			}
		}
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	for {
		select {
		case e := <-m.ch:
			if pred(e) {
				n++
			}
		case <-tm.C:
			return n + m.count(0, pred)
		}
	}
}

func specIs(typ EventType) func(Event) bool {
	return func(e Event) bool { return e.Type == typ }
}

// --- a raw ZMTP peer, for statements about the bytes on the wire ---

// specRaw is a hand-driven ZMTP peer on a real connection.
type specRaw struct {
	t    *testing.T
	nc   net.Conn
	br   *bufio.Reader
	msgs chan specRawMsg // filled by the reader once started
	stop chan struct{}   // closed when the test ends
	done chan struct{}
	err  error // why the reader stopped; read after done
}

// specRawMsg is a message or a command as read off the wire.
type specRawMsg struct {
	frames [][]byte
	flags  []byte // flags octet of each frame as sent
	cmd    bool
}

func specNetAddr(t *testing.T, ep string) (network, addr string) {
	t.Helper()
	switch {
	case strings.HasPrefix(ep, "tcp://"):
		return "tcp", strings.TrimPrefix(ep, "tcp://")
	case strings.HasPrefix(ep, "ipc://"):
		return "unix", strings.TrimPrefix(ep, "ipc://")
	}
	t.Fatalf("no byte stream for %s", ep)
	return "", ""
}

// specRawDial connects a raw peer to a bound socket's endpoint.
func specRawDial(t *testing.T, ep string) *specRaw {
	t.Helper()
	network, addr := specNetAddr(t, ep)
	nc, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return specRawOn(t, nc)
}

func specRawOn(t *testing.T, nc net.Conn) *specRaw {
	r := &specRaw{t: t, nc: nc, br: bufio.NewReader(nc), stop: make(chan struct{})}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() {
		close(r.stop)
		nc.Close()
		if r.done != nil {
			<-r.done
		}
	})
	return r
}

func (r *specRaw) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

// specGreeting is a NULL greeting for version major.minor, with octets in
// the signature padding and the filler that a peer must not read meaning
// into.
func specGreeting(major, minor byte) []byte {
	g := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: major, Minor: minor, Mechanism: "NULL"})
	for i := 1; i <= 8; i++ {
		g[i] = byte(0x10 + i)
	}
	for i := 33; i < zmtp.GreetingSize; i++ {
		g[i] = 0xA5
	}
	return g
}

// readGreeting reads the socket's 64-octet greeting.
func (r *specRaw) readGreeting() []byte {
	r.t.Helper()
	b := make([]byte, zmtp.GreetingSize)
	if _, err := io.ReadFull(r.br, b); err != nil {
		r.t.Fatalf("raw: reading greeting: %v", err)
	}
	return b
}

// readFrame reads one frame synchronously.
func (r *specRaw) readFrame() (flags byte, body []byte, err error) {
	flags, err = r.br.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	var size uint64
	if flags&zmtp.FlagLong != 0 {
		var b [8]byte
		if _, err = io.ReadFull(r.br, b[:]); err != nil {
			return 0, nil, err
		}
		size = binary.BigEndian.Uint64(b[:])
	} else {
		c, err := r.br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		size = uint64(c)
	}
	if size > 64<<20 {
		return 0, nil, fmt.Errorf("raw: frame of %d octets", size)
	}
	body = make([]byte, size)
	_, err = io.ReadFull(r.br, body)
	return flags, body, err
}

// readCommand reads one frame synchronously and requires a command.
func (r *specRaw) readCommand() (flags byte, name string, data []byte) {
	r.t.Helper()
	flags, body, err := r.readFrame()
	if err != nil {
		r.t.Fatalf("raw: reading a command: %v", err)
	}
	if flags&zmtp.FlagCommand == 0 {
		r.t.Fatalf("raw: got a message frame %q, want a command", body)
	}
	n, d, err := zmtp.ParseCommand(body)
	if err != nil {
		r.t.Fatalf("raw: %v", err)
	}
	return flags, string(n), d
}

// handshake runs a NULL handshake as a peer of type socketType with extra
// READY properties, and returns the socket's greeting and READY properties.
func (r *specRaw) handshake(greeting []byte, props zmtp.Metadata) (peerGreeting []byte, ready zmtp.Metadata) {
	r.t.Helper()
	r.write(append(slices.Clone(greeting), zmtp.AppendReady(nil, props)...))
	peerGreeting = r.readGreeting()
	_, name, data := r.readCommand()
	if name != zmtp.CmdReady {
		r.t.Fatalf("raw: got %s, want READY", name)
	}
	ready, err := zmtp.ParseMetadata(data)
	if err != nil {
		r.t.Fatal(err)
	}
	return peerGreeting, ready
}

// handshakeAs is handshake with a 3.1 greeting and just a Socket-Type.
func (r *specRaw) handshakeAs(socketType string, extra ...zmtp.Property) zmtp.Metadata {
	r.t.Helper()
	props := append(zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte(socketType)}}, extra...)
	_, ready := r.handshake(specGreeting(3, 1), props)
	return ready
}

// specRawEncode encodes a message's frames.
func specRawEncode(frames ...string) []byte {
	var b []byte
	for i, f := range frames {
		flags := zmtp.FlagMore
		if i == len(frames)-1 {
			flags = 0
		}
		b = zmtp.AppendFrameHeader(b, flags, len(f))
		b = append(b, f...)
	}
	return b
}

// sendMsg writes a message.
func (r *specRaw) sendMsg(frames ...string) {
	r.t.Helper()
	r.write(specRawEncode(frames...))
}

// start reads frames in the background from now on; see next.
func (r *specRaw) start() {
	r.msgs = make(chan specRawMsg, 1024)
	r.done = make(chan struct{})
	r.nc.SetDeadline(time.Time{})
	go func() {
		defer close(r.done)
		defer close(r.msgs)
		var cur specRawMsg
		for {
			flags, body, err := r.readFrame()
			if err != nil {
				r.err = err
				return
			}
			var out specRawMsg
			if flags&zmtp.FlagCommand != 0 {
				out = specRawMsg{frames: [][]byte{body}, flags: []byte{flags}, cmd: true}
			} else {
				cur.frames = append(cur.frames, body)
				cur.flags = append(cur.flags, flags)
				if flags&zmtp.FlagMore != 0 {
					continue
				}
				out, cur = cur, specRawMsg{}
			}
			select {
			case r.msgs <- out:
			case <-r.stop:
				return
			}
		}
	}()
}

// next returns the next message or command read, or false if none came
// within d or the connection ended.
func (r *specRaw) next(d time.Duration) (specRawMsg, bool) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case m, ok := <-r.msgs:
		return m, ok
	case <-tm.C:
		return specRawMsg{}, false
	}
}

// readErr is why the reader stopped, or nil while it runs.
func (r *specRaw) readErr() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// nextMsg returns the next message, skipping commands (PING, ...).
func (r *specRaw) nextMsg(d time.Duration) ([]string, bool) {
	deadline := time.Now().Add(d)
	for {
		m, ok := r.next(time.Until(deadline))
		if !ok {
			return nil, false
		}
		if m.cmd {
			continue
		}
		out := make([]string, len(m.frames))
		for i, f := range m.frames {
			out[i] = string(f)
		}
		return out, true
	}
}

// waitClosed waits until the socket closes the connection, failing after d.
// Anything read meanwhile is returned.
func (r *specRaw) waitClosed(d time.Duration) []specRawMsg {
	r.t.Helper()
	var got []specRawMsg
	tm := time.NewTimer(d)
	defer tm.Stop()
	for {
		select {
		case m, ok := <-r.msgs:
			if !ok {
				return got
			}
			got = append(got, m)
		case <-tm.C:
			r.t.Fatalf("raw: the socket did not close the connection within %v", d)
		}
	}
}

// specCommandName parses a command frame body's name.
func specCommandName(body []byte) (string, []byte) {
	n, d, err := zmtp.ParseCommand(body)
	if err != nil {
		return "", nil
	}
	return string(n), d
}

// specRawListener accepts raw connections on a fresh endpoint of tr.
func specRawListener(t *testing.T, tr string) (net.Listener, string) {
	t.Helper()
	var ln net.Listener
	var err error
	var ep string
	switch tr {
	case TCP:
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			ep = "tcp://" + ln.Addr().String()
		}
	case IPC:
		path := specTempDir(t) + "/raw.sock"
		ln, err = net.Listen("unix", path)
		ep = "ipc://" + path
	default:
		t.Fatalf("no raw listener on %s", tr)
	}
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { ln.Close() }) })
	return ln, ep
}

// specAcceptNet accepts one raw connection, failing after 5 s.
func specAcceptNet(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	tm := time.NewTimer(5 * time.Second)
	defer tm.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.c
	case <-tm.C:
		ln.Close() // ends the Accept
		<-ch
		t.Fatal("no connection within 5 s")
		return nil
	}
}
