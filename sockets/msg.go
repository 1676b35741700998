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

// Release gives the memory of a received message's frames back, for later
// messages to be read into instead of new allocations, and sets Frames to
// nil. It is optional — a message not released is collected as usual — and
// pays: a receiver that releases each message allocates next to nothing
// per message, which doubles the throughput of a stream of 64 KiB messages
// and makes one of 256-octet messages about twice as fast too
// (docs/PERFORMANCE.md). Large frames (zmtp.RecycleMin octets or more) go
// back to pools by size; small ones were copied into shared slabs, and
// their frame lists cut from shared chunks, which are reused once every
// message in them has been released. Only messages read from tcp or ipc
// are recycled; on others (built by the caller, received over inproc,
// whose frames are the sender's) Release only clears Frames.
//
// After Release, neither the frames nor any slice of them may be used, by
// anyone: do not release a message whose frames were passed to Send (the
// socket keeps them until written) or are held elsewhere, release each
// message once (a copy of a Msg shares its frames), and release only what
// Recv returned: a message built with a received message's Peer counts as
// received from it.
func (m *Msg) Release() {
	if m.Peer != nil && m.Peer.network {
		if !releasing.Load() {
			releasing.Store(true)
		}
		zmtp.Recycle(m.Frames...)
		if n := len(m.Frames); n < cap(m.Frames) {
			// The reader keeps a reference to the message's chunk
			// (framechunk.go) or slab just past its frames; if
			// something else is there now, it is neither.
			ref := m.Frames[: n+1 : n+1][n]
			if c := chunkOf(ref); c != nil {
				c.release()
			} else {
				zmtp.RecycleRef(ref)
			}
		}
	}
	m.Frames = nil
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
	// network: the peer is on tcp or ipc, so every frame received from
	// it was read for its message alone (over inproc, frames are the
	// sender's own); Release recycles them. (It is not a field of Msg:
	// a struct of more than four fields is not kept in registers, and
	// that made every Recv of a 16-octet message about 20 % slower.)
	network bool
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
