package compare

import "fmt"

// Pattern is the shape of a workload.
type Pattern int

// The patterns.
const (
	PushPull Pattern = iota // local-thr and remote-thr in two processes
	Inproc                  // inproc-thr in one process
	PubSub                  // one publisher, Subs subscribers, each its own process
	ReqRep                  // local-lat and remote-lat in two processes
)

// Workload is one line of the table.
type Workload struct {
	Pattern   Pattern
	Transport string // tcp, ipc or inproc
	Size      int    // octets per message
	Subs      int    // PubSub: subscribers
	// Target is the ratio ours/libzmq the issue asks for: at least Target
	// for throughput, at most Target for latency.
	Target float64
}

// Name is how the table calls the workload.
func (w Workload) Name() string {
	switch w.Pattern {
	case PushPull:
		return fmt.Sprintf("PUSH/PULL %s %s", w.Transport, sizeName(w.Size))
	case Inproc:
		return fmt.Sprintf("PUSH/PULL inproc %s", sizeName(w.Size))
	case PubSub:
		s := "s"
		if w.Subs == 1 {
			s = ""
		}
		return fmt.Sprintf("PUB/SUB tcp %s, %d sub%s", sizeName(w.Size), w.Subs, s)
	case CurvePushPull:
		return fmt.Sprintf("CURVE PUSH/PULL %s %s", w.Transport, sizeName(w.Size))
	case CurveHandshake:
		return fmt.Sprintf("CURVE handshakes %s", w.Transport)
	default:
		return fmt.Sprintf("REQ/REP tcp %s", sizeName(w.Size))
	}
}

// Latency reports whether the workload measures latency (lower is better).
func (w Workload) Latency() bool { return w.Pattern == ReqRep }

// Unit is the unit of the table's figures: msg/s for small messages, MB/s
// (10^6 octets) from 4 KiB on, µs one-way for latency.
func (w Workload) Unit() string {
	switch {
	case w.Latency():
		return "µs"
	case w.Pattern == CurveHandshake:
		return "hs/s"
	case w.Size >= 4096:
		return "MB/s"
	default:
		return "msg/s"
	}
}

// value converts a run's outcome to the table's unit.
func (w Workload) value(msgPerSec, latencyUS float64) float64 {
	switch w.Unit() {
	case "µs":
		return latencyUS
	case "MB/s":
		return msgPerSec * float64(w.Size) / 1e6
	default:
		return msgPerSec
	}
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// Workloads are those of issue 5, with its targets.
func Workloads() []Workload {
	var ws []Workload
	for _, tr := range []string{"tcp", "ipc"} {
		for _, size := range []int{16, 256, 4096, 65536} {
			ws = append(ws, Workload{Pattern: PushPull, Transport: tr, Size: size, Target: 1.5})
		}
	}
	ws = append(ws,
		Workload{Pattern: Inproc, Transport: "inproc", Size: 16, Target: 1.0},
		Workload{Pattern: PubSub, Transport: "tcp", Size: 16, Subs: 1, Target: 1.0},
		Workload{Pattern: PubSub, Transport: "tcp", Size: 16, Subs: 4, Target: 1.0},
		Workload{Pattern: ReqRep, Transport: "tcp", Size: 1, Target: 0.7},
		Workload{Pattern: ReqRep, Transport: "tcp", Size: 256, Target: 0.7},
	)
	return ws
}
