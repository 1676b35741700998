package zmtp

import (
	"fmt"
	"time"
)

// heartbeat sends a PING every HeartbeatInterval and closes the connection
// when nothing has arrived within HeartbeatTimeout of a PING (RFC 37
// "Connection Heartbeating", libzmq's ZMQ_HEARTBEAT_IVL/TIMEOUT/TTL). Any
// read that brings bytes counts as a sign of life (libzmq counts any
// traffic).
func (c *Conn) heartbeat() {
	defer close(c.hbDone)
	ivl, timeout := c.cfg.HeartbeatInterval, c.cfg.heartbeatTimeout()
	now := time.Now()
	nextPing := now.Add(ivl)
	var checkAt time.Time
	var seen uint64
	timer := time.NewTimer(ivl)
	defer timer.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-timer.C:
		}
		now = time.Now()
		if !checkAt.IsZero() && !now.Before(checkAt) {
			if c.rd.reads.Load() == seen {
				c.closeWith(fmt.Errorf("%w: nothing received within %v of a PING", ErrHeartbeatTimeout, timeout))
				return
			}
			checkAt = time.Time{}
		}
		if !now.Before(nextPing) {
			if checkAt.IsZero() {
				seen = c.rd.reads.Load()
				checkAt = now.Add(timeout)
			}
			c.queueControl(AppendPing(nil, c.cfg.HeartbeatTTL, nil))
			nextPing = now.Add(ivl)
		}
		wake := nextPing
		if !checkAt.IsZero() && checkAt.Before(wake) {
			wake = checkAt
		}
		timer.Reset(wake.Sub(now))
	}
}
