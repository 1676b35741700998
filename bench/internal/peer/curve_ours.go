package peer

import (
	"context"
	"fmt"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
)

// oursCurve runs the CURVE roles on dripdrop's sockets.
type oursCurve struct{}

func init() { registerCurve("ours", oursCurve{}) }

func openOursCurve(t sockets.Type, server bool, linger time.Duration) (*oursSocket, error) {
	opts := []sockets.Option{
		sockets.WithSendHWM(DefaultHWM), sockets.WithRecvHWM(DefaultHWM), sockets.WithLinger(linger),
	}
	if server {
		opts = append(opts, sockets.WithCurveServer(CurveServerKeys.Secret))
	} else {
		opts = append(opts, sockets.WithCurveClient(CurveClientKeys, CurveServerKeys.Public))
	}
	s, err := sockets.New(t, opts...)
	if err != nil {
		return nil, err
	}
	return &oursSocket{s: s, ctx: context.Background()}, nil
}

func (oursCurve) CurveLocalThr(ep string, size, count int, bound func(string)) (Result, error) {
	s, err := openOursCurve(sockets.PULL, true, oursLinger)
	if err != nil {
		return Result{}, err
	}
	defer s.close()
	addr, err := s.bind(ep)
	if err != nil {
		return Result{}, err
	}
	bound(addr)
	return receive(s, size, count)
}

func (oursCurve) CurveRemoteThr(ep string, size, count int, stop <-chan struct{}) (Result, error) {
	s, err := openOursCurve(sockets.PUSH, false, oursLinger)
	if err != nil {
		return Result{}, err
	}
	if err := s.connect(ep); err != nil {
		s.close()
		return Result{}, err
	}
	r, err := sendN(s, size, count)
	if err == nil {
		<-stop
	}
	if cerr := s.close(); err == nil {
		err = cerr
	}
	return r, err
}

func (oursCurve) CurveHandshakeServer(ep string, size, count int, bound func(string), stop <-chan struct{}) (Result, error) {
	s, err := openOursCurve(sockets.REP, true, oursLinger)
	if err != nil {
		return Result{}, err
	}
	defer s.close()
	addr, err := s.bind(ep)
	if err != nil {
		return Result{}, err
	}
	bound(addr)
	start := time.Now()
	for i := range count {
		n, err := s.echo()
		if err != nil {
			return Result{}, fmt.Errorf("after %d of %d requests: %w", i, count, err)
		}
		if n != size {
			return Result{}, errBadSize(n, size)
		}
	}
	r := Result{Count: count, ElapsedNS: since(start)}
	<-stop
	return r, nil
}

func (oursCurve) CurveHandshakes(ep string, size, count int) (Result, error) {
	payload := make([]byte, size)
	start := time.Now()
	for i := range count {
		if err := oursHandshake(ep, payload); err != nil {
			return Result{}, fmt.Errorf("after %d of %d handshakes: %w", i, count, err)
		}
	}
	return Result{Count: count, ElapsedNS: since(start)}, nil
}

// oursHandshake connects a new CURVE REQ, makes one round trip and closes.
func oursHandshake(ep string, payload []byte) error {
	s, err := openOursCurve(sockets.REQ, false, 0)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.connect(ep); err != nil {
		return err
	}
	if err := s.send(s.prepare(payload)); err != nil {
		return err
	}
	n, _, err := s.recv()
	if err != nil {
		return err
	}
	if n != len(payload) {
		return errBadSize(n, len(payload))
	}
	return nil
}
