package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

const benchUsage = `usage: dripdrop bench [flags] TEST ARGS...

Throughput and latency tests with the interface of libzmq's perf tools, so
that either side can be ours or libzmq's local_thr, remote_thr, local_lat
and remote_lat:

  local-thr  ENDPOINT SIZE COUNT        PULL binds, receives COUNT messages, prints throughput
  remote-thr ENDPOINT SIZE COUNT        PUSH connects, sends COUNT messages of SIZE octets
  local-lat  ENDPOINT SIZE ROUNDTRIPS   REP binds and echoes ROUNDTRIPS messages
  remote-lat ENDPOINT SIZE ROUNDTRIPS   REQ connects, sends and waits, prints one-way latency
  inproc-thr SIZE COUNT                 both ends in this process over inproc
  inproc-lat SIZE ROUNDTRIPS            both ends in this process over inproc

Results are computed and printed as libzmq's tools do: throughput counts all
COUNT messages over the time from the first to the last one received, and
latency is the mean round trip divided by two. With -json, every test prints
one JSON object, which also gives the heap allocations per message of this
process over the measured loop.

When the sending and the receiving process share the machine's CPUs, run
each with GOMAXPROCS=1: a process's goroutines then hand messages to each
other on one CPU, which on a 2-CPU machine makes small messages 10 to 40 %
faster (docs/PERFORMANCE.md).

flags (before or right after TEST):`

// Limits on the numbers of the command line: a bad value is a usage error,
// never an enormous allocation.
const (
	benchMaxSize  = 256 << 20
	benchMaxCount = 1 << 40
)

// benchConfig is the parsed command line of dripdrop bench.
type benchConfig struct {
	test     string
	endpoint string // "" for the inproc tests
	size     int
	count    int // messages (thr) or round trips (lat)
	json     bool
	progress time.Duration
	hwm      int
	sndbuf   int // -1: the library's default
	rcvbuf   int // -1: the library's default
	linger   time.Duration
	cpuProf  string
}

// benchTests maps each test to whether it takes an ENDPOINT.
var benchTests = map[string]bool{
	"local-thr":  true,
	"remote-thr": true,
	"local-lat":  true,
	"remote-lat": true,
	"inproc-thr": false,
	"inproc-lat": false,
}

func parseBench(args []string, stderr io.Writer) (*benchConfig, error) {
	c := &benchConfig{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.json, "json", false, "print the result as one JSON object instead of libzmq's lines")
	fs.DurationVar(&c.progress, "progress", 3*time.Second, "print progress on stderr at this interval once a run lasts that long (0: never)")
	fs.IntVar(&c.hwm, "hwm", 1000, "send and receive high-water mark, in messages (0: unlimited)")
	fs.IntVar(&c.sndbuf, "sndbuf", -1, "kernel send buffer (SO_SNDBUF) of each tcp or ipc connection, in octets (0: the system's; -1: the library's default, 1 MiB on ipc)")
	fs.IntVar(&c.rcvbuf, "rcvbuf", -1, "kernel receive buffer (SO_RCVBUF) of each tcp or ipc connection, in octets (0 or -1: the system's)")
	fs.DurationVar(&c.linger, "linger", 30*time.Second, "how long the sending side keeps delivering queued messages at exit (negative: forever)")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, fmt.Errorf("%w: bench needs a TEST", errUsage)
	}
	c.test = fs.Arg(0)
	needsEndpoint, ok := benchTests[c.test]
	if !ok {
		fs.Usage()
		return nil, fmt.Errorf("%w: unknown bench test %q", errUsage, c.test)
	}
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	pos := fs.Args()
	want := 2
	if needsEndpoint {
		want = 3
	}
	if len(pos) != want {
		what := "SIZE COUNT"
		if needsEndpoint {
			what = "ENDPOINT SIZE COUNT"
		}
		return nil, fmt.Errorf("%w: bench %s needs %s, got %d arguments", errUsage, c.test, what, len(pos))
	}
	if needsEndpoint {
		c.endpoint, pos = pos[0], pos[1:]
	}
	var err error
	if c.size, err = benchNumber("SIZE", pos[0], 0, benchMaxSize); err != nil {
		return nil, err
	}
	if c.count, err = benchNumber("COUNT", pos[1], 1, benchMaxCount); err != nil {
		return nil, err
	}
	if c.hwm < 0 {
		return nil, fmt.Errorf("%w: -hwm must not be negative", errUsage)
	}
	if c.sndbuf < -1 || c.rcvbuf < -1 {
		return nil, fmt.Errorf("%w: -sndbuf and -rcvbuf must be -1 or more", errUsage)
	}
	if c.progress < 0 {
		return nil, fmt.Errorf("%w: -progress must not be negative", errUsage)
	}
	return c, nil
}

func benchNumber(name, s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s must be a whole number from %d to %d, not %q", errUsage, name, lo, hi, s)
	}
	return n, nil
}

// runBench is dripdrop bench.
func runBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	c, err := parseBench(args, stderr)
	if err != nil {
		return err
	}
	if c.cpuProf != "" {
		stop, err := startCPUProfile(c.cpuProf)
		if err != nil {
			return err
		}
		defer stop()
	}
	b := &benchRun{c: c, stdout: stdout, stderr: stderr}
	switch c.test {
	case "local-thr":
		return b.localThr(ctx)
	case "remote-thr":
		return b.remoteThr(ctx)
	case "local-lat":
		return b.localLat(ctx)
	case "remote-lat":
		return b.remoteLat(ctx)
	case "inproc-thr":
		return b.inprocThr(ctx)
	default: // inproc-lat
		return b.inprocLat(ctx)
	}
}

// benchRun is one run of a bench test.
type benchRun struct {
	c              *benchConfig
	stdout, stderr io.Writer
}
