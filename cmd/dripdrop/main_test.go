package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// asMainEnv makes the test binary run main instead of the tests, so that
// tests can run the real program as a child process (cat_process_test.go).
const asMainEnv = "DRIPDROP_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main() // exits
	}
	goleak.VerifyTestMain(m)
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, nil, &out, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"worker 1 got 3 tasks",
		"worker 2 got 3 tasks",
		`publisher learnt: subscribe "weather."`,
		`subscriber received "weather.paris 12C"`,
		`subscriber received "weather.oslo -3C"`,
		`"two" -> "TWO"`,
		`router saw identities ["alice" "bob"]`,
		`bob received "welcome, bob"`,
		"stranger refused in the handshake",
		`server received "encrypted hello" from the known client`,
		`server sees a DEALER with Identity "dealer-1"`,
		`User-Id "admin"`,
		`server received 3 frames: "ping" | "" | <300 octets>`,
		`client received 2 frames: "pong" | "from the router"`,
		"peer sent ERROR: 400",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "sports.") {
		t.Errorf("the subscriber got an update it did not subscribe to:\n%s", out.String())
	}
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	for _, args := range [][]string{nil, {"nope"}, {"demo", "-bogus"}} {
		err := run(context.Background(), args, nil, &out, &out)
		if !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
		if code := exitCode(err, &out); code != 2 {
			t.Errorf("run(%q): exit %d, want 2", args, code)
		}
	}
}
