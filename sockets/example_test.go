package sockets_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// A PUSH socket load-balances messages to a PULL socket over TCP.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	pull, err := sockets.New(sockets.PULL)
	if err != nil {
		panic(err)
	}
	defer pull.Close()
	if err := pull.Bind("tcp://127.0.0.1:0"); err != nil {
		panic(err)
	}

	push, err := sockets.New(sockets.PUSH)
	if err != nil {
		panic(err)
	}
	defer push.Close()
	if err := push.Connect(pull.Endpoints()[0]); err != nil { // returns at once
		panic(err)
	}
	if err := push.Send(ctx, sockets.NewMsgString("hello", "world")); err != nil {
		panic(err)
	}
	msg, err := pull.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q from a %s\n", msg.Frames, msg.Peer.SocketType)
	// Output: ["hello" "world"] from a PUSH
}

// REQ and REP over inproc: the reply goes back to the requester.
func Example_reqRep() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	rep, _ := sockets.New(sockets.REP)
	defer rep.Close()
	_ = rep.Bind("inproc://example-reqrep")
	req, _ := sockets.New(sockets.REQ)
	defer req.Close()
	_ = req.Connect("inproc://example-reqrep")

	go func() {
		m, err := rep.Recv(ctx)
		if err == nil {
			_ = rep.Send(ctx, sockets.NewMsg(append([]byte("re: "), m.Frames[0]...)))
		}
	}()
	_ = req.Send(ctx, sockets.NewMsgString("ping"))
	reply, err := req.Recv(ctx)
	fmt.Println(string(reply.Frames[0]), err)
	// Output: re: ping <nil>
}
