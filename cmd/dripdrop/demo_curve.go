package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// demoCurve runs a CURVE server that lets in one client key: the known
// client's messages arrive with its key as User-Id; an unknown client is
// refused during the handshake, and the server's monitor says why.
func demoCurve(ctx context.Context, out io.Writer) error {
	serverKeys, err := curve.NewKeyPair()
	if err != nil {
		return err
	}
	known, err := curve.NewKeyPair()
	if err != nil {
		return err
	}
	stranger, err := curve.NewKeyPair()
	if err != nil {
		return err
	}
	auth := sockets.NewAuth()
	auth.AllowCurve(known.Public)
	events := make(chan sockets.Event, 32)
	server, err := demoSocket(sockets.PULL, sockets.WithCurveServer(serverKeys.Secret),
		sockets.WithZAP(auth), sockets.WithMonitor(events))
	if err != nil {
		return err
	}
	defer server.Close()
	if err := server.Bind("tcp://127.0.0.1:0"); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		keys curve.KeyPair
	}{{"stranger", stranger}, {"known", known}} {
		client, err := demoSocket(sockets.PUSH, sockets.WithCurveClient(c.keys, serverKeys.Public))
		if err != nil {
			return err
		}
		defer client.Close()
		if err := client.Connect(server.Endpoints()[0]); err != nil {
			return err
		}
		if c.name == "stranger" {
			if err := waitHandshakeFailed(ctx, out, events); err != nil {
				return err
			}
			continue
		}
		if err := client.Send(ctx, sockets.NewMsgString("encrypted hello")); err != nil {
			return err
		}
	}
	m, err := server.Recv(ctx)
	if err != nil {
		return err
	}
	who := "an unexpected client"
	if m.Peer != nil && m.Peer.UserID == known.Public.String() {
		who = "the known client (User-Id = its public key)"
	}
	fmt.Fprintf(out, "   server received %q from %s\n", m.Frames[0], who)
	return nil
}

// waitHandshakeFailed prints the first handshake failure a monitor reports.
func waitHandshakeFailed(ctx context.Context, out io.Writer, events <-chan sockets.Event) error {
	for {
		select {
		case ev := <-events:
			if ev.Type == sockets.EventHandshakeFailed {
				fmt.Fprintf(out, "   stranger refused in the handshake: %v\n", ev.Err)
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("the stranger was never refused: %w", ctx.Err())
		}
	}
}
