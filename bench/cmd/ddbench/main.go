// Command ddbench compares dripdrop with libzmq, pebbe/zmq4 and
// go-zeromq/zmq4 on the workloads of issue 5 (see docs/PERFORMANCE.md).
//
//	ddbench compare [flags]               run everything, print the tables
//	ddbench peer SYSTEM ROLE ARGS...      one side of one run (used by compare)
//	ddbench systems                       the systems built into this binary
//
// Build it twice: with CGO_ENABLED=0 for ours and go-zeromq (so that our
// processes are the pure-Go binaries users get), and with cgo for libzmq
// and pebbe/zmq4; `make bench-compare` does that.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/dripdrop-go/dripdrop/bench/internal/compare"
	"github.com/dripdrop-go/dripdrop/bench/internal/peer"
)

const usage = `usage: ddbench compare [flags] | ddbench peer SYSTEM ROLE ARGS... | ddbench systems`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, peer.ErrUsage), errors.Is(err, compare.ErrUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ddbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w\n%s", compare.ErrUsage, usage)
	}
	switch args[0] {
	case "peer":
		return peer.Run(args[1:], stdin, stdout)
	case "compare":
		self, err := os.Executable()
		if err != nil {
			return err
		}
		return compare.Main(ctx, args[1:], self, stdout, stderr)
	case "systems":
		fmt.Fprintln(stdout, strings.Join(peer.Systems(), " "))
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q\n%s", compare.ErrUsage, args[0], usage)
	}
}
