package sockets

// Reliability tests: rows R06 and R14–R24 of the reliability matrix
// (/work/shared/ref/reliability-matrix.md §7), scaled to run in CI under
// -race on two cores. Each test logs the figures it measured.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// ---------------------------------------------------------------------------
// R06 pre-auth starvation / slow-loris

// TestR06StalledHandshakes: 1000 raw connections that never finish their
// handshake (a third silent, a third 10 greeting octets, a third a whole
// greeting) must not starve a legitimate peer, and each is closed by the
// server at the handshake timeout (1 s).
func TestR06StalledHandshakes(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	n := 1000
	// Each stalled connection costs two descriptors here (both ends).
	if lim := relFDLimit(); uint64(2*n+256) > lim {
		n = int(lim-256) / 2
		t.Logf("RLIMIT_NOFILE %d: using %d stalled connections", lim, n)
	}
	const hsTimeout = time.Second
	pull := relNew(t, PULL, WithHandshakeTimeout(hsTimeout))
	ep := relBind(t, pull, TCP)

	type stalled struct {
		kind     int
		closed   time.Duration // from the end of our writes to EOF
		closedAt time.Time
		ok       bool
	}
	res := make([]stalled, n)
	greeting := relGreeting(3, 1, "NULL", false)
	var wg sync.WaitGroup
	var dialErrs atomic.Int64
	dialStart := time.Now()
	// Dial from a few goroutines; each connection then waits for its close
	// in its own goroutine.
	jobs := make(chan int)
	var dialers sync.WaitGroup
	for range 8 {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for i := range jobs {
				c, err := net.DialTimeout("tcp", relTCPAddr(ep), 5*time.Second)
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				kind := i % 3
				switch kind {
				case 1:
					c.Write(greeting[:10])
				case 2:
					c.Write(greeting)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					from := time.Now()
					d, ok := relWaitClosed(c, 5*time.Second)
					res[i] = stalled{kind: kind, closed: d, closedAt: from.Add(d), ok: ok}
				}()
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	dialers.Wait()
	dialTime := time.Since(dialStart)
	if e := dialErrs.Load(); e > 0 {
		t.Fatalf("%d of %d raw dials failed", e, n)
	}

	// A legitimate PUSH connects now, while every stalled connection is
	// still inside its handshake, and sends 1000 messages.
	evs, mon := newRelEvents(t)
	push := relNew(t, PUSH, mon)
	t0 := time.Now()
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	ready, ok := evs.wait(5*time.Second, 1, relIs(EventHandshakeSucceeded))
	if !ok {
		t.Fatalf("legitimate PUSH never completed its handshake; events:\n%s", evs)
	}
	connectLatency := ready.Time.Sub(t0)
	ctx := relCtx(t, 20*time.Second)
	const msgs = 1000
	sendErr := make(chan error, 1)
	go func() {
		for i := range msgs {
			if err := push.Send(ctx, NewMsg(binary.BigEndian.AppendUint32(nil, uint32(i)))); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	var firstMsg time.Duration
	for i := range msgs {
		m, err := pull.Recv(ctx)
		if err != nil {
			t.Fatalf("legitimate message %d: %v", i, err)
		}
		if i == 0 {
			firstMsg = time.Since(t0)
		}
		if got := binary.BigEndian.Uint32(m.Frames[0]); got != uint32(i) {
			t.Fatalf("message %d carries index %d", i, got)
		}
	}
	allDone := time.Now()
	allMsgs := allDone.Sub(t0)
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d stalled conns dialled in %v; legit connect→handshake %v, →first msg %v, 1000 msgs in %v",
		n, dialTime, connectLatency, firstMsg, allMsgs)
	if connectLatency > 500*time.Millisecond {
		t.Errorf("legitimate connect took %v with %d stalled conns (want ≤ 50 ms, 500 ms under -race)", connectLatency, n)
	}

	wg.Wait()
	var byKind [3][]time.Duration
	var firstClose time.Time
	for i, r := range res {
		if !r.ok {
			t.Errorf("stalled conn %d (kind %d) still open after 5 s", i, r.kind)
			continue
		}
		byKind[r.kind] = append(byKind[r.kind], r.closed)
		if firstClose.IsZero() || r.closedAt.Before(firstClose) {
			firstClose = r.closedAt
		}
	}
	// The legitimate peer was served while every stalled connection was
	// still open, waiting for its handshake timeout: they did not hold it
	// up until they went.
	if !allDone.Before(firstClose) {
		t.Errorf("the last legitimate message came %v after the first stalled connection was closed: it was not served alongside them",
			allDone.Sub(firstClose))
	}
	names := [3]string{"silent", "10 octets", "full greeting"}
	for k, ds := range byKind {
		slices.Sort(ds)
		if len(ds) == 0 {
			continue
		}
		t.Logf("%-13s: closed after min %v p50 %v p99 %v max %v", names[k], ds[0], relPercentile(ds, 50), relPercentile(ds, 99), ds[len(ds)-1])
		if ds[0] < 900*time.Millisecond {
			t.Errorf("%s conns: one closed after %v, before the 1 s handshake timeout (−10%%)", names[k], ds[0])
		}
		if mx := ds[len(ds)-1]; mx > 1500*time.Millisecond {
			t.Errorf("%s conns: one closed only after %v (want ≤ ~1.5 s)", names[k], mx)
		}
	}
	if st := pull.Stats(); st.Panics != 0 {
		t.Errorf("Stats().Panics = %d", st.Panics)
	}
}

// TestR06PreAuthInvisible: connections inside their handshake take no part
// in load balancing. A bound PUSH with 100 stalled connections and one
// real PULL must send everything to the PULL.
func TestR06PreAuthInvisible(t *testing.T) {
	relWatchdog(t, 30*time.Second)
	push := relNew(t, PUSH, WithHandshakeTimeout(30*time.Second), WithLinger(0))
	ep := relBind(t, push, TCP)
	for i := range 100 {
		c := relDialRaw(t, ep)
		if i%2 == 1 {
			c.Write(relGreeting(3, 1, "NULL", false))
		}
	}
	pull := relNew(t, PULL)
	if err := pull.Connect(ep); err != nil {
		t.Fatal(err)
	}
	ctx := relCtx(t, 10*time.Second)
	for i := range 1000 {
		if err := push.Send(ctx, NewMsgString(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		m, err := relRecvT(pull, 5*time.Second)
		if err != nil {
			t.Fatalf("message %d of 1000 never reached the only ready peer: %v", i, err)
		}
		if string(m.Frames[0]) != fmt.Sprint(i) {
			t.Fatalf("message %d: got %q", i, m.Frames[0])
		}
	}
}

// TestR06PreAuthHeap measures the heap a connection holds while it is in
// its handshake. The matrix asks ≤ 16 KiB per pre-auth connection (D6).
func TestR06PreAuthHeap(t *testing.T) {
	relWatchdog(t, 30*time.Second)
	const n = 300
	evs, mon := newRelEvents(t)
	pull := relNew(t, PULL, WithHandshakeTimeout(30*time.Second), mon)
	ep := relBind(t, pull, TCP)
	conns := make([]net.Conn, 0, n)
	before := relHeap()
	for range n {
		c, err := net.Dial("tcp", relTCPAddr(ep))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.Write(relGreeting(3, 1, "NULL", false)[:10])
	}
	// Wait until the server has answered every connection with its
	// greeting: each is then inside Handshake, with whatever it allocated.
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var g [64]byte
		if _, err := io.ReadFull(c, g[:]); err != nil {
			t.Fatalf("server greeting: %v", err)
		}
	}
	if _, ok := evs.wait(5*time.Second, n, relIs(EventAccepted)); !ok {
		t.Fatalf("only %d accepted", evs.count(EventAccepted))
	}
	after := relHeap()
	per := (int64(after) - int64(before)) / n
	t.Logf("heap per pre-auth connection: %d B (HeapInuse %d → %d for %d conns, client side included)", per, before, after, n)
	for _, c := range conns {
		c.Close()
	}
	runtime.KeepAlive(conns)
	if per > 16<<10 {
		t.Errorf("a pre-auth connection holds %d B of heap; the matrix (R06, D6) asks ≤ 16 KiB", per)
	}
}

// ---------------------------------------------------------------------------
// R14 connect/close churn

// relChurnPair is a bound server type and a churned client type, with one
// exchange that proves the connection worked.
type relChurnPair struct {
	server, client Type
	// exchange does one round on a fresh client, cycle i.
	exchange func(ctx context.Context, srv, cli *Socket, i int) error
	// serverSends: the bound server speaks first, so each cycle waits
	// for the server to see the previous client go (its queue towards
	// that client is destroyed with it) before the next one comes.
	serverSends bool
}

func relChurnPairs() []relChurnPair {
	oneWay := func(ctx context.Context, srv, cli *Socket, i int) error {
		want := fmt.Sprint(i)
		if err := cli.Send(ctx, NewMsgString(want)); err != nil {
			return err
		}
		for {
			m, err := srv.Recv(ctx)
			if err != nil {
				return err
			}
			if string(m.Frames[len(m.Frames)-1]) == want {
				return nil
			}
		}
	}
	backWay := func(ctx context.Context, srv, cli *Socket, i int) error { return oneWay(ctx, cli, srv, i) }
	return []relChurnPair{
		{server: PULL, client: PUSH, exchange: oneWay},
		{server: ROUTER, client: DEALER, exchange: oneWay},
		{server: PAIR, client: PAIR, exchange: oneWay},
		{server: REP, client: REQ, exchange: func(ctx context.Context, srv, cli *Socket, i int) error {
			if err := cli.Send(ctx, NewMsgString(fmt.Sprint(i))); err != nil {
				return err
			}
			m, err := srv.Recv(ctx)
			if err != nil {
				return err
			}
			if err := srv.Send(ctx, m); err != nil {
				return err
			}
			r, err := cli.Recv(ctx)
			if err != nil {
				return err
			}
			if string(r.Frames[0]) != fmt.Sprint(i) {
				return fmt.Errorf("reply %q", r.Frames[0])
			}
			return nil
		}},
		{server: SUB, client: PUB, exchange: func(ctx context.Context, srv, cli *Socket, i int) error {
			// The PUB drops until the bound SUB's subscription reaches it.
			want := fmt.Sprint(i)
			for {
				if err := cli.Send(ctx, NewMsgString(want)); err != nil {
					return err
				}
				m, err := relRecvT(srv, 200*time.Microsecond)
				if err == nil && string(m.Frames[0]) == want {
					return nil
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}},
		// The same pairs the other way round, so that every one of the
		// eleven types is churned as the connecting side.
		{server: PUSH, client: PULL, serverSends: true, exchange: backWay},
		{server: DEALER, client: ROUTER, serverSends: true, exchange: backWay},
		{server: REQ, client: REP, serverSends: true, exchange: func(ctx context.Context, srv, cli *Socket, i int) error {
			if err := srv.Send(ctx, NewMsgString(fmt.Sprint(i))); err != nil {
				return err
			}
			m, err := cli.Recv(ctx)
			if err != nil {
				return err
			}
			if err := cli.Send(ctx, m); err != nil {
				return err
			}
			r, err := srv.Recv(ctx)
			if err != nil {
				return err
			}
			if string(r.Frames[0]) != fmt.Sprint(i) {
				return fmt.Errorf("reply %q", r.Frames[0])
			}
			return nil
		}},
		{server: PUB, client: SUB, serverSends: true, exchange: func(ctx context.Context, srv, cli *Socket, i int) error {
			// The PUB drops until the SUB's subscription reaches it.
			if err := cli.Subscribe(nil); err != nil {
				return err
			}
			want := fmt.Sprint(i)
			for {
				if err := srv.Send(ctx, NewMsgString(want)); err != nil {
					return err
				}
				m, err := relRecvT(cli, 200*time.Microsecond)
				if err == nil && string(m.Frames[0]) == want {
					return nil
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}},
		{server: XSUB, client: XPUB, serverSends: true, exchange: func(ctx context.Context, srv, cli *Socket, i int) error {
			// The bound XSUB's subscription reaches the new XPUB; it is
			// then cancelled, or every later XPUB would get them all.
			topic := fmt.Sprintf("t%d", i)
			if err := srv.Send(ctx, NewMsg(append([]byte{1}, topic...))); err != nil {
				return err
			}
			for {
				m, err := cli.Recv(ctx)
				if err != nil {
					return err
				}
				if m.Frames[0][0] == 1 && string(m.Frames[0][1:]) == topic {
					return srv.Send(ctx, NewMsg(append([]byte{0}, topic...)))
				}
			}
		}},
		{server: XPUB, client: XSUB, exchange: func(ctx context.Context, srv, cli *Socket, i int) error {
			// The XSUB's subscription is the message.
			topic := fmt.Sprintf("t%d", i)
			if err := cli.Subscribe([]byte(topic)); err != nil {
				return err
			}
			for {
				m, err := srv.Recv(ctx)
				if err != nil {
					return err
				}
				if m.Frames[0][0] == 1 && string(m.Frames[0][1:]) == topic {
					return nil
				}
			}
		}},
	}
}

func TestR14ConnectCloseChurn(t *testing.T) {
	relWatchdog(t, 120*time.Second)
	const cycles = 1000
	for _, tr := range []string{TCP, IPC, Inproc} {
		t.Run(tr, func(t *testing.T) {
			for _, pair := range relChurnPairs() {
				t.Run(pair.server.String()+"-"+pair.client.String(), func(t *testing.T) {
					relRunChurn(t, tr, pair, cycles)
				})
			}
		})
	}
}

func relRunChurn(t *testing.T, tr string, pair relChurnPair, cycles int) {
	// Only the PAIR server needs events (they would count in the heap).
	var evs *relEvents
	var opts []Option
	waitGone := pair.server == PAIR || pair.serverSends
	if waitGone {
		var mon Option
		evs, mon = newRelEvents(t) // its goroutine counts in the baseline
		opts = append(opts, mon)
	}
	baseG := runtime.NumGoroutine()
	baseFD := relFDs(t)
	srv := relNew(t, pair.server, opts...)
	if pair.server == SUB {
		relSubscribe(t, srv, nil)
	}
	ep := relBind(t, srv, tr)
	ctx := relCtx(t, 60*time.Second)
	cycle := func(i int) {
		cli, err := New(pair.client)
		if err != nil {
			t.Fatal(err)
		}
		if err := cli.Connect(ep); err != nil {
			t.Fatal(err)
		}
		if err := pair.exchange(ctx, srv, cli, i); err != nil {
			cli.Close()
			t.Fatalf("cycle %d: %v", i, err)
		}
		if err := cli.Close(); err != nil {
			t.Fatalf("cycle %d: Close: %v", i, err)
		}
		if waitGone {
			// A PAIR refuses a second peer while it still holds the
			// previous one (TestR14PairRefusedPeerKeepsMessages), and
			// a server that speaks first would queue for a client
			// that is going. Churn waits for the server to see each
			// client go.
			if _, ok := evs.wait(5*time.Second, i+1, relIs(EventDisconnected)); !ok {
				t.Fatalf("cycle %d: the PAIR server never saw the client go", i)
			}
		}
	}
	// Warm up, then take the heap baseline with the server bound.
	for i := range 10 {
		cycle(i)
	}
	heap0 := relHeap()
	start := time.Now()
	for i := 10; i < cycles+10; i++ {
		cycle(i)
	}
	elapsed := time.Since(start)
	// The server's side of each connection ends asynchronously.
	var g int
	relWaitUntil(5*time.Second, func() bool { g = runtime.NumGoroutine(); return g <= baseG+1 })
	heap1 := relHeap()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	okG := relWaitUntil(5*time.Second, func() bool { g = runtime.NumGoroutine(); return g <= baseG })
	var fds int
	okFD := relWaitUntil(5*time.Second, func() bool { fds = relFDs(t); return fds <= baseFD })
	t.Logf("%d cycles in %v (%v/cycle); goroutines %d → %d; fds %d → %d; heap %+d B",
		cycles, elapsed, elapsed/time.Duration(cycles), baseG, g, baseFD, fds, int64(heap1)-int64(heap0))
	if !okG {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d after churn, baseline %d\n%s", g, baseG, buf[:runtime.Stack(buf, true)])
	}
	if !okFD {
		t.Errorf("file descriptors: %d after churn, baseline %d", fds, baseFD)
	}
	if d := int64(heap1) - int64(heap0); d > 1<<20 {
		t.Errorf("heap grew by %d B over %d cycles (want ≤ 1 MiB)", d, cycles)
	}
}

// TestR14RawKilledMidHandshake: 1000 raw tcp connections that send part
// of a handshake and then vanish (half of them with a reset) leave no
// goroutine and no descriptor behind, and the socket still works.
func TestR14RawKilledMidHandshake(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const n = 1000
	pull := relNew(t, PULL, WithLinger(0))
	ep := relBind(t, pull, TCP) // its accept loop and listener count in the baseline
	baseG := runtime.NumGoroutine()
	baseFD := relFDs(t)
	hello := relNullHello("PUSH")
	for i := range n {
		c, err := net.Dial("tcp", relTCPAddr(ep))
		if err != nil {
			t.Fatal(err)
		}
		c.Write(hello[:i%len(hello)]) // 0 octets up to all but the last
		if i%2 == 1 {
			c.(*net.TCPConn).SetLinger(0) // close with a reset
		}
		c.Close()
	}
	// The server's side of each ends asynchronously.
	var g, fds int
	okG := relWaitUntil(10*time.Second, func() bool { g = runtime.NumGoroutine(); return g <= baseG })
	okFD := relWaitUntil(10*time.Second, func() bool { fds = relFDs(t); return fds <= baseFD })
	t.Logf("%d raw connections killed mid-handshake: goroutines %d → %d, fds %d → %d", n, baseG, g, baseFD, fds)
	if !okG {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d, baseline %d\n%s", g, baseG, buf[:runtime.Stack(buf, true)])
	}
	if !okFD {
		t.Errorf("file descriptors: %d, baseline %d", fds, baseFD)
	}
	push := relNew(t, PUSH, WithLinger(0))
	relConnect(t, push, ep)
	if err := relSendT(push, 5*time.Second, NewMsgString("after")); err != nil {
		t.Fatal(err)
	}
	if m, err := relRecvT(pull, 5*time.Second); err != nil || string(m.Frames[0]) != "after" {
		t.Fatalf("after the churn: %v %q", err, m.Frames)
	}
}

// TestR14PairRefusedPeerKeepsMessages: a PAIR refuses a second peer
// (RFC 31 A1) but the refused peer must not lose what it sent (A2: PAIR
// never drops). The refusal comes after the ZMTP handshake, so the
// refused client believes it is connected and writes its queue into a
// connection the server then closes.
func TestR14PairRefusedPeerKeepsMessages(t *testing.T) {
	relWatchdog(t, 30*time.Second)
	for _, tr := range []string{TCP, Inproc} {
		t.Run(tr, func(t *testing.T) {
			evs, mon := newRelEvents(t)
			srv := relNew(t, PAIR, mon)
			ep := relBind(t, srv, tr)
			c1 := relNew(t, PAIR)
			relConnect(t, c1, ep)
			ctx := relCtx(t, 10*time.Second)
			if err := c1.Send(ctx, NewMsgString("from-c1")); err != nil {
				t.Fatal(err)
			}
			if m, err := srv.Recv(ctx); err != nil || string(m.Frames[0]) != "from-c1" {
				t.Fatalf("first peer: %v %q", err, m.Frames)
			}
			cevs, cmon := newRelEvents(t)
			c2 := relNew(t, PAIR, WithReconnectInterval(20*time.Millisecond, 0), WithLinger(0), cmon)
			relConnect(t, c2, ep)
			if err := c2.Send(ctx, NewMsgString("from-c2")); err != nil {
				t.Fatal(err)
			}
			// The refusal shows on the server (tcp) or on the
			// connecting socket (inproc).
			if !relWaitUntil(5*time.Second, func() bool {
				return evs.count(EventHandshakeFailed)+cevs.count(EventHandshakeFailed) > 0
			}) {
				t.Fatalf("the second PAIR peer was not refused; events:\n%s", evs)
			}
			// The first peer leaves: the second one gets in on its next
			// attempt, and its message must arrive.
			c1.Close()
			m, err := relRecvT(srv, 3*time.Second)
			if err != nil {
				t.Fatalf("the refused PAIR peer's message was lost (RFC 31 A2: PAIR never drops): %v\nserver events:\n%s", err, evs)
			}
			if string(m.Frames[0]) != "from-c2" {
				t.Fatalf("got %q", m.Frames)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// R15 shutdown stress

// TestR15ShutdownStress ports libzmq's test_shutdown_stress: 10 iterations
// of 100 goroutines that each create a SUB, connect it to a bound PUB and
// close it at once. Every Close returns within linger + 100 ms.
func TestR15ShutdownStress(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const (
		iterations = 10
		perIter    = 100
		linger     = 200 * time.Millisecond
	)
	pub := relNew(t, PUB, WithLinger(0))
	ep := relBind(t, pub, TCP)
	baseG := runtime.NumGoroutine()
	var worst time.Duration
	var all []time.Duration
	var mu sync.Mutex
	for it := range iterations {
		var wg sync.WaitGroup
		for g := range perIter {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mon := make(chan Event, 16)
				sub, err := New(SUB, WithLinger(linger), WithMonitor(mon))
				if err != nil {
					t.Error(err)
					return
				}
				if g%2 == 0 {
					// A queued subscription gives Close something to
					// linger on when the connection is not up yet.
					if err := sub.Subscribe([]byte(fmt.Sprint(g))); err != nil {
						t.Error(err)
					}
				}
				if err := sub.Connect(ep); err != nil {
					t.Error(err)
				}
				if g%4 == 1 {
					// Some close an established connection.
					waitHandshake(mon)
				}
				start := time.Now()
				if err := sub.Close(); err != nil {
					t.Errorf("iteration %d: Close: %v", it, err)
				}
				d := time.Since(start)
				mu.Lock()
				all = append(all, d)
				worst = max(worst, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	slices.Sort(all)
	var g int
	okG := relWaitUntil(5*time.Second, func() bool { g = runtime.NumGoroutine(); return g <= baseG })
	t.Logf("%d×%d SUB New/Connect/Close: Close p50 %v p99 %v max %v (linger %v); goroutines %d → %d",
		iterations, perIter, relPercentile(all, 50), relPercentile(all, 99), worst, linger, baseG, g)
	if worst > linger+100*time.Millisecond {
		t.Errorf("a Close took %v; want ≤ linger (%v) + 100 ms", worst, linger)
	}
	if !okG {
		t.Errorf("goroutines: %d, baseline %d", g, baseG)
	}
	if st := pub.Stats(); st.Panics != 0 {
		t.Errorf("PUB Stats().Panics = %d", st.Panics)
	}
}

// waitHandshake reads a monitor channel until a handshake succeeds (or
// 5 s pass).
func waitHandshake(mon <-chan Event) bool {
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		select {
		case e := <-mon:
			if e.Type == EventHandshakeSucceeded {
				return true
			}
		case <-timer.C:
			return false
		}
	}
}

// TestR15CloseUnblocks: Close while other goroutines are blocked in Send
// or Recv. Each blocked call returns an error wrapping ErrClosed (and
// net.ErrClosed) within 100 ms (500 ms allowed under -race), whatever the
// linger; Close itself returns within linger + 100 ms.
func TestR15CloseUnblocks(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const unblockBound = 500 * time.Millisecond
	type blocked struct {
		name    string
		setup   func(t *testing.T) (s *Socket, linger time.Duration, call func(ctx context.Context) error)
		callers int // goroutines blocked at once; 0 means 5
	}
	cases := []blocked{
		{"PUSH Send, no peer", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			s := relNew(t, PUSH)
			return s, DefaultLinger, func(ctx context.Context) error { return s.Send(ctx, NewMsgString("x")) }
		}, 0},
		{"PUSH Send, unreachable peer, queue full", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			// Close lingers on the queued message (the peer never comes)
			// but the blocked Send must not wait for that.
			s := relNew(t, PUSH, WithSendHWM(1), WithLinger(300*time.Millisecond))
			relConnect(t, s, relDeadTCP(t))
			if err := relSendT(s, time.Second, NewMsgString("fills the queue")); err != nil {
				t.Fatal(err)
			}
			return s, 300 * time.Millisecond, func(ctx context.Context) error { return s.Send(ctx, NewMsgString("x")) }
		}, 0},
		{"PULL Recv", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			s := relNew(t, PULL)
			relBind(t, s, TCP)
			return s, DefaultLinger, func(ctx context.Context) error { _, err := s.Recv(ctx); return err }
		}, 0},
		{"SUB Recv, connected", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			pub := relNew(t, PUB)
			ep := relBind(t, pub, Inproc)
			s := relNew(t, SUB)
			relSubscribe(t, s, nil)
			relConnect(t, s, ep)
			return s, DefaultLinger, func(ctx context.Context) error { _, err := s.Recv(ctx); return err }
		}, 0},
		{"REQ Recv, reply never comes", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			rep := relNew(t, REP)
			ep := relBind(t, rep, TCP)
			s := relNew(t, REQ)
			relConnect(t, s, ep)
			if err := relSendT(s, time.Second, NewMsgString("q")); err != nil {
				t.Fatal(err)
			}
			return s, DefaultLinger, func(ctx context.Context) error { _, err := s.Recv(ctx); return err }
		}, 1},
		{"REQ Recv ×5, reply never comes", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			// D7: every method is safe from many goroutines; all of them
			// must learn that the socket closed.
			rep := relNew(t, REP)
			ep := relBind(t, rep, TCP)
			s := relNew(t, REQ)
			relConnect(t, s, ep)
			if err := relSendT(s, time.Second, NewMsgString("q")); err != nil {
				t.Fatal(err)
			}
			return s, DefaultLinger, func(ctx context.Context) error { _, err := s.Recv(ctx); return err }
		}, 5},
		{"REP Recv ×5", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			s := relNew(t, REP)
			relBind(t, s, TCP)
			return s, DefaultLinger, func(ctx context.Context) error { _, err := s.Recv(ctx); return err }
		}, 5},
		{"DEALER Send, no peer", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			s := relNew(t, DEALER)
			return s, DefaultLinger, func(ctx context.Context) error { return s.Send(ctx, NewMsgString("x")) }
		}, 0},
		{"ROUTER mandatory Send, peer queue full", func(t *testing.T) (*Socket, time.Duration, func(context.Context) error) {
			s := relNew(t, ROUTER, WithRouterMandatory(), WithSendHWM(1), WithLinger(0))
			ep := relBind(t, s, Inproc)
			d := relNew(t, DEALER, WithIdentity([]byte("d")), WithRecvHWM(1))
			relConnect(t, d, ep)
			relWaitRouterPeer(t, s, "d")
			// Fill the peer: sends succeed until the queue is full.
			for i := 0; ; i++ {
				err := relSendT(s, 50*time.Millisecond, NewMsgString("d", "fill"))
				if errors.Is(err, ErrWouldBlock) {
					break
				}
				if err != nil && !errors.Is(err, ErrHostUnreachable) {
					t.Fatal(err)
				}
				if i > 1000 {
					t.Fatal("the ROUTER's peer queue never filled")
				}
			}
			return s, 0, func(ctx context.Context) error { return s.Send(ctx, NewMsgString("d", "x")) }
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, linger, call := c.setup(t)
			ctx := relCtx(t, 30*time.Second)
			callers := c.callers
			if callers == 0 {
				callers = 5
			}
			type result struct {
				err error
				at  time.Time
			}
			results := make(chan result, callers)
			var started sync.WaitGroup
			for range callers {
				started.Add(1)
				go func() {
					started.Done()
					err := call(ctx)
					results <- result{err, time.Now()}
				}()
			}
			started.Wait()
			// The calls must really be blocked before Close.
			select {
			case r := <-results:
				t.Fatalf("a call returned before Close: %v", r.err)
			case <-time.After(50 * time.Millisecond):
			}
			closeStart := time.Now()
			closeDone := make(chan error, 1)
			go func() { closeDone <- s.Close() }()
			var slowest time.Duration
			for range callers {
				select {
				case r := <-results:
					d := r.at.Sub(closeStart)
					slowest = max(slowest, d)
					if !errors.Is(r.err, ErrClosed) || !errors.Is(r.err, net.ErrClosed) {
						t.Errorf("blocked call returned %v; want an error wrapping ErrClosed and net.ErrClosed", r.err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("a blocked call did not return within 5 s of Close")
				}
			}
			var closeTook time.Duration
			select {
			case err := <-closeDone:
				closeTook = time.Since(closeStart)
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-time.After(linger + 5*time.Second):
				t.Fatalf("Close did not return within linger (%v) + 5 s", linger)
			}
			t.Logf("blocked calls returned ≤ %v after Close; Close took %v (linger %v)", slowest, closeTook, linger)
			if slowest > unblockBound {
				t.Errorf("a blocked call returned %v after Close (want ≤ 100 ms; %v under -race)", slowest, unblockBound)
			}
			if closeTook > linger+100*time.Millisecond {
				t.Errorf("Close took %v; want ≤ linger (%v) + 100 ms", closeTook, linger)
			}
			// Later calls fail at once.
			if err := s.Send(ctx, NewMsgString("late")); !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotSupported) {
				t.Errorf("Send after Close: %v", err)
			}
			if _, err := s.Recv(ctx); !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotSupported) {
				t.Errorf("Recv after Close: %v", err)
			}
			if err := s.Close(); !errors.Is(err, ErrClosed) {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// TestR15ReqRecvCloseRace: a REQ blocked in Recv for a reply when the
// socket closes must get ErrClosed. Close also removes the REQ's pipe,
// which fails the pending request with ErrPeerLost, and when that lands
// before the blocked Recv has looked at why it woke, Recv returns
// ErrPeerLost (and other goroutines waiting to Recv then get ErrState,
// see TestR15CloseUnblocks). Many rounds under synctest (each Recv is
// parked before Close) make the race show.
func TestR15ReqRecvCloseRace(t *testing.T) {
	relWatchdog(t, 30*time.Second)
	const rounds = 1000
	var wrong []string
	relBubble(t, func(t *testing.T) {
		rep := relNew(t, REP)
		ep := relBind(t, rep, Inproc)
		for i := range rounds {
			req, err := New(REQ)
			if err != nil {
				t.Fatal(err)
			}
			relConnect(t, req, ep)
			if err := relSendT(req, time.Second, NewMsgString("q")); err != nil {
				t.Fatal(err)
			}
			// One Recv only: a second one would wait on a mutex, which
			// synctest.Wait does not count as blocked.
			got := make(chan error, 1)
			go func() { _, err := req.Recv(context.Background()); got <- err }()
			synctest.Wait() // the Recv is parked
			req.Close()
			if err := <-got; !errors.Is(err, ErrClosed) {
				wrong = append(wrong, fmt.Sprintf("round %d: %v", i, err))
			}
			// Drain the request the REP got.
			if _, err := relRecvT(rep, time.Second); err != nil {
				t.Fatal(err)
			}
			if err := rep.Send(context.Background(), NewMsgString("late")); err != nil {
				t.Fatal(err)
			}
		}
	})
	if len(wrong) > 0 {
		t.Errorf("%d of %d Recv calls blocked at Close returned something else than ErrClosed, e.g. %s", len(wrong), rounds, wrong[0])
	}
}

// ---------------------------------------------------------------------------
// R16 linger

func TestR16Linger(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const n = 50
	queue := func(t *testing.T, s *Socket) {
		t.Helper()
		for i := range n {
			if err := relSendT(s, time.Second, NewMsgString(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	timeClose := func(t *testing.T, s *Socket) time.Duration {
		t.Helper()
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}

	t.Run("tcp/linger 0, unreachable", func(t *testing.T) {
		ep := relDeadTCP(t)
		push := relNew(t, PUSH, WithLinger(0))
		relConnect(t, push, ep)
		queue(t, push)
		d := timeClose(t, push)
		t.Logf("Close took %v", d)
		if d > 50*time.Millisecond {
			t.Errorf("Close with linger 0 took %v (want ≤ 10 ms, 50 ms allowed)", d)
		}
		// The queue was dropped: a peer that appears now gets nothing.
		pull := relNew(t, PULL)
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		if m, err := relRecvT(pull, 300*time.Millisecond); err == nil {
			t.Errorf("a message queued before a linger-0 Close arrived: %q", m.Frames)
		}
	})
	t.Run("tcp/linger 200ms, reachable", func(t *testing.T) {
		pull := relNew(t, PULL)
		ep := relBind(t, pull, TCP)
		push := relNew(t, PUSH, WithLinger(200*time.Millisecond))
		relConnect(t, push, ep)
		queue(t, push) // most likely queued before the connection is up
		d := timeClose(t, push)
		for i := range n {
			m, err := relRecvT(pull, 2*time.Second)
			if err != nil {
				t.Fatalf("message %d of %d queued before Close: %v", i, n, err)
			}
			if string(m.Frames[0]) != fmt.Sprint(i) {
				t.Fatalf("message %d: %q", i, m.Frames)
			}
		}
		t.Logf("Close took %v; all %d queued messages delivered", d, n)
		if d > 300*time.Millisecond {
			t.Errorf("Close took %v with linger 200 ms", d)
		}
	})
	t.Run("tcp/linger 200ms, unreachable", func(t *testing.T) {
		push := relNew(t, PUSH, WithLinger(200*time.Millisecond))
		relConnect(t, push, relDeadTCP(t))
		queue(t, push)
		d := timeClose(t, push)
		t.Logf("Close took %v", d)
		if d < 190*time.Millisecond || d > 300*time.Millisecond {
			t.Errorf("Close took %v with linger 200 ms and an unreachable peer (want 200–250 ms, ≤ 300 ms allowed)", d)
		}
	})
	t.Run("tcp/default linger, never connected", func(t *testing.T) {
		push := relNew(t, PUSH)
		relConnect(t, push, relDeadTCP(t))
		queue(t, push)
		d := timeClose(t, push)
		t.Logf("Close took %v (DefaultLinger %v)", d, DefaultLinger)
		if d > DefaultLinger+100*time.Millisecond {
			t.Errorf("Close took %v; DefaultLinger is %v", d, DefaultLinger)
		}
		if d < DefaultLinger-10*time.Millisecond {
			t.Errorf("Close took %v; it should have lingered DefaultLinger (%v) for the queued messages", d, DefaultLinger)
		}
	})

	// Under synctest, inproc, with the clock fake: exact figures.
	bubbleClose := func(t *testing.T, s *Socket) time.Duration {
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	t.Run("inproc/synctest/linger 0, never connected", func(t *testing.T) {
		relBubble(t, func(t *testing.T) {
			push := relNew(t, PUSH, WithLinger(0))
			relConnect(t, push, "inproc://r16-nobody-0")
			queue(t, push)
			if d := bubbleClose(t, push); d != 0 {
				t.Errorf("Close took %v (fake clock) with linger 0", d)
			}
		})
	})
	t.Run("inproc/synctest/linger 200ms, unreachable", func(t *testing.T) {
		relBubble(t, func(t *testing.T) {
			push := relNew(t, PUSH, WithLinger(200*time.Millisecond))
			relConnect(t, push, "inproc://r16-nobody-200")
			queue(t, push)
			if d := bubbleClose(t, push); d != 200*time.Millisecond {
				t.Errorf("Close took %v (fake clock); want exactly the 200 ms linger", d)
			}
		})
	})
	t.Run("inproc/synctest/default linger, never connected", func(t *testing.T) {
		relBubble(t, func(t *testing.T) {
			push := relNew(t, PUSH)
			relConnect(t, push, "inproc://r16-nobody-default")
			queue(t, push)
			if d := bubbleClose(t, push); d != DefaultLinger {
				t.Errorf("Close took %v (fake clock); want DefaultLinger = %v", d, DefaultLinger)
			}
		})
	})
	t.Run("inproc/synctest/linger 200ms, reachable", func(t *testing.T) {
		relBubble(t, func(t *testing.T) {
			pull := relNew(t, PULL)
			ep := relBind(t, pull, Inproc)
			push := relNew(t, PUSH, WithLinger(200*time.Millisecond))
			relConnect(t, push, ep)
			queue(t, push)
			d := bubbleClose(t, push)
			if d >= 200*time.Millisecond {
				t.Errorf("Close took %v (fake clock); the reachable peer should have taken the queue at once", d)
			}
			for i := range n {
				m, err := relRecvT(pull, time.Second)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if string(m.Frames[0]) != fmt.Sprint(i) {
					t.Fatalf("message %d: %q", i, m.Frames)
				}
			}
		})
	})
	t.Run("inproc/synctest/linger -1 waits for the peer", func(t *testing.T) {
		relBubble(t, func(t *testing.T) {
			const ep = "inproc://r16-late-binder"
			push := relNew(t, PUSH, WithLinger(-1))
			relConnect(t, push, ep)
			queue(t, push)
			start := time.Now()
			closed := make(chan error, 1)
			go func() { closed <- push.Close() }()
			// An hour of fake time: Close is still waiting, as asked.
			time.Sleep(time.Hour)
			synctest.Wait()
			select {
			case err := <-closed:
				t.Fatalf("Close with linger -1 returned (%v) with messages queued and no peer", err)
			default:
			}
			pull := relNew(t, PULL)
			if err := pull.Bind(ep); err != nil {
				t.Fatal(err)
			}
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			t.Logf("Close returned %v (fake) after Close began, once the peer appeared", time.Since(start))
			for i := range n {
				m, err := relRecvT(pull, time.Second)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if string(m.Frames[0]) != fmt.Sprint(i) {
					t.Fatalf("message %d: %q", i, m.Frames)
				}
			}
		})
	})
}

// TestR16InprocRegistryBubbleHygiene: the inproc registry is global. A
// connect made inside a synctest bubble must leave no bubble-owned channel
// in it once its socket has closed, whether it found its binder at once or
// waited for one that never came: the next inproc Bind anywhere else would
// close that channel, and "fatal error: close of synctest channel from
// outside bubble" kills the whole test binary. Users testing their own code
// with synctest would hit this.
func TestR16InprocRegistryBubbleHygiene(t *testing.T) {
	if relInprocSignalHeld() {
		t.Fatal("the inproc registry holds a waiter before the test")
	}
	var left bool
	synctest.Test(t, func(t *testing.T) {
		pull := relNew(t, PULL)
		ep := relBind(t, pull, Inproc)
		push := relNew(t, PUSH, WithLinger(0))
		relConnect(t, push, ep)
		if err := relSendT(push, time.Second, NewMsgString("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := relRecvT(pull, time.Second); err != nil {
			t.Fatal(err)
		}
		// A connect that waits for a binder that never comes.
		waiter := relNew(t, PUSH, WithLinger(0))
		relConnect(t, waiter, "inproc://r16-hygiene-never-bound")
		synctest.Wait()
		if !relInprocSignalHeld() {
			t.Error("a connect waiting for its binder is not registered as a waiter")
		}
		waiter.Close()
		push.Close()
		pull.Close()
		left = relInprocSignalHeld()
	})
	if left {
		t.Errorf("an inproc Connect inside a synctest bubble left a bubble-owned channel in the global inproc registry; " +
			"the next inproc Bind outside the bubble would crash the process (close of synctest channel from outside bubble)")
	}
	// And a Bind outside the bubble now survives.
	pull := relNew(t, PULL)
	relBind(t, pull, Inproc)
	if err := pull.Bind("inproc://r16-hygiene-never-bound"); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// R17 high-water marks

// relCountSends sends until a send with a short timeout fails, and returns
// how many succeeded and the error that stopped it.
func relCountSends(s *Socket, max int, wait time.Duration) (int, error) {
	for i := 0; i < max; i++ {
		if err := relSendT(s, wait, NewMsgString(fmt.Sprint(i))); err != nil {
			return i, err
		}
	}
	return max, nil
}

func TestR17HWM(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	// Under synctest a Send that would block waits its 100 ms of fake
	// time only once every goroutine is blocked: the counts are exact.
	check := func(t *testing.T, sndHWM, rcvHWM int, connectFirst bool) {
		relBubble(t, func(t *testing.T) {
			ep := fmt.Sprintf("inproc://r17-%d-%d-%v", sndHWM, rcvHWM, connectFirst)
			var popts, qopts []Option
			if sndHWM != DefaultHWM {
				popts = append(popts, WithSendHWM(sndHWM))
			}
			if rcvHWM != DefaultHWM {
				qopts = append(qopts, WithRecvHWM(rcvHWM))
			}
			push := relNew(t, PUSH, append(popts, WithLinger(0))...)
			pull := relNew(t, PULL, qopts...)
			if connectFirst {
				relConnect(t, push, ep)
				// Before the bind only the PUSH's own queue holds.
				n, err := relCountSends(push, 10*(sndHWM+rcvHWM), 100*time.Millisecond)
				if n != sndHWM || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("before bind: %d sends succeeded (%v); want exactly SNDHWM = %d, then DeadlineExceeded", n, err, sndHWM)
				}
				if err := pull.Bind(ep); err != nil {
					t.Fatal(err)
				}
				m, err := relCountSends(push, 10*(sndHWM+rcvHWM), 100*time.Millisecond)
				n += m
				if n != sndHWM+rcvHWM || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("connect first: %d sends succeeded in all (%v); want exactly %d + %d = %d", n, err, sndHWM, rcvHWM, sndHWM+rcvHWM)
				}
			} else {
				if err := pull.Bind(ep); err != nil {
					t.Fatal(err)
				}
				relConnect(t, push, ep)
				n, err := relCountSends(push, 10*(sndHWM+rcvHWM), 100*time.Millisecond)
				if n != sndHWM+rcvHWM || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("bind first: %d sends succeeded (%v); want exactly %d + %d = %d, then DeadlineExceeded", n, err, sndHWM, rcvHWM, sndHWM+rcvHWM)
				}
			}
			// An expired context fails at once, without waiting.
			expired, cancel := context.WithDeadline(context.Background(), time.Now())
			if err := push.Send(expired, NewMsgString("x")); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send with an expired ctx on a full pipe: %v", err)
			}
			cancel()
			// Take one: exactly one more send fits.
			if _, err := relRecvT(pull, time.Second); err != nil {
				t.Fatal(err)
			}
			if err := relSendT(push, 100*time.Millisecond, NewMsgString("one more")); err != nil {
				t.Errorf("after one Recv, a send failed: %v", err)
			}
			if err := relSendT(push, 100*time.Millisecond, NewMsgString("too many")); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("after one Recv, a second extra send: %v; want DeadlineExceeded", err)
			}
		})
	}
	for _, c := range []struct{ snd, rcv int }{{DefaultHWM, DefaultHWM}, {1, 1}, {10, 5}} {
		for _, cf := range []bool{false, true} {
			name := fmt.Sprintf("inproc/snd=%d,rcv=%d/bind-first", c.snd, c.rcv)
			if cf {
				name = fmt.Sprintf("inproc/snd=%d,rcv=%d/connect-first", c.snd, c.rcv)
			}
			t.Run(name, func(t *testing.T) { check(t, c.snd, c.rcv, cf) })
		}
	}

	// Non-blocking sends (an expired context) on a connected inproc pipe,
	// outside a bubble, the pump running alongside: exactly SNDHWM +
	// RCVHWM are accepted before the receiver reads anything, as libzmq's
	// inproc pipe takes that many ZMQ_DONTWAIT sends, and the next fails
	// with the context's error. Once the receiver has read everything and
	// the pump is idle, the whole sum is free again.
	for _, c := range []struct {
		snd, rcv  int
		pushBinds bool
	}{{DefaultHWM, DefaultHWM, false}, {DefaultHWM, DefaultHWM, true}, {10, 5, false}, {1, 1, true}} {
		side := "PULL binds"
		if c.pushBinds {
			side = "PUSH binds"
		}
		t.Run(fmt.Sprintf("inproc/expired ctx/snd=%d,rcv=%d/%s", c.snd, c.rcv, side), func(t *testing.T) {
			relExpiredSends(t, c.snd, c.rcv, c.pushBinds)
		})
	}

	t.Run("tcp/PUB never blocks on a stalled SUB", func(t *testing.T) {
		pub := relNew(t, PUB, WithLinger(0))
		ep := relBind(t, pub, TCP)
		sub := relNew(t, SUB)
		relSubscribe(t, sub, nil)
		relConnect(t, sub, ep)
		// Wait for the subscription, then never read again.
		if !relWaitUntil(5*time.Second, func() bool {
			if err := pub.Send(context.Background(), NewMsgString("hello")); err != nil {
				t.Fatal(err)
			}
			_, err := relRecvT(sub, 5*time.Millisecond)
			return err == nil
		}) {
			t.Fatal("subscription never arrived")
		}
		const n, size = 100_000, 100
		payload := make([]byte, size)
		heap0 := relHeap()
		ctx := relCtx(t, 30*time.Second)
		start := time.Now()
		lat := make([]time.Duration, n)
		for i := range n {
			t0 := time.Now()
			if err := pub.Send(ctx, NewMsg(payload)); err != nil {
				t.Fatal(err)
			}
			lat[i] = time.Since(t0)
		}
		// The SUB never reads: had a Send waited for it, the loop would
		// never have ended.
		total := time.Since(start)
		slices.Sort(lat)
		p99, slowest := relPercentile(lat, 99), lat[n-1]
		heap1 := relHeap()
		dropped := pub.Stats().Dropped
		growth := int64(heap1) - int64(heap0)
		// HWM × size × subscribers + 1 MiB, for the PUB's queue; the SUB
		// in this process holds its own RCVHWM as much again.
		bound := int64(2*DefaultHWM*(size+64)) + 1<<20
		t.Logf("%d sends in %v (p99 %v, slowest %v); Dropped %d; heap %+d B (bound %d)", n, total, p99, slowest, dropped, growth, bound)
		if dropped == 0 {
			t.Error("Stats().Dropped = 0: a PUB must drop for a subscriber at its HWM")
		}
		// A single slow Send can be the scheduler on a loaded machine;
		// the 99th percentile is what a blocking PUB would move.
		if p99 > 10*time.Millisecond {
			t.Errorf("PUB Send p99 %v (slowest %v): a PUB must never block", p99, slowest)
		}
		if growth > bound {
			t.Errorf("heap grew by %d B; want ≤ %d", growth, bound)
		}
	})
}

// relExpiredSends checks, over a few rounds on one inproc connection,
// that sends with an expired context are accepted exactly snd + rcv times
// while nothing is read, and that everything accepted then arrives, in
// order.
func relExpiredSends(t *testing.T, snd, rcv int, pushBinds bool) {
	evs, mon := newRelEvents(t)
	push := relNew(t, PUSH, WithSendHWM(snd), WithLinger(0), mon)
	pull := relNew(t, PULL, WithRecvHWM(rcv))
	binder, connecter := pull, push
	if pushBinds {
		binder, connecter = push, pull
	}
	ep := relBind(t, binder, Inproc)
	if err := connecter.Connect(ep); err != nil {
		t.Fatal(err)
	}
	// The pipe has both marks from this event on: it comes once the
	// inproc connection is linked both ways.
	if _, ok := evs.wait(5*time.Second, 1, relIs(EventHandshakeSucceeded)); !ok {
		t.Fatalf("no handshake on the PUSH; events:\n%s", evs)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now())
	cancel()
	const rounds = 10
	next := 0 // index of the next message sent
	for round := range rounds {
		accepted := 0
		var err error
		for accepted <= snd+rcv {
			if err = push.Send(expired, NewMsg(binary.BigEndian.AppendUint32(nil, uint32(next)))); err != nil {
				break
			}
			accepted++
			next++
		}
		if accepted != snd+rcv || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: %d non-blocking sends accepted, then %v; want exactly %d + %d = %d, then %v",
				round, accepted, err, snd, rcv, snd+rcv, context.DeadlineExceeded)
		}
		for i := next - accepted; i < next; i++ {
			m, err := relRecvT(pull, 5*time.Second)
			if err != nil {
				t.Fatalf("round %d: message %d: %v", round, i, err)
			}
			if got := binary.BigEndian.Uint32(m.Frames[0]); got != uint32(i) {
				t.Fatalf("round %d: message %d carries index %d", round, i, got)
			}
		}
		if m, err := pull.Recv(expired); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: a message more than was accepted arrived (%v, %v)", round, specStrs(m), err)
		}
		// The pump gives the last batch's place back just after the PULL
		// can read it; wait for that before counting again.
		pipes := specPipeList(push)
		if len(pipes) != 1 {
			t.Fatalf("PUSH has %d pipes; want 1", len(pipes))
		}
		if !relWaitUntil(5*time.Second, func() bool { return pipes[0].pending() == 0 }) {
			t.Fatalf("round %d: the PUSH's pipe still holds %d messages after all were read", round, pipes[0].pending())
		}
	}
}

// TestR17HWMTCP: over tcp, a PUSH to a PULL that never reads accepts at
// least SNDHWM messages and at most SNDHWM + RCVHWM plus what the kernel's
// socket buffers can hold, then blocks; one Recv makes room again. (The
// writer gives back a batch's room once the whole batch is written, so
// with large messages the count can stay at SNDHWM.) Close does not hang
// on the writer blocked towards a peer that does not read.
func TestR17HWMTCP(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const snd, rcv, size = 10, 5, 1 << 20
	pull := relNew(t, PULL, WithRecvHWM(rcv))
	ep := relBind(t, pull, TCP)
	push := relNew(t, PUSH, WithSendHWM(snd), WithLinger(0))
	relConnect(t, push, ep)
	payload := make([]byte, size)
	n := 0
	for ; n < 10_000; n++ {
		// Generous: a send that waits this long has met a full pipe.
		if err := relSendT(push, 300*time.Millisecond, NewMsg(payload)); err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
	}
	kernel := relSysctl(t, "/proc/sys/net/ipv4/tcp_wmem") + relSysctl(t, "/proc/sys/net/ipv4/tcp_rmem")
	upper := snd + rcv + kernel/size + 2 // +2: one in the reader's hands, one in the writer's
	t.Logf("%d sends of %d B accepted with SNDHWM %d, RCVHWM %d (kernel buffers up to %d B: bound %d)", n, size, snd, rcv, kernel, upper)
	if n < snd || n > upper {
		t.Errorf("%d sends accepted; want within [%d, %d]", n, snd, upper)
	}
	// Reading makes room again (one Recv frees a place in the PULL's
	// queue, which lets the whole pipe move on).
	for range rcv + 1 {
		if _, err := relRecvT(pull, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := relSendT(push, 5*time.Second, NewMsg(payload)); err != nil {
		t.Errorf("after the PULL read: %v", err)
	}
	// The PUSH's writer is blocked again, on a peer that does not read.
	for relSendT(push, 300*time.Millisecond, NewMsg(payload)) == nil {
	}
	start := time.Now()
	if err := push.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close with linger 0 and a blocked writer took %v", d)
	}
}

// TestR17HWMTCPNonBlocking: over tcp, sends with an expired context are
// accepted at least SNDHWM times and at most as many as the blocking case
// allows (TestR17HWMTCP), and the first refused one fails with the
// context's error. Unlike inproc the count is not exact: the writer gives
// room back as it encodes, and how far it gets meanwhile is up to the
// scheduler, as libzmq's I/O thread is with ZMQ_DONTWAIT. Whatever was
// accepted arrives, in order.
func TestR17HWMTCPNonBlocking(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const snd, rcv, size = 10, 5, 1 << 20
	pull := relNew(t, PULL, WithRecvHWM(rcv))
	ep := relBind(t, pull, TCP)
	evs, mon := newRelEvents(t)
	push := relNew(t, PUSH, WithSendHWM(snd), WithLinger(0), mon)
	relConnect(t, push, ep)
	if _, ok := evs.wait(5*time.Second, 1, relIs(EventHandshakeSucceeded)); !ok {
		t.Fatalf("no handshake; events:\n%s", evs)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now())
	cancel()
	kernel := relSysctl(t, "/proc/sys/net/ipv4/tcp_wmem") + relSysctl(t, "/proc/sys/net/ipv4/tcp_rmem")
	upper := snd + rcv + kernel/size + 2
	n := 0
	var err error
	for ; n <= upper; n++ {
		payload := make([]byte, size) // a sent frame is the socket's until written
		binary.BigEndian.PutUint32(payload, uint32(n))
		if err = push.Send(expired, NewMsg(payload)); err != nil {
			break
		}
	}
	t.Logf("%d non-blocking sends of %d B accepted with SNDHWM %d, RCVHWM %d (bound %d)", n, size, snd, rcv, upper)
	if n < snd || n > upper || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%d non-blocking sends accepted, then %v; want within [%d, %d], then %v", n, err, snd, upper, context.DeadlineExceeded)
	}
	for i := range n {
		m, err := relRecvT(pull, 10*time.Second)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, n, err)
		}
		if got := binary.BigEndian.Uint32(m.Frames[0]); got != uint32(i) || len(m.Frames[0]) != size {
			t.Fatalf("message %d carries index %d (%d B)", i, got, len(m.Frames[0]))
		}
	}
}

// relSysctl reads the largest value of a sysctl file holding numbers.
func relSysctl(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := 0
	for _, f := range strings.Fields(string(b)) {
		var v int
		if _, err := fmt.Sscan(f, &v); err == nil {
			m = max(m, v)
		}
	}
	return m
}

// ---------------------------------------------------------------------------
// R18 reconnect

func TestR18Reconnect(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	// Jitter is ±25 %: a reconnect lands within ivl × 1.25 + 50 ms
	// (another 200 ms allowed for -race and a loaded machine).
	bound := DefaultReconnectInterval*5/4 + 50*time.Millisecond + 200*time.Millisecond

	t.Run("tcp/connect before bind", func(t *testing.T) {
		ep := relDeadTCP(t)
		push := relNew(t, PUSH)
		if err := push.Connect(ep); err != nil {
			t.Fatal(err)
		}
		if err := relSendT(push, time.Second, NewMsgString("early")); err != nil {
			t.Fatal(err)
		}
		pull := relNew(t, PULL)
		t0 := time.Now()
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		m, err := relRecvT(pull, 5*time.Second)
		if err != nil || string(m.Frames[0]) != "early" {
			t.Fatalf("message queued before the bind: %v %q", err, m.Frames)
		}
		d := time.Since(t0)
		t.Logf("delivered %v after the bind", d)
		if d > bound {
			t.Errorf("connect-before-bind delivered %v after the bind; want ≤ %v", d, bound)
		}
	})
	t.Run("inproc/connect before bind", func(t *testing.T) {
		ep := fmt.Sprintf("inproc://r18-early-%d", relUniq())
		push := relNew(t, PUSH)
		relConnect(t, push, ep)
		if err := relSendT(push, time.Second, NewMsgString("early")); err != nil {
			t.Fatal(err)
		}
		pull := relNew(t, PULL)
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		if m, err := relRecvT(pull, 2*time.Second); err != nil || string(m.Frames[0]) != "early" {
			t.Fatalf("%v %q", err, m.Frames)
		}
	})
	t.Run("tcp/listener closed and rebound", func(t *testing.T) {
		pull1 := relNew(t, PULL)
		ep := relBindReserved(t, pull1) // rebound below
		evs, mon := newRelEvents(t)
		push := relNew(t, PUSH, mon)
		relConnect(t, push, ep)
		if err := relSendT(push, 2*time.Second, NewMsgString("one")); err != nil {
			t.Fatal(err)
		}
		if _, err := relRecvT(pull1, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		pull1.Close()
		if _, ok := evs.wait(2*time.Second, 1, relIs(EventDisconnected)); !ok {
			t.Fatalf("PUSH never saw its peer go; events:\n%s", evs)
		}
		pull2 := relNew(t, PULL)
		t0 := time.Now()
		if err := pull2.Bind(ep); err != nil {
			t.Fatal(err)
		}
		if err := relSendT(push, 2*time.Second, NewMsgString("two")); err != nil {
			t.Fatal(err)
		}
		m, err := relRecvT(pull2, 5*time.Second)
		if err != nil || string(m.Frames[0]) != "two" {
			t.Fatalf("after the rebind: %v %q\nevents:\n%s", err, m.Frames, evs)
		}
		d := time.Since(t0)
		t.Logf("flowing again %v after the rebind", d)
		if d > bound {
			t.Errorf("reconnected %v after the rebind; want ≤ %v", d, bound)
		}
	})
	t.Run("tcp/Unbind and Bind again on the same socket", func(t *testing.T) {
		pull := relNew(t, PULL)
		ep := relBindReserved(t, pull) // rebound below
		evs, mon := newRelEvents(t)
		push := relNew(t, PUSH, mon)
		relConnect(t, push, ep)
		if err := relSendT(push, 2*time.Second, NewMsgString("one")); err != nil {
			t.Fatal(err)
		}
		if _, err := relRecvT(pull, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := pull.Unbind(ep); err != nil {
			t.Fatal(err)
		}
		// A message sent before the PUSH sees the connection go may be
		// written into it and lost; wait for that.
		if _, ok := evs.wait(2*time.Second, 1, relIs(EventDisconnected)); !ok {
			t.Fatalf("PUSH never saw the Unbind; events:\n%s", evs)
		}
		if err := pull.Bind(ep); err != nil {
			t.Fatal(err)
		}
		if err := relSendT(push, 2*time.Second, NewMsgString("two")); err != nil {
			t.Fatal(err)
		}
		if m, err := relRecvT(pull, 5*time.Second); err != nil || string(m.Frames[0]) != "two" {
			t.Fatalf("after Unbind/Bind: %v %q", err, m.Frames)
		}
	})
	t.Run("tcp/reconnect interval -1: no reconnect", func(t *testing.T) {
		pull1 := relNew(t, PULL)
		ep := relBindReserved(t, pull1) // rebound below
		evs, mon := newRelEvents(t)
		push := relNew(t, PUSH, WithReconnectInterval(-1, 0), WithLinger(0), mon)
		relConnect(t, push, ep)
		if err := relSendT(push, 2*time.Second, NewMsgString("one")); err != nil {
			t.Fatal(err)
		}
		if _, err := relRecvT(pull1, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		pull1.Close()
		if _, ok := evs.wait(2*time.Second, 1, relIs(EventDisconnected)); !ok {
			t.Fatalf("PUSH never saw its peer go; events:\n%s", evs)
		}
		pull2 := relNew(t, PULL)
		if err := pull2.Bind(ep); err != nil {
			t.Fatal(err)
		}
		// It may be queued (the pipe survives) or time out: there is no
		// peer any more, and there will be none.
		if err := relSendT(push, 300*time.Millisecond, NewMsgString("two")); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		if m, err := relRecvT(pull2, 500*time.Millisecond); err == nil {
			t.Errorf("reconnect interval -1, yet a message arrived after the rebind: %q", m.Frames)
		}
		attempts := evs.count(EventConnectRetried) + evs.count(EventConnected) - 1
		if attempts != 0 {
			t.Errorf("reconnect interval -1: %d reconnect attempts; want 0\nevents:\n%s", attempts, evs)
		}
	})
	t.Run("tcp/SUB with 1000 subscriptions across a PUB restart", func(t *testing.T) {
		const topics = 1000
		topic := func(i int) []byte { return fmt.Appendf(nil, "topic-%04d", i) }
		pub1 := relNew(t, PUB, WithLinger(0))
		ep := relBindReserved(t, pub1) // rebound below
		evs, mon := newRelEvents(t)
		sub := relNew(t, SUB, WithReconnectInterval(20*time.Millisecond, 0), mon)
		for i := range topics {
			relSubscribe(t, sub, topic(i))
		}
		relConnect(t, sub, ep)
		prove := func(pub *Socket) (time.Duration, int) {
			t0 := time.Now()
			seen := make([]bool, topics)
			left := topics
			rounds := 0
			deadline := time.Now().Add(10 * time.Second)
			for left > 0 && time.Now().Before(deadline) {
				rounds++
				for i := range topics {
					if !seen[i] {
						if err := pub.Send(context.Background(), NewMsg(topic(i))); err != nil {
							t.Fatal(err)
						}
					}
				}
				// Must never arrive.
				if err := pub.Send(context.Background(), NewMsgString("unsubscribed")); err != nil {
					t.Fatal(err)
				}
				for {
					m, err := relRecvT(sub, 20*time.Millisecond)
					if err != nil {
						break
					}
					var i int
					if _, err := fmt.Sscanf(string(m.Frames[0]), "topic-%04d", &i); err != nil || i < 0 || i >= topics {
						t.Fatalf("SUB got %q, which it never subscribed to", m.Frames[0])
					}
					if !seen[i] {
						seen[i] = true
						left--
					}
				}
			}
			if left > 0 {
				var missing []int
				for i, ok := range seen {
					if !ok {
						missing = append(missing, i)
					}
				}
				t.Fatalf("%d of %d subscriptions never proven active, e.g. %v", left, topics, missing[:min(10, len(missing))])
			}
			return time.Since(t0), rounds
		}
		d, r := prove(pub1)
		t.Logf("before the restart: all %d subscriptions active after %v (%d rounds)", topics, d, r)
		pub1.Close()
		if _, ok := evs.wait(2*time.Second, 1, relIs(EventDisconnected)); !ok {
			t.Fatal("SUB never saw the PUB go")
		}
		pub2 := relNew(t, PUB, WithLinger(0))
		t0 := time.Now()
		if err := pub2.Bind(ep); err != nil {
			t.Fatal(err)
		}
		// R18: every subscription is active before the first message
		// sent 1 s after the restart. The PUB's count of topics is
		// polled until that second is up; then one message per topic is
		// published, once, and every one of them must arrive.
		restoreBy := t0.Add(time.Second)
		var have int
		for have = relPubTopics(pub2); have < topics && time.Now().Before(restoreBy); have = relPubTopics(pub2) {
			time.Sleep(time.Millisecond) // polling interval, not synchronisation
		}
		restored := time.Since(t0)
		if have < topics {
			t.Fatalf("1 s after the PUB restarted, %d of %d subscriptions were back; events:\n%s", have, topics, evs)
		}
		hs, ok := evs.wait(time.Second, 2, relIs(EventHandshakeSucceeded))
		if !ok {
			t.Fatalf("subscriptions back, yet no second handshake on the SUB; events:\n%s", evs)
		}
		for i := range topics {
			if err := pub2.Send(context.Background(), NewMsg(topic(i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range topics {
			m, err := relRecvT(sub, 5*time.Second)
			if err != nil {
				t.Fatalf("the one round after the restart: message %d of %d: %v", i, topics, err)
			}
			if want := topic(i); !bytes.Equal(m.Frames[0], want) {
				t.Fatalf("the one round after the restart: message %d is %q, want %q", i, m.Frames[0], want)
			}
		}
		t.Logf("after the restart: reconnected in %v, all %d subscriptions back %v after the bind (bound 1 s), one round delivered all",
			hs.Time.Sub(t0), topics, restored)
	})
	t.Run("tcp/SUB resends all 1000 subscriptions to a restarted XPUB", func(t *testing.T) {
		// An XPUB shows the resent subscriptions directly: all 1000 must
		// arrive, and then one message per topic goes through in a
		// single round.
		const topics = 1000
		pub1 := relNew(t, XPUB, WithLinger(0))
		ep := relBindReserved(t, pub1) // rebound below
		sub := relNew(t, SUB, WithReconnectInterval(20*time.Millisecond, 0))
		for i := range topics {
			relSubscribe(t, sub, fmt.Appendf(nil, "topic-%04d", i))
		}
		relConnect(t, sub, ep)
		collect := func(x *Socket) {
			got := map[string]bool{}
			for len(got) < topics {
				m, err := relRecvT(x, 5*time.Second)
				if err != nil {
					t.Fatalf("XPUB got %d of %d subscriptions: %v", len(got), topics, err)
				}
				if f := m.Frames[0]; len(f) > 0 && f[0] == 1 {
					got[string(f[1:])] = true
				}
			}
		}
		collect(pub1)
		pub1.Close()
		pub2 := relNew(t, XPUB, WithLinger(0))
		t0 := time.Now()
		if err := pub2.Bind(ep); err != nil {
			t.Fatal(err)
		}
		collect(pub2)
		t.Logf("restarted XPUB had all %d subscriptions %v after its bind", topics, time.Since(t0))
		for i := range topics {
			if err := pub2.Send(context.Background(), NewMsg(fmt.Appendf(nil, "topic-%04d", i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range topics {
			m, err := relRecvT(sub, 5*time.Second)
			if err != nil {
				t.Fatalf("message %d of %d: %v", i, topics, err)
			}
			if want := fmt.Sprintf("topic-%04d", i); string(m.Frames[0]) != want {
				t.Fatalf("message %d: %q, want %q", i, m.Frames[0], want)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// R19 PUSH→PULL across a receiver restart

// r19Msg is message i: three frames, the index, a body and a checksum of
// both, so that a partial or mixed message is caught.
func r19Msg(i int) Msg {
	idx := binary.BigEndian.AppendUint64(nil, uint64(i))
	body := bytes.Repeat([]byte{byte(i)}, 16+i%200)
	sum := crc32.ChecksumIEEE(append(append([]byte(nil), idx...), body...))
	return NewMsg(idx, body, binary.BigEndian.AppendUint32(nil, sum))
}

func r19Check(m Msg) (int, error) {
	if len(m.Frames) != 3 || len(m.Frames[0]) != 8 || len(m.Frames[2]) != 4 {
		return -1, fmt.Errorf("malformed message: %d frames", len(m.Frames))
	}
	sum := crc32.ChecksumIEEE(append(append([]byte(nil), m.Frames[0]...), m.Frames[1]...))
	if sum != binary.BigEndian.Uint32(m.Frames[2]) {
		return -1, fmt.Errorf("checksum mismatch")
	}
	return int(binary.BigEndian.Uint64(m.Frames[0])), nil
}

func TestR19ReceiverRestart(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const trials = 100
	rng := rand.New(rand.NewPCG(19, 19))
	var maxLoss, totalLoss, totalSentDown, totalMsgs int
	for trial := range trials {
		killAfter := 200 + rng.IntN(2000)
		downSends := 1 + rng.IntN(900) // sends accepted while disconnected before the restart
		msgs, lost, sentDown := r19Trial(t, trial, killAfter, downSends)
		if t.Failed() {
			return
		}
		maxLoss = max(maxLoss, lost)
		totalLoss += lost
		totalSentDown += sentDown
		totalMsgs += msgs
	}
	t.Logf("%d trials, %d messages: 0 duplicates, order kept; lost in flight at the kill: max %d, total %d; %d sent while disconnected, all delivered",
		trials, totalMsgs, maxLoss, totalLoss, totalSentDown)
}

// r19Trial runs one trial: a PUSH keeps sending to a PULL, which is closed
// after killAfter messages and replaced by a new PULL on the same endpoint
// once the PUSH has had downSends messages accepted while it knew it was
// disconnected (or its queue is full). It returns how many messages were
// sent, how many were lost at the kill, and how many were accepted while
// disconnected.
func r19Trial(t *testing.T, trial, killAfter, downSends int) (msgs, lost, sentDown int) {
	t.Helper()
	pull1, err := New(PULL)
	if err != nil {
		t.Fatal(err)
	}
	defer pull1.Close()
	ep := relBindReserved(t, pull1) // rebound below
	evs, mon := newRelEvents(t)
	push, err := New(PUSH, WithReconnectInterval(10*time.Millisecond, 0), WithLinger(0), mon)
	if err != nil {
		t.Fatal(err)
	}
	defer push.Close()
	relConnect(t, push, ep)

	var (
		down          atomic.Bool  // the PUSH has reported the disconnection
		sentWhileDown atomic.Int64 // accepted while down
		next          atomic.Int64 // the next index to send
		stopAt        atomic.Int64 // the last index to send; -1: keep going
		downAt        sync.Map     // index → accepted while down
	)
	stopAt.Store(-1)
	ctx := relCtx(t, 30*time.Second)
	downEnough := make(chan struct{})
	sendDone := make(chan error, 1)
	go func() {
		var once sync.Once
		for i := 0; ; {
			if last := stopAt.Load(); last >= 0 && i > int(last) {
				sendDone <- nil
				return
			}
			isDown := down.Load()
			err := relSendT(push, 20*time.Millisecond, r19Msg(i))
			if errors.Is(err, context.DeadlineExceeded) {
				if isDown {
					once.Do(func() { close(downEnough) }) // the queue is full
				}
				continue // not accepted: send the same index again
			}
			if err != nil {
				sendDone <- err
				return
			}
			if isDown {
				downAt.Store(i, true)
				if int(sentWhileDown.Add(1)) == downSends {
					once.Do(func() { close(downEnough) })
				}
			}
			i++
			next.Store(int64(i))
		}
	}()

	var got []int
	recvUntil := func(s *Socket, stop func(i int) bool) error {
		for {
			m, err := s.Recv(ctx)
			if err != nil {
				return err
			}
			i, err := r19Check(m)
			if err != nil {
				return fmt.Errorf("%v (after index %v)", err, got[max(0, len(got)-1):])
			}
			got = append(got, i)
			if stop(i) {
				return nil
			}
		}
	}
	if err := recvUntil(pull1, func(int) bool { return len(got) == killAfter }); err != nil {
		t.Fatalf("trial %d: %v", trial, err)
	}
	pull1.Close() // the kill: what pull1 and the wire held is lost
	if _, ok := evs.wait(5*time.Second, 1, relIs(EventDisconnected)); !ok {
		t.Fatalf("trial %d: the PUSH never saw its peer go", trial)
	}
	down.Store(true)
	select {
	case <-downEnough:
	case <-ctx.Done():
		t.Fatal("sender stuck")
	}
	evs2, mon2 := newRelEvents(t)
	pull2, err := New(PULL, mon2)
	if err != nil {
		t.Fatal(err)
	}
	defer pull2.Close()
	if err := pull2.Bind(ep); err != nil {
		t.Fatalf("trial %d: rebind %s: %v", trial, ep, err)
	}
	// 500 more messages after the restart, then stop.
	last := int(next.Load()) + 500
	stopAt.Store(int64(last))
	if err := recvUntil(pull2, func(i int) bool { return i == last }); err != nil {
		t.Fatalf("trial %d: after the restart: %v (have %d messages, last %d; kill after %d, %d sent down, stop at %d)\nPUSH events:\n%s\nnew PULL events:\n%s",
			trial, err, len(got), got[len(got)-1], killAfter, sentWhileDown.Load(), last, evs, evs2)
	}
	if err := <-sendDone; err != nil {
		t.Fatal(err)
	}
	// Check: strictly increasing (no duplicate, order kept); a single
	// contiguous gap at the kill; every message accepted while down
	// delivered.
	msgs = last + 1
	received := make([]bool, msgs)
	for k, i := range got {
		if k > 0 && i <= got[k-1] {
			t.Fatalf("trial %d: index %d after %d: duplicate or reordered", trial, i, got[k-1])
		}
		received[i] = true
	}
	gapStart, gapEnd := -1, -1
	for i := range msgs {
		if !received[i] {
			if gapStart < 0 {
				gapStart = i
			} else if gapEnd >= 0 {
				t.Fatalf("trial %d: loss is not one contiguous range: %d..%d then %d", trial, gapStart, gapEnd, i)
			}
			lost++
		} else if gapStart >= 0 && gapEnd < 0 {
			gapEnd = i - 1
		}
		if _, ok := downAt.Load(i); ok {
			sentDown++
			if !received[i] {
				t.Fatalf("trial %d: message %d, accepted by Send while the PUSH was disconnected, was never delivered (loss %d..%d)", trial, i, gapStart, gapEnd)
			}
		}
	}
	return msgs, lost, sentDown
}

// ---------------------------------------------------------------------------
// R20 atomic multipart across failure

// r20Msg builds a self-checking message: frame 0 holds the frame count and
// a CRC of the other frames, so a receiver can tell a whole message from a
// partial or mixed one.
func r20Msg(rng *rand.Rand, tag string, k int) [][]byte {
	frames := make([][]byte, k)
	h := crc32.NewIEEE()
	for j := 1; j < k; j++ {
		size := rng.IntN(300) // some long (> 255) frames
		if j == 1 {
			size = len(tag)
		}
		f := make([]byte, size)
		if j == 1 {
			copy(f, tag)
		} else {
			for x := range f {
				f[x] = byte(rng.IntN(256))
			}
		}
		frames[j] = f
		h.Write(f)
	}
	frames[0] = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(k)), h.Sum32())
	return frames
}

func r20Check(frames [][]byte) error {
	if len(frames) == 0 || len(frames[0]) != 8 {
		return fmt.Errorf("no header frame: %d frames", len(frames))
	}
	k := int(binary.BigEndian.Uint32(frames[0]))
	if k != len(frames) {
		return fmt.Errorf("%d frames, header says %d", len(frames), k)
	}
	h := crc32.NewIEEE()
	for _, f := range frames[1:] {
		h.Write(f)
	}
	if h.Sum32() != binary.BigEndian.Uint32(frames[0][4:]) {
		return fmt.Errorf("checksum mismatch")
	}
	return nil
}

// TestR20AtomicMultipart: a raw peer sends a whole message, then frames
// 1..k of another with MORE set and dies (FIN or RST, between frames, in a
// header or in a body); a good peer then sends a message. The PULL must
// deliver only whole messages: 10,000 randomised trials (R20).
func TestR20AtomicMultipart(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	const trials = 10_000
	rng := rand.New(rand.NewPCG(20, 20))
	pull := relNew(t, PULL)
	ep := relBind(t, pull, TCP)
	good := relNew(t, PUSH)
	relConnect(t, good, ep)
	ctx := relCtx(t, 60*time.Second)
	wholeFromRaw := 0
	check := func(m Msg, what string) {
		t.Helper()
		if err := r20Check(m.Frames); err != nil {
			t.Fatalf("%s: a partial or mixed message was delivered: %v (%d frames)", what, err, len(m.Frames))
		}
	}
	cuts := map[string]int{}
	start := time.Now()
	for trial := range trials {
		c, err := net.Dial("tcp", relTCPAddr(ep))
		if err != nil {
			t.Fatal(err)
		}
		// Read the server's greeting and READY first, so that a plain
		// Close sends a FIN (unread data would turn it into an RST).
		if err := (&relRaw{c}).handshake("PUSH"); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		var wire []byte
		sendWhole := rng.IntN(2) == 0
		if sendWhole {
			fr := r20Msg(rng, fmt.Sprintf("raw-whole-%d", trial), 2+rng.IntN(6))
			for j, f := range fr {
				wire = append(wire, relFrame(j < len(fr)-1, f)...)
			}
		}
		partial := r20Msg(rng, fmt.Sprintf("raw-partial-%d", trial), 2+rng.IntN(8))
		k := 1 + rng.IntN(len(partial)-1) // frames sent, all with MORE
		var tail []byte
		for j := range k {
			tail = append(tail, relFrame(true, partial[j])...)
		}
		cut := "after a frame"
		switch rng.IntN(3) {
		case 1: // in the next frame's header
			next := relFrame(true, partial[k])
			n := 1
			if len(next) > 2 && next[0]&0x02 != 0 {
				n = 1 + rng.IntN(8)
			}
			tail = append(tail, next[:n]...)
			cut = "in a header"
		case 2: // in the next frame's body
			next := relFrame(false, partial[k])
			hl := 2
			if next[0]&0x02 != 0 {
				hl = 9
			}
			if len(next) > hl+1 {
				tail = append(tail, next[:hl+rng.IntN(len(next)-hl)]...)
				cut = "in a body"
			}
		}
		cuts[cut]++
		wire = append(wire, tail...)
		c.Write(wire)
		if rng.IntN(2) == 0 {
			c.(*net.TCPConn).SetLinger(0) // RST
		}
		c.Close()
		fr := r20Msg(rng, fmt.Sprintf("good-%d", trial), 2+rng.IntN(5))
		if err := good.Send(ctx, NewMsg(fr...)); err != nil {
			t.Fatal(err)
		}
		// Until the good message: anything else must be a raw peer's
		// whole message (which an RST may also have destroyed, and which
		// may come before or after the good one).
		for {
			m, err := pull.Recv(ctx)
			if err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			check(m, fmt.Sprintf("trial %d", trial))
			tag := string(m.Frames[1])
			if tag == fmt.Sprintf("good-%d", trial) {
				break
			}
			if !strings.HasPrefix(tag, "raw-whole-") {
				t.Fatalf("trial %d: unexpected message %q", trial, tag)
			}
			wholeFromRaw++
		}
	}
	// Nothing else but late whole raw messages may come out.
	for {
		m, err := relRecvT(pull, 200*time.Millisecond)
		if err != nil {
			break
		}
		check(m, "after the trials")
		if !strings.HasPrefix(string(m.Frames[1]), "raw-whole-") {
			t.Fatalf("unexpected message %q after the trials", m.Frames[1])
		}
		wholeFromRaw++
	}
	t.Logf("%d trials in %v (cuts %v); %d whole raw messages delivered whole; 0 partial", trials, time.Since(start), cuts, wholeFromRaw)
	if st := pull.Stats(); st.Panics != 0 {
		t.Errorf("Stats().Panics = %d", st.Panics)
	}
}

// TestR20PushAtomicAcrossKill: our PUSH sends multipart messages to a
// peer that reads part of the stream and dies; after the reconnect the new
// peer (a real PULL) must only ever see whole messages (libzmq #3343: the
// tail of a cut message resent to the next peer).
func TestR20PushAtomicAcrossKill(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	rng := rand.New(rand.NewPCG(21, 21))
	for trial := range 50 {
		// The port stays reserved while the raw peer's listener closes
		// and the real PULL binds it in its place.
		ep := relDeadTCP(t)
		ln, err := net.Listen("tcp", relTCPAddr(ep))
		if err != nil {
			t.Fatal(err)
		}
		push := relNew(t, PUSH, WithReconnectInterval(10*time.Millisecond, 0), WithLinger(0))
		relConnect(t, push, ep)
		ctx := relCtx(t, 10*time.Second)
		// A sender keeps sending self-checking multipart messages.
		stop := make(chan struct{})
		sent := make(chan int, 1)
		srng := rand.New(rand.NewPCG(uint64(trial), 22))
		go func() {
			n := 0
			defer func() { sent <- n }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				fr := r20Msg(srng, fmt.Sprintf("m-%d", n), 2+n%5)
				if err := relSendT(push, 20*time.Millisecond, NewMsg(fr...)); err == nil {
					n++
				}
			}
		}()
		// The raw peer: handshake, read some bytes, die mid-stream.
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		rp := &relRaw{c}
		if err := rp.handshake("PULL"); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		buf := make([]byte, 1+rng.IntN(64<<10))
		io.ReadFull(c, buf)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		// The real PULL takes over the endpoint.
		pull := relNew(t, PULL)
		if err := pull.Bind(ep); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for j := range 50 {
			m, err := pull.Recv(ctx)
			if err != nil {
				t.Fatalf("trial %d: message %d after the kill: %v", trial, j, err)
			}
			if err := r20Check(m.Frames); err != nil {
				t.Fatalf("trial %d: message %d after the kill is not whole: %v (%d frames)", trial, j, err, len(m.Frames))
			}
		}
		close(stop)
		<-sent
		push.Close()
		pull.Close()
	}
}

// ---------------------------------------------------------------------------
// R21 heartbeats

// TestR21HeartbeatSilentPeer: a peer completes its handshake and then goes
// silent (never reads, so never answers a PING). A socket with
// WithHeartbeat(100ms, 200ms, 0) drops it within timeout + interval, with
// an EventDisconnected whose error wraps zmtp.ErrHeartbeatTimeout.
func TestR21HeartbeatSilentPeer(t *testing.T) {
	relWatchdog(t, 30*time.Second)
	const ivl, timeout = 100 * time.Millisecond, 200 * time.Millisecond
	// First PING at ivl, dead at ivl + timeout; 150 ms allowed for
	// scheduling under -race.
	const slack = 150 * time.Millisecond
	judge := func(t *testing.T, evs *relEvents) {
		t.Helper()
		hs, ok := evs.wait(5*time.Second, 1, relIs(EventHandshakeSucceeded))
		if !ok {
			t.Fatalf("no handshake; events:\n%s", evs)
		}
		dis, ok := evs.wait(5*time.Second, 1, relIs(EventDisconnected))
		if !ok {
			t.Fatalf("the silent peer was never dropped; events:\n%s", evs)
		}
		d := dis.Time.Sub(hs.Time)
		t.Logf("silent peer dropped %v after its handshake: %v", d, dis.Err)
		if !errors.Is(dis.Err, zmtp.ErrHeartbeatTimeout) {
			t.Errorf("disconnect error %v does not wrap zmtp.ErrHeartbeatTimeout", dis.Err)
		}
		if d < timeout {
			t.Errorf("dropped after %v, before the %v timeout", d, timeout)
		}
		if d > ivl+timeout+slack {
			t.Errorf("dropped after %v; want ≤ interval + timeout (%v) + %v", d, ivl+timeout, slack)
		}
	}
	t.Run("bound socket, silent connecting peer", func(t *testing.T) {
		evs, mon := newRelEvents(t)
		pull := relNew(t, PULL, WithHeartbeat(ivl, timeout, 0), mon)
		ep := relBind(t, pull, TCP)
		nc, err := net.Dial("tcp", relTCPAddr(ep))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		zc, err := zmtp.Handshake(context.Background(), nc, zmtp.Config{SocketType: zmtp.Push})
		if err != nil {
			t.Fatal(err)
		}
		defer zc.Close()
		judge(t, evs) // zc never reads: PINGs go unanswered
	})
	t.Run("connecting socket, silent bound peer", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		evs, mon := newRelEvents(t)
		push := relNew(t, PUSH, WithHeartbeat(ivl, timeout, 0), WithReconnectInterval(time.Hour, 0), WithLinger(0), mon)
		relConnect(t, push, "tcp://"+ln.Addr().String())
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		zc, err := zmtp.Handshake(context.Background(), nc, zmtp.Config{SocketType: zmtp.Pull})
		if err != nil {
			t.Fatal(err)
		}
		defer zc.Close()
		judge(t, evs)
	})
	t.Run("peer TTL honoured", func(t *testing.T) {
		// No heartbeats of our own: the peer's PING asks us to drop it
		// after 300 ms of silence.
		const ttl = 300 * time.Millisecond
		evs, mon := newRelEvents(t)
		pull := relNew(t, PULL, mon)
		ep := relBind(t, pull, TCP)
		rp := relDialRaw(t, ep)
		if err := rp.handshake("PUSH"); err != nil {
			t.Fatal(err)
		}
		sent := time.Now()
		rp.Write(relPing(uint16(ttl/(100*time.Millisecond)), []byte("ctx")))
		if ctx, err := rp.readPong(2 * time.Second); err != nil || string(ctx) != "ctx" {
			t.Fatalf("PONG: %q %v", ctx, err)
		}
		dis, ok := evs.wait(5*time.Second, 1, relIs(EventDisconnected))
		if !ok {
			t.Fatalf("the peer's TTL was ignored; events:\n%s", evs)
		}
		d := dis.Time.Sub(sent)
		t.Logf("dropped %v after a PING with TTL %v: %v", d, ttl, dis.Err)
		if !errors.Is(dis.Err, zmtp.ErrHeartbeatTimeout) {
			t.Errorf("disconnect error %v does not wrap zmtp.ErrHeartbeatTimeout", dis.Err)
		}
		if d < ttl-10*time.Millisecond || d > ttl+ivl+slack {
			t.Errorf("dropped %v after the PING; want the TTL %v (+ up to %v)", d, ttl, ivl+slack)
		}
	})
	t.Run("PONG echoes the context byte for byte", func(t *testing.T) {
		pull := relNew(t, PULL)
		ep := relBind(t, pull, TCP)
		rp := relDialRaw(t, ep)
		if err := rp.handshake("PUSH"); err != nil {
			t.Fatal(err)
		}
		for _, ctx := range [][]byte{{}, {0}, []byte("0123456789abcdef"), {0xff, 0, 0xfe}} {
			rp.Write(relPing(0, ctx))
			got, err := rp.readPong(2 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, ctx) {
				t.Errorf("PONG context %x, want %x", got, ctx)
			}
		}
	})
}

// TestR21HeartbeatHealthy: heartbeats on both sides and no traffic for 20
// intervals: 0 disconnects, for five pattern pairs at once (and one pair
// where only one side sends heartbeats).
func TestR21HeartbeatHealthy(t *testing.T) {
	relWatchdog(t, 30*time.Second)
	const ivl, timeout = 100 * time.Millisecond, 200 * time.Millisecond
	pairs := []struct {
		name         string
		bind, conn   Type
		hbBind, hbCo bool
	}{
		{"PUSH-PULL", PULL, PUSH, true, true},
		{"DEALER-ROUTER", ROUTER, DEALER, true, true},
		{"REQ-REP", REP, REQ, true, true},
		{"PUB-SUB", PUB, SUB, true, true},
		{"PAIR-PAIR", PAIR, PAIR, true, true},
		{"PUSH-PULL, bound side only", PULL, PUSH, true, false},
		{"DEALER-ROUTER, connecting side only", ROUTER, DEALER, false, true},
	}
	type side struct {
		evs  *relEvents
		s    *Socket
		name string
	}
	var sides []side
	for _, p := range pairs {
		opts := func(hb bool) []Option {
			if hb {
				return []Option{WithHeartbeat(ivl, timeout, 0)}
			}
			return nil
		}
		be, bm := newRelEvents(t)
		b := relNew(t, p.bind, append(opts(p.hbBind), bm)...)
		ep := relBind(t, b, TCP)
		ce, cm := newRelEvents(t)
		c := relNew(t, p.conn, append(opts(p.hbCo), cm)...)
		if p.conn == SUB {
			relSubscribe(t, c, nil)
		}
		relConnect(t, c, ep)
		sides = append(sides, side{be, b, p.name + " (bound)"}, side{ce, c, p.name + " (connecting)"})
	}
	for _, sd := range sides {
		if _, ok := sd.evs.wait(5*time.Second, 1, relIs(EventHandshakeSucceeded)); !ok {
			t.Fatalf("%s: no handshake", sd.name)
		}
	}
	// 20 intervals of silence (a timer, not synchronisation).
	quiet := time.NewTimer(20 * ivl)
	<-quiet.C
	for _, sd := range sides {
		if n := sd.evs.count(EventDisconnected); n != 0 {
			t.Errorf("%s: %d disconnects over 20 heartbeat intervals of silence:\n%s", sd.name, n, sd.evs)
		}
	}
	// Still alive: one round trip on the first pair.
	ctx := relCtx(t, 5*time.Second)
	if err := sides[1].s.Send(ctx, NewMsgString("alive")); err != nil {
		t.Fatal(err)
	}
	if m, err := sides[0].s.Recv(ctx); err != nil || string(m.Frames[0]) != "alive" {
		t.Fatalf("after the silence: %v %q", err, m.Frames)
	}
}

// ---------------------------------------------------------------------------
// R24 ROUTER edge cases

func TestR24Router(t *testing.T) {
	relWatchdog(t, 60*time.Second)
	t.Run("unknown identity, mandatory off: silent drop", func(t *testing.T) {
		r := relNew(t, ROUTER)
		relBind(t, r, Inproc)
		before := r.Stats().Dropped
		if err := relSendT(r, time.Second, NewMsgString("nobody", "x")); err != nil {
			t.Fatalf("Send to an unknown identity: %v; want nil (silent drop)", err)
		}
		if d := r.Stats().Dropped - before; d != 1 {
			t.Errorf("Stats().Dropped grew by %d; want 1", d)
		}
	})
	t.Run("unknown identity, mandatory on: ErrHostUnreachable", func(t *testing.T) {
		r := relNew(t, ROUTER, WithRouterMandatory())
		relBind(t, r, Inproc)
		start := time.Now()
		err := relSendT(r, 5*time.Second, NewMsgString("nobody", "x"))
		if !errors.Is(err, ErrHostUnreachable) {
			t.Fatalf("Send to an unknown identity: %v; want ErrHostUnreachable", err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("ErrHostUnreachable took %v; it must not wait", d)
		}
	})
	t.Run("mandatory, full peer queue: ErrWouldBlock within the ctx, never a permanent block", func(t *testing.T) {
		relBubble(t, func(t *testing.T) {
			r := relNew(t, ROUTER, WithRouterMandatory(), WithSendHWM(1), WithLinger(0))
			ep := relBind(t, r, Inproc)
			d := relNew(t, DEALER, WithIdentity([]byte("d")), WithRecvHWM(1))
			relConnect(t, d, ep)
			synctest.Wait()
			accepted := 0
			var err error
			var took time.Duration
			for accepted < 100 {
				start := time.Now()
				err = relSendT(r, 50*time.Millisecond, NewMsgString("d", fmt.Sprint(accepted)))
				took = time.Since(start)
				if err != nil {
					break
				}
				accepted++
			}
			if !errors.Is(err, ErrWouldBlock) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("after %d sends: %v; want ErrWouldBlock (wrapping DeadlineExceeded)", accepted, err)
			}
			if took != 50*time.Millisecond {
				t.Errorf("the failing Send took %v (fake clock); want its 50 ms ctx", took)
			}
			if accepted != 2 {
				t.Errorf("%d sends accepted with SNDHWM 1 and the peer's RCVHWM 1; want 2", accepted)
			}
			// Room again once the peer reads.
			if _, err := relRecvT(d, time.Second); err != nil {
				t.Fatal(err)
			}
			if err := relSendT(r, 50*time.Millisecond, NewMsgString("d", "again")); err != nil {
				t.Errorf("after the peer read one: %v", err)
			}
		})
	})
	t.Run("mandatory, full peer queue over tcp", func(t *testing.T) {
		r := relNew(t, ROUTER, WithRouterMandatory(), WithSendHWM(1), WithLinger(0))
		ep := relBind(t, r, TCP)
		d := relNew(t, DEALER, WithIdentity([]byte("d")), WithRecvHWM(1))
		relConnect(t, d, ep)
		// Wait until the ROUTER knows the peer.
		if !relWaitUntil(5*time.Second, func() bool {
			return !errors.Is(relSendT(r, time.Second, NewMsgString("d", "hello")), ErrHostUnreachable)
		}) {
			t.Fatal("the ROUTER never learnt the peer's identity")
		}
		big := make([]byte, 256<<10) // fills the kernel buffers fast
		var err error
		var took time.Duration
		for i := 0; i < 1000; i++ {
			start := time.Now()
			err = relSendT(r, 100*time.Millisecond, NewMsg([]byte("d"), big))
			took = time.Since(start)
			if err != nil {
				break
			}
		}
		t.Logf("full: %v after %v", err, took)
		if !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("a full peer gave %v; want ErrWouldBlock", err)
		}
		if took > 100*time.Millisecond+400*time.Millisecond {
			t.Errorf("the failing Send took %v with a 100 ms ctx", took)
		}
	})
	t.Run("mandatory, blocked Send, the peer disconnects", func(t *testing.T) {
		r := relNew(t, ROUTER, WithRouterMandatory(), WithSendHWM(1), WithLinger(0))
		ep := relBind(t, r, Inproc)
		d := relNew(t, DEALER, WithIdentity([]byte("d")), WithRecvHWM(1), WithLinger(0))
		relConnect(t, d, ep)
		relWaitRouterPeer(t, r, "d")
		for i := 0; ; i++ {
			err := relSendT(r, 50*time.Millisecond, NewMsgString("d", "fill"))
			if errors.Is(err, ErrWouldBlock) {
				break
			}
			if i > 1000 {
				t.Fatalf("never full: %v", err)
			}
		}
		res := make(chan error, 1)
		go func() { res <- relSendT(r, 10*time.Second, NewMsgString("d", "blocked")) }()
		select {
		case err := <-res:
			t.Fatalf("Send to a full peer returned at once: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		start := time.Now()
		d.Close()
		select {
		case err := <-res:
			t.Logf("blocked Send returned %v after the peer left: %v", time.Since(start), err)
			if !errors.Is(err, ErrHostUnreachable) {
				t.Errorf("blocked Send: %v; want ErrHostUnreachable once the peer is gone", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("a Send blocked on a peer that left did not return")
		}
	})
	t.Run("full peer queue, mandatory off: drop, never block", func(t *testing.T) {
		r := relNew(t, ROUTER, WithSendHWM(1), WithLinger(0))
		ep := relBind(t, r, Inproc)
		d := relNew(t, DEALER, WithIdentity([]byte("d")), WithRecvHWM(1))
		relConnect(t, d, ep)
		if !relWaitUntil(5*time.Second, func() bool {
			relSendT(r, time.Second, NewMsgString("d", "probe"))
			_, err := relRecvT(d, 5*time.Millisecond)
			return err == nil
		}) {
			t.Fatal("peer never reachable")
		}
		start := time.Now()
		for range 1000 {
			if err := relSendT(r, time.Minute, NewMsgString("d", "x")); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("1000 sends to a full peer took %v: a ROUTER must not block", d)
		}
		if r.Stats().Dropped == 0 {
			t.Error("Stats().Dropped = 0 after 1000 sends to a peer with room for 2")
		}
	})

	dupSetup := func(t *testing.T, handover bool) (r *Socket, revs *relEvents, ep string, d1 *Socket) {
		revs, rmon := newRelEvents(t)
		opts := []Option{rmon, WithRouterMandatory()}
		if handover {
			opts = append(opts, WithRouterHandover())
		}
		r = relNew(t, ROUTER, opts...)
		ep = relBind(t, r, TCP)
		d1 = relNew(t, DEALER, WithIdentity([]byte("dup")), WithReconnectInterval(-1, 0))
		relConnect(t, d1, ep)
		ctx := relCtx(t, 5*time.Second)
		if err := d1.Send(ctx, NewMsgString("hi from d1")); err != nil {
			t.Fatal(err)
		}
		m, err := r.Recv(ctx)
		if err != nil || string(m.Frames[0]) != "dup" {
			t.Fatalf("first peer: %v %q", err, m.Frames)
		}
		return r, revs, ep, d1
	}
	t.Run("duplicate identity without handover: refused with an event, first peer keeps working", func(t *testing.T) {
		r, revs, ep, d1 := dupSetup(t, false)
		d2 := relNew(t, DEALER, WithIdentity([]byte("dup")), WithLinger(0))
		relConnect(t, d2, ep)
		if err := d2.Send(relCtx(t, time.Second), NewMsgString("hi from d2")); err != nil {
			t.Fatal(err)
		}
		ev, ok := revs.wait(5*time.Second, 1, relIs(EventHandshakeFailed))
		if !ok {
			t.Fatalf("the duplicate was not refused with an event (never a silent blackhole); events:\n%s", revs)
		}
		if !errors.Is(ev.Err, ErrState) || !strings.Contains(ev.Err.Error(), "already in use") {
			t.Fatalf("refusal event %v; want ErrState for an identity already in use", ev)
		}
		ctx := relCtx(t, 5*time.Second)
		for i := range 10 {
			if err := r.Send(ctx, NewMsgString("dup", fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			m, err := d1.Recv(ctx)
			if err != nil || string(m.Frames[0]) != fmt.Sprint(i) {
				t.Fatalf("the first peer stopped getting its messages: %v %q", err, m.Frames)
			}
			if err := d1.Send(ctx, NewMsgString("d1", fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			for {
				m, err = r.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(m.Frames[1]) == "d1" {
					break
				}
				t.Errorf("a message from the refused duplicate arrived: %q", m.Frames)
			}
		}
		if _, err := relRecvT(d2, 100*time.Millisecond); err == nil {
			t.Error("the refused duplicate received a message meant for the first peer")
		}
	})
	t.Run("duplicate identity with handover: the newcomer takes over", func(t *testing.T) {
		r, revs, ep, d1 := dupSetup(t, true)
		d2 := relNew(t, DEALER, WithIdentity([]byte("dup")), WithLinger(0))
		relConnect(t, d2, ep)
		if _, ok := revs.wait(5*time.Second, 2, relIs(EventHandshakeSucceeded)); !ok {
			t.Fatalf("the newcomer was not admitted; events:\n%s", revs)
		}
		if _, ok := revs.wait(5*time.Second, 1, relIs(EventDisconnected)); !ok {
			t.Fatalf("the old peer was not disconnected; events:\n%s", revs)
		}
		ctx := relCtx(t, 5*time.Second)
		if err := r.Send(ctx, NewMsgString("dup", "for the newcomer")); err != nil {
			t.Fatal(err)
		}
		m, err := d2.Recv(ctx)
		if err != nil || string(m.Frames[0]) != "for the newcomer" {
			t.Fatalf("newcomer: %v %q", err, m.Frames)
		}
		if m, err := relRecvT(d1, 100*time.Millisecond); err == nil {
			t.Errorf("the old peer still got %q after the handover", m.Frames)
		}
		if err := d2.Send(ctx, NewMsgString("from d2")); err != nil {
			t.Fatal(err)
		}
		m, err = r.Recv(ctx)
		if err != nil || string(m.Frames[0]) != "dup" || string(m.Frames[1]) != "from d2" {
			t.Fatalf("from the newcomer: %v %q", err, m.Frames)
		}
	})
	t.Run("peer-chosen identity 0x00… cannot take a generated identity", func(t *testing.T) {
		// Generated identities are 0x00 + a 32-bit counter; RFC 37 keeps
		// identities starting with 0x00 for them. A peer announcing one
		// must not collide with (and, with handover, hijack) an anonymous
		// peer's routing.
		for _, handover := range []bool{false, true} {
			t.Run(fmt.Sprintf("handover=%v", handover), func(t *testing.T) {
				revs, rmon := newRelEvents(t)
				opts := []Option{rmon, WithRouterMandatory()}
				if handover {
					opts = append(opts, WithRouterHandover())
				}
				r := relNew(t, ROUTER, opts...)
				ep := relBind(t, r, TCP)
				anon := relNew(t, DEALER)
				relConnect(t, anon, ep)
				ctx := relCtx(t, 5*time.Second)
				if err := anon.Send(ctx, NewMsgString("anon")); err != nil {
					t.Fatal(err)
				}
				m, err := r.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				anonID := m.Frames[0]
				if len(anonID) == 0 || anonID[0] != 0 {
					t.Fatalf("generated identity %x does not start with 0x00", anonID)
				}
				// The hostile peer announces exactly that identity.
				rp := relDialRaw(t, ep)
				if err := rp.handshake("DEALER", "Identity", string(anonID)); err != nil {
					t.Logf("hostile peer refused at the handshake: %v", err)
				}
				relWaitUntil(time.Second, func() bool {
					return revs.count(EventHandshakeSucceeded)+revs.count(EventHandshakeFailed) >= 2
				})
				if err := r.Send(ctx, NewMsg(anonID, []byte("for anon"))); err != nil {
					t.Fatalf("Send to the anonymous peer: %v", err)
				}
				m, err = relRecvT(anon, 2*time.Second)
				if err != nil || string(m.Frames[0]) != "for anon" {
					t.Errorf("the anonymous peer lost its routing to a peer-chosen identity %x: %v\nROUTER events:\n%s", anonID, err, revs)
				}
				// And a new anonymous peer still gets in after a hostile
				// one took the next generated identity.
				next := slices.Clone(anonID)
				next[len(next)-1]++
				rp2 := relDialRaw(t, ep)
				rp2.handshake("DEALER", "Identity", string(next))
				anon2 := relNew(t, DEALER)
				relConnect(t, anon2, ep)
				if err := anon2.Send(ctx, NewMsgString("anon2")); err != nil {
					t.Fatal(err)
				}
				got := false
				for !got {
					m, err := relRecvT(r, 2*time.Second)
					if err != nil {
						t.Errorf("a new anonymous peer collided with identity %x, which a peer had chosen beforehand: it was refused and its first message never arrived (%v)\nROUTER events:\n%s", next, err, revs)
						break
					}
					got = string(m.Frames[1]) == "anon2"
				}
			})
		}
	})
}
