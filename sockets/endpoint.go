package sockets

import (
	"net"
	"strconv"
	"strings"
)

// Transport names.
const (
	TCP    = "tcp"
	IPC    = "ipc"
	Inproc = "inproc"
)

// Endpoint is a parsed endpoint: "tcp://host:port", "ipc:///path",
// "ipc://@abstract" or "inproc://name".
type Endpoint struct {
	Transport string // TCP, IPC or Inproc
	Address   string // host:port for tcp (port "0" for any), a path or @name for ipc, a name for inproc
}

func (e Endpoint) String() string { return e.Transport + "://" + e.Address }

// ParseEndpoint parses and checks an endpoint. For tcp, the host may be a
// name, an IPv4 address, a bracketed IPv6 address or "*" (any address,
// binding only); the port may be "*" or "0" for any port (binding only).
func ParseEndpoint(s string) (Endpoint, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return Endpoint{}, invalid("endpoint contains a NUL octet")
	}
	transport, addr, ok := strings.Cut(s, "://")
	if !ok {
		return Endpoint{}, invalid("endpoint %q lacks a transport (tcp://, ipc://, inproc://)", s)
	}
	switch transport {
	case TCP:
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return Endpoint{}, invalid("tcp endpoint %q: %v", s, err)
		}
		if host == "" {
			host = "*"
		}
		if port == "*" {
			port = "0"
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return Endpoint{}, invalid("tcp endpoint %q: bad port %q", s, port)
		}
		return Endpoint{Transport: TCP, Address: net.JoinHostPort(host, strconv.FormatUint(n, 10))}, nil
	case IPC:
		if addr == "" || addr == "@" {
			return Endpoint{}, invalid("ipc endpoint %q has no path", s)
		}
		if len(addr) > 107 {
			return Endpoint{}, invalid("ipc path of %d octets; the limit is 107", len(addr))
		}
		return Endpoint{Transport: IPC, Address: addr}, nil
	case Inproc:
		if addr == "" {
			return Endpoint{}, invalid("inproc endpoint %q has no name", s)
		}
		return Endpoint{Transport: Inproc, Address: addr}, nil
	default:
		return Endpoint{}, invalid("unsupported transport %q in %q", transport, s)
	}
}

// tcpHostPort returns the host and port of a tcp endpoint, with "*" made the
// IPv4 any-address as libzmq does.
func (e Endpoint) tcpHostPort() string {
	host, port, _ := net.SplitHostPort(e.Address)
	if host == "*" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, port)
}

// ParseURI parses a URI that carries the socket type as well, such as
// "zmq:pull:tcp://*:1337". For tcp, a "*" or empty host means bind and
// anything else connect; ipc and inproc URIs connect. It returns the type,
// the endpoint and whether to bind.
func ParseURI(uri string) (t Type, endpoint string, bind bool, err error) {
	rest, ok := strings.CutPrefix(uri, "zmq:")
	if !ok {
		return 0, "", false, invalid("URI %q does not start with zmq:", uri)
	}
	name, endpoint, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, "", false, invalid("URI %q lacks an endpoint", uri)
	}
	if t, err = ParseType(name); err != nil {
		return 0, "", false, err
	}
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return 0, "", false, err
	}
	if ep.Transport == TCP {
		host, _, _ := net.SplitHostPort(ep.Address)
		bind = host == "*"
	}
	return t, endpoint, bind, nil
}
