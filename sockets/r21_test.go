package sockets

// R21 heartbeats under testing/synctest: the socket's side of each
// connection is an in-memory pipe (internal/testkit) handed to the
// listener's accept path, so every timer runs on the bubble's fake clock
// and the figures are exact, however loaded the machine.

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// relPipeAccept hands one end of an in-memory connection to s as if its
// listener had accepted it, and returns the other end.
func relPipeAccept(t *testing.T, s *Socket) net.Conn {
	t.Helper()
	ours, theirs := testkit.Pipe(0)
	l := &listener{s: s, endpoint: "pipe://" + t.Name(), given: "pipe://" + t.Name(), done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(s.ctx)
	t.Cleanup(func() { l.cancel(); theirs.Close() })
	s.goSafe("accepted", func() { l.handle(ours) })
	return theirs
}

func TestR21HeartbeatSynctest(t *testing.T) {
	const ivl, timeout = 100 * time.Millisecond, 250 * time.Millisecond
	t.Run("silent peer dropped within timeout + interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			evs, mon := newRelEvents(t)
			pull := relNew(t, PULL, WithHeartbeat(ivl, timeout, 0), mon)
			nc := relPipeAccept(t, pull)
			zc, err := zmtp.Handshake(context.Background(), nc, zmtp.Config{SocketType: zmtp.Push})
			if err != nil {
				t.Fatal(err)
			}
			defer zc.Close()
			hs, ok := evs.wait(time.Hour, 1, relIs(EventHandshakeSucceeded))
			if !ok {
				t.Fatal("no handshake")
			}
			// zc never reads: our PINGs go unanswered.
			dis, ok := evs.wait(time.Hour, 1, relIs(EventDisconnected))
			if !ok {
				t.Fatal("the silent peer was never dropped")
			}
			d := dis.Time.Sub(hs.Time)
			t.Logf("dropped %v after the handshake (fake clock): %v", d, dis.Err)
			if !errors.Is(dis.Err, zmtp.ErrHeartbeatTimeout) {
				t.Errorf("disconnect error %v does not wrap zmtp.ErrHeartbeatTimeout", dis.Err)
			}
			if d < timeout || d > timeout+ivl {
				t.Errorf("dropped after %v; want within [timeout, timeout + interval] = [%v, %v]", d, timeout, timeout+ivl)
			}
		})
	})
	t.Run("peer TTL honoured", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const ttl = 300 * time.Millisecond
			evs, mon := newRelEvents(t)
			pull := relNew(t, PULL, mon) // no heartbeats of its own
			nc := relPipeAccept(t, pull)
			rp := &relRaw{nc}
			if err := rp.handshake("PUSH"); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			rp.Write(relPing(uint16(ttl/(100*time.Millisecond)), []byte("ttl")))
			if ctx, err := rp.readPong(time.Second); err != nil || string(ctx) != "ttl" {
				t.Fatalf("PONG: %q %v", ctx, err)
			}
			dis, ok := evs.wait(time.Hour, 1, relIs(EventDisconnected))
			if !ok {
				t.Fatal("the peer's TTL was ignored")
			}
			d := dis.Time.Sub(sent)
			t.Logf("dropped %v after a PING with TTL %v (fake clock): %v", d, ttl, dis.Err)
			if !errors.Is(dis.Err, zmtp.ErrHeartbeatTimeout) {
				t.Errorf("disconnect error %v does not wrap zmtp.ErrHeartbeatTimeout", dis.Err)
			}
			if d < ttl || d > ttl+ivl {
				t.Errorf("dropped %v after the PING; want the TTL %v, within one interval", d, ttl)
			}
		})
	})
	t.Run("any traffic is a sign of life", func(t *testing.T) {
		// G9: a peer that never answers a PING but keeps sending
		// messages stays connected over many timeouts.
		synctest.Test(t, func(t *testing.T) {
			evs, mon := newRelEvents(t)
			pull := relNew(t, PULL, WithHeartbeat(ivl, timeout, 0), mon)
			nc := relPipeAccept(t, pull)
			rp := &relRaw{nc}
			if err := rp.handshake("PUSH"); err != nil {
				t.Fatal(err)
			}
			for i := range 40 { // 40 × timeout/2 = 20 timeouts
				if _, err := rp.Write(relFrame(false, []byte("alive"))); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				if _, err := relRecvT(pull, time.Second); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				time.Sleep(timeout / 2)
			}
			synctest.Wait()
			if n := evs.count(EventDisconnected); n != 0 {
				t.Errorf("%d disconnects of a peer that sends every %v (timeout %v):\n%s", n, timeout/2, timeout, evs)
			}
			// And once it falls silent, it is dropped.
			if _, ok := evs.wait(time.Hour, 1, relIs(EventDisconnected)); !ok {
				t.Fatal("never dropped once silent")
			}
		})
	})
	t.Run("healthy peer: 0 disconnects over 20 intervals", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			for _, typ := range []Type{PULL, ROUTER, REP, PUB, PAIR} {
				peerType := map[Type]zmtp.SocketType{PULL: zmtp.Push, ROUTER: zmtp.Dealer, REP: zmtp.Req, PUB: zmtp.Sub, PAIR: zmtp.Pair}[typ]
				evs, mon := newRelEvents(t)
				s := relNew(t, typ, WithHeartbeat(ivl, timeout, 0), mon)
				nc := relPipeAccept(t, s)
				zc, err := zmtp.Handshake(context.Background(), nc, zmtp.Config{
					SocketType: peerType, HeartbeatInterval: ivl, HeartbeatTimeout: timeout,
				})
				if err != nil {
					t.Fatal(err)
				}
				// The peer reads (ReadMsg answers PINGs) until it closes.
				go func() {
					for {
						if _, err := zc.ReadMsg(nil); err != nil {
							return
						}
					}
				}()
				t.Cleanup(func() { zc.Close() })
				time.Sleep(20 * ivl)
				synctest.Wait()
				if n := evs.count(EventDisconnected); n != 0 {
					t.Errorf("%s: %d disconnects over 20 intervals of healthy silence:\n%s", typ, n, evs)
				}
			}
		})
	})
}
