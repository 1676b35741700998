package sockets

import (
	"fmt"
	"strings"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Type is a socket type, numbered as libzmq numbers them.
type Type uint8

// The classic socket types.
const (
	PAIR Type = iota
	PUB
	SUB
	REQ
	REP
	DEALER
	ROUTER
	PULL
	PUSH
	XPUB
	XSUB
)

var typeNames = [...]zmtp.SocketType{
	PAIR: zmtp.Pair, PUB: zmtp.Pub, SUB: zmtp.Sub, REQ: zmtp.Req, REP: zmtp.Rep,
	DEALER: zmtp.Dealer, ROUTER: zmtp.Router, PULL: zmtp.Pull, PUSH: zmtp.Push,
	XPUB: zmtp.XPub, XSUB: zmtp.XSub,
}

// String returns the type's name in upper case, as sent on the wire.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return string(typeNames[t])
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

func (t Type) valid() bool { return int(t) < len(typeNames) }

func (t Type) zmtp() zmtp.SocketType { return typeNames[t] }

// ParseType parses a socket type name in any case ("push", "PUSH").
func ParseType(name string) (Type, error) {
	for i, n := range typeNames {
		if strings.EqualFold(name, string(n)) {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown socket type %q", ErrInvalid, name)
}
