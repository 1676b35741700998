package sockets_test

// Interop tests against github.com/go-zeromq/zmq4 v0.17 (pure Go; greets as
// ZMTP 3.0, so our SUB must send it 0x01-prefixed subscription messages,
// not SUBSCRIBE commands). Each pattern runs over tcp with our socket
// binding and zmq4 dialling, and the other way round, carrying 1,000
// messages.
//
// What zmq4 gets wrong is left alone: its PUSH and DEALER send every
// message to every peer (so only one peer is used), its REP splits the
// envelope at the last empty frame rather than the first (so requests to
// it carry no empty frame), and its SUB does not filter (which lets the
// PUB(ours)->SUB(zmq4) test show that our PUB does).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/go-zeromq/zmq4"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// z4Shape is what each zmq4 test carries: multipart messages with an empty
// frame and frames on both sides of the 255/256-octet boundary.
var z4Shape = bulkShape{name: "1000xmultipart", n: 1000, size: 256, extra: [][]byte{{}, fill(255, 'z')}}

// z4ReqShape is z4Shape without the empty frame, which zmq4's REP would
// take for the end of the envelope.
var z4ReqShape = bulkShape{name: "1000xrequests", n: 1000, size: 256, extra: [][]byte{fill(255, 'z')}}

var (
	z4DealerID = []byte("z4-dealer")
	z4Timeout  = 20 * time.Second // zmq4's own Send timeout
)

// testLogWriter sends zmq4's log lines to the test log while the test
// runs, and drops them after (zmq4's goroutines may outlive a Close).
type testLogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	}
	return len(p), nil
}

// newZ4Socket creates a zmq4 socket closed when the test ends. Create our
// socket first: cleanups run last-in first-out, and zmq4's socket must be
// closed first, or its reader goroutines may block on their queue forever.
func newZ4Socket(t testing.TB, ctor func(context.Context, ...zmq4.Option) zmq4.Socket, opts ...zmq4.Option) zmq4.Socket {
	t.Helper()
	lw := &testLogWriter{t: t}
	t.Cleanup(func() {
		lw.mu.Lock()
		lw.done = true
		lw.mu.Unlock()
	})
	opts = append([]zmq4.Option{
		zmq4.WithLogger(log.New(lw, "zmq4: ", 0)),
		zmq4.WithTimeout(z4Timeout),
	}, opts...)
	s := ctor(context.Background(), opts...)
	t.Cleanup(func() {
		_ = s.Close()
		if s.Type() == zmq4.Pub {
			if err := stopZmq4PubWriter(s); err != nil {
				t.Errorf("cannot stop zmq4's PUB writer goroutine: %v", err)
			}
		}
	})
	return s
}

// stopZmq4PubWriter ends the goroutine zmq4's NewPub starts
// ((*pubMWriter).run), which its Close never stops (zmq4 v0.17.0): without
// this, every zmq4 PUB leaks a goroutine and goleak fails the package. It
// calls the writer's own Close, reaching the unexported field by reflection.
func stopZmq4PubWriter(s zmq4.Socket) error {
	field := func(v reflect.Value, name string) (reflect.Value, error) {
		if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("%v is not a pointer to a struct", v.Type())
		}
		f := v.Elem().FieldByName(name)
		if !f.IsValid() {
			return reflect.Value{}, fmt.Errorf("%v has no field %s", v.Type(), name)
		}
		return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), nil
	}
	sck, err := field(reflect.ValueOf(s), "sck")
	if err != nil {
		return err
	}
	w, err := field(sck, "w")
	if err != nil {
		return err
	}
	c, ok := w.Interface().(io.Closer)
	if !ok {
		return fmt.Errorf("zmq4's PUB writer %v has no Close", w.Type())
	}
	_ = c.Close() // it closes the connections again: errors expected
	return nil
}

// z4Connect connects our socket and the zmq4 one, one binding, the other
// connecting.
func z4Connect(t *testing.T, ours *sockets.Socket, z4 zmq4.Socket, oursBinds bool) {
	t.Helper()
	if oursBinds {
		ep := bindTestSocket(t, ours, "tcp")
		if err := z4.Dial(ep); err != nil { // synchronous in zmq4
			t.Fatalf("zmq4 Dial %s: %v", ep, err)
		}
		return
	}
	if err := z4.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatalf("zmq4 Listen: %v", err)
	}
	ep := "tcp://" + z4.Addr().String()
	if err := ours.Connect(ep); err != nil {
		t.Fatalf("Connect %s: %v", ep, err)
	}
}

// z4Recv receives one message on a zmq4 socket, giving up when ctx ends
// (zmq4's Recv has no timeout; the goroutine then ends when the socket is
// closed).
func z4Recv(ctx context.Context, s zmq4.Socket) ([][]byte, error) {
	type result struct {
		m   zmq4.Msg
		err error
	}
	c := make(chan result, 1)
	go func() {
		m, err := s.Recv()
		c <- result{m, err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			return nil, fmt.Errorf("zmq4 Recv: %w", r.err)
		}
		return r.m.Frames, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("zmq4 Recv: %w", ctx.Err())
	}
}

// z4SendBulk sends the shape's messages from the zmq4 socket behind pre,
// in a goroutine.
func z4SendBulk(s zmq4.Socket, pre [][]byte, sh bulkShape) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for i := range sh.n {
			if err := s.Send(zmq4.NewMsgFrom(sh.frames(pre, i)...)); err != nil {
				errc <- fmt.Errorf("zmq4 Send message %d of %d: %w", i, sh.n, err)
				return
			}
		}
		errc <- nil
	}()
	return errc
}

// z4RecvBulk receives the shape's messages on the zmq4 socket, each behind
// pre, ignoring those skip accepts.
func z4RecvBulk(ctx context.Context, s zmq4.Socket, pre [][]byte, sh bulkShape, skip func([][]byte) bool) error {
	for i := 0; i < sh.n; {
		frames, err := z4Recv(ctx, s)
		if err != nil {
			return fmt.Errorf("message %d of %d: %w", i, sh.n, err)
		}
		if skip != nil && skip(frames) {
			continue
		}
		if err := sh.check(frames, pre, i); err != nil {
			return fmt.Errorf("zmq4 received: %w", err)
		}
		i++
	}
	return nil
}

// eachSide runs f as two parallel subtests: ours binding, zmq4 binding.
func eachSide(t *testing.T, f func(t *testing.T, oursBinds bool)) {
	for _, oursBinds := range []bool{true, false} {
		name := "ours-binds"
		if !oursBinds {
			name = "zmq4-binds"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, oursBinds)
		})
	}
}

// oursToZ4 sends z4Shape from ours (behind oursPre) to zmq4 (behind z4Pre).
func oursToZ4(t *testing.T, ctx context.Context, ours *sockets.Socket, z4 zmq4.Socket, oursPre, z4Pre [][]byte, sh bulkShape) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := sendBulk(ctx, ours, oursPre, sh)
	rerr := z4RecvBulk(ctx, z4, z4Pre, sh, nil)
	if rerr != nil {
		cancel()
	}
	if err := firstErr(rerr, <-sent); err != nil {
		t.Fatal(err)
	}
}

// z4ToOurs sends z4Shape from zmq4 (behind z4Pre) to ours (behind oursPre).
func z4ToOurs(t *testing.T, ctx context.Context, ours *sockets.Socket, z4 zmq4.Socket, z4Pre, oursPre [][]byte, sh bulkShape) {
	t.Helper()
	sent := z4SendBulk(z4, z4Pre, sh)
	rerr := recvBulk(ctx, ours, oursPre, sh, nil)
	// On failure zmq4's Send gives up after z4Timeout at worst.
	if err := firstErr(rerr, <-sent); err != nil {
		t.Fatal(err)
	}
}

func TestZmq4PushPull(t *testing.T) {
	t.Parallel()
	t.Run("PUSH-ours-to-PULL-zmq4", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			push := newTestSocket(t, sockets.PUSH)
			pull := newZ4Socket(t, zmq4.NewPull)
			z4Connect(t, push, pull, oursBinds)
			oursToZ4(t, ctx, push, pull, nil, nil, z4Shape)
		})
	})
	t.Run("PUSH-zmq4-to-PULL-ours", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			pull := newTestSocket(t, sockets.PULL)
			push := newZ4Socket(t, zmq4.NewPush)
			z4Connect(t, pull, push, oursBinds)
			z4ToOurs(t, ctx, pull, push, nil, nil, z4Shape)
		})
	})
}

func TestZmq4PubSub(t *testing.T) {
	t.Parallel()
	isSync := func(frames [][]byte) bool { return len(frames) == 1 && bytes.Equal(frames[0], syncTopic) }

	// zmq4's SUB does not filter: everything it receives was chosen by our
	// PUB, so noise published between the data must never arrive.
	t.Run("PUB-ours-to-SUB-zmq4", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			pub := newTestSocket(t, sockets.PUB, sockets.WithSendHWM(0))
			sub := newZ4Socket(t, zmq4.NewSub)
			for _, topic := range []string{string(dataSub), string(syncSub)} {
				if err := sub.SetOption(zmq4.OptionSubscribe, topic); err != nil {
					t.Fatal(err)
				}
			}
			z4Connect(t, pub, sub, oursBinds)

			// Publish the sync topic until zmq4 receives it.
			stop := make(chan struct{})
			published := make(chan error, 1)
			go func() {
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					if err := pub.Send(ctx, sockets.NewMsg(syncTopic)); err != nil {
						published <- err
						return
					}
					select {
					case <-stop:
						published <- nil
						return
					case <-tick.C:
					}
				}
			}()
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			got, err := z4Recv(waitCtx, sub)
			cancel()
			close(stop)
			if err := firstErr(err, <-published); err != nil {
				t.Fatalf("zmq4's subscription never reached our PUB: %v", err)
			}
			if !isSync(got) {
				t.Fatalf("zmq4 received %s, want the sync message", showFrames(got))
			}
			if err := sub.SetOption(zmq4.OptionUnsubscribe, string(syncSub)); err != nil {
				t.Fatal(err)
			}

			sent := make(chan error, 1)
			go func() {
				for i := range z4Shape.n {
					for _, m := range []sockets.Msg{
						sockets.NewMsg(noiseTopic, []byte("noise")),
						sockets.NewMsg(z4Shape.frames([][]byte{dataTopic}, i)...),
					} {
						if err := pub.Send(ctx, m); err != nil {
							sent <- err
							return
						}
					}
				}
				sent <- firstErr(
					pub.Send(ctx, sockets.NewMsg(noiseTopic, []byte("noise"))),
					pub.Send(ctx, sockets.NewMsgString(string(dataTopic), "end")))
			}()
			rerr := z4RecvBulk(ctx, sub, [][]byte{dataTopic}, z4Shape, isSync)
			if rerr == nil {
				var last [][]byte
				last, rerr = z4Recv(ctx, sub)
				if rerr == nil {
					rerr = equalFrames(last, [][]byte{dataTopic, []byte("end")})
				}
			}
			if err := firstErr(rerr, <-sent); err != nil {
				t.Fatal(err)
			}
		})
	})

	// zmq4 greets as ZMTP 3.0: our SUB must subscribe with a 0x01 message.
	t.Run("PUB-zmq4-to-SUB-ours", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			sub := newTestSocket(t, sockets.SUB)
			pub := newZ4Socket(t, zmq4.NewPub)
			if err := sub.Subscribe(dataSub); err != nil {
				t.Fatal(err)
			}
			z4Connect(t, sub, pub, oursBinds)
			topics := pub.(zmq4.Topics)
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for !slices.Contains(topics.Topics(), string(dataSub)) {
				select {
				case <-tick.C:
				case <-ctx.Done():
					t.Fatalf("our subscription never reached zmq4's PUB (topics %q)", topics.Topics())
				}
			}
			sent := make(chan error, 1)
			go func() {
				for i := range z4Shape.n {
					for _, m := range []zmq4.Msg{
						zmq4.NewMsgFrom(noiseTopic, []byte("noise")),
						zmq4.NewMsgFrom(z4Shape.frames([][]byte{dataTopic}, i)...),
					} {
						if err := pub.Send(m); err != nil {
							sent <- err
							return
						}
					}
				}
				sent <- nil
			}()
			if err := firstErr(recvBulk(ctx, sub, [][]byte{dataTopic}, z4Shape, nil), <-sent); err != nil {
				t.Fatal(err)
			}
			// The cancellation goes out as a 0x00 message too.
			if err := sub.Unsubscribe(dataSub); err != nil {
				t.Fatal(err)
			}
			for slices.Contains(topics.Topics(), string(dataSub)) {
				select {
				case <-tick.C:
				case <-ctx.Done():
					t.Fatalf("our cancellation never reached zmq4's PUB (topics %q)", topics.Topics())
				}
			}
		})
	})
}

func TestZmq4ReqRep(t *testing.T) {
	t.Parallel()
	sh := z4ReqShape
	t.Run("REQ-ours-to-REP-zmq4", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			req := newTestSocket(t, sockets.REQ)
			rep := newZ4Socket(t, zmq4.NewRep)
			z4Connect(t, req, rep, oursBinds)
			echoCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			echoed := make(chan error, 1)
			go func() {
				for i := range sh.n {
					frames, err := z4Recv(echoCtx, rep)
					if err != nil {
						echoed <- fmt.Errorf("request %d: %w", i, err)
						return
					}
					if err := rep.Send(zmq4.NewMsgFrom(frames...)); err != nil {
						echoed <- fmt.Errorf("zmq4 reply %d: %w", i, err)
						return
					}
				}
				echoed <- nil
			}()
			var err error
			for i := range sh.n {
				if err = req.Send(ctx, sockets.NewMsg(sh.frames(nil, i)...)); err != nil {
					break
				}
				var m sockets.Msg
				if m, err = req.Recv(ctx); err != nil {
					break
				}
				if err = sh.check(m.Frames, nil, i); err != nil {
					break
				}
			}
			if err != nil {
				cancel()
			}
			if err := firstErr(err, errAfter(ctx, echoed)); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("REQ-zmq4-to-REP-ours", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			rep := newTestSocket(t, sockets.REP)
			req := newZ4Socket(t, zmq4.NewReq)
			z4Connect(t, rep, req, oursBinds)
			echoCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			echoed := echoOurs(echoCtx, rep, nil, sh)
			// zmq4's REQ fails a Send while it has no connection (it does
			// not queue): when it listens, retry the first request until
			// our connection has been accepted.
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			var err error
			for i := range sh.n {
				for {
					err = req.Send(zmq4.NewMsgFrom(sh.frames(nil, i)...))
					if err == nil || i > 0 || oursBinds {
						break
					}
					select {
					case <-tick.C:
						continue
					case <-ctx.Done():
					}
					break
				}
				if err != nil {
					break
				}
				var got [][]byte
				if got, err = z4Recv(ctx, req); err != nil {
					break
				}
				if err = sh.check(got, nil, i); err != nil {
					err = fmt.Errorf("zmq4 received: %w", err)
					break
				}
			}
			if err != nil {
				cancel()
			}
			if err := firstErr(err, errAfter(ctx, echoed)); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestZmq4DealerRouter(t *testing.T) {
	t.Parallel()
	t.Run("DEALER-ours-ROUTER-zmq4", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			dealer := newTestSocket(t, sockets.DEALER, sockets.WithIdentity(oursDealerID))
			router := newZ4Socket(t, zmq4.NewRouter)
			z4Connect(t, dealer, router, oursBinds)
			id := [][]byte{oursDealerID}
			// zmq4's ROUTER must see our identity on every message, and
			// route back by it.
			oursToZ4(t, ctx, dealer, router, nil, id, z4Shape)
			z4ToOurs(t, ctx, dealer, router, id, nil, z4Shape)
		})
	})
	t.Run("DEALER-zmq4-ROUTER-ours", func(t *testing.T) {
		t.Parallel()
		eachSide(t, func(t *testing.T, oursBinds bool) {
			ctx := testContext(t, 60*time.Second)
			router := newTestSocket(t, sockets.ROUTER, sockets.WithRouterMandatory())
			dealer := newZ4Socket(t, zmq4.NewDealer, zmq4.WithID(zmq4.SocketIdentity(z4DealerID)))
			z4Connect(t, router, dealer, oursBinds)
			id := [][]byte{z4DealerID}
			z4ToOurs(t, ctx, router, dealer, nil, id, z4Shape)
			oursToZ4(t, ctx, router, dealer, id, nil, z4Shape)
		})
	})
}
