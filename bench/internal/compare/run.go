package compare

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// Outcome is one run of one workload on one system.
type Outcome struct {
	System string        `json:"system"`
	Count  int           `json:"count"` // messages, or round trips
	Value  float64       `json:"value"` // in the workload's unit
	MsgS   float64       `json:"msg_per_s,omitempty"`
	LatUS  float64       `json:"latency_us,omitempty"`
	Took   time.Duration `json:"took_ns"` // the measured part
	RSSKiB int64         `json:"peak_rss_kib"`
	Procs  int           `json:"procs,omitempty"` // GOMAXPROCS of the process that measured it
	Lost   bool          `json:"lost,omitempty"`  // a subscriber gave up before COUNT
	Err    string        `json:"error,omitempty"`
}

// runner starts peers.
type runner struct {
	bins    map[string]string // system -> binary that has it built in
	timeout time.Duration     // per run
	ipcDir  string
}

var ipcSeq atomic.Uint64

func (r *runner) endpoint(w Workload) string {
	if w.Transport == "ipc" {
		return "ipc://" + filepath.Join(r.ipcDir, fmt.Sprintf("ddbench-%d-%d.ipc", os.Getpid(), ipcSeq.Add(1)))
	}
	return "tcp://127.0.0.1:0"
}

// run runs w once on sys with count messages or round trips.
func (r *runner) run(ctx context.Context, w Workload, sys string, count int) Outcome {
	ctx, cancel := context.WithTimeoutCause(ctx, r.timeout, fmt.Errorf("run took longer than %v", r.timeout))
	defer cancel()
	o := Outcome{System: sys, Count: count}
	var err error
	switch w.Pattern {
	case PushPull:
		err = r.pushPull(ctx, w, sys, count, &o)
	case Inproc:
		err = r.inproc(ctx, w, sys, count, &o)
	case PubSub:
		err = r.pubSub(ctx, w, sys, count, &o)
	case ReqRep:
		err = r.reqRep(ctx, w, sys, count, &o)
	case CurvePushPull:
		err = r.curvePushPull(ctx, w, sys, count, &o)
	case CurveHandshake:
		err = r.curveHandshakes(ctx, w, sys, count, &o)
	}
	if err != nil {
		o.Err = err.Error()
	}
	return o
}

func (r *runner) start(ctx context.Context, sys string, args ...string) (*proc, error) {
	bin, ok := r.bins[sys]
	if !ok {
		return nil, fmt.Errorf("no peer binary for %s", sys)
	}
	name, env := peerSystem(sys)
	return startProc(ctx, bin, env, append([]string{"peer", name}, args...)...)
}

// peak records the largest peak RSS of the processes.
func peak(o *Outcome, ps ...*proc) {
	for _, p := range ps {
		if p != nil {
			o.RSSKiB = max(o.RSSKiB, p.rssKiB)
		}
	}
}

func (r *runner) pushPull(ctx context.Context, w Workload, sys string, count int, o *Outcome) error {
	size, n := strconv.Itoa(w.Size), strconv.Itoa(count)
	ep := r.endpoint(w)
	recv, err := r.start(ctx, sys, "local-thr", ep, size, n)
	if err != nil {
		return err
	}
	defer recv.kill()
	bound, err := recv.expect(ctx, "bound ")
	if err != nil {
		return err
	}
	send, err := r.start(ctx, sys, "remote-thr", bound, size, n)
	if err != nil {
		return err
	}
	defer send.kill()
	res, err := recv.result(ctx)
	send.stdin.Close() // the sender may close its socket now
	if err == nil {
		_, err = send.result(ctx)
	}
	peak(o, recv, send)
	if err != nil {
		return err
	}
	o.Took = time.Duration(res.ElapsedNS)
	o.Procs = res.Procs
	o.MsgS = float64(res.Count) / o.Took.Seconds()
	o.Value = w.value(o.MsgS, 0)
	return nil
}

func (r *runner) inproc(ctx context.Context, w Workload, sys string, count int, o *Outcome) error {
	p, err := r.start(ctx, sys, "inproc-thr", strconv.Itoa(w.Size), strconv.Itoa(count))
	if err != nil {
		return err
	}
	defer p.kill()
	res, err := p.result(ctx)
	peak(o, p)
	if err != nil {
		return err
	}
	o.Took = time.Duration(res.ElapsedNS)
	o.Procs = res.Procs
	o.MsgS = float64(res.Count) / o.Took.Seconds()
	o.Value = w.value(o.MsgS, 0)
	return nil
}

// pubSub: the publisher binds and sends warm-up messages; once every
// subscriber has seen one, it is told to send the measured ones. Delivered
// msg/s is the sum of the subscribers' rates.
func (r *runner) pubSub(ctx context.Context, w Workload, sys string, count int, o *Outcome) error {
	size, n := strconv.Itoa(w.Size), strconv.Itoa(count)
	pub, err := r.start(ctx, sys, "pub", r.endpoint(w), size, n)
	if err != nil {
		return err
	}
	defer pub.kill()
	bound, err := pub.expect(ctx, "bound ")
	if err != nil {
		return err
	}
	subs := make([]*proc, w.Subs)
	for i := range subs {
		if subs[i], err = r.start(ctx, sys, "sub", bound, size, n); err != nil {
			return err
		}
		defer subs[i].kill()
	}
	for _, s := range subs {
		if _, err := s.expect(ctx, "ready"); err != nil {
			return err
		}
	}
	if _, err := pub.stdin.Write([]byte("go\n")); err != nil {
		return pub.failure("start", err)
	}
	var longest time.Duration
	for _, s := range subs {
		res, err := s.result(ctx)
		if err != nil {
			return err
		}
		took := time.Duration(res.ElapsedNS)
		o.MsgS += float64(res.Count) / took.Seconds()
		o.Lost = o.Lost || res.Lost
		o.Procs = res.Procs
		longest = max(longest, took)
	}
	pub.stdin.Close()
	_, err = pub.result(ctx)
	peak(o, append(subs, pub)...)
	if err != nil {
		return err
	}
	o.Took = longest
	o.Value = w.value(o.MsgS, 0)
	return nil
}

func (r *runner) reqRep(ctx context.Context, w Workload, sys string, count int, o *Outcome) error {
	size, n := strconv.Itoa(w.Size), strconv.Itoa(count)
	rep, err := r.start(ctx, sys, "local-lat", r.endpoint(w), size, n)
	if err != nil {
		return err
	}
	defer rep.kill()
	bound, err := rep.expect(ctx, "bound ")
	if err != nil {
		return err
	}
	req, err := r.start(ctx, sys, "remote-lat", bound, size, n)
	if err != nil {
		return err
	}
	defer req.kill()
	res, err := req.result(ctx)
	rep.stdin.Close() // the echoing side may close its socket now
	if err == nil {
		_, err = rep.result(ctx)
	}
	peak(o, rep, req)
	if err != nil {
		return err
	}
	if res.Count == 0 {
		return errors.New("no round trip")
	}
	o.Took = time.Duration(res.ElapsedNS)
	o.Procs = res.Procs
	o.LatUS = float64(res.ElapsedNS) / 1e3 / float64(2*res.Count)
	o.MsgS = float64(res.Count) / o.Took.Seconds()
	o.Value = w.value(0, o.LatUS)
	return nil
}
