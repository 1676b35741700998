package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// thrResult is the outcome of a throughput test, computed as libzmq's
// local_thr and inproc_thr compute it: all COUNT messages over the time from
// the first message received to the last, in whole microseconds (at least
// 1), the rate truncated to a whole number before the megabits are derived
// from it.
type thrResult struct {
	Test           string  `json:"test"`
	MessageSize    int     `json:"message_size"`
	MessageCount   int     `json:"message_count"`
	ElapsedUS      int64   `json:"elapsed_us"`
	ThroughputMsgS uint64  `json:"throughput_msg_s"`
	ThroughputMbS  float64 `json:"throughput_mb_s"`
	AllocsPerMsg   float64 `json:"allocs_per_msg"`
}

func newThrResult(test string, size, count int, elapsed time.Duration) thrResult {
	us := max(elapsed.Microseconds(), 1)
	thr := uint64(float64(count) / float64(us) * 1e6)
	return thrResult{
		Test:           test,
		MessageSize:    size,
		MessageCount:   count,
		ElapsedUS:      us,
		ThroughputMsgS: thr,
		ThroughputMbS:  float64(thr*uint64(size)*8) / 1e6,
	}
}

// printHead writes the lines libzmq prints before the figures.
func (r thrResult) printHead(w io.Writer) {
	fmt.Fprintf(w, "message size: %d [B]\n", r.MessageSize)
	fmt.Fprintf(w, "message count: %d\n", r.MessageCount)
}

// printTail writes the figures, as libzmq does.
func (r thrResult) printTail(w io.Writer) {
	fmt.Fprintf(w, "mean throughput: %d [msg/s]\n", r.ThroughputMsgS)
	fmt.Fprintf(w, "mean throughput: %.3f [Mb/s]\n", r.ThroughputMbS)
}

// latResult is the outcome of a latency test, as libzmq's remote_lat and
// inproc_lat compute it: the elapsed microseconds over twice the round
// trips, i.e. the one-way latency.
type latResult struct {
	Test           string  `json:"test"`
	MessageSize    int     `json:"message_size"`
	RoundtripCount int     `json:"roundtrip_count"`
	ElapsedUS      int64   `json:"elapsed_us"`
	LatencyUS      float64 `json:"latency_us"`
	AllocsPerTrip  float64 `json:"allocs_per_roundtrip"`
}

func newLatResult(test string, size, roundtrips int, elapsed time.Duration) latResult {
	us := elapsed.Microseconds()
	return latResult{
		Test:           test,
		MessageSize:    size,
		RoundtripCount: roundtrips,
		ElapsedUS:      us,
		LatencyUS:      float64(us) / float64(roundtrips*2),
	}
}

func (r latResult) printHead(w io.Writer) {
	fmt.Fprintf(w, "message size: %d [B]\n", r.MessageSize)
	fmt.Fprintf(w, "roundtrip count: %d\n", r.RoundtripCount)
}

func (r latResult) printTail(w io.Writer) {
	fmt.Fprintf(w, "average latency: %.3f [us]\n", r.LatencyUS)
}

// sendResult is what the -json output says about a side that only sends
// (remote-thr) or echoes (local-lat); without -json, like libzmq, those
// print nothing.
type sendResult struct {
	Test         string  `json:"test"`
	MessageSize  int     `json:"message_size"`
	MessageCount int     `json:"message_count"`
	ElapsedUS    int64   `json:"elapsed_us"`
	AllocsPerMsg float64 `json:"allocs_per_msg"`
}

// allocCount measures heap allocations of the whole process (the socket's
// own goroutines included) over a stretch of a run.
type allocCount uint64

func startAllocs() allocCount {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return allocCount(ms.Mallocs)
}

// per returns the allocations since start divided by n.
func (a allocCount) per(n int) float64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.Mallocs-uint64(a)) / float64(max(n, 1))
}

// startCPUProfile profiles the process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// progress reports on stderr, every interval, how far a run has got. The
// measuring loop calls set now and then (not on every message: it must
// stay off the hot path); nothing is printed for runs shorter than one
// interval.
type progress struct {
	w        io.Writer
	test     string
	unit     string // "messages" or "round trips"
	total    int
	interval time.Duration

	done atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

// progressEvery is how many messages pass between two updates of the
// progress counter.
const progressEvery = 1024

func startProgress(w io.Writer, test, unit string, total int, interval time.Duration) *progress {
	p := &progress{w: w, test: test, unit: unit, total: total, interval: interval, stop: make(chan struct{})}
	if interval <= 0 {
		return p
	}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) set(n int) { p.done.Store(int64(n)) }

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	last, lastAt := int64(0), time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			n := p.done.Load()
			rate := float64(n-last) / now.Sub(lastAt).Seconds()
			last, lastAt = n, now
			fmt.Fprintf(p.w, "dripdrop bench %s: %d of %d %s (%d%%), %.0f %s/s\n",
				p.test, n, p.total, p.unit, n*100/int64(p.total), rate, p.unit)
		}
	}
}

// finish stops the reporter and waits for it.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
}
