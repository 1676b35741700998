package zmtp

// SocketType is a ZeroMQ socket type as named in the Socket-Type property.
type SocketType string

// The socket types of RFC 37 (classic types and the draft ones, so that
// compatibility checks know them all).
const (
	Pair    SocketType = "PAIR"
	Pub     SocketType = "PUB"
	Sub     SocketType = "SUB"
	Req     SocketType = "REQ"
	Rep     SocketType = "REP"
	Dealer  SocketType = "DEALER"
	Router  SocketType = "ROUTER"
	Pull    SocketType = "PULL"
	Push    SocketType = "PUSH"
	XPub    SocketType = "XPUB"
	XSub    SocketType = "XSUB"
	Client  SocketType = "CLIENT"
	Server  SocketType = "SERVER"
	Radio   SocketType = "RADIO"
	Dish    SocketType = "DISH"
	Scatter SocketType = "SCATTER"
	Gather  SocketType = "GATHER"
	Peer    SocketType = "PEER"
	Channel SocketType = "CHANNEL"
)

// compatible lists, for each type, the peer types it may talk to (RFC 37
// "Socket Type Compatibility", as libzmq's mechanism.cpp applies it).
var compatible = map[SocketType][]SocketType{
	Pair:    {Pair},
	Pub:     {Sub, XSub},
	Sub:     {Pub, XPub},
	XPub:    {Sub, XSub},
	XSub:    {Pub, XPub},
	Req:     {Rep, Router},
	Rep:     {Req, Dealer},
	Dealer:  {Rep, Dealer, Router},
	Router:  {Req, Dealer, Router},
	Push:    {Pull},
	Pull:    {Push},
	Client:  {Server},
	Server:  {Client},
	Radio:   {Dish},
	Dish:    {Radio},
	Scatter: {Gather},
	Gather:  {Scatter},
	Peer:    {Peer},
	Channel: {Channel},
}

// Known reports whether t is a socket type this package knows.
func (t SocketType) Known() bool {
	_, ok := compatible[t]
	return ok
}

// Compatible reports whether a socket of type t may talk to one of type
// peer. Names compare exactly (upper case), as libzmq compares them.
func (t SocketType) Compatible(peer SocketType) bool {
	for _, p := range compatible[t] {
		if p == peer {
			return true
		}
	}
	return false
}

// sendsIdentity reports whether t announces an Identity property in its
// READY; libzmq sends it only from REQ, DEALER and ROUTER.
func (t SocketType) sendsIdentity() bool {
	return t == Req || t == Dealer || t == Router
}

// receivesSubscriptions reports whether t is a publisher that takes
// subscriptions from its peers.
func (t SocketType) receivesSubscriptions() bool {
	return t == Pub || t == XPub
}
