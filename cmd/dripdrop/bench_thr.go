package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// errBadSize is what libzmq's tools say when a message is not SIZE octets.
const errBadSize = "message of incorrect size received"

func checkSize(m sockets.Msg, size int) error {
	if len(m.Frames) != 1 || len(m.Frames[0]) != size {
		total := 0
		for _, f := range m.Frames {
			total += len(f)
		}
		return fmt.Errorf("%s: %d frames, %d octets; want 1 frame of %d", errBadSize, len(m.Frames), total, size)
	}
	return nil
}

func (b *benchRun) newSocket(t sockets.Type) (*sockets.Socket, error) {
	opts := []sockets.Option{
		sockets.WithSendHWM(b.c.hwm),
		sockets.WithRecvHWM(b.c.hwm),
		sockets.WithLinger(b.c.linger),
	}
	if b.c.sndbuf >= 0 {
		opts = append(opts, sockets.WithSendBuffer(b.c.sndbuf))
	}
	if b.c.rcvbuf >= 0 {
		opts = append(opts, sockets.WithRecvBuffer(b.c.rcvbuf))
	}
	return sockets.New(t, opts...)
}

// bind binds s to the endpoint and tells stderr where it is bound (a tcp
// port 0 or * shows the port picked).
func (b *benchRun) bind(s *sockets.Socket, endpoint string) error {
	if err := s.Bind(endpoint); err != nil {
		return err
	}
	fmt.Fprintf(b.stderr, "dripdrop bench %s: bound to %s\n", b.c.test, strings.Join(s.Endpoints(), " "))
	return nil
}

// receive takes count messages of the configured size from s, as libzmq's
// local_thr does: the clock starts when the first has arrived. It returns
// the time and the heap allocations per message after the first.
func (b *benchRun) receive(ctx context.Context, s *sockets.Socket, count int) (time.Duration, float64, error) {
	m, err := s.Recv(ctx)
	if err != nil {
		return 0, 0, err
	}
	if err := checkSize(m, b.c.size); err != nil {
		return 0, 0, err
	}
	prog := startProgress(b.stderr, b.c.test, "messages", count, b.c.progress)
	defer prog.finish()
	allocs := startAllocs()
	start := time.Now()
	for i := 1; i < count; i++ {
		m, err := s.Recv(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("after %d of %d messages: %w", i, count, err)
		}
		if err := checkSize(m, b.c.size); err != nil {
			return 0, 0, err
		}
		m.Release() // its memory takes the next messages, as local_thr reuses its zmq_msg_t
		if i%progressEvery == 0 {
			prog.set(i)
		}
	}
	elapsed := time.Since(start)
	return elapsed, allocs.per(count - 1), nil
}

// send sends count messages of the configured size on s. Every message
// shares one zeroed buffer, which neither side modifies.
func (b *benchRun) send(ctx context.Context, s *sockets.Socket, count int, prog *progress) error {
	m := sockets.NewMsg(make([]byte, b.c.size))
	for i := range count {
		if err := s.Send(ctx, m); err != nil {
			return fmt.Errorf("after %d of %d messages: %w", i, count, err)
		}
		if prog != nil && i%progressEvery == 0 {
			prog.set(i)
		}
	}
	return nil
}

// localThr is local_thr: PULL binds and measures.
func (b *benchRun) localThr(ctx context.Context) error {
	s, err := b.newSocket(sockets.PULL)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := b.bind(s, b.c.endpoint); err != nil {
		return err
	}
	elapsed, allocs, err := b.receive(ctx, s, b.c.count)
	if err != nil {
		return err
	}
	r := newThrResult(b.c.test, b.c.size, b.c.count, elapsed)
	r.AllocsPerMsg = allocs
	if b.c.json {
		return writeJSON(b.stdout, r)
	}
	r.printHead(b.stdout)
	r.printTail(b.stdout)
	return nil
}

// remoteThr is remote_thr: PUSH connects and sends; closing the socket
// waits (up to -linger) until everything queued is written.
func (b *benchRun) remoteThr(ctx context.Context) error {
	s, err := b.newSocket(sockets.PUSH)
	if err != nil {
		return err
	}
	if err := s.Connect(b.c.endpoint); err != nil {
		s.Close()
		return err
	}
	prog := startProgress(b.stderr, b.c.test, "messages", b.c.count, b.c.progress)
	allocs := startAllocs()
	start := time.Now()
	err = b.send(ctx, s, b.c.count, prog)
	perMsg := allocs.per(b.c.count)
	prog.finish()
	s.Close()
	if err != nil {
		return err
	}
	if b.c.json {
		return writeJSON(b.stdout, sendResult{b.c.test, b.c.size, b.c.count, time.Since(start).Microseconds(), perMsg})
	}
	return nil
}

// benchInprocSeq makes the inproc names of concurrent runs unique.
var benchInprocSeq atomic.Uint64

func inprocName(test string) string {
	return fmt.Sprintf("inproc://dripdrop-bench-%s-%d", test, benchInprocSeq.Add(1))
}

// inprocThr is inproc_thr: a PUSH in another goroutine sends to a PULL
// bound in this one.
func (b *benchRun) inprocThr(ctx context.Context) error {
	ep := inprocName(b.c.test)
	pull, err := b.newSocket(sockets.PULL)
	if err != nil {
		return err
	}
	defer pull.Close()
	if err := pull.Bind(ep); err != nil {
		return err
	}
	push, err := b.newSocket(sockets.PUSH)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		defer push.Close()
		err := push.Connect(ep)
		if err == nil {
			err = b.send(ctx, push, b.c.count, nil)
		}
		if err != nil {
			cancel() // the receiver waits for messages that will not come
		}
		sent <- err
	}()
	r := thrResult{MessageSize: b.c.size, MessageCount: b.c.count}
	if !b.c.json {
		r.printHead(b.stdout)
	}
	elapsed, allocs, err := b.receive(ctx, pull, b.c.count)
	if err != nil {
		cancel()
		if serr := <-sent; serr != nil && !errors.Is(serr, context.Canceled) {
			return serr
		}
		return err
	}
	if err := <-sent; err != nil {
		return err
	}
	r = newThrResult(b.c.test, b.c.size, b.c.count, elapsed)
	r.AllocsPerMsg = allocs // both sides: they share the process
	if b.c.json {
		return writeJSON(b.stdout, r)
	}
	r.printTail(b.stdout)
	return nil
}
