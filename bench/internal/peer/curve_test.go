package peer

import (
	"fmt"
	"testing"
)

func curveSystem(t *testing.T, name string) CurveSystem {
	t.Helper()
	s, ok := curveSystems[name]
	if !ok {
		t.Fatalf("system %q has no CURVE roles here (have %v): build and test this module with cgo and libzmq3-dev", name, curveSystems)
	}
	return s
}

// Every pair of CURVE systems, each as server and as client, through the
// roles the comparison runs: the keys and options agree, and the counts
// come out right.
func TestCurveRolesCrossCheck(t *testing.T) {
	for _, srv := range []string{"ours", "libzmq"} {
		for _, cli := range []string{"ours", "libzmq"} {
			t.Run(fmt.Sprintf("%s-server/%s-client", srv, cli), func(t *testing.T) {
				s, c := curveSystem(t, srv), curveSystem(t, cli)
				for _, size := range []int{16, 64 << 10} {
					bound, bc := boundCh()
					const n = 2000
					recv := bg(t, "curve-local-thr", func() (Result, error) { return s.CurveLocalThr(endpoint(t, "tcp"), size, n, bound) })
					stop := make(chan struct{})
					send := bg(t, "curve-remote-thr", func() (Result, error) { return c.CurveRemoteThr(waitBound(t, bc), size, n, stop) })
					if r := recv(); r.Count != n || r.ElapsedNS <= 0 {
						t.Fatalf("size %d: receiver %+v", size, r)
					}
					close(stop)
					send()
				}
				bound, bc := boundCh()
				const hs = 20
				stop := make(chan struct{})
				echo := bg(t, "curve-hs-server", func() (Result, error) {
					return s.CurveHandshakeServer(endpoint(t, "tcp"), 1, hs, bound, stop)
				})
				if r := bg(t, "curve-hs-client", func() (Result, error) { return c.CurveHandshakes(waitBound(t, bc), 1, hs) })(); r.Count != hs {
					t.Fatalf("handshakes %+v", r)
				}
				close(stop)
				if r := echo(); r.Count != hs {
					t.Fatalf("handshake server %+v", r)
				}
			})
		}
	}
}
