package zmtp

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestSmokeLibzmq(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	py := `
import zmq,sys
c=zmq.Context(); s=c.socket(zmq.DEALER); s.setsockopt(zmq.IDENTITY,b"d1"); s.connect(sys.argv[1])
s.send_multipart([b"",b"hello",b"x"*300])
m=s.recv_multipart(); print(m[1].decode(), len(m[2]))
s.close(0); c.term()`
	cmd := exec.Command("/usr/bin/python3", "-c", py, "tcp://"+ln.Addr().String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Handshake(ctx, nc, Config{SocketType: Router})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("peer %s id=%q meta=%v minor=%d", c.PeerSocketType(), c.PeerIdentity(), c.PeerMetadata(), c.PeerGreeting().Minor)
	m, err := c.ReadMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || string(m[1]) != "hello" || len(m[2]) != 300 {
		t.Fatalf("got %q", m)
	}
	if err := c.Send([][]byte{{}, []byte("world"), make([]byte, 70000)}); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !strings.Contains(out.String(), "world 70000") {
		t.Fatalf("python said %q", out.String())
	}
}
