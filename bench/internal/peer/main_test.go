package peer

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// go-zeromq/zmq4 leaves these goroutines behind after Close (an inproc
// reader, an accept stuck in an inproc greeting, the PUB writer); they are
// its own, not ours. At the end the binary buildDripdrop made is removed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/go-zeromq/zmq4.(*qreader).listen"),
		goleak.IgnoreAnyFunction("github.com/go-zeromq/zmq4.(*socket).accept"),
		goleak.IgnoreAnyFunction("github.com/go-zeromq/zmq4.(*pubMWriter).run"),
		goleak.Cleanup(func(code int) {
			// The dripdrop binary the cross-checks built, with its directory.
			if dripdropBin.path != "" {
				_ = os.RemoveAll(filepath.Dir(dripdropBin.path))
			}
			os.Exit(code)
		}),
	)
}
