package main

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The progress line appears once per interval, with the count the loop
// last reported, and never for a run shorter than the interval.
func TestBenchProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out benchBuf
		p := startProgress(&out, "local-thr", "messages", 1000, 3*time.Second)
		p.set(100)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if out.String() != "" {
			t.Fatalf("progress after 2 s of a 3 s interval: %q", out.String())
		}
		time.Sleep(time.Second)
		synctest.Wait()
		want := "dripdrop bench local-thr: 100 of 1000 messages (10%), 33 messages/s\n"
		if out.String() != want {
			t.Fatalf("progress at 3 s: %q, want %q", out.String(), want)
		}
		p.set(400)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || lines[1] != "dripdrop bench local-thr: 400 of 1000 messages (40%), 100 messages/s" {
			t.Fatalf("progress at 6 s: %q", lines)
		}
		p.finish()
	})
}

// -progress 0 turns it off.
func TestBenchProgressOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out benchBuf
		p := startProgress(&out, "remote-lat", "round trips", 10, 0)
		p.set(5)
		time.Sleep(time.Minute)
		synctest.Wait()
		p.finish()
		if out.String() != "" {
			t.Fatalf("progress with interval 0: %q", out.String())
		}
	})
}

// A run longer than the interval reports progress on stderr, not stdout.
func TestBenchProgressOnStderr(t *testing.T) {
	var stdout, stderr benchBuf
	err := run(benchCtx(t), []string{"bench", "-progress", "1ms", "inproc-lat", "1", "20000"}, nil, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	checkLat(t, stdout.String(), 1, 20000)
	if !strings.Contains(stderr.String(), "dripdrop bench inproc-lat: ") ||
		!strings.Contains(stderr.String(), " of 20000 round trips (") {
		t.Fatalf("no progress on stderr: %q", stderr.String())
	}
}
