package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// runDemo shows what dripdrop does today: first the socket patterns over
// tcp, ipc and inproc (demoSockets), then the engine underneath: a DEALER
// and a ROUTER engine handshake over loopback TCP (NULL, then PLAIN with a
// password check) and exchange multipart messages.
func runDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	users := zmtp.AuthenticatorFunc(func(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
		if r.Username == "admin" && r.Password == "secret" {
			return zmtp.AuthResult{Status: zmtp.StatusOK, UserID: r.Username}, nil
		}
		return zmtp.AuthResult{Status: zmtp.StatusDenied, StatusText: "bad password"}, nil
	})
	cases := []struct {
		title          string
		client, server zmtp.Config
	}{
		{"NULL", zmtp.Config{SocketType: zmtp.Dealer, Identity: []byte("dealer-1")},
			zmtp.Config{SocketType: zmtp.Router}},
		{"PLAIN", zmtp.Config{SocketType: zmtp.Dealer, Identity: []byte("dealer-2"),
			Mechanism: zmtp.PlainClient{Username: "admin", Password: "secret"}},
			zmtp.Config{SocketType: zmtp.Router, Mechanism: zmtp.PlainServer{}, Authenticator: users}},
		{"PLAIN, wrong password", zmtp.Config{SocketType: zmtp.Dealer,
			Mechanism: zmtp.PlainClient{Username: "admin", Password: "guess"}},
			zmtp.Config{SocketType: zmtp.Router, Mechanism: zmtp.PlainServer{}, Authenticator: users}},
	}
	if err := demoSockets(ctx, out); err != nil {
		return err
	}
	for _, tc := range cases {
		fmt.Fprintf(out, "== engine handshake, %s\n", tc.title)
		if err := demoExchange(ctx, out, tc.client, tc.server); err != nil {
			fmt.Fprintf(out, "   refused: %v\n", err)
		}
	}
	return nil
}

func demoExchange(ctx context.Context, out io.Writer, clientCfg, serverCfg zmtp.Config) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	type accepted struct {
		c   *zmtp.Conn
		err error
	}
	done := make(chan accepted, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- accepted{nil, err}
			return
		}
		c, err := zmtp.Handshake(ctx, nc, serverCfg)
		done <- accepted{c, err}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	client, clientErr := zmtp.Handshake(ctx, nc, clientCfg)
	srv := <-done
	if clientErr != nil || srv.err != nil {
		if client != nil {
			client.Close()
		}
		if srv.c != nil {
			srv.c.Close()
		}
		return fmt.Errorf("client: %v; server: %v", clientErr, srv.err)
	}
	defer client.Close()
	server := srv.c
	defer server.Close()
	fmt.Fprintf(out, "   %s -> %s: handshake done, mechanism %s, peer ZMTP 3.%d\n",
		client.LocalAddr(), client.RemoteAddr(), client.PeerGreeting().Mechanism, client.PeerGreeting().Minor)
	fmt.Fprintf(out, "   server sees a %s with Identity %q, User-Id %q\n",
		server.PeerSocketType(), server.PeerIdentity(), server.UserID())

	request := [][]byte{[]byte("ping"), {}, make([]byte, 300)}
	if err := client.Send(request); err != nil {
		return err
	}
	got, err := server.ReadMsg(nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   server received %d frames: %s\n", len(got), describe(got))
	if err := server.Send([][]byte{[]byte("pong"), []byte("from the router")}); err != nil {
		return err
	}
	if got, err = client.ReadMsg(nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "   client received %d frames: %s\n", len(got), describe(got))
	return nil
}

func describe(frames [][]byte) string {
	s := ""
	for i, f := range frames {
		if i > 0 {
			s += " | "
		}
		if len(f) > 16 {
			s += fmt.Sprintf("<%d octets>", len(f))
		} else {
			s += fmt.Sprintf("%q", f)
		}
	}
	return s
}
