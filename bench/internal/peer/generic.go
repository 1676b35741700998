package peer

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Kind is a socket type.
type Kind int

// The socket types the workloads use.
const (
	PUSH Kind = iota
	PULL
	PUB
	SUB
	REQ
	REP
)

func (k Kind) String() string {
	return [...]string{"PUSH", "PULL", "PUB", "SUB", "REQ", "REP"}[k]
}

// DefaultHWM is libzmq's default high-water mark, used by every
// PUSH/PULL and REQ/REP workload. PUB/SUB run with none (0).
const DefaultHWM = 1000

// socket is what the generic roles need of an implementation driven from
// Go one message at a time.
type socket interface {
	bind(ep string) (resolved string, err error)
	connect(ep string) error
	subscribeAll() error
	// prepare turns a payload into a message that send may send any
	// number of times; nobody modifies the payload afterwards.
	prepare(payload []byte) any
	send(m any) error
	// recv receives a one-frame message and returns its size and first
	// octet (0 when empty).
	recv() (size int, first byte, err error)
	// echo receives a request and sends it back (REP).
	echo() (size int, err error)
	close() error
}

// generic implements System over a socket factory.
type generic struct {
	newSocket func(k Kind, hwm int) (socket, error)
}

func (g generic) open(k Kind, hwm int, bind bool, ep string, bound func(string)) (socket, error) {
	s, err := g.newSocket(k, hwm)
	if err != nil {
		return nil, err
	}
	if bind {
		addr, err := s.bind(ep)
		if err != nil {
			s.close()
			return nil, err
		}
		if bound != nil {
			bound(addr)
		}
		return s, nil
	}
	if err := s.connect(ep); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// receive is local_thr's loop: the clock starts once the first message is
// in.
func receive(s socket, size, count int) (Result, error) {
	n, _, err := s.recv()
	if err != nil {
		return Result{}, err
	}
	if n != size {
		return Result{}, errBadSize(n, size)
	}
	start := time.Now()
	for i := 1; i < count; i++ {
		n, _, err := s.recv()
		if err != nil {
			return Result{}, fmt.Errorf("after %d of %d messages: %w", i, count, err)
		}
		if n != size {
			return Result{}, errBadSize(n, size)
		}
	}
	return Result{Count: count, ElapsedNS: since(start)}, nil
}

func sendN(s socket, size, count int) (Result, error) {
	return sendMsg(s, s.prepare(make([]byte, size)), count)
}

// sendMsg sends m count times.
func sendMsg(s socket, m any, count int) (Result, error) {
	start := time.Now()
	for i := range count {
		if err := s.send(m); err != nil {
			return Result{}, fmt.Errorf("after %d of %d messages: %w", i, count, err)
		}
	}
	return Result{Count: count, ElapsedNS: since(start)}, nil
}

func (g generic) LocalThr(ep string, size, count int, bound func(string)) (Result, error) {
	s, err := g.open(PULL, DefaultHWM, true, ep, bound)
	if err != nil {
		return Result{}, err
	}
	defer s.close()
	return receive(s, size, count)
}

func (g generic) RemoteThr(ep string, size, count int, stop <-chan struct{}) (Result, error) {
	s, err := g.open(PUSH, DefaultHWM, false, ep, nil)
	if err != nil {
		return Result{}, err
	}
	r, err := sendN(s, size, count)
	if err == nil {
		<-stop
	}
	if cerr := s.close(); err == nil {
		err = cerr
	}
	return r, err
}

func (g generic) LocalLat(ep string, size, n int, bound func(string), stop <-chan struct{}) (Result, error) {
	s, err := g.open(REP, DefaultHWM, true, ep, bound)
	if err != nil {
		return Result{}, err
	}
	defer s.close()
	start := time.Now()
	for i := range n {
		got, err := s.echo()
		if err != nil {
			return Result{}, fmt.Errorf("after %d of %d round trips: %w", i, n, err)
		}
		if got != size {
			return Result{}, errBadSize(got, size)
		}
	}
	r := Result{Count: n, ElapsedNS: since(start)}
	<-stop
	return r, nil
}

func (g generic) RemoteLat(ep string, size, n int) (Result, error) {
	s, err := g.open(REQ, DefaultHWM, false, ep, nil)
	if err != nil {
		return Result{}, err
	}
	defer s.close()
	m := s.prepare(make([]byte, size))
	start := time.Now()
	for i := range n {
		if err := s.send(m); err != nil {
			return Result{}, fmt.Errorf("after %d of %d round trips: %w", i, n, err)
		}
		got, _, err := s.recv()
		if err != nil {
			return Result{}, fmt.Errorf("after %d of %d round trips: %w", i, n, err)
		}
		if got != size {
			return Result{}, errBadSize(got, size)
		}
	}
	return Result{Count: n, ElapsedNS: since(start)}, nil
}

// inprocSeq keeps inproc names of one process apart.
var inprocSeq atomic.Uint64

func (g generic) InprocThr(size, count int) (Result, error) {
	ep := fmt.Sprintf("inproc://ddbench-thr-%d", inprocSeq.Add(1))
	pull, err := g.open(PULL, DefaultHWM, true, ep, nil)
	if err != nil {
		return Result{}, err
	}
	defer pull.close()
	sent := make(chan error, 1)
	received := make(chan struct{})
	go func() {
		push, err := g.open(PUSH, DefaultHWM, false, ep, nil)
		if err == nil {
			_, err = sendN(push, size, count)
			if err == nil {
				<-received // some implementations drop what is queued at close
			}
			if cerr := push.close(); err == nil {
				err = cerr
			}
		}
		sent <- err
	}()
	type outcome struct {
		r   Result
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		r, err := receive(pull, size, count)
		got <- outcome{r, err}
	}()
	select {
	case err := <-sent:
		// The sender failed before the receiver was done.
		return Result{}, fmt.Errorf("sender: %w", err)
	case o := <-got:
		close(received)
		if o.err != nil {
			return Result{}, o.err
		}
		if err := <-sent; err != nil {
			return Result{}, fmt.Errorf("sender: %w", err)
		}
		return o.r, nil
	}
}

// The first octets of warm-up and measured PUB/SUB messages.
const (
	markWarm    = 'W'
	markMeasure = 'M'
)

func marked(size int, mark byte) []byte {
	b := make([]byte, size)
	if size > 0 {
		b[0] = mark
	}
	return b
}

func (g generic) Pub(ep string, size, count int, bound func(string), start, stop <-chan struct{}) (Result, error) {
	if size < 1 {
		return Result{}, fmt.Errorf("%w: pub needs SIZE of at least 1 (the first octet marks warm-up messages)", ErrUsage)
	}
	s, err := g.open(PUB, 0, true, ep, bound)
	if err != nil {
		return Result{}, err
	}
	defer s.close()
	warm, m := s.prepare(marked(size, markWarm)), s.prepare(marked(size, markMeasure))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
warmup:
	for {
		if err := s.send(warm); err != nil {
			return Result{}, err
		}
		select {
		case <-start:
			break warmup
		case <-tick.C:
		}
	}
	r, err := sendMsg(s, m, count)
	if err != nil {
		return r, err
	}
	<-stop
	return r, nil
}

// subProgressEvery is how often (in messages) the subscriber publishes its
// progress for the idle check.
const subProgressEvery = 256

func (g generic) Sub(ep string, size, count int, idle time.Duration, ready func()) (Result, error) {
	s, err := g.open(SUB, 0, false, ep, nil)
	if err != nil {
		return Result{}, err
	}
	// The receiving goroutine may still be blocked in recv when an idle
	// subscriber reports and the process exits; it is not closed then.
	if err := s.subscribeAll(); err != nil {
		s.close()
		return Result{}, err
	}
	var (
		got     atomic.Int64 // measured messages, updated every subProgressEvery
		startNS atomic.Int64 // when the first measured message came, since t0
		lastNS  atomic.Int64 // when got was last updated, since t0
	)
	t0 := time.Now()
	type outcome struct {
		r   Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		for {
			_, first, err := s.recv()
			if err != nil {
				done <- outcome{err: err}
				return
			}
			if first == markWarm {
				break
			}
		}
		ready()
		var start time.Time
		for i := 0; i < count; {
			n, first, err := s.recv()
			if err != nil {
				done <- outcome{err: fmt.Errorf("after %d of %d messages: %w", i, count, err)}
				return
			}
			if first == markWarm {
				continue
			}
			if n != size {
				done <- outcome{err: errBadSize(n, size)}
				return
			}
			if i == 0 {
				start = time.Now()
				startNS.Store(int64(start.Sub(t0)))
			}
			i++
			if i%subProgressEvery == 0 {
				got.Store(int64(i))
				lastNS.Store(int64(time.Since(t0)))
			}
		}
		done <- outcome{r: Result{Count: count, ElapsedNS: since(start)}}
		s.close()
	}()
	check := time.NewTicker(idle / 10)
	defer check.Stop()
	seen, seenAt := int64(-1), time.Now()
	for {
		select {
		case o := <-done:
			return o.r, o.err
		case now := <-check.C:
			if n := got.Load(); n != seen {
				seen, seenAt = n, now
				continue
			}
			if now.Sub(seenAt) < idle || startNS.Load() == 0 {
				if now.Sub(t0) > 6*idle {
					return Result{}, fmt.Errorf("no measured message within %v", 6*idle)
				}
				continue
			}
			return Result{Count: int(seen), ElapsedNS: max(lastNS.Load()-startNS.Load(), 1), Lost: true}, nil
		}
	}
}
