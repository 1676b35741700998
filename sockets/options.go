package sockets

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// Defaults of the socket options.
const (
	DefaultHWM                  = 1000
	DefaultLinger               = 2 * time.Second
	DefaultReconnectInterval    = 100 * time.Millisecond
	DefaultReconnectIntervalMax = 0 // no backoff growth, as libzmq
	DefaultHandshakeTimeout     = 30 * time.Second
	DefaultZAPTimeout           = 10 * time.Second // never more than the handshake timeout
	// DefaultIPCSendBuffer is the kernel send buffer (SO_SNDBUF) asked for
	// on ipc connections unless WithSendBuffer says otherwise; tcp
	// connections keep the system's own, which Linux tunes as traffic grows.
	DefaultIPCSendBuffer = 1 << 20
)

// Option configures a socket at creation. An option with a bad value makes
// New fail with an error wrapping ErrInvalid.
type Option func(*options) error

type options struct {
	sendHWM, recvHWM int
	sendBuf, recvBuf int // SO_SNDBUF, SO_RCVBUF; -1: the transport's default
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
	zapTimeout       time.Duration
	zapEnforce       bool
	zapEndpoint      string // ZAPEndpoint; tests give each handler its own
	metadata         zmtp.Metadata
	logger           *slog.Logger
	monitor          chan<- Event
}

func defaultOptions() options {
	return options{
		sendHWM:          DefaultHWM,
		recvHWM:          DefaultHWM,
		sendBuf:          -1,
		recvBuf:          -1,
		linger:           DefaultLinger,
		reconnectIvl:     DefaultReconnectInterval,
		reconnectIvlMax:  DefaultReconnectIntervalMax,
		maxMsgSize:       -1,
		handshakeTimeout: DefaultHandshakeTimeout,
		zapTimeout:       DefaultZAPTimeout,
		zapEndpoint:      ZAPEndpoint,
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

// WithSendBuffer sets the kernel's send buffer (SO_SNDBUF, libzmq's
// ZMQ_SNDBUF) of each tcp and ipc connection, in octets; 0 leaves the
// system's default. Without it, tcp connections keep the system's default,
// which Linux grows with a connection's traffic, and ipc connections ask
// for DefaultIPCSendBuffer: a unix socket's default (212992 octets on
// Linux) makes a sender of large messages wait for its receiver every few
// hundred KiB (docs/PERFORMANCE.md). Linux caps the value at
// net.core.wmem_max and doubles it for its bookkeeping. It is a bound, not
// an allocation: an idle connection holds none of it.
func WithSendBuffer(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return invalid("send buffer %d", n)
		}
		o.sendBuf = n
		return nil
	}
}

// WithRecvBuffer sets the kernel's receive buffer (SO_RCVBUF, libzmq's
// ZMQ_RCVBUF) of each tcp and ipc connection, in octets; 0, the default,
// leaves the system's (which Linux grows with a tcp connection's traffic
// unless it is set). Linux caps it at net.core.rmem_max. As libzmq does,
// both buffers are set on a socket before it connects or listens (tcp
// connections accepted inherit them from their listener, ipc ones get them
// as they are accepted): a tcp receive buffer shrunk once the connection
// is up would not shrink the window scale agreed for a larger one.
func WithRecvBuffer(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return invalid("receive buffer %d", n)
		}
		o.recvBuf = n
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

// Security options. A socket has one mechanism: WithPlainClient,
// WithPlainServer, WithCurveClient, WithCurveServer and WithMechanism
// replace one another, the last one given wins; without any the socket
// speaks NULL. Server-side handshakes consult the socket's authenticator
// (WithZAP), or else the ZAP handler an application has bound at
// ZAPEndpoint, as libzmq does; see docs/CURVE.md.

// WithPlainClient makes the socket's connections authenticate with PLAIN
// (RFC 24) as a client: the username and password travel in the clear.
// Each is limited to 255 octets.
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

// WithPlainServer makes the socket a PLAIN server. Each client's username
// and password go to auth; a nil auth means the socket's WithZAP
// authenticator, or else the ZAP handler bound at ZAPEndpoint (as with
// libzmq's ZMQ_PLAIN_SERVER). With neither, every client is refused with
// status 500 (ErrNoAuthenticator): a password nobody checks would let
// anyone in, and libzmq 4.3 refuses too.
func WithPlainServer(auth zmtp.Authenticator) Option {
	return func(o *options) error {
		o.mechanism = func(bool) zmtp.Mechanism { return zmtp.PlainServer{} }
		if auth != nil {
			o.authenticator = auth
		}
		return nil
	}
}

// WithCurveServer makes the socket a CURVE server (RFC 25/26): traffic is
// encrypted, and clients must know the public key that goes with secret
// (curve.KeyPairFromSecret; dripdrop keygen prints both). Clients are
// authenticated by the socket's WithZAP authenticator, which sees each
// client's permanent public key, or else by the ZAP handler bound at
// ZAPEndpoint; with neither, any client that knows the server's public key
// gets in, as with libzmq without a ZAP handler. A zero key is refused.
func WithCurveServer(secret curve.Key) Option {
	return func(o *options) error {
		srv, err := curve.NewServer(secret)
		if err != nil {
			return invalid("WithCurveServer: %v", err)
		}
		o.mechanism = func(bool) zmtp.Mechanism { return srv }
		return nil
	}
}

// WithCurveClient makes the socket's connections CURVE clients with the
// permanent key pair keys, to servers whose public key is serverPublic. A
// pair with only its secret half set gets its public half derived. Zero
// keys, and a public key that does not belong to the secret one, are
// refused.
func WithCurveClient(keys curve.KeyPair, serverPublic curve.Key) Option {
	return func(o *options) error {
		if keys.Public.IsZero() && !keys.Secret.IsZero() {
			var err error
			if keys, err = curve.KeyPairFromSecret(keys.Secret); err != nil {
				return invalid("WithCurveClient: %v", err)
			}
		}
		cli, err := curve.NewClient(keys, serverPublic)
		if err != nil {
			return invalid("WithCurveClient: %v", err)
		}
		o.mechanism = func(bool) zmtp.Mechanism { return cli }
		return nil
	}
}

// WithMechanism sets the security mechanism directly, with the
// authenticator servers use (nil: as for WithPlainServer).
func WithMechanism(m zmtp.Mechanism, auth zmtp.Authenticator) Option {
	return func(o *options) error {
		if m == nil {
			return invalid("nil mechanism")
		}
		o.mechanism = func(bool) zmtp.Mechanism { return m }
		if auth != nil {
			o.authenticator = auth
		}
		return nil
	}
}

// WithZAP sets the socket's authenticator: the Go form of a ZAP handler
// (RFC 27), asked about every client once the mechanism has its
// credentials, with the ZAP domain, the client's address and, for PLAIN,
// the username and password, for CURVE the client's public key. PLAIN and
// CURVE servers consult it, and so does every NULL connection of a socket
// that has one (libzmq's NULL with a ZAP domain). Its answer's status
// decides: 200 lets the client in, with the answer's user id and metadata
// on its messages (Msg.Peer); 300, 400 and 500 refuse it with an ERROR.
// It is called with a context that ends after the ZAP timeout
// (WithZAPTimeout) and must honour it. NewAuth makes a ready-made one;
// ServeZAP serves one to other sockets the libzmq way.
func WithZAP(auth zmtp.Authenticator) Option {
	return func(o *options) error {
		if auth == nil {
			return invalid("WithZAP(nil)")
		}
		o.authenticator = auth
		return nil
	}
}

// WithZAPDomain sets the ZAP domain passed to the authenticator or ZAP
// handler (default ""). As in libzmq, a NULL socket without WithZAP
// consults a bound ZAP handler only when it has a domain.
func WithZAPDomain(domain string) Option {
	return func(o *options) error {
		if len(domain) > 255 {
			return invalid("ZAP domain of %d octets, at most 255", len(domain))
		}
		o.zapDomain = domain
		return nil
	}
}

// WithZAPEnforce makes a server that has no authenticator of its own
// refuse every client (status 500, ErrNoAuthenticator) while no ZAP
// handler is bound, instead of letting CURVE clients that know its key,
// and NULL clients of a socket with a ZAP domain, in (libzmq's draft
// ZMQ_ZAP_ENFORCE_DOMAIN). Without it a CURVE server whose handler has
// gone accepts clients unchecked, as libzmq 4.3 does by default.
func WithZAPEnforce() Option {
	return func(o *options) error { o.zapEnforce = true; return nil }
}

// WithZAPTimeout bounds each authentication: the wait for a ZAP handler's
// reply, and the deadline of the context given to the WithZAP
// authenticator (default DefaultZAPTimeout, 10 s, and never more than the
// handshake timeout). A client whose authentication times out is refused
// with status 300 (try again later) and the server's handshake fails
// with ErrZAPTimeout.
func WithZAPTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("ZAP timeout %v", d)
		}
		o.zapTimeout = d
		return nil
	}
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
