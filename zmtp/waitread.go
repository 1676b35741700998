package zmtp

import (
	"sync"
	"sync/atomic"
	"time"
)

// waitState keeps WaitRead's deadline and Interrupt's apart: Interrupt
// moves the deadline only while a WaitRead waits, so that it never
// reaches a later read, for which a passed deadline would be a failure.
type waitState struct {
	mu sync.Mutex
	on bool // a WaitRead waits
}

// WaitRead waits until the network has octets for the connection and
// reads them into its buffer: ReadNow that waits. It is for a goroutine
// the reading goroutine lends the connection to, which takes only whole
// messages (MsgReady) and must be able to give the connection back at any
// time. It reports whether octets came, and gives up, reporting false, at
// deadline (the zero time: none), when *stop is non-zero as it begins,
// when Interrupt is called while it waits, and where ReadNow is always
// false. Giving up is not an error; a read error is kept for the next
// ReadMsg, which returns it. It is false, without waiting, on an
// encrypted connection (Encrypted), where MsgReady never holds, and while a peer's
// PING TTL governs the read deadline: the reading goroutine waits then.
// Like ReadMsg, it must not run concurrently with another read of the
// connection.
func (c *Conn) WaitRead(deadline time.Time, stop *atomic.Uint32) bool {
	if c.failed.Load() || c.ttlArmed || c.cipher != nil || !c.rd.raw.ok() {
		return false
	}
	w := &c.wait
	w.mu.Lock()
	if stop.Load() != 0 || c.nc.SetReadDeadline(deadline) != nil {
		w.mu.Unlock()
		return false
	}
	w.on = true
	w.mu.Unlock()
	got := c.rd.fillWait()
	w.mu.Lock()
	w.on = false
	_ = c.nc.SetReadDeadline(time.Time{})
	w.mu.Unlock()
	return got
}

// Interrupt makes a WaitRead that waits give up at once. It may be called
// from any goroutine at any time; with no WaitRead waiting it does
// nothing (the stop word WaitRead checks as it begins covers one that is
// about to).
func (c *Conn) Interrupt() {
	w := &c.wait
	w.mu.Lock()
	if w.on {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
	w.mu.Unlock()
}

// Encrypted reports whether the connection's messages are sealed (CURVE).
// MsgReady is always false on it, and WaitRead gives up at once.
func (c *Conn) Encrypted() bool { return c.cipher != nil }
