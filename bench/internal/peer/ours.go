package peer

import (
	"context"
	"strings"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// ours is dripdrop's sockets package.
type oursSocket struct {
	s   *sockets.Socket
	ctx context.Context
}

func init() {
	register("ours", generic{newSocket: newOurs})
}

// oursLinger bounds how long a closing sender keeps delivering.
const oursLinger = time.Minute

func newOurs(k Kind, hwm int) (socket, error) {
	t := map[Kind]sockets.Type{
		PUSH: sockets.PUSH, PULL: sockets.PULL, PUB: sockets.PUB,
		SUB: sockets.SUB, REQ: sockets.REQ, REP: sockets.REP,
	}[k]
	s, err := sockets.New(t,
		sockets.WithSendHWM(hwm),
		sockets.WithRecvHWM(hwm),
		sockets.WithLinger(oursLinger))
	if err != nil {
		return nil, err
	}
	return &oursSocket{s: s, ctx: context.Background()}, nil
}

func (o *oursSocket) bind(ep string) (string, error) {
	if err := o.s.Bind(ep); err != nil {
		return "", err
	}
	return strings.Join(o.s.Endpoints(), " "), nil
}

func (o *oursSocket) connect(ep string) error { return o.s.Connect(ep) }
func (o *oursSocket) subscribeAll() error     { return o.s.Subscribe(nil) }
func (o *oursSocket) prepare(b []byte) any    { return sockets.NewMsg(b) }
func (o *oursSocket) send(m any) error        { return o.s.Send(o.ctx, m.(sockets.Msg)) }
func (o *oursSocket) close() error            { return o.s.Close() }

func (o *oursSocket) recv() (int, byte, error) {
	m, err := o.s.Recv(o.ctx)
	if err != nil {
		return 0, 0, err
	}
	if len(m.Frames) != 1 {
		return -1, 0, nil
	}
	f := m.Frames[0]
	n, first := len(f), byte(0)
	if n > 0 {
		first = f[0]
	}
	m.Release() // its memory takes the next messages, as libzmq's receiver reuses its zmq_msg_t
	return n, first, nil
}

func (o *oursSocket) echo() (int, error) {
	m, err := o.s.Recv(o.ctx)
	if err != nil {
		return 0, err
	}
	n := -1
	if len(m.Frames) == 1 {
		n = len(m.Frames[0])
	}
	return n, o.s.Send(o.ctx, sockets.Msg{Frames: m.Frames})
}
