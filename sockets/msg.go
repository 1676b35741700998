package sockets

import (
	"strings"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Msg is a message: one or more frames, plus what is known about the peer
// it came from.
type Msg struct {
	// Frames are the message parts. A message sent must have at least one
	// frame; frames may be empty.
	Frames [][]byte
	// Peer describes the connection a received message came from. It is
	// nil on messages being sent.
	Peer *PeerInfo
}

// NewMsg returns a message with the given frames.
func NewMsg(frames ...[]byte) Msg { return Msg{Frames: frames} }

// NewMsgString returns a message whose frames are the given strings.
func NewMsgString(frames ...string) Msg {
	m := Msg{Frames: make([][]byte, len(frames))}
	for i, f := range frames {
		m.Frames[i] = []byte(f)
	}
	return m
}

// PeerInfo is the metadata of a connection, shared by every message
// received on it.
type PeerInfo struct {
	SocketType  string        // the peer's Socket-Type
	Identity    []byte        // the Identity the peer announced
	UserID      string        // set by authentication (User-Id)
	PeerAddress string        // the peer's network address (Peer-Address)
	Metadata    zmtp.Metadata // every property the peer and the authenticator gave
}

// Get returns a property by name (case-insensitive), including the
// standard ones: "Socket-Type", "Identity", "User-Id", "Peer-Address".
func (p *PeerInfo) Get(name string) (string, bool) {
	if p == nil {
		return "", false
	}
	switch {
	case strings.EqualFold(name, zmtp.PropUserID):
		return p.UserID, p.UserID != ""
	case strings.EqualFold(name, zmtp.PropPeerAddress):
		return p.PeerAddress, p.PeerAddress != ""
	}
	v, ok := p.Metadata.Get(name)
	return string(v), ok
}
