package peer

import (
	"testing"

	"go.uber.org/goleak"
)

// go-zeromq/zmq4 leaves these goroutines behind after Close (an inproc
// reader, an accept stuck in an inproc greeting, the PUB writer); they are
// its own, not ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/go-zeromq/zmq4.(*qreader).listen"),
		goleak.IgnoreAnyFunction("github.com/go-zeromq/zmq4.(*socket).accept"),
		goleak.IgnoreAnyFunction("github.com/go-zeromq/zmq4.(*pubMWriter).run"),
	)
}
