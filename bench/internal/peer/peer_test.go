package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"ours"},
		{"zeromq", "local-thr", "tcp://127.0.0.1:0", "16", "10"},
		{"ours", "dance", "16", "10"},
		{"ours", "inproc-thr", "16"},
		{"ours", "inproc-thr", "x", "10"},
		{"ours", "inproc-thr", "16", "0"},
		{"ours", "local-thr", "16", "10"},
	} {
		var out bytes.Buffer
		if err := Run(args, strings.NewReader(""), &out); !errors.Is(err, ErrUsage) {
			t.Errorf("Run(%q) = %v, want a usage error", args, err)
		}
	}
}

// Run reports a role's outcome as the last line, "result {JSON}".
func TestRunReportsResult(t *testing.T) {
	var out bytes.Buffer
	if err := Run([]string{"ours", "inproc-thr", "16", "500"}, strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	line, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "result ")
	if !ok {
		t.Fatalf("output %q has no result line", out.String())
	}
	var r Result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	if r.Count != 500 || r.ElapsedNS <= 0 || r.Lost {
		t.Fatalf("result %+v", r)
	}
}
