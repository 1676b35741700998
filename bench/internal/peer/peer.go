// Package peer is one side of a benchmark run for one ZeroMQ
// implementation. The comparison harness starts each side as its own
// process ("ddbench peer SYSTEM ROLE ARGS...") and talks to it over stdin
// and stdout:
//
//	bound ENDPOINT     a binding role is ready (ENDPOINT resolved: port 0 shows the port)
//	ready              a subscriber has seen the publisher's first warm-up message
//	result {JSON}      the outcome, last line
//
// The publisher sends warm-up messages (first octet 'W') until it reads a
// line on stdin, then COUNT measured messages (first octet 'M'). Every
// sending side (publisher, remote-thr, local-lat) waits for stdin to end
// before it closes its socket, so that no implementation can throw away
// what it still queues: the harness closes it once the receiver is done.
//
// Measurements follow libzmq's perf tools: a receiver's clock starts when the
// first measured message has arrived and stops at the last; throughput is
// COUNT over that time; latency is the round-trip time over two.
package peer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// System is one implementation under test. Every method is one role, run
// to its end.
type System interface {
	// LocalThr binds a PULL, calls bound, and receives count messages of
	// size octets.
	LocalThr(ep string, size, count int, bound func(string)) (Result, error)
	// RemoteThr connects a PUSH, sends count messages of size octets and
	// waits for stop to be closed before closing.
	RemoteThr(ep string, size, count int, stop <-chan struct{}) (Result, error)
	// LocalLat binds a REP, calls bound, echoes n requests, and waits for
	// stop to be closed before closing (libzmq's local_lat sleeps a second
	// instead, so that the last reply is not lost).
	LocalLat(ep string, size, n int, bound func(string), stop <-chan struct{}) (Result, error)
	// RemoteLat connects a REQ and makes n round trips.
	RemoteLat(ep string, size, n int) (Result, error)
	// InprocThr runs a PUSH and a PULL in this process over inproc.
	InprocThr(size, count int) (Result, error)
	// Pub binds a PUB with no high-water mark, calls bound, sends warm-up
	// messages until start is closed, then count measured ones, then waits
	// for stop to be closed before closing.
	Pub(ep string, size, count int, bound func(string), start, stop <-chan struct{}) (Result, error)
	// Sub connects a SUB with no high-water mark to everything, calls
	// ready on the first warm-up message, and receives count measured
	// messages, giving up after idle without one.
	Sub(ep string, size, count int, idle time.Duration, ready func()) (Result, error)
}

// Result is what a role measured.
type Result struct {
	Count     int   `json:"count"`      // messages or round trips completed
	ElapsedNS int64 `json:"elapsed_ns"` // first to last message (thr), all round trips (lat)
	// Lost is set by a subscriber that gave up waiting: it received Count
	// of the messages it expected.
	Lost bool `json:"lost,omitempty"`
	// Procs is the peer process's GOMAXPROCS. For libzmq and pebbe it
	// bounds only the Go side: libzmq's own threads are not Go's.
	Procs int `json:"procs,omitempty"`
}

var systems = map[string]System{}

// register makes a system available under name.
func register(name string, s System) { systems[name] = s }

// Systems lists the systems built into this binary.
func Systems() []string {
	names := make([]string, 0, len(systems))
	for n := range systems {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Has reports whether the system is built into this binary (libzmq and
// pebbe need cgo).
func Has(name string) bool { _, ok := systems[name]; return ok }

// Roles and the arguments each takes after SYSTEM ROLE.
var roleArgs = map[string]string{
	"local-thr":  "ENDPOINT SIZE COUNT",
	"remote-thr": "ENDPOINT SIZE COUNT",
	"local-lat":  "ENDPOINT SIZE ROUNDTRIPS",
	"remote-lat": "ENDPOINT SIZE ROUNDTRIPS",
	"inproc-thr": "SIZE COUNT",
	"pub":        "ENDPOINT SIZE COUNT",
	"sub":        "ENDPOINT SIZE COUNT",
}

// Usage describes the peer command line.
func Usage() string {
	var b strings.Builder
	b.WriteString("usage: ddbench peer SYSTEM ROLE ARGS...\n\nsystems: " + strings.Join(Systems(), ", ") + "\nroles:\n")
	roles := make([]string, 0, len(roleArgs))
	for r := range roleArgs {
		roles = append(roles, r)
	}
	slices.Sort(roles)
	for _, r := range roles {
		fmt.Fprintf(&b, "  %-11s %s\n", r, roleArgs[r])
	}
	return b.String()
}

// ErrUsage marks a bad peer command line.
var ErrUsage = errors.New("ddbench: usage")

// SubIdle is how long a subscriber waits for the next message before it
// reports what it got.
const SubIdle = 10 * time.Second

// Run is "ddbench peer": it runs one role and reports on stdout.
func Run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) < 2 {
		return fmt.Errorf("%w\n%s", ErrUsage, Usage())
	}
	sys, ok := systems[args[0]]
	if !ok {
		return fmt.Errorf("%w: system %q is not built in (have %s)", ErrUsage, args[0], strings.Join(Systems(), ", "))
	}
	role := args[1]
	want, ok := roleArgs[role]
	if !ok {
		return fmt.Errorf("%w: unknown role %q\n%s", ErrUsage, role, Usage())
	}
	pos := args[2:]
	if len(pos) != len(strings.Fields(want)) {
		return fmt.Errorf("%w: %s needs %s", ErrUsage, role, want)
	}
	ep := ""
	if role != "inproc-thr" {
		ep, pos = pos[0], pos[1:]
	}
	size, err1 := number(pos[0], 0)
	count, err2 := number(pos[1], 1)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	out := &lineWriter{w: stdout}
	bound := func(ep string) { out.line("bound " + ep) }
	start, stop := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Scan() // any line, or the end of stdin, starts a publisher's measured run
		close(start)
		for sc.Scan() {
		}
		close(stop)
	}()
	var r Result
	var err error
	switch role {
	case "local-thr":
		r, err = sys.LocalThr(ep, size, count, bound)
	case "remote-thr":
		r, err = sys.RemoteThr(ep, size, count, stop)
	case "local-lat":
		r, err = sys.LocalLat(ep, size, count, bound, stop)
	case "remote-lat":
		r, err = sys.RemoteLat(ep, size, count)
	case "inproc-thr":
		r, err = sys.InprocThr(size, count)
	case "pub":
		r, err = sys.Pub(ep, size, count, bound, start, stop)
	case "sub":
		r, err = sys.Sub(ep, size, count, SubIdle, func() { out.line("ready") })
	default: // curve.go
		r, err = runCurveRole(args[0], role, ep, size, count, bound, stop)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", args[0], role, err)
	}
	r.Procs = runtime.GOMAXPROCS(0)
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	out.line("result " + string(b))
	return nil
}

func number(s string, lo int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > 1<<40 {
		return 0, fmt.Errorf("%w: %q is not a whole number from %d", ErrUsage, s, lo)
	}
	return n, nil
}

// lineWriter writes whole lines, each in one write, so that a reader sees
// them as soon as they are written.
type lineWriter struct{ w io.Writer }

func (l *lineWriter) line(s string) { io.WriteString(l.w, s+"\n") }

// errBadSize is libzmq's perf tools' complaint.
func errBadSize(got, want int) error {
	return fmt.Errorf("message of incorrect size received: %d octets, want %d", got, want)
}

// since is the elapsed time of a measurement, at least 1 ns.
func since(t time.Time) int64 { return max(time.Since(t).Nanoseconds(), 1) }
