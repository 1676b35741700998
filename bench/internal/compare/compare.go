// Package compare runs the workloads of issue 5 against several ZeroMQ
// implementations, each side of each run in its own process, interleaving
// the systems run by run, and prints the medians side by side.
package compare

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ErrUsage marks a bad command line.
var ErrUsage = errors.New("ddbench compare: usage")

// AllSystems in the order of the table's columns.
var AllSystems = []string{"ours", "ours1", "libzmq", "pebbe", "gozmq"}

// oursSystems are the columns that run dripdrop: with the Go runtime's
// default GOMAXPROCS (the machine's CPUs) and with GOMAXPROCS=1 in each
// process. On a machine whose CPUs the sending and the receiving
// process share, one P each keeps a process's goroutines, and the
// messages they hand each other, on one CPU (docs/PERFORMANCE.md).
var oursSystems = []string{"ours", "ours1"}

// peerSystem is the system a peer process runs for a column, and env
// what it adds to the process's environment.
func peerSystem(sys string) (name string, env []string) {
	if sys == "ours1" {
		return "ours", []string{"GOMAXPROCS=1"}
	}
	return sys, nil
}

// SystemTitle is a system's column heading.
var SystemTitle = map[string]string{
	"ours":   "ours",
	"ours1":  "ours, GOMAXPROCS=1",
	"libzmq": "libzmq (C)",
	"pebbe":  "pebbe/zmq4 (cgo)",
	"gozmq":  "go-zeromq/zmq4",
}

// Config is the command line of ddbench compare.
type Config struct {
	Systems []string
	Bins    map[string]string
	Runs    int
	Target  time.Duration // how long one measured run should take
	Timeout time.Duration // per run
	Only    *regexp.Regexp
	JSON    string // file for every outcome
}

func parse(args []string, self string, stderr io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	systems := fs.String("systems", strings.Join(AllSystems, ","), "systems to run, in column order")
	goBin := fs.String("peer-go", self, "peer binary built with CGO_ENABLED=0 (runs ours and gozmq)")
	cgoBin := fs.String("peer-cgo", "", "peer binary built with cgo (runs libzmq and pebbe); default: this binary")
	runs := fs.Int("runs", 3, "measured runs per workload and system (the median is shown)")
	target := fs.Duration("target", 1500*time.Millisecond, "aimed-for length of one measured run")
	timeout := fs.Duration("timeout", 60*time.Second, "limit on one run")
	only := fs.String("only", "", "run only the workloads whose name matches this regular expression")
	jsonOut := fs.String("json", "", "also write every outcome to this file as JSON")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("%w: unexpected %q", ErrUsage, fs.Args())
	}
	c := &Config{Runs: *runs, Target: *target, Timeout: *timeout, JSON: *jsonOut}
	if c.Runs < 1 || c.Target <= 0 || c.Timeout <= 0 {
		return nil, fmt.Errorf("%w: -runs, -target and -timeout must be positive", ErrUsage)
	}
	for _, s := range strings.Split(*systems, ",") {
		if !slices.Contains(AllSystems, s) {
			return nil, fmt.Errorf("%w: unknown system %q (have %s)", ErrUsage, s, strings.Join(AllSystems, ","))
		}
		c.Systems = append(c.Systems, s)
	}
	if *cgoBin == "" {
		*cgoBin = self
	}
	c.Bins = map[string]string{"ours": *goBin, "ours1": *goBin, "gozmq": *goBin, "libzmq": *cgoBin, "pebbe": *cgoBin}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return nil, fmt.Errorf("%w: -only: %v", ErrUsage, err)
		}
		c.Only = re
	}
	return c, nil
}

// Row is every outcome of one workload.
type Row struct {
	Workload Workload             `json:"-"`
	Name     string               `json:"workload"`
	Unit     string               `json:"unit"`
	Runs     map[string][]Outcome `json:"runs"`
}

// Main is "ddbench compare".
func Main(ctx context.Context, args []string, self string, stdout, stderr io.Writer) error {
	c, err := parse(args, self, stderr)
	if err != nil {
		return err
	}
	started := time.Now()
	// ipc endpoints live in a directory of their own, removed at the end:
	// a peer killed at its timeout, or an implementation that leaves its
	// socket file behind, leaves nothing in $TMPDIR.
	ipcDir, err := os.MkdirTemp("", "ddbench-ipc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ipcDir)
	r := &runner{bins: c.Bins, timeout: c.Timeout, ipcDir: ipcDir}
	var rows []*Row
	for _, w := range append(Workloads(), CurveWorkloads()...) {
		if c.Only != nil && !c.Only.MatchString(w.Name()) {
			continue
		}
		row := &Row{Workload: w, Name: w.Name(), Unit: w.Unit(), Runs: map[string][]Outcome{}}
		rows = append(rows, row)
		counts := map[string]int{}
		for _, sys := range c.Systems {
			if !w.runsOn(sys) {
				continue // counts[sys] stays 0: no runs, shown as n/a
			}
			n, failed := r.calibrate(ctx, w, sys, c.Target, stderr)
			if n == 0 {
				row.Runs[sys] = append(row.Runs[sys], failed)
			}
			counts[sys] = n
		}
		for run := range c.Runs {
			// Interleave: each run goes through every system, starting
			// one further along each time.
			for i := range c.Systems {
				sys := c.Systems[(i+run)%len(c.Systems)]
				if counts[sys] == 0 {
					continue // calibration failed (it was reported), or n/a
				}
				o := r.run(ctx, w, sys, counts[sys])
				row.Runs[sys] = append(row.Runs[sys], o)
				logOutcome(stderr, w, run, o)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
	}
	fmt.Fprintf(stderr, "ddbench: all runs took %v\n", time.Since(started).Round(time.Second))
	printTables(stdout, c.Systems, rows)
	if c.JSON != "" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(c.JSON, append(b, '\n'), 0o644)
	}
	return nil
}

func logOutcome(w io.Writer, wl Workload, run int, o Outcome) {
	if o.Err != "" {
		fmt.Fprintf(w, "%-28s %-7s run %d: FAILED: %s\n", wl.Name(), o.System, run+1, o.Err)
		return
	}
	lost := ""
	if o.Lost {
		lost = " (a subscriber lost messages)"
	}
	fmt.Fprintf(w, "%-28s %-7s run %d: %s %s, %d in %v, peak RSS %.1f MiB%s\n",
		wl.Name(), o.System, run+1, format(o.Value, wl.Unit()), wl.Unit(), o.Count,
		o.Took.Round(time.Millisecond), float64(o.RSSKiB)/1024, lost)
}

// Bounds on the sizes of runs.
const (
	minMessages   = 1000
	maxMessages   = 50_000_000
	maxPubSubMsgs = 4_000_000 // with no HWM the publisher may queue them all
	maxBytes      = 20 << 30
	minRoundtrips = 200
	maxRoundtrips = 2_000_000
)

// calibrate finds the count that makes one run of w on sys last about
// target: small runs grow until one lasts 100 ms, and the rate seen there
// sizes the real ones. It returns 0 and the failed run if the system fails.
func (r *runner) calibrate(ctx context.Context, w Workload, sys string, target time.Duration, log io.Writer) (int, Outcome) {
	lo, hi := minMessages, maxMessages
	if w.Latency() {
		lo, hi = minRoundtrips, maxRoundtrips
	} else {
		hi = min(hi, maxBytes/max(w.Size, 1))
		if w.Pattern == PubSub {
			hi = min(hi, maxPubSubMsgs)
		}
	}
	if w.Pattern == CurveHandshake {
		lo, hi = minHandshakes, maxHandshakes
	}
	count := lo
	for {
		o := r.run(ctx, w, sys, count)
		if o.Err != "" {
			fmt.Fprintf(log, "%-28s %-7s calibration with %d: FAILED: %s\n", w.Name(), sys, count, o.Err)
			o.Err = "calibration: " + o.Err
			return 0, o
		}
		took := max(o.Took, time.Microsecond)
		if took >= 100*time.Millisecond || count >= hi {
			n := int(float64(o.Count) * target.Seconds() / took.Seconds())
			return min(max(n, lo), hi), o
		}
		count = min(count*10, hi)
	}
}
