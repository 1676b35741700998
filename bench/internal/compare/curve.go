package compare

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/dripdrop-go/dripdrop/bench/internal/peer"
)

// The CURVE patterns.
const (
	CurvePushPull  Pattern = ReqRep + 1 + iota // curve-local-thr and curve-remote-thr
	CurveHandshake                             // curve-hs-server and curve-hs-client
)

// CurveWorkloads are the CURVE workloads (issue 4): throughput with every frame encrypted, and
// handshakes per second, ours beside libzmq. They have no target; the
// table shows the ratio. Only the systems with CURVE run them: ours and
// libzmq (go-zeromq/zmq4 has no CURVE; pebbe/zmq4 is libzmq again).
func CurveWorkloads() []Workload {
	return []Workload{
		{Pattern: CurvePushPull, Transport: "tcp", Size: 16},
		{Pattern: CurvePushPull, Transport: "tcp", Size: 65536},
		{Pattern: CurveHandshake, Transport: "tcp", Size: 1},
	}
}

// Bounds on handshake runs: each is a new connection.
const (
	minHandshakes = 100
	maxHandshakes = 200_000
)

func (w Workload) curve() bool { return w.Pattern == CurvePushPull || w.Pattern == CurveHandshake }

// runsOn reports whether sys can run w.
func (w Workload) runsOn(sys string) bool {
	return !w.curve() || sys == "libzmq" || slices.Contains(oursSystems, sys)
}

// curvePushPull is pushPull with the CURVE roles: a PULL server binds, a
// PUSH client connects; the receiver's clock as local_thr's.
func (r *runner) curvePushPull(ctx context.Context, w Workload, sys string, count int, o *Outcome) error {
	res, err := r.pair(ctx, w, sys, count, o, "curve-local-thr", "curve-remote-thr", true)
	if err != nil {
		return err
	}
	o.Took = time.Duration(res.ElapsedNS)
	o.Procs = res.Procs
	o.MsgS = float64(res.Count) / o.Took.Seconds()
	o.Value = w.value(o.MsgS, 0)
	return nil
}

// curveHandshakes: a REP server binds, a client makes count connections
// one after the other, each a CURVE handshake and one round trip of a
// 1-octet message; the rate is the client's.
func (r *runner) curveHandshakes(ctx context.Context, w Workload, sys string, count int, o *Outcome) error {
	res, err := r.pair(ctx, w, sys, count, o, "curve-hs-server", "curve-hs-client", false)
	if err != nil {
		return err
	}
	if res.Count == 0 {
		return errors.New("no handshake")
	}
	o.Took = time.Duration(res.ElapsedNS)
	o.Procs = res.Procs
	o.MsgS = float64(res.Count) / o.Took.Seconds()
	o.Value = o.MsgS
	return nil
}

// pair runs a binding role and a connecting one of the same system and
// returns the receiver's result (the binding side's when recvBinds, else
// the connecting side's).
func (r *runner) pair(ctx context.Context, w Workload, sys string, count int, o *Outcome, bindRole, connectRole string, recvBinds bool) (peer.Result, error) {
	size, n := strconv.Itoa(w.Size), strconv.Itoa(count)
	server, err := r.start(ctx, sys, bindRole, r.endpoint(w), size, n)
	if err != nil {
		return peer.Result{}, err
	}
	defer server.kill()
	bound, err := server.expect(ctx, "bound ")
	if err != nil {
		return peer.Result{}, err
	}
	client, err := r.start(ctx, sys, connectRole, bound, size, n)
	if err != nil {
		return peer.Result{}, err
	}
	defer client.kill()
	first, second := server, client
	if !recvBinds {
		first, second = client, server
	}
	res, err := first.result(ctx)
	second.stdin.Close() // the other side may close its socket now
	if err == nil {
		_, err = second.result(ctx)
	}
	peak(o, server, client)
	return res, err
}
