package compare

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestCurveWorkloads(t *testing.T) {
	want := map[string]string{
		"CURVE PUSH/PULL tcp 16 B":   "msg/s",
		"CURVE PUSH/PULL tcp 64 KiB": "MB/s",
		"CURVE handshakes tcp":       "hs/s",
	}
	ws := CurveWorkloads()
	if len(ws) != len(want) {
		t.Fatalf("%d CURVE workloads, want %d", len(ws), len(want))
	}
	for _, w := range ws {
		if unit, ok := want[w.Name()]; !ok || unit != w.Unit() {
			t.Errorf("workload %q in %s: want %q", w.Name(), w.Unit(), unit)
		}
		for sys, runs := range map[string]bool{"ours": true, "ours1": true, "libzmq": true, "pebbe": false, "gozmq": false} {
			if w.runsOn(sys) != runs {
				t.Errorf("%s runs on %s: %v", w.Name(), sys, !runs)
			}
		}
		if Verdict(w, 2) != "—" || targetText(w) != "—" {
			t.Errorf("%s has a target", w.Name())
		}
	}
	for _, w := range Workloads() {
		if !w.runsOn("gozmq") {
			t.Errorf("%s does not run on gozmq", w.Name())
		}
	}
}

// The CURVE rows, ours beside libzmq with the ratio, go-zeromq shown n/a.
func TestCurveCompareEndToEnd(t *testing.T) {
	goBin, cgoBin := buildPeers(t)
	var out, log bytes.Buffer
	err := Main(context.Background(), []string{
		"-systems", "ours,libzmq,gozmq", "-runs", "1", "-target", "20ms", "-only", `^CURVE `,
		"-peer-go", goBin, "-peer-cgo", cgoBin,
	}, "unused", &out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	table := out.String()
	for _, row := range []string{
		`\| CURVE PUSH/PULL tcp 16 B \| msg/s \| [\d.]+ [Mk] \| [\d.]+ [Mk] \| n/a \| — \| \d+\.\d\d× \| — \|`,
		`\| CURVE PUSH/PULL tcp 64 KiB \| MB/s \| \d+ \| \d+ \| n/a \| — \| \d+\.\d\d× \| — \|`,
		`\| CURVE handshakes tcp \| hs/s \| [\d.]+( k)? \| [\d.]+( k)? \| n/a \| — \| \d+\.\d\d× \| — \|`,
	} {
		if !regexp.MustCompile(row).MatchString(table) {
			t.Errorf("no row matching %s in\n%s\nlog:\n%s", row, table, log.String())
		}
	}
	if strings.Contains(table, "fail") || strings.Contains(table, "Failed runs") {
		t.Errorf("a run failed:\n%s\n%s", table, log.String())
	}
}
