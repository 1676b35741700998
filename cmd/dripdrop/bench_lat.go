package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// echo answers n requests on a REP socket with the request itself, as
// libzmq's local_lat does.
func (b *benchRun) echo(ctx context.Context, s *sockets.Socket, n int) error {
	for i := range n {
		m, err := s.Recv(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d round trips: %w", i, n, err)
		}
		if err := checkSize(m, b.c.size); err != nil {
			return err
		}
		if err := s.Send(ctx, sockets.Msg{Frames: m.Frames}); err != nil {
			return fmt.Errorf("after %d of %d round trips: %w", i, n, err)
		}
	}
	return nil
}

// pingPong makes n round trips on a REQ socket, as libzmq's remote_lat
// does, and returns how long they took and the heap allocations per round
// trip.
func (b *benchRun) pingPong(ctx context.Context, s *sockets.Socket, n int) (time.Duration, float64, error) {
	m := sockets.NewMsg(make([]byte, b.c.size))
	prog := startProgress(b.stderr, b.c.test, "round trips", n, b.c.progress)
	defer prog.finish()
	allocs := startAllocs()
	start := time.Now()
	for i := range n {
		if err := s.Send(ctx, m); err != nil {
			return 0, 0, fmt.Errorf("after %d of %d round trips: %w", i, n, err)
		}
		reply, err := s.Recv(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("after %d of %d round trips: %w", i, n, err)
		}
		if err := checkSize(reply, b.c.size); err != nil {
			return 0, 0, err
		}
		reply.Release()
		if i%progressEvery == 0 {
			prog.set(i)
		}
	}
	elapsed := time.Since(start)
	return elapsed, allocs.per(n), nil
}

// localLat is local_lat: REP binds and echoes.
func (b *benchRun) localLat(ctx context.Context) error {
	s, err := b.newSocket(sockets.REP)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := b.bind(s, b.c.endpoint); err != nil {
		return err
	}
	allocs := startAllocs()
	start := time.Now()
	if err := b.echo(ctx, s, b.c.count); err != nil {
		return err
	}
	if b.c.json {
		return writeJSON(b.stdout, sendResult{b.c.test, b.c.size, b.c.count, time.Since(start).Microseconds(), allocs.per(b.c.count)})
	}
	return nil
}

// remoteLat is remote_lat: REQ connects and measures.
func (b *benchRun) remoteLat(ctx context.Context) error {
	s, err := b.newSocket(sockets.REQ)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Connect(b.c.endpoint); err != nil {
		return err
	}
	elapsed, allocs, err := b.pingPong(ctx, s, b.c.count)
	if err != nil {
		return err
	}
	r := newLatResult(b.c.test, b.c.size, b.c.count, elapsed)
	r.AllocsPerTrip = allocs
	if b.c.json {
		return writeJSON(b.stdout, r)
	}
	r.printHead(b.stdout)
	r.printTail(b.stdout)
	return nil
}

// inprocLat is inproc_lat: REQ binds here, a REP in another goroutine
// connects and echoes.
func (b *benchRun) inprocLat(ctx context.Context) error {
	ep := inprocName(b.c.test)
	req, err := b.newSocket(sockets.REQ)
	if err != nil {
		return err
	}
	defer req.Close()
	if err := req.Bind(ep); err != nil {
		return err
	}
	rep, err := b.newSocket(sockets.REP)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	echoed := make(chan error, 1)
	go func() {
		defer rep.Close()
		err := rep.Connect(ep)
		if err == nil {
			err = b.echo(ctx, rep, b.c.count)
		}
		if err != nil {
			cancel() // the requester waits for replies that will not come
		}
		echoed <- err
	}()
	r := latResult{MessageSize: b.c.size, RoundtripCount: b.c.count}
	if !b.c.json {
		r.printHead(b.stdout)
	}
	elapsed, allocs, err := b.pingPong(ctx, req, b.c.count)
	if err != nil {
		cancel()
		if eerr := <-echoed; eerr != nil && !errors.Is(eerr, context.Canceled) {
			return eerr
		}
		return err
	}
	if err := <-echoed; err != nil {
		return err
	}
	r = newLatResult(b.c.test, b.c.size, b.c.count, elapsed)
	r.AllocsPerTrip = allocs // both sides: they share the process
	if b.c.json {
		return writeJSON(b.stdout, r)
	}
	r.printTail(b.stdout)
	return nil
}
