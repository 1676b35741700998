//go:build cgo

package peer

import "testing"

func TestLibzmqBindEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:0":    "tcp://127.0.0.1:*",
		"tcp://127.0.0.1:5555": "tcp://127.0.0.1:5555",
		"ipc:///tmp/a:0":       "ipc:///tmp/a:0",
	} {
		if got := libzmqBindEndpoint(in); got != want {
			t.Errorf("libzmqBindEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}
