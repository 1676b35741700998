package sockets

import (
	"errors"
	"strings"
	"testing"
)

// TestParseEndpointBad: the endpoints of reliability matrix §8 item 16 get
// an ErrInvalid, never a panic.
func TestParseEndpointBad(t *testing.T) {
	for _, ep := range []string{
		"", "tcp://", "tcp://*:99999", "tcp://[::1", "tcp://a:b:c", "tcp://host", "tcp://:-1",
		"ipc://", "ipc://@", "ipc://" + strings.Repeat("a", 200), "inproc://", "udp://x:1",
		"tcp://127.0.0.1:1\x00", "inproc://a\x00b", "no-transport",
	} {
		if e, err := ParseEndpoint(ep); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseEndpoint(%q) = %v, %v; want ErrInvalid", ep, e, err)
		}
	}
}

func TestParseEndpointGood(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555"},
		{"tcp://*:0", "tcp://*:0"},
		{"tcp://*:*", "tcp://*:0"},
		{"tcp://:7", "tcp://*:7"},
		{"tcp://[::1]:9", "tcp://[::1]:9"},
		{"tcp://example.com:80", "tcp://example.com:80"},
		{"ipc:///tmp/x.sock", "ipc:///tmp/x.sock"},
		{"ipc://@abstract", "ipc://@abstract"},
		{"inproc://name", "inproc://name"},
	} {
		e, err := ParseEndpoint(c.in)
		if err != nil || e.String() != c.want {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q", c.in, e, err, c.want)
		}
	}
}

func TestParseURI(t *testing.T) {
	for _, c := range []struct {
		in   string
		typ  Type
		ep   string
		bind bool
	}{
		{"zmq:pull:tcp://*:1337", PULL, "tcp://*:1337", true},
		{"zmq:PUSH:tcp://127.0.0.1:1337", PUSH, "tcp://127.0.0.1:1337", false},
		{"zmq:sub:tcp://:1", SUB, "tcp://:1", true},
		{"zmq:dealer:ipc:///tmp/d", DEALER, "ipc:///tmp/d", false},
		{"zmq:pair:inproc://p", PAIR, "inproc://p", false},
	} {
		typ, ep, bind, err := ParseURI(c.in)
		if err != nil || typ != c.typ || ep != c.ep || bind != c.bind {
			t.Errorf("ParseURI(%q) = %v %q %v %v; want %v %q %v", c.in, typ, ep, bind, err, c.typ, c.ep, c.bind)
		}
	}
	for _, bad := range []string{"", "zmq:", "zmq:pull", "zmq:nope:tcp://*:1", "pull:tcp://*:1", "zmq:pull:tcp://*:99999"} {
		if _, _, _, err := ParseURI(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseURI(%q): %v; want ErrInvalid", bad, err)
		}
	}
}

// FuzzParseEndpoint: any string gives an endpoint or ErrInvalid, never a
// panic; an endpoint parses back to itself (reliability matrix R03).
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"tcp://127.0.0.1:5555", "tcp://[::1]:1", "ipc://@a", "inproc://x", "tcp://*:*", "zmq:pull:tcp://*:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEndpoint(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseEndpoint(%q): %v does not wrap ErrInvalid", s, err)
			}
		} else {
			switch e.Transport {
			case TCP, IPC, Inproc:
			default:
				t.Fatalf("ParseEndpoint(%q): transport %q", s, e.Transport)
			}
			again, err := ParseEndpoint(e.String())
			if err != nil || again != e {
				t.Fatalf("ParseEndpoint(%q) = %q, which parses to %q, %v", s, e, again, err)
			}
		}
		if _, _, _, err := ParseURI(s); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("ParseURI(%q): %v does not wrap ErrInvalid", s, err)
		}
	})
}
