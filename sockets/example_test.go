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

	rep, err := sockets.New(sockets.REP)
	if err != nil {
		panic(err)
	}
	defer rep.Close()
	if err := rep.Bind("inproc://example-reqrep"); err != nil {
		panic(err)
	}
	req, err := sockets.New(sockets.REQ)
	if err != nil {
		panic(err)
	}
	defer req.Close()
	if err := req.Connect("inproc://example-reqrep"); err != nil {
		panic(err)
	}

	go func() {
		m, err := rep.Recv(ctx)
		if err == nil {
			err = rep.Send(ctx, sockets.NewMsg(append([]byte("re: "), m.Frames[0]...)))
		}
		if err != nil {
			fmt.Println("REP:", err)
		}
	}()
	if err := req.Send(ctx, sockets.NewMsgString("ping")); err != nil {
		panic(err)
	}
	reply, err := req.Recv(ctx)
	fmt.Println(string(reply.Frames[0]), err)
	// Output: re: ping <nil>
}

// A receiver of large messages releases each one once it is done with it:
// the next messages are read into the same memory instead of new
// allocations.
func ExampleMsg_Release() {
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
	if err := push.Connect(pull.Endpoints()[0]); err != nil {
		panic(err)
	}

	payload := make([]byte, 64<<10)
	go func() {
		for range 3 {
			if err := push.Send(ctx, sockets.NewMsg(payload)); err != nil {
				panic(err)
			}
		}
	}()
	total := 0
	for range 3 {
		m, err := pull.Recv(ctx)
		if err != nil {
			panic(err)
		}
		total += len(m.Frames[0]) // use the message...
		m.Release()               // ...then give its memory back
	}
	fmt.Println(total, "octets received")
	// Output: 196608 octets received
}
