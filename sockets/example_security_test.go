package sockets_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// A CURVE server that lets in only the clients whose public keys it
// knows; the client's key comes with each of its messages as User-Id.
func ExampleWithCurveServer() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	server, _ := curve.NewKeyPair() // or curve.LoadCertificate, or dripdrop keygen
	client, _ := curve.NewKeyPair()

	auth := sockets.NewAuth()
	auth.AllowCurve(client.Public) // or auth.LoadCurveCertificates(dir)
	pull, err := sockets.New(sockets.PULL, sockets.WithCurveServer(server.Secret), sockets.WithZAP(auth))
	if err != nil {
		panic(err)
	}
	defer pull.Close()
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}

	push, err := sockets.New(sockets.PUSH, sockets.WithCurveClient(client, server.Public))
	if err != nil {
		panic(err)
	}
	defer push.Close()
	if err := push.Connect(pull.Endpoints()[0]); err != nil {
		panic(err)
	}
	if err := push.Send(ctx, sockets.NewMsgString("sealed")); err != nil {
		panic(err)
	}
	msg, err := pull.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q from the client with key %v\n", msg.Frames, msg.Peer.UserID == client.Public.String())
	// Output: ["sealed"] from the client with key true
}

// A PLAIN server whose passwords are checked by a ZAP handler, served the
// libzmq way on sockets.ZAPEndpoint for every socket of the process that
// has no authenticator of its own.
func ExampleServeZAP() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	auth := sockets.NewAuth()
	auth.SetPassword("admin", "secret")
	h, err := sockets.ServeZAP(sockets.ZAPEndpoint, auth)
	if err != nil {
		panic(err)
	}
	defer h.Close()

	pull, err := sockets.New(sockets.PULL, sockets.WithPlainServer(nil)) // nil: ask the handler
	if err != nil {
		panic(err)
	}
	defer pull.Close()
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}
	push, err := sockets.New(sockets.PUSH, sockets.WithPlainClient("admin", "secret"))
	if err != nil {
		panic(err)
	}
	defer push.Close()
	if err := push.Connect(pull.Endpoints()[0]); err != nil {
		panic(err)
	}
	if err := push.Send(ctx, sockets.NewMsgString("hello")); err != nil {
		panic(err)
	}
	msg, err := pull.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q from %s\n", msg.Frames, msg.Peer.UserID)
	// Output: ["hello"] from admin
}
