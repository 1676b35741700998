package sockets_test

// Helpers shared by the interop tests (interop_libzmq_test.go against a real
// libzmq, interop_zmq4_test.go against go-zeromq/zmq4). They use only the
// exported API of package sockets.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/sockets"
)

// newTestSocket creates one of our sockets, closed when the test ends.
func newTestSocket(t testing.TB, typ sockets.Type, opts ...sockets.Option) *sockets.Socket {
	t.Helper()
	s, err := sockets.New(typ, opts...)
	if err != nil {
		t.Fatalf("sockets.New(%s): %v", typ, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close %s: %v", typ, err)
		}
		if st := s.Stats(); st.Panics != 0 {
			t.Errorf("%s: %d connection goroutines panicked", typ, st.Panics)
		}
	})
	return s
}

// testContext returns a context that ends after d or when the test ends.
func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// localEndpoint returns an endpoint to bind on transport "tcp" (loopback,
// any port) or "ipc" (a socket file named name in a test directory).
func localEndpoint(t testing.TB, transport, name string) string {
	t.Helper()
	switch transport {
	case "tcp":
		return "tcp://127.0.0.1:0"
	case "ipc":
		return "ipc://" + filepath.Join(t.TempDir(), name+".sock")
	}
	t.Fatalf("unknown transport %q", transport)
	return ""
}

// bindTestSocket binds s on transport and returns the endpoint to connect to.
func bindTestSocket(t testing.TB, s *sockets.Socket, transport string) string {
	t.Helper()
	ep := localEndpoint(t, transport, "ours")
	if err := s.Bind(ep); err != nil {
		t.Fatalf("Bind %s: %v", ep, err)
	}
	eps := s.Endpoints()
	if len(eps) != 1 {
		t.Fatalf("Endpoints() = %q after one Bind", eps)
	}
	if transport == "ipc" && eps[0] != ep {
		t.Fatalf("Endpoints() = %q, bound %q", eps, ep)
	}
	return eps[0]
}

// newMonitor returns a channel for sockets.WithMonitor, big enough that the
// few events of a test are never dropped.
func newMonitor() chan sockets.Event { return make(chan sockets.Event, 1024) }

// waitForEvent reads events until one of type want arrives, ctx ends, or
// (when fail is non-zero) an event of type fail arrives first.
func waitForEvent(ctx context.Context, events <-chan sockets.Event, want, fail sockets.EventType) (sockets.Event, error) {
	var seen []string
	for {
		select {
		case ev := <-events:
			if ev.Type == want {
				return ev, nil
			}
			seen = append(seen, ev.String())
			if fail != 0 && ev.Type == fail {
				return ev, fmt.Errorf("event %v before %v (seen: %q)", ev, want, seen)
			}
		case <-ctx.Done():
			return sockets.Event{}, fmt.Errorf("no %v event: %w (seen: %q)", want, ctx.Err(), seen)
		}
	}
}

// fill returns n bytes of a recognisable pattern starting at c.
func fill(n int, c byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c + byte(i%23)
	}
	return b
}

// concat returns the frames of all the lists, in order, in a new slice.
func concat(lists ...[][]byte) [][]byte {
	var out [][]byte
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// showFrames renders frames for an error message, shortening long ones.
func showFrames(frames [][]byte) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, f := range frames {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch {
		case len(f) == 0:
			b.WriteString(`""`)
		case len(f) > 24:
			fmt.Fprintf(&b, "%s...(%dB)", hex.EncodeToString(f[:12]), len(f))
		default:
			fmt.Fprintf(&b, "%q", f)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// equalFrames reports how got differs from want, or nil.
func equalFrames(got, want [][]byte) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d frames %s, want %d frames %s", len(got), showFrames(got), len(want), showFrames(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			return fmt.Errorf("frame %d differs: got %s, want %s", i, showFrames(got), showFrames(want))
		}
	}
	return nil
}

// bulkShape describes a run of messages: n messages of len(extra)+1 frames,
// the extra frames fixed, the last one message i of the sendn convention of
// libzmqpeer (Payload(i, size)). Routing envelopes go before the extra frames.
// Both receivers compare every message exactly, every frame of it: ours
// with check, a libzmq peer with RecvCheck given the envelope and the extra
// frames.
type bulkShape struct {
	name  string
	n     int
	size  int
	extra [][]byte
}

// bulkShapes are the message runs every libzmq pair carries in each
// direction: many small messages, multipart messages with empty frames and
// frames on both sides of the 255/256-octet short/long frame boundary, and
// multipart messages with two 1 MiB frames between empty ones (the first
// patterned with a period of 23 octets, so that 64 KiB pieces put together
// in the wrong order cannot pass for it).
var bulkShapes = []bulkShape{
	{name: "10000x32B", n: 10000, size: 32},
	{name: "1000xmultipart", n: 1000, size: 256, extra: [][]byte{{}, fill(255, 'a'), {}, fill(256, 'A')}},
	{name: "5x1MiBmultipart", n: 5, size: 1 << 20, extra: [][]byte{{}, fill(1<<20, 'm'), {}}},
}

// frames returns message i of the shape behind the envelope pre.
func (sh bulkShape) frames(pre [][]byte, i int) [][]byte {
	return concat(pre, sh.extra, [][]byte{libzmqpeer.Payload(uint64(i), sh.size)})
}

// check verifies that got is message i of the shape behind envelope pre.
func (sh bulkShape) check(got [][]byte, pre [][]byte, i int) error {
	want := len(pre) + len(sh.extra) + 1
	if len(got) != want {
		return fmt.Errorf("message %d: got %d frames %s, want %d", i, len(got), showFrames(got), want)
	}
	for j, f := range concat(pre, sh.extra) {
		if !bytes.Equal(got[j], f) {
			return fmt.Errorf("message %d: frame %d is %s, want %s", i, j, showFrames(got[j:j+1]), showFrames([][]byte{f}))
		}
	}
	return libzmqpeer.CheckPayload(uint64(i), sh.size, got[want-1])
}

// sendBulk sends the shape's messages from s behind the envelope pre, in a
// goroutine; the channel gets the outcome.
func sendBulk(ctx context.Context, s *sockets.Socket, pre [][]byte, sh bulkShape) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for i := range sh.n {
			if err := s.Send(ctx, sockets.NewMsg(sh.frames(pre, i)...)); err != nil {
				errc <- fmt.Errorf("Send message %d of %d: %w", i, sh.n, err)
				return
			}
		}
		errc <- nil
	}()
	return errc
}

// recvBulk receives the shape's messages on s, each behind the envelope
// pre, in order. Messages for which skip returns true are ignored.
func recvBulk(ctx context.Context, s *sockets.Socket, pre [][]byte, sh bulkShape, skip func([][]byte) bool) error {
	for i := 0; i < sh.n; {
		m, err := s.Recv(ctx)
		if err != nil {
			return fmt.Errorf("Recv message %d of %d: %w", i, sh.n, err)
		}
		if skip != nil && skip(m.Frames) {
			continue
		}
		if err := sh.check(m.Frames, pre, i); err != nil {
			return err
		}
		i++
	}
	return nil
}

// errAfter waits for an error from c, or gives up when ctx ends.
func errAfter(ctx context.Context, c <-chan error) error {
	select {
	case err := <-c:
		return err
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting: %w", ctx.Err())
	}
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// isTimeout reports whether err is a Recv/Send timeout.
func isTimeout(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// TestBulkShapeCheck: the check our receivers run on a bulk message notices
// a change in any frame (the envelope, an empty frame, a middle 1 MiB frame
// with one octet off, the payload) and a frame too many or too few.
func TestBulkShapeCheck(t *testing.T) {
	t.Parallel()
	sh := bulkShapes[len(bulkShapes)-1]
	pre := [][]byte{[]byte("id"), {}}
	const i = 3
	good := sh.frames(pre, i)
	if err := sh.check(good, pre, i); err != nil {
		t.Fatalf("the message itself: %v", err)
	}
	flip := func(j, at int) [][]byte {
		m := slices.Clone(good)
		m[j] = bytes.Clone(m[j])
		m[j][at] ^= 0x80
		return m
	}
	for name, m := range map[string][][]byte{
		"envelope":               flip(0, 1),
		"middle 1 MiB frame":     flip(3, 700_000),
		"payload index":          flip(len(good)-1, 7),
		"payload padding":        flip(len(good)-1, 1<<19),
		"empty frame not empty":  slices.Concat(good[:2], [][]byte{{0}}, good[3:]),
		"frame missing":          slices.Concat(good[:2], good[3:]),
		"frame too many":         slices.Concat(good[:2], [][]byte{{}}, good[2:]),
		"wrong message of shape": sh.frames(pre, i+1),
	} {
		if err := sh.check(m, pre, i); err == nil {
			t.Errorf("%s: check passed a wrong message", name)
		}
	}
}
