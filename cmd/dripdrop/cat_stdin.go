package main

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errStdinStopped ends the stdin reader once cat no longer wants lines.
var errStdinStopped = errors.New("stdin no longer read")

// stdinLines reads stdin, one line at a time, in its own goroutine and hands
// the lines over a channel, so that cat can wait for a line, a message, its
// -timeout and the interrupt at once.
//
// A Read of stdin cannot be cancelled in general: a terminal, or a pipe in
// blocking mode (os.Stdin nearly always is one of these), stays in read(2)
// until a line comes or the writer goes away. So stop waits for the
// goroutine only when no Read is in progress or when it can cut the Read
// short with a read deadline (an *os.File in non-blocking mode, a
// net.Conn). Otherwise that goroutine, and nothing else of cat's, outlives
// run: it is blocked in that one Read and, when the Read returns, drops
// what it got and exits without reading again. The binary exits right after
// run, which ends it; a test passes a stdin it closes afterwards (an
// io.Pipe), which ends it too.
type stdinLines struct {
	src     io.Reader
	lines   chan string   // closed at the end of stdin
	err     error         // why stdin ended (nil at EOF); set before lines is closed
	stopped chan struct{} // closed by stop
	done    chan struct{} // closed when the goroutine has returned

	mu      sync.Mutex
	reading bool // src.Read is in progress
	halted  bool // stop has been called
}

// readStdin starts reading src (nil reads as empty).
func readStdin(src io.Reader) *stdinLines {
	if src == nil {
		src = eofReader{}
	}
	s := &stdinLines{
		src:     src,
		lines:   make(chan string),
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.loop()
	return s
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func (s *stdinLines) loop() {
	defer close(s.done)
	sc := newScanner(s)
	for sc.Scan() {
		select {
		case s.lines <- sc.Text():
		case <-s.stopped:
			return
		}
	}
	s.err = sc.Err()
	close(s.lines)
}

// Read is the scanner's view of src: it reads nothing once stop has been
// called, and drops what a Read in progress at that moment returns.
func (s *stdinLines) Read(p []byte) (int, error) {
	s.mu.Lock()
	if s.halted {
		s.mu.Unlock()
		return 0, errStdinStopped
	}
	s.reading = true
	s.mu.Unlock()
	n, err := s.src.Read(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reading = false
	if s.halted {
		return 0, errStdinStopped
	}
	return n, err
}

// next returns the next line. ok is false at the end of stdin, with err its
// read error (nil at EOF), and when ctx ends first, with err nil: an
// interrupt is a normal end.
func (s *stdinLines) next(ctx context.Context) (line string, ok bool, err error) {
	select {
	case line, ok := <-s.lines:
		if !ok {
			return "", false, s.err
		}
		return line, true, nil
	case <-ctx.Done():
		return "", false, nil
	}
}

// stop ends the reading and waits for the goroutine, unless it is blocked
// in a Read that no deadline can cut short (see stdinLines).
func (s *stdinLines) stop() {
	s.mu.Lock()
	s.halted = true
	reading := s.reading
	s.mu.Unlock()
	close(s.stopped)
	if reading {
		d, ok := s.src.(interface{ SetReadDeadline(time.Time) error })
		if !ok || d.SetReadDeadline(time.Now()) != nil {
			return
		}
		defer d.SetReadDeadline(time.Time{})
	}
	<-s.done
}
