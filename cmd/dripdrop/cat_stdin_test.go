package main

// What becomes of cat's stdin reader when run returns (cat_stdin.go).

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
)

// heldStdin is a stdin whose every Read waits for the test to release it.
type heldStdin struct {
	mu      sync.Mutex
	reads   int
	entered chan struct{} // receives once per Read, as it starts
	release chan string   // what the Read waiting returns
}

func (h *heldStdin) Read(p []byte) (int, error) {
	h.mu.Lock()
	h.reads++
	h.mu.Unlock()
	h.entered <- struct{}{}
	return copy(p, <-h.release), nil
}

func (h *heldStdin) readCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

// A Read of stdin that nothing can cut short does not hold up run. The
// goroutine left in it exits once that Read returns, without reading
// again. Not parallel: goleak sees every goroutine of the test binary.
func TestCatStdinReaderOutlivesRunOnlyInRead(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	stdin := &heldStdin{entered: make(chan struct{}, 1), release: make(chan string)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"cat", "-bind", inprocEP(t), "PUSH"}, stdin, io.Discard, io.Discard) }()
	select {
	case <-stdin.entered:
	case <-time.After(catDeadline):
		t.Fatal("cat never read stdin")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("interrupted: %v, want nil", err)
		}
	case <-time.After(catDeadline):
		stdin.release <- ""
		t.Fatal("run waited for a Read of stdin")
	}
	// Half a line: a reader that went on would Read again for the rest.
	stdin.release <- "half a line"
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("after its Read returned: %v", err)
	}
	if n := stdin.readCount(); n != 1 {
		t.Fatalf("stdin read %d times, want 1: the reader read on after run returned", n)
	}
}

// deadlineStdin is an *os.File stdin that tells when it is first read.
type deadlineStdin struct {
	*os.File
	once sync.Once
	read chan struct{}
}

func (d *deadlineStdin) Read(p []byte) (int, error) {
	d.once.Do(func() { close(d.read) })
	return d.File.Read(p)
}

// A stdin with read deadlines (a pipe in non-blocking mode) has its Read
// cut short: run waits for the reader, which takes nothing more from
// stdin, and leaves no deadline behind.
func TestCatStdinDeadlineEndsRead(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	stdin := &deadlineStdin{File: r, read: make(chan struct{})}
	c := startCat(t, stdin, "-bind", inprocEP(t), "PUSH")
	select {
	case <-stdin.read:
	case <-time.After(catDeadline):
		t.Fatal("cat never read stdin")
	}
	c.cancel()
	c.waitOK(t)
	// Had the reader been left in its Read, it would take this line.
	if _, err := io.WriteString(w, "probe\n"); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, err := r.Read(b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b[:n])
	}()
	select {
	case s := <-got:
		if s != "probe\n" {
			t.Fatalf("after cat: stdin read %q, want the probe (no one else reading, no deadline left)", s)
		}
	case <-time.After(catDeadline):
		r.Close()
		<-got
		t.Fatal("our Read of the probe did not return: cat's reader took it")
	}
}

// A stdin that fails is a runtime error (exit 1), for every type that
// reads it.
func TestCatStdinError(t *testing.T) {
	t.Parallel()
	broken := errors.New("disk on fire")
	for _, typ := range []string{"PUSH", "REQ", "DEALER"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			c := startCat(t, iotest.ErrReader(broken), "-bind", inprocEP(t), typ)
			err := c.wait(t)
			if !errors.Is(err, broken) || exitCode(err, io.Discard) != 1 {
				t.Fatalf("cat %q = %v, want %v (exit 1)", c.args, err, broken)
			}
		})
	}
}
