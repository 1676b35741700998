package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	o := func(vs ...float64) []Outcome {
		var os []Outcome
		for _, v := range vs {
			os = append(os, Outcome{Value: v})
		}
		return os
	}
	if m := median(o(3, 1, 2), value); m != 2 {
		t.Errorf("median 3 1 2 = %v", m)
	}
	if m := median(o(4, 1, 3, 2), value); m != 2.5 {
		t.Errorf("median 4 1 3 2 = %v", m)
	}
	failed := append(o(5, 7), Outcome{Value: 100, Err: "boom"})
	if m := median(failed, value); m != 6 {
		t.Errorf("a failed run counted: %v", m)
	}
	if m := median([]Outcome{{Err: "boom"}}, value); !math.IsNaN(m) {
		t.Errorf("no successful run: %v, want NaN", m)
	}
}

func TestVerdict(t *testing.T) {
	thr := Workload{Pattern: PushPull, Transport: "tcp", Size: 16, Target: 1.5}
	lat := Workload{Pattern: ReqRep, Transport: "tcp", Size: 1, Target: 0.7}
	for _, c := range []struct {
		w     Workload
		ratio float64
		want  string
	}{
		{thr, 1.5, "yes"}, {thr, 1.49, "**no**"}, {lat, 0.7, "yes"}, {lat, 0.71, "**no**"}, {lat, math.NaN(), "?"},
	} {
		if got := Verdict(c.w, c.ratio); got != c.want {
			t.Errorf("Verdict(%s, %v) = %q, want %q", c.w.Name(), c.ratio, got, c.want)
		}
	}
}

func TestWorkloadsOfIssue5(t *testing.T) {
	want := map[string]string{
		"PUSH/PULL tcp 16 B":       "msg/s",
		"PUSH/PULL tcp 256 B":      "msg/s",
		"PUSH/PULL tcp 4 KiB":      "MB/s",
		"PUSH/PULL tcp 64 KiB":     "MB/s",
		"PUSH/PULL ipc 16 B":       "msg/s",
		"PUSH/PULL ipc 256 B":      "msg/s",
		"PUSH/PULL ipc 4 KiB":      "MB/s",
		"PUSH/PULL ipc 64 KiB":     "MB/s",
		"PUSH/PULL inproc 16 B":    "msg/s",
		"PUB/SUB tcp 16 B, 1 sub":  "msg/s",
		"PUB/SUB tcp 16 B, 4 subs": "msg/s",
		"REQ/REP tcp 1 B":          "µs",
		"REQ/REP tcp 256 B":        "µs",
	}
	ws := Workloads()
	if len(ws) != len(want) {
		t.Fatalf("%d workloads, want %d", len(ws), len(want))
	}
	for _, w := range ws {
		if unit, ok := want[w.Name()]; !ok || unit != w.Unit() {
			t.Errorf("workload %q in %s: not in issue 5 (or wrong unit %q)", w.Name(), w.Unit(), unit)
		}
	}
	w := Workload{Pattern: PushPull, Size: 4096}
	if v := w.value(1e5, 0); v != 409.6 {
		t.Errorf("4 KiB at 100000 msg/s = %v MB/s, want 409.6", v)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{5_460_000, "msg/s", "5.46 M"}, {43_210, "msg/s", "43.2 k"}, {662.4, "MB/s", "662"},
		{27.04, "µs", "27.0"}, {135.2, "µs", "135"}, {math.NaN(), "MB/s", "fail"},
	} {
		if got := format(c.v, c.unit); got != c.want {
			t.Errorf("format(%v, %s) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, args := range [][]string{
		{"-systems", "ours,zeromq"}, {"-runs", "0"}, {"-only", "("}, {"extra"}, {"-target", "-1s"},
	} {
		if _, err := parse(args, "self", &bytes.Buffer{}); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}

// buildPeers builds ddbench twice, as make bench-compare does.
func buildPeers(t *testing.T) (goBin, cgoBin string) {
	t.Helper()
	dir := t.TempDir()
	goBin, cgoBin = filepath.Join(dir, "ddbench"), filepath.Join(dir, "ddbench-cgo")
	for _, b := range []struct {
		out, cgo string
	}{{goBin, "0"}, {cgoBin, "1"}} {
		cmd := exec.Command("go", "build", "-o", b.out, "github.com/dripdrop-go/dripdrop/bench/cmd/ddbench")
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build (CGO_ENABLED=%s): %v\n%s", b.cgo, err, out)
		}
	}
	return goBin, cgoBin
}

// A short comparison of two workloads: each system's peers run, and the
// table has a figure and a ratio for each.
func TestCompareEndToEnd(t *testing.T) {
	goBin, cgoBin := buildPeers(t)
	jsonOut := filepath.Join(t.TempDir(), "runs.json")
	var out, log bytes.Buffer
	err := Main(context.Background(), []string{
		"-systems", "ours,ours1,libzmq", "-runs", "1", "-target", "20ms",
		"-only", `^(PUSH/PULL inproc 16 B|REQ/REP tcp 1 B|PUB/SUB tcp 16 B, 1 sub|PUSH/PULL ipc 4 KiB)$`,
		"-peer-go", goBin, "-peer-cgo", cgoBin, "-json", jsonOut,
	}, "unused", &out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	table := out.String()
	for _, row := range []string{
		`\| workload \| unit \| ours \| ours, GOMAXPROCS=1 \| libzmq \(C\) \| target \| ours/libzmq \| met \| \(ours, GOMAXPROCS=1\)/libzmq \| met \|`,
		`\| PUSH/PULL ipc 4 KiB \| MB/s \| \d+ \| \d+ \| \d+ \| ≥ 1\.5× \| \d+\.\d\d× \| (yes|\*\*no\*\*) \| \d+\.\d\d× \| (yes|\*\*no\*\*) \|`,
		`\| PUSH/PULL inproc 16 B \| msg/s \| [\d.]+ [Mk] \| [\d.]+ [Mk] \| [\d.]+ [Mk] \| ≥ 1\.0× \| \d+\.\d\d× \| (yes|\*\*no\*\*) \| \d+\.\d\d× \|`,
		`\| PUB/SUB tcp 16 B, 1 sub \| msg/s \| [\d.]+ [Mk] \| [\d.]+ [Mk] \| [\d.]+ [Mk] \| ≥ 1\.0× \| \d+\.\d\d× \|`,
		`\| REQ/REP tcp 1 B \| µs \| [\d.]+ \| [\d.]+ \| [\d.]+ \| ≤ 0\.7× \| \d+\.\d\d× \|`,
		`\| largest \| \d+\.\d \| \d+\.\d \| \d+\.\d \| \d+\.\d\d× \| \d+\.\d\d× \|`,
	} {
		if !regexp.MustCompile(row).MatchString(table) {
			t.Errorf("no row matching %s in\n%s\nlog:\n%s", row, table, log.String())
		}
	}
	if strings.Contains(table, "fail") || strings.Contains(table, "Failed runs") {
		t.Errorf("a run failed:\n%s\n%s", table, log.String())
	}
	var rows []Row
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || len(rows[0].Runs["ours"]) != 1 || len(rows[0].Runs["ours1"]) != 1 || rows[0].Runs["libzmq"][0].RSSKiB == 0 {
		t.Errorf("json: %s", b)
	}
	for _, r := range rows {
		if o := r.Runs["ours1"]; len(o) != 1 || o[0].Procs != 1 {
			t.Errorf("%s: ours1 did not run with GOMAXPROCS=1: %+v", r.Name, o)
		}
		if o := r.Runs["ours"]; len(o) != 1 || o[0].Procs != runtime.GOMAXPROCS(0) {
			t.Errorf("%s: ours did not run with the default GOMAXPROCS (%d): %+v", r.Name, runtime.GOMAXPROCS(0), o)
		}
	}
}
