// Command dripdrop is the project's one binary. Subcommands:
//
//	dripdrop cat       a socket on stdin and stdout
//	dripdrop demo      a tour of the socket patterns and the ZMTP handshakes
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

func main() {
	// Interrupts stay caught until the process has exited: a second one
	// (timeout -s INT sends two) must not kill it while cat delivers what
	// is queued, or between run's return and the exit with its code.
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt)
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr), os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, err)
		return 2
	default:
		fmt.Fprintln(stderr, "dripdrop:", err)
		return 1
	}
}

const usage = `usage: dripdrop COMMAND [flags]

commands:
  bench   throughput and latency tests like libzmq's perf tools (dripdrop bench -h)
  cat     move messages between a socket and stdin/stdout (dripdrop cat -h)
  demo    a tour: the socket patterns over tcp, ipc and inproc, then ZMTP handshakes
  keygen  print a new CURVE key pair in Z85 (dripdrop keygen -h)`

// run is the whole program, minus process setup, so tests can call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w\n%s", errUsage, usage)
	}
	switch args[0] {
	case "bench":
		return runBench(ctx, args[1:], stdin, stdout, stderr)
	case "cat":
		return runCat(ctx, args[1:], stdin, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout)
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q\n%s", errUsage, args[0], usage)
	}
}
