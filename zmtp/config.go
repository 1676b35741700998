package zmtp

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultHandshakeTimeout bounds a handshake when Config.HandshakeTimeout
// is zero; it matches libzmq's ZMQ_HANDSHAKE_IVL default.
const DefaultHandshakeTimeout = 30 * time.Second

// Config describes one side of a ZMTP connection. The zero value of every
// field but SocketType is a documented default.
type Config struct {
	// SocketType is this side's socket type, sent as Socket-Type. Required.
	SocketType SocketType
	// Identity is sent by REQ, DEALER and ROUTER as the Identity property:
	// at most 255 octets, not starting with 0x00. Empty by default.
	Identity []byte
	// Mechanism secures the connection. Default: Null{}.
	Mechanism Mechanism
	// Authenticator, when set, is consulted by server-side mechanisms (and
	// by NULL) before the handshake completes. A PLAIN server refuses every
	// peer without one; NULL and CURVE let every peer in.
	Authenticator Authenticator
	// Domain is passed to the Authenticator (the ZAP domain). Default "".
	Domain string
	// Metadata holds extra properties for READY or INITIATE. Application
	// properties should be named "X-...". Socket-Type and Identity are
	// set from the fields above and may not appear here.
	Metadata Metadata
	// HandshakeTimeout bounds the greeting and mechanism handshake, in
	// addition to the context's deadline. Default 30 s. Negative: no timeout
	// but the context's.
	HandshakeTimeout time.Duration
	// MaxMsgSize limits a received message: the sum of its frame sizes
	// plus FrameOverhead per frame. Zero or negative: no limit (libzmq's
	// default); memory still grows only as bytes arrive.
	MaxMsgSize int64
	// ReadBufferSize and WriteBufferSize size the connection's buffers.
	// Defaults: DefaultReadBufferSize and DefaultWriteBufferSize.
	ReadBufferSize, WriteBufferSize int
	// HeartbeatInterval, when positive, makes the connection send a PING
	// this often (libzmq's ZMQ_HEARTBEAT_IVL). Default 0: no PINGs.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long to wait for any traffic after a PING
	// before closing the connection with ErrHeartbeatTimeout. Default: the
	// interval.
	HeartbeatTimeout time.Duration
	// HeartbeatTTL is sent in each PING: the peer may close the connection
	// if it hears nothing from us for this long. Default 0 (none); it is
	// sent in tenths of a second, up to 6553.5 s.
	HeartbeatTTL time.Duration
}

func (cfg *Config) validate() error {
	if !cfg.SocketType.Known() {
		return fmt.Errorf("dripdrop: unknown socket type %q", cfg.SocketType)
	}
	if err := ValidateIdentity(cfg.Identity); err != nil {
		return err
	}
	if err := cfg.Metadata.Validate(); err != nil {
		return err
	}
	for _, p := range cfg.Metadata {
		if strings.EqualFold(p.Name, PropSocketType) || strings.EqualFold(p.Name, PropIdentity) {
			return fmt.Errorf("dripdrop: property %s is set by the Config, not Metadata", p.Name)
		}
	}
	if cfg.HeartbeatInterval < 0 || cfg.HeartbeatTimeout < 0 || cfg.HeartbeatTTL < 0 {
		return fmt.Errorf("dripdrop: negative heartbeat setting")
	}
	return nil
}

// ValidateIdentity checks a routing identity: at most 255 octets, and not
// starting with 0x00, which is reserved for generated identities (RFC 37).
func ValidateIdentity(id []byte) error {
	if len(id) > 255 {
		return fmt.Errorf("dripdrop: identity of %d octets, at most 255", len(id))
	}
	if len(id) > 0 && id[0] == 0 {
		return fmt.Errorf("dripdrop: identity starts with 0x00, which is reserved")
	}
	return nil
}

func (cfg *Config) mechanism() Mechanism {
	if cfg.Mechanism == nil {
		return Null{}
	}
	return cfg.Mechanism
}

func (cfg *Config) localMetadata() Metadata {
	m := make(Metadata, 0, 2+len(cfg.Metadata))
	m = append(m, Property{Name: PropSocketType, Value: []byte(cfg.SocketType)})
	if cfg.SocketType.sendsIdentity() {
		m = append(m, Property{Name: PropIdentity, Value: cfg.Identity})
	}
	return append(m, cfg.Metadata...)
}

func (cfg *Config) heartbeatTimeout() time.Duration {
	if cfg.HeartbeatTimeout > 0 {
		return cfg.HeartbeatTimeout
	}
	return cfg.HeartbeatInterval
}

// hostOnly strips the port from a host:port address.
func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
