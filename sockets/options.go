package sockets

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Defaults of the socket options.
const (
	DefaultHWM                  = 1000
	DefaultLinger               = 2 * time.Second
	DefaultReconnectInterval    = 100 * time.Millisecond
	DefaultReconnectIntervalMax = 0 // no backoff growth, as libzmq
	DefaultHandshakeTimeout     = 30 * time.Second
)

// Option configures a socket at creation. An option with a bad value makes
// New fail with an error wrapping ErrInvalid.
type Option func(*options) error

type options struct {
	sendHWM, recvHWM int
	linger           time.Duration
	identity         []byte
	reconnectIvl     time.Duration
	reconnectIvlMax  time.Duration
	heartbeatIvl     time.Duration
	heartbeatTimeout time.Duration
	heartbeatTTL     time.Duration
	maxMsgSize       int64
	handshakeTimeout time.Duration
	routerMandatory  bool
	routerHandover   bool
	conflate         bool
	immediate        bool
	xpubVerbose      bool
	mechanism        func(bind bool) zmtp.Mechanism
	authenticator    zmtp.Authenticator
	zapDomain        string
	metadata         zmtp.Metadata
	logger           *slog.Logger
	monitor          chan<- Event
}

func defaultOptions() options {
	return options{
		sendHWM:          DefaultHWM,
		recvHWM:          DefaultHWM,
		linger:           DefaultLinger,
		reconnectIvl:     DefaultReconnectInterval,
		reconnectIvlMax:  DefaultReconnectIntervalMax,
		maxMsgSize:       -1,
		handshakeTimeout: DefaultHandshakeTimeout,
		logger:           slog.New(slog.DiscardHandler),
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// WithSendHWM sets the high-water mark of each peer's outbound queue, in
// messages (default 1000; 0 means no limit). At the mark, PUB and XPUB drop,
// ROUTER drops (or fails with RouterMandatory), and the other types wait.
func WithSendHWM(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return invalid("send HWM %d", n)
		}
		o.sendHWM = n
		return nil
	}
}

// WithRecvHWM sets the high-water mark of each peer's inbound queue, in
// messages (default 1000; 0 means no limit). At the mark the socket stops
// reading from that peer.
func WithRecvHWM(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return invalid("receive HWM %d", n)
		}
		o.recvHWM = n
		return nil
	}
}

// WithLinger sets how long Close keeps trying to deliver queued messages
// (default 2 s). Zero drops them at once; a negative value waits for as long
// as it takes, which can be forever if a peer never comes.
func WithLinger(d time.Duration) Option {
	return func(o *options) error { o.linger = d; return nil }
}

// WithIdentity sets the identity sent to peers (REQ, DEALER, ROUTER): at
// most 255 octets, not starting with 0x00. A ROUTER peer routes to it.
func WithIdentity(id []byte) Option {
	return func(o *options) error {
		if err := zmtp.ValidateIdentity(id); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		o.identity = append([]byte(nil), id...)
		return nil
	}
}

// WithReconnectInterval sets the wait before reconnecting (default 100 ms)
// and, when max is larger, lets it double after each failure up to max.
// Each wait is jittered by up to ±25 %. A negative interval disables
// reconnection after the first connection ends.
func WithReconnectInterval(ivl, max time.Duration) Option {
	return func(o *options) error {
		if ivl == 0 {
			return invalid("reconnect interval 0")
		}
		o.reconnectIvl, o.reconnectIvlMax = ivl, max
		return nil
	}
}

// WithHeartbeat makes every connection send a PING each interval, drop a
// peer that sends nothing within timeout of a PING (0: the interval), and
// ask peers to drop us after ttl of silence (0: no TTL). Off by default.
func WithHeartbeat(interval, timeout, ttl time.Duration) Option {
	return func(o *options) error {
		if interval < 0 || timeout < 0 || ttl < 0 {
			return invalid("negative heartbeat setting")
		}
		o.heartbeatIvl, o.heartbeatTimeout, o.heartbeatTTL = interval, timeout, ttl
		return nil
	}
}

// WithMaxMsgSize limits received messages to n octets, counting
// zmtp.FrameOverhead per frame; a peer that sends more is disconnected.
// Negative (the default) means no limit.
func WithMaxMsgSize(n int64) Option {
	return func(o *options) error { o.maxMsgSize = n; return nil }
}

// WithHandshakeTimeout bounds each connection's handshake (default 30 s).
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("handshake timeout %v", d)
		}
		o.handshakeTimeout = d
		return nil
	}
}

// WithRouterMandatory makes a ROUTER's Send fail with ErrHostUnreachable
// for an unknown identity, and with ErrWouldBlock when the peer's queue is
// full, instead of dropping the message.
func WithRouterMandatory() Option {
	return func(o *options) error { o.routerMandatory = true; return nil }
}

// WithRouterHandover lets a ROUTER peer that connects with an identity
// already in use take it over; the older connection is closed. Without it
// the newcomer is refused.
func WithRouterHandover() Option {
	return func(o *options) error { o.routerHandover = true; return nil }
}

// WithConflate keeps only the newest message in each peer's queues, inbound
// and outbound (libzmq's ZMQ_CONFLATE): a new message replaces one not yet
// taken, and the high-water marks no longer apply. It is for PUB, SUB,
// PUSH, PULL and DEALER, as in libzmq; New refuses it for other types.
// Unlike libzmq, a multipart message is kept whole.
func WithConflate() Option {
	return func(o *options) error { o.conflate = true; return nil }
}

// WithImmediate makes connect-side peers count for load balancing only
// once connected: messages are not queued for a peer that is not there.
func WithImmediate() Option {
	return func(o *options) error { o.immediate = true; return nil }
}

// WithXPubVerbose makes an XPUB pass every subscription to the
// application, not only the first one for each topic.
func WithXPubVerbose() Option {
	return func(o *options) error { o.xpubVerbose = true; return nil }
}

// WithPlainClient makes the socket's connections authenticate with PLAIN
// as a client.
func WithPlainClient(username, password string) Option {
	return func(o *options) error {
		if len(username) > 255 || len(password) > 255 {
			return invalid("PLAIN username and password are limited to 255 octets")
		}
		o.mechanism = func(bool) zmtp.Mechanism {
			return zmtp.PlainClient{Username: username, Password: password}
		}
		return nil
	}
}

// WithPlainServer makes the socket a PLAIN server: each client's username
// and password go to auth, which must be set.
func WithPlainServer(auth zmtp.Authenticator) Option {
	return func(o *options) error {
		if auth == nil {
			return invalid("PLAIN server without an authenticator")
		}
		o.mechanism = func(bool) zmtp.Mechanism { return zmtp.PlainServer{} }
		o.authenticator = auth
		return nil
	}
}

// WithMechanism sets the security mechanism directly (for example a CURVE
// mechanism from package zmtp/curve), with the authenticator servers use.
func WithMechanism(m zmtp.Mechanism, auth zmtp.Authenticator) Option {
	return func(o *options) error {
		if m == nil {
			return invalid("nil mechanism")
		}
		o.mechanism = func(bool) zmtp.Mechanism { return m }
		o.authenticator = auth
		return nil
	}
}

// WithZAPDomain sets the domain passed to the authenticator.
func WithZAPDomain(domain string) Option {
	return func(o *options) error { o.zapDomain = domain; return nil }
}

// WithMetadata adds application properties (names should start "X-") to
// the socket's handshake.
func WithMetadata(m zmtp.Metadata) Option {
	return func(o *options) error {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		o.metadata = append(o.metadata, m...)
		return nil
	}
}

// WithLogger sets the logger for connection-level events (default: none).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return invalid("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithMonitor sends the socket's events to ch. Sends never block: an event
// that does not fit in ch is dropped and counted (see Socket.Stats).
func WithMonitor(ch chan<- Event) Option {
	return func(o *options) error {
		if ch == nil {
			return invalid("nil monitor channel")
		}
		o.monitor = ch
		return nil
	}
}
