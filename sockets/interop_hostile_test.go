package sockets

// The hostile inputs of TestHostilePeers (hostileInputs, reliability matrix
// §8), sent in the middle of a real libzmq peer's stream, with the overlap
// shown by counting the legitimate messages delivered when each bad
// connection starts and when it ends.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// hostileRaw is what one bad connection saw.
type hostileRaw struct {
	in            hostileInput
	wave          int
	before, after int64 // legitimate messages delivered when it wrote, when it ended
	closed        bool  // the server closed it (not tolerated inputs)
	pong          bool  // the server answered its PING (tolerated inputs)
	err           error
}

// hostileConverse dials ep, records got, writes the input, and then waits
// for the server to close the connection (within bound) or, for a
// tolerated input, for its PONG; it records got again at the end. written
// is called once the input has been written (or the write has failed).
func hostileConverse(ep string, in hostileInput, got *atomic.Int64, bound time.Duration, written func()) (r hostileRaw) {
	r.in = in
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), 5*time.Second)
	if err != nil {
		written()
		r.err = err
		return r
	}
	defer c.Close()
	r.before = got.Load()
	// The server may close before it has read everything: a failed
	// write is part of some conversations.
	if err := c.SetWriteDeadline(time.Now().Add(5 * time.Second)); err == nil {
		_, _ = c.Write(in.wire)
	}
	written()
	if err := c.SetReadDeadline(time.Now().Add(bound)); err != nil {
		r.err = err
		return r
	}
	defer func() { r.after = got.Load() }()
	if in.tolerated {
		// Still a working connection: our greeting, then frames until
		// the PONG for the PING the input ends with.
		var g [zmtp.GreetingSize]byte
		if _, err := io.ReadFull(c, g[:]); err != nil {
			r.err = fmt.Errorf("reading the greeting: %w", err)
			return r
		}
		for {
			flags, body, err := hostileReadFrame(c)
			if err != nil {
				r.err = fmt.Errorf("waiting for a PONG: %w", err)
				return r
			}
			if flags&zmtp.FlagCommand != 0 && len(body) >= 5 && string(body[1:5]) == zmtp.CmdPong {
				r.pong = true
				return r
			}
		}
	}
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.err = fmt.Errorf("still open after %v", bound)
				return r
			}
			r.closed = true // EOF or reset: the server closed it
			return r
		}
	}
}

// hostileReadFrame reads one frame from the server, refusing a body over
// 64 KiB before allocating it.
func hostileReadFrame(r io.Reader) (flags byte, body []byte, err error) {
	var h [zmtp.MaxFrameHeader]byte
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		return 0, nil, err
	}
	n := 2
	if h[0]&zmtp.FlagLong != 0 {
		if _, err := io.ReadFull(r, h[2:]); err != nil {
			return 0, nil, err
		}
		n = len(h)
	}
	flags, size, _, err := zmtp.ParseFrameHeader(h[:n])
	if err != nil {
		return 0, nil, err
	}
	if size > 64<<10 {
		return 0, nil, fmt.Errorf("a frame of %d octets from the server", size)
	}
	body = make([]byte, size)
	_, err = io.ReadFull(r, body)
	return flags, body, err
}

// TestHostilePeersDuringLibzmqStream: a libzmq PUSH streams 10,000
// messages to our PULL, in chunks of 500, while three waves of hostile
// connections (every input of hostileInputs in each wave) hit the same
// PULL. Wave k starts once 500+3000k legitimate messages have arrived; the
// stream's chunk 6k+3 waits until wave k has written all its input, and the
// last chunk until every bad connection has ended. So each bad input is
// written, and each bad connection ends, while the stream is in progress,
// which the counts recorded at those moments show; and legitimate messages
// arrive while bad connections are open (some connection of each wave saw
// the count rise between its write and its end). Every bad connection is
// closed (tolerated inputs answer a PING instead), the 10,000 messages
// arrive whole and in order with nothing else among them or after, and
// libzmq's monitor shows its one connection never dropped.
func TestHostilePeersDuringLibzmqStream(t *testing.T) {
	libzmqpeer.Require(t)
	t.Parallel()
	const (
		total     = 10_000
		chunk     = 500
		size      = 64
		waves     = 3
		hsTimeout = time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pull, err := New(PULL, WithMaxMsgSize(hostileMaxMsg), WithHandshakeTimeout(hsTimeout), WithLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pull.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ep := pull.Endpoints()[0]
	peer := libzmqpeer.Start(t, libzmqpeer.Options{Type: "PUSH", Connect: []string{ep},
		Args: []string{"--sndtimeo", "60000", "--monitor"}})

	// The legitimate stream, checked message by message; got is how many
	// have arrived, and reached[k] closes when wave k may start.
	var got atomic.Int64
	threshold := func(k int) int64 { return int64((6*k + 1) * chunk) }
	reached := make([]chan struct{}, waves)
	for k := range reached {
		reached[k] = make(chan struct{})
	}
	recvDone := make(chan error, 1)
	go func() {
		next := 0
		recvDone <- recvLegitimate(ctx, pull, total, size, func(i int) {
			got.Store(int64(i + 1))
			for next < waves && got.Load() >= threshold(next) {
				close(reached[next])
				next++
			}
		})
	}()

	written := make([]chan struct{}, waves)
	for k := range written {
		written[k] = make(chan struct{})
	}
	finished := make(chan struct{})
	sendDone := make(chan error, 1)
	go func() {
		chunks := total / chunk
		for c := range chunks {
			var gate chan struct{}
			switch {
			case c == chunks-1:
				gate = finished
			case c%6 == 3 && c/6 < waves:
				gate = written[c/6]
			}
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					sendDone <- fmt.Errorf("chunk %d: %w", c, ctx.Err())
					return
				}
			}
			if err := peer.SendFrom(c*chunk, chunk, size); err != nil {
				sendDone <- fmt.Errorf("chunk %d: %w", c, err)
				return
			}
		}
		sendDone <- nil
	}()

	inputs := hostileInputs()
	results := make(chan hostileRaw, waves*len(inputs))
	var ends sync.WaitGroup // every bad connection of every wave
	defer ends.Wait()
	for k := range waves {
		select {
		case <-reached[k]:
		case err := <-recvDone:
			t.Fatalf("before wave %d: %v", k, err)
		case <-ctx.Done():
			t.Fatalf("wave %d: the stream never reached %d messages (at %d)", k, threshold(k), got.Load())
		}
		var writes sync.WaitGroup
		for _, in := range inputs {
			bound := 5 * time.Second
			if in.stalls {
				bound = hsTimeout + 5*time.Second
			}
			writes.Add(1)
			ends.Add(1)
			go func() {
				defer ends.Done()
				r := hostileConverse(ep, in, &got, bound, writes.Done)
				r.wave = k
				results <- r
			}()
		}
		writes.Wait()
		close(written[k])
	}
	ends.Wait()
	close(finished)
	if err := <-sendDone; err != nil {
		t.Fatalf("libzmq stream: %v", err)
	}
	if err := <-recvDone; err != nil {
		t.Fatal(err)
	}
	close(results)
	overlaps := make([]int, waves)
	span := make([][2]int64, waves) // per wave: fewest delivered at a write, most at an end
	for k := range span {
		span[k] = [2]int64{total, 0}
	}
	for r := range results {
		span[r.wave][0] = min(span[r.wave][0], r.before)
		span[r.wave][1] = max(span[r.wave][1], r.after)
		switch {
		case r.err != nil:
			t.Errorf("wave %d, %s (§8.%d): %v", r.wave, r.in.name, r.in.item, r.err)
		case r.in.tolerated && !r.pong:
			t.Errorf("wave %d, %s (§8.%d): tolerated input, but no PONG", r.wave, r.in.name, r.in.item)
		case !r.in.tolerated && !r.closed:
			t.Errorf("wave %d, %s (§8.%d): not closed", r.wave, r.in.name, r.in.item)
		}
		if r.before < threshold(r.wave) || r.before >= total || r.after >= total {
			t.Errorf("wave %d, %s: written with %d and ended with %d of %d legitimate messages delivered, want both within the stream (from %d)",
				r.wave, r.in.name, r.before, r.after, total, threshold(r.wave))
		}
		if r.after > r.before {
			overlaps[r.wave]++
		}
	}
	for k, n := range overlaps {
		if n == 0 {
			t.Errorf("wave %d: no legitimate message arrived while any of its bad connections was open", k)
		}
	}
	for k := range waves {
		t.Logf("wave %d: %d bad connections, written from message %d on, all ended by message %d of %d; %d of them open while legitimate messages arrived",
			k, len(inputs), span[k][0], span[k][1], total, overlaps[k])
	}

	// Exactly 10,000: nothing after the last legitimate message.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if m, err := pull.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the stream: Recv = %q, %v; want nothing (garbage delivered?)", m.Frames, err)
	}
	evs, err := peer.Events()
	if err != nil {
		t.Fatal(err)
	}
	succeeded, dropped := 0, 0
	for _, ev := range evs {
		switch {
		case strings.HasPrefix(ev, "HANDSHAKE_SUCCEEDED"):
			succeeded++
		case strings.HasPrefix(ev, "DISCONNECTED"), strings.HasPrefix(ev, "HANDSHAKE_FAILED"):
			dropped++
		}
	}
	if succeeded != 1 || dropped != 0 {
		t.Errorf("the legitimate libzmq peer's connection did not stay up: %q", evs)
	}
	if p := pull.Stats().Panics; p != 0 {
		t.Errorf("Stats().Panics = %d", p)
	}
}
