//go:build cgo

package peer

import (
	zmq "github.com/pebbe/zmq4"
)

// pebbeSocket is github.com/pebbe/zmq4: libzmq through a cgo binding, one
// cgo call and (on receive) one Go allocation per message.
type pebbeSocket struct{ s *zmq.Socket }

func init() {
	register("pebbe", generic{newSocket: newPebbe})
}

func newPebbe(k Kind, hwm int) (socket, error) {
	t := map[Kind]zmq.Type{
		PUSH: zmq.PUSH, PULL: zmq.PULL, PUB: zmq.PUB,
		SUB: zmq.SUB, REQ: zmq.REQ, REP: zmq.REP,
	}[k]
	s, err := zmq.NewSocket(t)
	if err != nil {
		return nil, err
	}
	for _, set := range []func() error{
		func() error { return s.SetSndhwm(hwm) },
		func() error { return s.SetRcvhwm(hwm) },
		func() error { return s.SetLinger(-1) },
	} {
		if err := set(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return &pebbeSocket{s: s}, nil
}

func (p *pebbeSocket) bind(ep string) (string, error) {
	if err := p.s.Bind(libzmqBindEndpoint(ep)); err != nil {
		return "", err
	}
	return p.s.GetLastEndpoint()
}

func (p *pebbeSocket) connect(ep string) error { return p.s.Connect(ep) }
func (p *pebbeSocket) subscribeAll() error     { return p.s.SetSubscribe("") }
func (p *pebbeSocket) prepare(b []byte) any    { return b }
func (p *pebbeSocket) close() error            { return p.s.Close() }

func (p *pebbeSocket) send(m any) error {
	_, err := p.s.SendBytes(m.([]byte), 0)
	return err
}

func (p *pebbeSocket) recv() (int, byte, error) {
	// Every workload sends one-frame messages; checking ZMQ_RCVMORE would
	// cost this binding a second cgo call per message.
	b, err := p.s.RecvBytes(0)
	if err != nil {
		return 0, 0, err
	}
	if len(b) == 0 {
		return 0, 0, nil
	}
	return len(b), b[0], nil
}

func (p *pebbeSocket) echo() (int, error) {
	b, err := p.s.RecvBytes(0)
	if err != nil {
		return 0, err
	}
	_, err = p.s.SendBytes(b, 0)
	return len(b), err
}
