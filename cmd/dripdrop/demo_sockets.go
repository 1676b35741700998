package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// demoSockets tours the socket patterns, one transport each: PUSH/PULL
// load balancing over tcp, PUB/SUB prefix filtering through an XPUB over
// ipc, REQ/REP over inproc, ROUTER/DEALER identities over tcp, and a CURVE
// server that knows its clients' keys.
func demoSockets(ctx context.Context, out io.Writer) error {
	for _, step := range []struct {
		title string
		run   func(context.Context, io.Writer) error
	}{
		{"PUSH -> 2 PULL workers, tcp: load balanced", demoPipeline},
		{"XPUB -> SUB, ipc: the subscription reaches the publisher, filtering happens there", demoPubSub},
		{"REQ <-> REP, inproc: strict request, reply", demoReqRep},
		{"DEALER <-> ROUTER, tcp: replies routed by identity", demoRouter},
		{"CURVE PUSH -> PULL, tcp: encrypted, clients allowed by key", demoCurve},
	} {
		fmt.Fprintf(out, "== %s\n", step.title)
		if err := step.run(ctx, out); err != nil {
			return fmt.Errorf("%s: %w", step.title, err)
		}
	}
	return nil
}

// demoSocket makes a socket that the caller closes.
func demoSocket(t sockets.Type, opts ...sockets.Option) (*sockets.Socket, error) {
	return sockets.New(t, append([]sockets.Option{sockets.WithLinger(0)}, opts...)...)
}

// waitReady waits for n handshakes on a socket's monitor.
func waitReady(ctx context.Context, events <-chan sockets.Event, n int) error {
	for n > 0 {
		select {
		case ev := <-events:
			if ev.Type == sockets.EventHandshakeSucceeded {
				n--
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d more peers: %w", n, ctx.Err())
		}
	}
	return nil
}

func demoPipeline(ctx context.Context, out io.Writer) error {
	events := make(chan sockets.Event, 16)
	push, err := demoSocket(sockets.PUSH, sockets.WithMonitor(events))
	if err != nil {
		return err
	}
	defer push.Close()
	if err := push.Bind("tcp://127.0.0.1:0"); err != nil {
		return err
	}
	var workers []*sockets.Socket
	for range 2 {
		w, err := demoSocket(sockets.PULL)
		if err != nil {
			return err
		}
		defer w.Close()
		if err := w.Connect(push.Endpoints()[0]); err != nil {
			return err
		}
		workers = append(workers, w)
	}
	if err := waitReady(ctx, events, 2); err != nil {
		return err
	}
	const tasks = 6
	for i := range tasks {
		if err := push.Send(ctx, sockets.NewMsgString(fmt.Sprintf("task-%d", i))); err != nil {
			return err
		}
	}
	for i, w := range workers {
		var got []string
		for range tasks / len(workers) {
			m, err := w.Recv(ctx)
			if err != nil {
				return err
			}
			got = append(got, string(m.Frames[0]))
		}
		fmt.Fprintf(out, "   worker %d got %d tasks\n", i+1, len(got))
	}
	fmt.Fprintf(out, "   bound at %s, %d tasks, round robin\n", push.Endpoints()[0], tasks)
	return nil
}

func demoPubSub(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "dripdrop-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	endpoint := "ipc://" + filepath.Join(dir, "weather.sock")
	pub, err := demoSocket(sockets.XPUB)
	if err != nil {
		return err
	}
	defer pub.Close()
	if err := pub.Bind(endpoint); err != nil {
		return err
	}
	sub, err := demoSocket(sockets.SUB)
	if err != nil {
		return err
	}
	defer sub.Close()
	if err := sub.Subscribe([]byte("weather.")); err != nil {
		return err
	}
	if err := sub.Connect(endpoint); err != nil {
		return err
	}
	// An XPUB receives subscriptions as messages: 0x01 and the prefix.
	m, err := pub.Recv(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   publisher learnt: subscribe %q\n", m.Frames[0][1:])
	for _, update := range []string{"weather.paris 12C", "sports.final 2-1", "weather.oslo -3C"} {
		if err := pub.Send(ctx, sockets.NewMsgString(update)); err != nil {
			return err
		}
	}
	for range 2 {
		m, err := sub.Recv(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "   subscriber received %q\n", m.Frames[0])
	}
	return nil
}

func demoReqRep(ctx context.Context, out io.Writer) error {
	rep, err := demoSocket(sockets.REP)
	if err != nil {
		return err
	}
	defer rep.Close()
	req, err := demoSocket(sockets.REQ)
	if err != nil {
		return err
	}
	defer req.Close()
	// inproc allows connecting before the bind.
	if err := req.Connect("inproc://demo-echo"); err != nil {
		return err
	}
	if err := rep.Bind("inproc://demo-echo"); err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() {
		for range 3 {
			m, err := rep.Recv(ctx)
			if err == nil {
				err = rep.Send(ctx, sockets.NewMsgString(strings.ToUpper(string(m.Frames[0]))))
			}
			if err != nil {
				served <- err
				return
			}
		}
		served <- nil
	}()
	for _, q := range []string{"one", "two", "three"} {
		if err := req.Send(ctx, sockets.NewMsgString(q)); err != nil {
			return err
		}
		m, err := req.Recv(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "   %q -> %q\n", q, m.Frames[0])
	}
	return <-served
}

func demoRouter(ctx context.Context, out io.Writer) error {
	router, err := demoSocket(sockets.ROUTER)
	if err != nil {
		return err
	}
	defer router.Close()
	if err := router.Bind("tcp://127.0.0.1:0"); err != nil {
		return err
	}
	names := []string{"alice", "bob"}
	dealers := make(map[string]*sockets.Socket)
	for _, name := range names {
		d, err := demoSocket(sockets.DEALER, sockets.WithIdentity([]byte(name)))
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.Connect(router.Endpoints()[0]); err != nil {
			return err
		}
		if err := d.Send(ctx, sockets.NewMsgString("hello from "+name)); err != nil {
			return err
		}
		dealers[name] = d
	}
	var seen []string
	for range names {
		m, err := router.Recv(ctx)
		if err != nil {
			return err
		}
		id := string(m.Frames[0])
		seen = append(seen, id)
		if err := router.Send(ctx, sockets.NewMsgString(id, "welcome, "+id)); err != nil {
			return err
		}
	}
	slices.Sort(seen)
	fmt.Fprintf(out, "   router saw identities %q\n", seen)
	for _, name := range names {
		m, err := dealers[name].Recv(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "   %s received %q\n", name, m.Frames[0])
	}
	return nil
}
