package zmtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Handshake runs the ZMTP greeting and the security handshake on nc and
// returns the ready connection. It sends its whole greeting before reading
// the peer's, so libzmq's staged greeting cannot deadlock it, and refuses
// ZMTP 1.0 and 2.0 peers as soon as their first octets show it.
//
// The handshake is bounded by cfg.HandshakeTimeout and by ctx: whichever
// ends first closes it with ErrHandshakeTimeout or the context's error. On
// any failure nc is closed and the error says why (errors.Is with
// ErrVersion, ErrMechanism, ErrSocketType, ErrAuth, ErrMalformed, ...).
func Handshake(ctx context.Context, nc net.Conn, cfg Config) (*Conn, error) {
	if err := cfg.validate(); err != nil {
		nc.Close()
		return nil, err
	}
	c := newConn(nc, cfg)
	timeout := cfg.HandshakeTimeout
	if timeout == 0 {
		timeout = DefaultHandshakeTimeout
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if err := nc.SetDeadline(deadline); err != nil {
		nc.Close()
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	err := c.handshake(ctx)
	if !stop() {
		// The context ended and its AfterFunc may still be about to expire
		// the deadline: even a handshake that got through cannot be handed
		// over, as its Conn could fail on the first read.
		if err == nil {
			err = context.Cause(ctx)
		} else {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w after %v", ErrHandshakeTimeout, timeout)
	}
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("dripdrop: handshake with %s: %w", addrOf(nc), err)
	}
	c.start()
	return c, nil
}

func addrOf(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return "peer"
}

// handshake exchanges greetings and runs the mechanism.
func (c *Conn) handshake(ctx context.Context) error {
	mech := c.cfg.mechanism()
	greeting := AppendGreeting(nil, Greeting{
		Major: VersionMajor, Minor: VersionMinor,
		Mechanism: mech.Name(), AsServer: mech.IsServer(),
	})
	if err := c.wr.writeRaw(greeting); err != nil {
		return err
	}
	if err := c.wr.flush(); err != nil {
		return err
	}
	peer, err := c.readGreeting()
	if err != nil {
		return err
	}
	if peer.Mechanism != mech.Name() {
		return fmt.Errorf("%w: peer uses %q, we use %q", ErrMechanism, peer.Mechanism, mech.Name())
	}
	if mech.IsServer() && peer.AsServer {
		return fmt.Errorf("%w: both sides claim the %s server role", ErrMechanism, peer.Mechanism)
	}
	c.peer = peer
	hs := &HandshakeIO{Local: c.cfg.localMetadata(), Peer: peer, c: c, cfg: &c.cfg}
	cipher, err := mech.Handshake(ctx, hs)
	if err != nil {
		return err
	}
	if err := c.acceptPeerMetadata(hs); err != nil {
		return err
	}
	c.cipher = cipher
	return nil
}

// readGreeting reads the peer's greeting in the stages that let a legacy
// peer be told apart early: octet 0, octets 1-9, the major version, the
// rest.
func (c *Conn) readGreeting() (Greeting, error) {
	for _, n := range []int{1, greetSignatureEnd} {
		b, err := c.rd.need(n)
		if err != nil {
			return Greeting{}, greetingErr(err)
		}
		if err := checkSignature(b); err != nil {
			return Greeting{}, err
		}
	}
	b, err := c.rd.need(greetMajor + 1)
	if err != nil {
		return Greeting{}, greetingErr(err)
	}
	if err := checkMajor(b[greetMajor]); err != nil {
		return Greeting{}, err
	}
	if b, err = c.rd.need(GreetingSize); err != nil {
		return Greeting{}, greetingErr(err)
	}
	g, err := ParseGreeting(b)
	c.rd.consume(GreetingSize)
	return g, err
}

func greetingErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return fmt.Errorf("reading greeting: %w", noEOF(err))
}

// acceptPeerMetadata keeps what the peer announced, checking it unless
// the mechanism already did (AcceptPeerMetadata).
func (c *Conn) acceptPeerMetadata(hs *HandshakeIO) error {
	if !hs.checked {
		if err := hs.checkPeerMetadata(); err != nil {
			return err
		}
	}
	c.peerType = hs.peerType
	c.peerMeta = hs.PeerMetadata
	c.userID = hs.UserID
	c.authMeta = hs.AuthMetadata
	return nil
}

// AcceptPeerMetadata parses the properties of the peer's READY or INITIATE
// into PeerMetadata and checks them: exactly one Socket-Type that can talk
// to ours, and an Identity of at most 255 octets. A refused peer is sent an
// ERROR. Server mechanisms call it before they send READY, so that READY
// never goes to a peer about to be refused.
func (hs *HandshakeIO) AcceptPeerMetadata(data []byte) error {
	md, err := ParseMetadata(data)
	if err != nil {
		hs.SendError("malformed metadata")
		return err
	}
	hs.PeerMetadata = md
	return hs.checkPeerMetadata()
}

func (hs *HandshakeIO) checkPeerMetadata() error {
	var st []byte
	seen := 0
	for _, p := range hs.PeerMetadata {
		if equalFold(p.Name, PropSocketType) {
			st = p.Value
			seen++
		}
	}
	if seen != 1 {
		hs.SendError("invalid Socket-Type")
		return fmt.Errorf("%w: peer sent %d Socket-Type properties", ErrSocketType, seen)
	}
	peerType := SocketType(st)
	if !hs.cfg.SocketType.Compatible(peerType) {
		hs.SendError("invalid socket type")
		return fmt.Errorf("%w: %s cannot talk to %s", ErrSocketType, hs.cfg.SocketType, truncate(st))
	}
	if id, ok := hs.PeerMetadata.Get(PropIdentity); ok && len(id) > 255 {
		hs.SendError("invalid Identity")
		return malformed("peer identity of %d octets", len(id))
	}
	hs.peerType = peerType
	hs.checked = true
	return nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// truncate makes a peer-supplied value safe to put in an error message.
func truncate(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%q...", b[:32])
	}
	return fmt.Sprintf("%q", b)
}
