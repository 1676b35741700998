package peer

import (
	"crypto/sha256"
	"fmt"

	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// CurveSystem is a system that speaks CURVE, for the CURVE roles:
//
//	curve-local-thr  ENDPOINT SIZE COUNT   a PULL, CURVE server, binds and receives (local-thr)
//	curve-remote-thr ENDPOINT SIZE COUNT   a PUSH, CURVE client, connects and sends (remote-thr)
//	curve-hs-server  ENDPOINT SIZE COUNT   a REP, CURVE server, binds and echoes COUNT requests
//	curve-hs-client  ENDPOINT SIZE COUNT   COUNT times, one after the other: a new REQ, CURVE
//	                                       client, connects, makes one round trip, closes
//
// Every side uses the fixed key pairs CurveServerKeys and CurveClientKeys
// (a benchmark has nothing to hide), and no ZAP handler: the server lets
// in any client that knows its key, libzmq's default.
type CurveSystem interface {
	CurveLocalThr(ep string, size, count int, bound func(string)) (Result, error)
	CurveRemoteThr(ep string, size, count int, stop <-chan struct{}) (Result, error)
	CurveHandshakeServer(ep string, size, count int, bound func(string), stop <-chan struct{}) (Result, error)
	CurveHandshakes(ep string, size, count int) (Result, error)
}

// The benchmark's permanent keys.
var (
	CurveServerKeys = seededKeys("ddbench CURVE server")
	CurveClientKeys = seededKeys("ddbench CURVE client")
)

func seededKeys(seed string) curve.KeyPair {
	kp, err := curve.KeyPairFromSecret(curve.Key(sha256.Sum256([]byte(seed))))
	if err != nil {
		panic(err)
	}
	return kp
}

var curveSystems = map[string]CurveSystem{}

func registerCurve(name string, s CurveSystem) { curveSystems[name] = s }

// HasCurve reports whether the system can run the CURVE roles.
func HasCurve(name string) bool { _, ok := curveSystems[name]; return ok }

func init() {
	for _, r := range []string{"curve-local-thr", "curve-remote-thr", "curve-hs-server", "curve-hs-client"} {
		roleArgs[r] = "ENDPOINT SIZE COUNT"
	}
}

// runCurveRole runs one of the CURVE roles.
func runCurveRole(system, role, ep string, size, count int, bound func(string), stop <-chan struct{}) (Result, error) {
	cs, ok := curveSystems[system]
	if !ok {
		return Result{}, fmt.Errorf("%w: %s has no CURVE roles", ErrUsage, system)
	}
	switch role {
	case "curve-local-thr":
		return cs.CurveLocalThr(ep, size, count, bound)
	case "curve-remote-thr":
		return cs.CurveRemoteThr(ep, size, count, stop)
	case "curve-hs-server":
		return cs.CurveHandshakeServer(ep, size, count, bound, stop)
	case "curve-hs-client":
		return cs.CurveHandshakes(ep, size, count)
	}
	return Result{}, fmt.Errorf("%w: unknown role %q", ErrUsage, role)
}
