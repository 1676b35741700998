package sockets

import (
	"fmt"
	"time"
)

// EventType says what happened to a socket's endpoint or connection.
type EventType uint8

// Monitor events, after libzmq's ZMQ_EVENT_* set.
const (
	EventListening          EventType = iota + 1 // Bind succeeded
	EventBindFailed                              // a listener failed
	EventAccepted                                // a connection was accepted (handshake not done)
	EventConnected                               // a dial succeeded (handshake not done)
	EventConnectDelayed                          // a dial failed; a retry is scheduled
	EventConnectRetried                          // a retry is starting
	EventHandshakeSucceeded                      // the peer is ready: it joins the socket
	EventHandshakeFailed                         // the handshake failed; Err says why
	EventDisconnected                            // an established connection ended; Err says why
	EventClosed                                  // a listener or dialer stopped
	EventReconnectStopped                        // a dialer gave up: the peer refused us for good
)

var eventNames = map[EventType]string{
	EventListening: "listening", EventBindFailed: "bind-failed", EventAccepted: "accepted",
	EventConnected: "connected", EventConnectDelayed: "connect-delayed",
	EventConnectRetried: "connect-retried", EventHandshakeSucceeded: "handshake-succeeded",
	EventHandshakeFailed: "handshake-failed", EventDisconnected: "disconnected",
	EventClosed: "closed", EventReconnectStopped: "reconnect-stopped",
}

func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Event is one monitor event.
type Event struct {
	Type     EventType
	Endpoint string // the endpoint as bound or connected
	Peer     string // the peer's address, when there is a connection
	Err      error  // the reason, for failures and disconnects
	Time     time.Time
}

func (e Event) String() string {
	s := e.Type.String() + " " + e.Endpoint
	if e.Peer != "" {
		s += " peer " + e.Peer
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// emit sends an event to the monitor channel without blocking.
func (s *Socket) emit(t EventType, endpoint, peer string, err error) {
	if s.opts.monitor == nil {
		return
	}
	select {
	case s.opts.monitor <- Event{Type: t, Endpoint: endpoint, Peer: peer, Err: err, Time: time.Now()}:
	default:
		s.stats.eventsDropped.Add(1)
	}
}
