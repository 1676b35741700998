package sockets

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func mustNew(t *testing.T, typ Type, opts ...Option) *Socket {
	t.Helper()
	s, err := New(typ, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func bindAny(t *testing.T, s *Socket, transport string) string {
	t.Helper()
	ep := map[string]string{
		"tcp":    "tcp://127.0.0.1:0",
		"ipc":    "ipc://" + t.TempDir() + "/s.sock",
		"inproc": fmt.Sprintf("inproc://%s-%d", t.Name(), time.Now().UnixNano()),
	}[transport]
	if err := s.Bind(ep); err != nil {
		t.Fatal(err)
	}
	if transport == "tcp" {
		return s.Endpoints()[0]
	}
	return ep
}

func TestSmokePushPull(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			ctx := tctx(t)
			pull := mustNew(t, PULL)
			ep := bindAny(t, pull, tr)
			push := mustNew(t, PUSH)
			if err := push.Connect(ep); err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				if err := push.Send(ctx, NewMsgString("hello", fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 100 {
				m, err := pull.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(m.Frames[1]) != fmt.Sprint(i) {
					t.Fatalf("got %q", m.Frames)
				}
			}
		})
	}
}

func TestSmokeReqRep(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			ctx := tctx(t)
			rep := mustNew(t, REP)
			ep := bindAny(t, rep, tr)
			req := mustNew(t, REQ)
			relConnect(t, req, ep)
			go func() {
				for {
					m, err := rep.Recv(ctx)
					if err != nil {
						return
					}
					// A failed reply shows as the REQ's missing one.
					if err := rep.Send(ctx, NewMsg(append([]byte("re:"), m.Frames[0]...))); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			for i := range 10 {
				if err := req.Send(ctx, NewMsgString(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
				m, err := req.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(m.Frames[0]) != "re:"+fmt.Sprint(i) {
					t.Fatalf("got %q", m.Frames)
				}
			}
		})
	}
}

func TestSmokePubSub(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			ctx := tctx(t)
			pub := mustNew(t, PUB)
			ep := bindAny(t, pub, tr)
			sub := mustNew(t, SUB)
			relSubscribe(t, sub, []byte("a"))
			relConnect(t, sub, ep)
			// Publish until the subscription has arrived.
			got := make(chan Msg, 1)
			go func() {
				m, err := sub.Recv(ctx)
				if err == nil {
					got <- m
				}
			}()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				if err := pub.Send(ctx, NewMsgString("b-no")); err != nil {
					t.Fatal(err)
				}
				if err := pub.Send(ctx, NewMsgString("a-yes")); err != nil {
					t.Fatal(err)
				}
				select {
				case m := <-got:
					if string(m.Frames[0]) != "a-yes" {
						t.Fatalf("got %q", m.Frames)
					}
					return
				case <-tick.C:
				case <-ctx.Done():
					t.Fatal("no message")
				}
			}
		})
	}
}

func TestSmokeRouterDealer(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			ctx := tctx(t)
			router := mustNew(t, ROUTER)
			ep := bindAny(t, router, tr)
			dealer := mustNew(t, DEALER, WithIdentity([]byte("d1")))
			relConnect(t, dealer, ep)
			if err := dealer.Send(ctx, NewMsgString("hi")); err != nil {
				t.Fatal(err)
			}
			m, err := router.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Frames[0]) != "d1" || string(m.Frames[1]) != "hi" {
				t.Fatalf("got %q", m.Frames)
			}
			if err := router.Send(ctx, NewMsgString("d1", "back")); err != nil {
				t.Fatal(err)
			}
			m, err = dealer.Recv(ctx)
			if err != nil || string(m.Frames[0]) != "back" {
				t.Fatalf("got %q %v", m.Frames, err)
			}
		})
	}
}
