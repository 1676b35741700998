package peer

import (
	"context"

	"github.com/go-zeromq/zmq4"
)

// gozmqSocket is github.com/go-zeromq/zmq4, the other pure-Go ZeroMQ.
type gozmqSocket struct {
	s      zmq4.Socket
	cancel context.CancelFunc
}

func init() {
	register("gozmq", generic{newSocket: newGozmq})
}

func newGozmq(k Kind, hwm int) (socket, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var s zmq4.Socket
	switch k {
	case PUSH:
		s = zmq4.NewPush(ctx)
	case PULL:
		s = zmq4.NewPull(ctx)
	case PUB:
		s = zmq4.NewPub(ctx)
	case SUB:
		s = zmq4.NewSub(ctx)
	case REQ:
		s = zmq4.NewReq(ctx)
	case REP:
		s = zmq4.NewRep(ctx)
	}
	if k == PUB {
		// Its only high-water mark: a queue in front of all subscribers.
		if err := s.SetOption(zmq4.OptionHWM, hwm); err != nil {
			cancel()
			return nil, err
		}
	}
	return &gozmqSocket{s: s, cancel: cancel}, nil
}

func (g *gozmqSocket) bind(ep string) (string, error) {
	if err := g.s.Listen(ep); err != nil {
		return "", err
	}
	if a := g.s.Addr(); a != nil && a.Network() == "tcp" {
		return "tcp://" + a.String(), nil
	}
	return ep, nil
}

func (g *gozmqSocket) connect(ep string) error { return g.s.Dial(ep) }
func (g *gozmqSocket) subscribeAll() error     { return g.s.SetOption(zmq4.OptionSubscribe, "") }
func (g *gozmqSocket) prepare(b []byte) any    { return zmq4.NewMsg(b) }
func (g *gozmqSocket) send(m any) error        { return g.s.Send(m.(zmq4.Msg)) }

func (g *gozmqSocket) close() error {
	err := g.s.Close()
	g.cancel()
	return err
}

func (g *gozmqSocket) recv() (int, byte, error) {
	m, err := g.s.Recv()
	if err != nil {
		return 0, 0, err
	}
	if len(m.Frames) != 1 {
		return -1, 0, nil
	}
	f := m.Frames[0]
	if len(f) == 0 {
		return 0, 0, nil
	}
	return len(f), f[0], nil
}

func (g *gozmqSocket) echo() (int, error) {
	m, err := g.s.Recv()
	if err != nil {
		return 0, err
	}
	n := -1
	if len(m.Frames) == 1 {
		n = len(m.Frames[0])
	}
	return n, g.s.Send(m)
}
