package zmtp_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Two engines handshake over loopback TCP and exchange a multipart
// message.
func ExampleHandshake() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		router, err := zmtp.Handshake(ctx, nc, zmtp.Config{SocketType: zmtp.Router})
		if err != nil {
			served <- err
			return
		}
		defer router.Close()
		msg, err := router.ReadMsg(nil)
		if err != nil {
			served <- err
			return
		}
		fmt.Printf("router got %q from a %s called %q\n", msg, router.PeerSocketType(), router.PeerIdentity())
		served <- router.Send([][]byte{[]byte("world")})
	}()

	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	dealer, err := zmtp.Handshake(ctx, nc, zmtp.Config{SocketType: zmtp.Dealer, Identity: []byte("d1")})
	if err != nil {
		panic(err)
	}
	defer dealer.Close()
	if err := dealer.Send([][]byte{[]byte("hello"), {}}); err != nil {
		panic(err)
	}
	reply, err := dealer.ReadMsg(nil)
	if err != nil {
		panic(err)
	}
	if err := <-served; err != nil {
		panic(err)
	}
	fmt.Printf("dealer got %q\n", reply)
	// Output:
	// router got ["hello" ""] from a DEALER called "d1"
	// dealer got ["world"]
}

// Z85 turns binary keys into printable text (RFC 32).
func ExampleZ85Encode() {
	text, _ := zmtp.Z85Encode([]byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B})
	fmt.Println(text)
	raw, _ := zmtp.Z85Decode(text)
	fmt.Printf("% X\n", raw)
	// Output:
	// HelloWorld
	// 86 4F D2 6F B5 59 F7 5B
}
