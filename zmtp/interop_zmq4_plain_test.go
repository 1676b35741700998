package zmtp_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/plain"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// zmq4PlainSocket is zmq4Socket with PLAIN credentials.
func zmq4PlainSocket(t *testing.T, mk func(context.Context, ...zmq4.Option) zmq4.Socket, user, pass string) zmq4.Socket {
	ctx, cancel := context.WithTimeout(context.Background(), 4*ioTimeout)
	s := mk(ctx, zmq4.WithTimeout(ioTimeout), zmq4.WithSecurity(plain.Security(user, pass)))
	t.Cleanup(func() {
		_ = s.Close()
		cancel()
	})
	return s
}

// TestZmq4Plain: PLAIN against go-zeromq/zmq4 in both roles. Our server
// hands zmq4's credentials to the Authenticator and refuses a wrong
// password with ERROR; our client completes the handshake with a zmq4
// PLAIN server and messages with 0/255/256/1 MiB frames come through
// byte-identical. (zmq4's PLAIN server checks no password at all, so a
// wrong password cannot be refused in that direction: a gap of zmq4's.)
func TestZmq4Plain(t *testing.T) {
	t.Parallel()
	t.Run("our-server/right-password", func(t *testing.T) {
		t.Parallel()
		auth := &authRecorder{}
		push := zmq4PlainSocket(t, zmq4.NewPush, plainUser, plainPass)
		c, _ := acceptZmq4(t, push, zmtp.Config{SocketType: zmtp.Pull, Mechanism: zmtp.PlainServer{}, Authenticator: auth}, false)
		if c.UserID() != plainUID {
			t.Errorf("UserID = %q, want %q", c.UserID(), plainUID)
		}
		reqs := auth.requests()
		if len(reqs) != 1 || reqs[0].Username != plainUser || reqs[0].Password != plainPass || reqs[0].Mechanism != "PLAIN" {
			t.Fatalf("Authenticator saw %+v, want one PLAIN request for %s", reqs, plainUser)
		}
		rd := startReader(t, c)
		zmq4Send(t, push, msgB)
		checkMsg(t, "we received", rd.next(t), msgB)
	})
	t.Run("our-server/wrong-password", func(t *testing.T) {
		t.Parallel()
		auth := &authRecorder{}
		push := zmq4PlainSocket(t, zmq4.NewPush, plainUser, "wrong")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		dialed := make(chan error, 1)
		go func() { dialed <- push.Dial("tcp://" + ln.Addr().String()) }()
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout))
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		c, err := zmtp.Handshake(ctx, nc, zmtp.Config{SocketType: zmtp.Pull, Mechanism: zmtp.PlainServer{}, Authenticator: auth})
		if err == nil {
			c.Close()
			t.Fatal("handshake with a wrong password succeeded")
		}
		if !errors.Is(err, zmtp.ErrAuth) {
			t.Fatalf("handshake error %v, want ErrAuth", err)
		}
		if reqs := auth.requests(); len(reqs) != 1 || reqs[0].Password != "wrong" {
			t.Errorf("Authenticator saw %+v, want one request with password \"wrong\"", reqs)
		}
		select {
		case err := <-dialed:
			if err == nil {
				t.Error("zmq4 Dial succeeded against a server that refused it")
			}
		case <-time.After(ioTimeout):
			t.Fatal("zmq4 Dial did not return after the refusal")
		}
	})
	t.Run("our-client", func(t *testing.T) {
		t.Parallel()
		pull := zmq4PlainSocket(t, zmq4.NewPull, plainUser, plainPass)
		c, _ := dialZmq4(t, pull, zmtp.Config{SocketType: zmtp.Push, Mechanism: zmtp.PlainClient{Username: plainUser, Password: plainPass}}, false)
		if g := c.PeerGreeting(); g.Mechanism != "PLAIN" {
			t.Errorf("peer mechanism %q", g.Mechanism)
		}
		sendOurs(t, c, msgA)
		checkMsg(t, "zmq4 PULL received", zmq4Recv(t, pull), msgA)
	})
}
