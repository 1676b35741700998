package peer

// Cross-implementation checks: dripdrop's own `dripdrop bench` command (a
// pure-Go binary built from ../cmd/dripdrop) against libzmq's C API driven
// the way libzmq's perf tools drive it, both ways; and every pair of the
// systems of this package against each other, which checks the roles the
// comparison runs. libzmq must be there: this module is built with cgo, and
// a test without it fails rather than skips.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const crossDeadline = 60 * time.Second

var dripdropBin struct {
	once sync.Once
	path string
	err  error
}

// buildDripdrop builds cmd/dripdrop with cgo off, once, in its own module
// (the directory this module's replace directive names).
func buildDripdrop(t *testing.T) string {
	t.Helper()
	dripdropBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "ddbench-crosscheck-")
		if err != nil {
			dripdropBin.err = err
			return
		}
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/dripdrop-go/dripdrop").Output()
		if err != nil {
			dripdropBin.err = fmt.Errorf("go list -m github.com/dripdrop-go/dripdrop: %v", err)
			return
		}
		dripdropBin.path = filepath.Join(dir, "dripdrop")
		cmd := exec.Command("go", "build", "-o", dripdropBin.path, "./cmd/dripdrop")
		cmd.Dir = strings.TrimSpace(string(root))
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			dripdropBin.err = fmt.Errorf("go build dripdrop: %v\n%s", err, out)
		}
	})
	if dripdropBin.err != nil {
		t.Fatal(dripdropBin.err)
	}
	return dripdropBin.path
}

func system(t *testing.T, name string) System {
	t.Helper()
	s, ok := systems[name]
	if !ok {
		t.Fatalf("system %q is not built in (have %v): build and test this module with cgo and libzmq3-dev", name, Systems())
	}
	return s
}

// bg runs f in a goroutine; the returned function waits for it.
func bg[T any](t *testing.T, what string, f func() (T, error)) func() T {
	t.Helper()
	type out struct {
		v   T
		err error
	}
	c := make(chan out, 1)
	go func() {
		v, err := f()
		c <- out{v, err}
	}()
	return func() T {
		t.Helper()
		select {
		case o := <-c:
			if o.err != nil {
				t.Fatalf("%s: %v", what, o.err)
			}
			return o.v
		case <-time.After(crossDeadline):
			t.Fatalf("%s: no end within %v", what, crossDeadline)
			var zero T
			return zero
		}
	}
}

// boundCh returns a bound callback and the channel it sends on.
func boundCh() (func(string), chan string) {
	c := make(chan string, 1)
	return func(ep string) { c <- ep }, c
}

func endpoint(t *testing.T, tr string) string {
	if tr == "ipc" {
		return "ipc://" + filepath.Join(t.TempDir(), "x.ipc")
	}
	return "tcp://127.0.0.1:0"
}

func waitBound(t *testing.T, c chan string) string {
	t.Helper()
	select {
	case ep := <-c:
		return ep
	case <-time.After(crossDeadline):
		t.Fatal("the binding side did not bind")
		return ""
	}
}

// dripdrop runs `dripdrop bench ARGS...` and returns its stdout.
func dripdrop(t *testing.T, args ...string) func() string {
	t.Helper()
	bin := buildDripdrop(t)
	return bg(t, fmt.Sprint("dripdrop bench ", args), func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), crossDeadline)
		defer cancel()
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, append([]string{"bench", "-progress", "0"}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%v\n%s", err, errb.String())
		}
		return out.String(), nil
	})
}

// dripdropBound starts a binding `dripdrop bench` and returns the endpoint
// it reports on stderr, and a wait for its stdout.
func dripdropBound(t *testing.T, args ...string) (string, func() string) {
	t.Helper()
	bin := buildDripdrop(t)
	ctx, cancel := context.WithTimeout(context.Background(), crossDeadline)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, append([]string{"bench", "-progress", "0"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`bound to (\S+)`)
	var errText bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, rerr := stderr.Read(buf)
		errText.Write(buf[:n])
		if m := re.FindSubmatch(errText.Bytes()); m != nil {
			go func() { // drain the rest
				for {
					if _, err := stderr.Read(buf); err != nil {
						return
					}
				}
			}()
			wait := func() string {
				t.Helper()
				if err := cmd.Wait(); err != nil {
					t.Fatalf("dripdrop bench %v: %v", args, err)
				}
				return out.String()
			}
			return string(m[1]), wait
		}
		if rerr != nil {
			cmd.Wait()
			t.Fatalf("dripdrop bench %v did not bind: %s", args, errText.String())
		}
	}
}

var thrLines = regexp.MustCompile(`^message size: (\d+) \[B\]\nmessage count: (\d+)\nmean throughput: \d+ \[msg/s\]\nmean throughput: \d+\.\d{3} \[Mb/s\]\n$`)
var latLines = regexp.MustCompile(`^message size: (\d+) \[B\]\nroundtrip count: (\d+)\naverage latency: \d+\.\d{3} \[us\]\n$`)

func wantLines(t *testing.T, re *regexp.Regexp, out string, size, count int) {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(size) || m[2] != strconv.Itoa(count) {
		t.Fatalf("output is not libzmq's lines for size %d count %d:\n%s", size, count, out)
	}
}

// Our remote-thr into a libzmq local_thr-style receiver: it gets exactly
// COUNT messages of SIZE octets. Over tcp only: over ipc, libzmq 4.3.4
// drops the unread tail when the sender closes while the receiver's pipe
// is at its high-water mark (the hang-up arrives while its input is
// stopped), whoever the sender is, libzmq's own remote_thr included; see
// docs/PERFORMANCE.md.
func TestDripdropRemoteThrIntoLibzmq(t *testing.T) {
	lz := system(t, "libzmq")
	for _, tr := range []string{"tcp"} {
		t.Run(tr, func(t *testing.T) {
			const size, count = 100, 200_000
			bound, c := boundCh()
			recv := bg(t, "libzmq local-thr", func() (Result, error) { return lz.LocalThr(endpoint(t, tr), size, count, bound) })
			ep := waitBound(t, c)
			if out := dripdrop(t, "remote-thr", ep, strconv.Itoa(size), strconv.Itoa(count))(); out != "" {
				t.Errorf("remote-thr printed %q", out)
			}
			if r := recv(); r.Count != count || r.ElapsedNS <= 0 {
				t.Fatalf("libzmq received %+v, want %d", r, count)
			}
		})
	}
}

// A libzmq remote_thr-style sender into our local-thr, which prints
// local_thr's lines for exactly COUNT messages.
func TestLibzmqRemoteThrIntoDripdrop(t *testing.T) {
	lz := system(t, "libzmq")
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			const size, count = 16, 300_000
			ep, wait := dripdropBound(t, "local-thr", endpoint(t, tr), strconv.Itoa(size), strconv.Itoa(count))
			stop := make(chan struct{})
			close(stop)
			send := bg(t, "libzmq remote-thr", func() (Result, error) { return lz.RemoteThr(ep, size, count, stop) })
			wantLines(t, thrLines, wait(), size, count)
			if r := send(); r.Count != count {
				t.Fatalf("libzmq sent %+v", r)
			}
		})
	}
}

// REQ/REP both ways: ours remote-lat against libzmq's echo, libzmq's
// remote_lat-style loop against our local-lat.
func TestDripdropLatencyWithLibzmq(t *testing.T) {
	lz := system(t, "libzmq")
	const size, n = 256, 2000
	t.Run("ours-remote-lat", func(t *testing.T) {
		bound, c := boundCh()
		stop := make(chan struct{})
		echo := bg(t, "libzmq local-lat", func() (Result, error) {
			return lz.LocalLat("tcp://127.0.0.1:0", size, n, bound, stop)
		})
		out := dripdrop(t, "remote-lat", waitBound(t, c), strconv.Itoa(size), strconv.Itoa(n))()
		wantLines(t, latLines, out, size, n)
		close(stop)
		if r := echo(); r.Count != n {
			t.Fatalf("libzmq echoed %+v", r)
		}
	})
	t.Run("libzmq-remote-lat", func(t *testing.T) {
		ep, wait := dripdropBound(t, "local-lat", "tcp://127.0.0.1:0", strconv.Itoa(size), strconv.Itoa(n))
		r := bg(t, "libzmq remote-lat", func() (Result, error) { return lz.RemoteLat(ep, size, n) })()
		if r.Count != n || r.ElapsedNS <= 0 {
			t.Fatalf("libzmq round trips %+v", r)
		}
		if out := wait(); out != "" {
			t.Errorf("local-lat printed %q", out)
		}
	})
}

// Every system's sender into every system's receiver, and every REQ
// against every REP: what the comparison relies on to mix nothing up.
func TestSystemPairs(t *testing.T) {
	names := []string{"ours", "libzmq", "pebbe", "gozmq"}
	for _, rn := range names {
		for _, sn := range names {
			t.Run(rn+"<-"+sn, func(t *testing.T) {
				recvSys, sendSys := system(t, rn), system(t, sn)
				const size, count = 64, 20_000
				bound, c := boundCh()
				recv := bg(t, rn+" local-thr", func() (Result, error) {
					return recvSys.LocalThr("tcp://127.0.0.1:0", size, count, bound)
				})
				ep := waitBound(t, c)
				stop := make(chan struct{})
				send := bg(t, sn+" remote-thr", func() (Result, error) { return sendSys.RemoteThr(ep, size, count, stop) })
				if r := recv(); r.Count != count {
					t.Fatalf("received %+v", r)
				}
				close(stop)
				send()

				bound, c = boundCh()
				stop = make(chan struct{})
				echo := bg(t, rn+" local-lat", func() (Result, error) {
					return recvSys.LocalLat("tcp://127.0.0.1:0", 8, 50, bound, stop)
				})
				if r := bg(t, sn+" remote-lat", func() (Result, error) { return sendSys.RemoteLat(waitBound(t, c), 8, 50) })(); r.Count != 50 {
					t.Fatalf("round trips %+v", r)
				}
				close(stop)
				echo()
			})
		}
	}
}

// inproc and PUB/SUB on each system, the way the comparison runs them.
func TestSystemInprocAndPubSub(t *testing.T) {
	for _, name := range []string{"ours", "libzmq", "pebbe", "gozmq"} {
		t.Run(name, func(t *testing.T) {
			sys := system(t, name)
			if r := bg(t, "inproc-thr", func() (Result, error) { return sys.InprocThr(16, 10_000) })(); r.Count != 10_000 {
				t.Fatalf("inproc-thr %+v", r)
			}
			bound, c := boundCh()
			start, stop := make(chan struct{}), make(chan struct{})
			pub := bg(t, "pub", func() (Result, error) { return sys.Pub("tcp://127.0.0.1:0", 16, 5000, bound, start, stop) })
			ep := waitBound(t, c)
			ready := make(chan struct{})
			sub := bg(t, "sub", func() (Result, error) {
				return sys.Sub(ep, 16, 5000, 5*time.Second, func() { close(ready) })
			})
			select {
			case <-ready:
			case <-time.After(crossDeadline):
				t.Fatal("the subscriber saw no warm-up message")
			}
			close(start)
			r := sub()
			close(stop)
			if p := pub(); p.Count != 5000 {
				t.Fatalf("published %+v", p)
			}
			if r.Count != 5000 || r.Lost {
				t.Fatalf("subscriber got %+v, want all 5000", r)
			}
		})
	}
}
