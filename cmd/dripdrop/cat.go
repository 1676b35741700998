package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dripdrop-go/dripdrop/sockets"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const catUsage = `usage: dripdrop cat [flags] TYPE

Opens one socket of TYPE (push, pull, pub, sub, xpub, xsub, req, rep, dealer,
router, pair) and moves messages between it and stdin/stdout, one message a
line, frames separated by -sep. Send-only types read stdin until EOF;
receive-only types print what arrives; REQ sends each line and prints the
reply; PAIR, DEALER and ROUTER do both (ROUTER prints without the identity
frame and takes it as the first frame of each line).

flags:`

// catConfig is the parsed command line of dripdrop cat.
type catConfig struct {
	typ                  sockets.Type
	binds, connects      listFlag
	subs                 listFlag
	n                    int
	identity             string
	sep                  string
	echo                 bool
	timeout              time.Duration
	plainUser, plainPass string
	plainServer          bool
	linger               time.Duration
}

func parseCat(args []string, stderr io.Writer) (*catConfig, error) {
	c := &catConfig{}
	fs := flag.NewFlagSet("cat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), catUsage)
		fs.PrintDefaults()
	}
	fs.Var(&c.binds, "bind", "endpoint to bind (repeatable)")
	fs.Var(&c.connects, "connect", "endpoint to connect to (repeatable)")
	fs.Var(&c.subs, "sub", "SUB/XSUB subscription prefix (repeatable; default: everything)")
	fs.IntVar(&c.n, "n", 0, "stop after N messages received (0: until EOF or interrupt)")
	fs.StringVar(&c.identity, "identity", "", "routing identity")
	fs.StringVar(&c.sep, "sep", "|", "frame separator on stdin and stdout")
	fs.BoolVar(&c.echo, "echo", false, "REP, ROUTER, DEALER, PAIR: send every received message back")
	fs.DurationVar(&c.timeout, "timeout", 0, "exit 1 if no message arrives within this long (0: wait forever)")
	fs.StringVar(&c.plainUser, "plain-user", "", "PLAIN username (client), or the one accepted (with -plain-server)")
	fs.StringVar(&c.plainPass, "plain-pass", "", "PLAIN password")
	fs.BoolVar(&c.plainServer, "plain-server", false, "act as PLAIN server accepting -plain-user/-plain-pass")
	fs.DurationVar(&c.linger, "linger", sockets.DefaultLinger, "how long to keep delivering queued messages at exit")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, fmt.Errorf("%w: cat needs exactly one socket TYPE", errUsage)
	}
	var err error
	if c.typ, err = sockets.ParseType(fs.Arg(0)); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(c.binds)+len(c.connects) == 0 {
		return nil, fmt.Errorf("%w: cat needs at least one -bind or -connect", errUsage)
	}
	if c.sep == "" {
		return nil, fmt.Errorf("%w: -sep must not be empty", errUsage)
	}
	if c.echo && !canEcho(c.typ) {
		return nil, fmt.Errorf("%w: -echo works with REP, ROUTER, DEALER and PAIR, not %s", errUsage, c.typ)
	}
	if len(c.subs) > 0 && c.typ != sockets.SUB && c.typ != sockets.XSUB {
		return nil, fmt.Errorf("%w: -sub works with SUB and XSUB only", errUsage)
	}
	if c.n < 0 {
		return nil, fmt.Errorf("%w: -n must not be negative", errUsage)
	}
	if c.plainServer && c.plainUser == "" {
		return nil, fmt.Errorf("%w: -plain-server needs -plain-user and -plain-pass", errUsage)
	}
	return c, nil
}

func canEcho(t sockets.Type) bool {
	return t == sockets.REP || t == sockets.ROUTER || t == sockets.DEALER || t == sockets.PAIR
}

func (c *catConfig) options() []sockets.Option {
	opts := []sockets.Option{sockets.WithLinger(c.linger)}
	if c.identity != "" {
		opts = append(opts, sockets.WithIdentity([]byte(c.identity)))
	}
	switch {
	case c.plainServer:
		user, pass := c.plainUser, c.plainPass
		opts = append(opts, sockets.WithPlainServer(zmtp.AuthenticatorFunc(
			func(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
				if r.Username == user && r.Password == pass {
					return zmtp.AuthResult{Status: zmtp.StatusOK, UserID: user}, nil
				}
				return zmtp.AuthResult{Status: zmtp.StatusDenied, StatusText: "wrong credentials"}, nil
			})))
	case c.plainUser != "":
		opts = append(opts, sockets.WithPlainClient(c.plainUser, c.plainPass))
	}
	return opts
}

// runCat is dripdrop cat.
func runCat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c, err := parseCat(args, stderr)
	if err != nil {
		return err
	}
	sock, err := sockets.New(c.typ, c.options()...)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer sock.Close()
	for _, ep := range c.binds {
		if err := sock.Bind(ep); err != nil {
			return err
		}
	}
	for _, ep := range c.connects {
		if err := sock.Connect(ep); err != nil {
			return err
		}
	}
	if c.typ == sockets.SUB || c.typ == sockets.XSUB {
		subs := c.subs
		if len(subs) == 0 {
			subs = listFlag{""}
		}
		for _, s := range subs {
			if err := subscribe(ctx, sock, c.typ, s); err != nil {
				return err
			}
		}
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	cat := &catRun{c: c, sock: sock, out: out}
	switch {
	case c.echo:
		return cat.echoLoop(ctx)
	case c.typ == sockets.PUSH || c.typ == sockets.PUB || c.typ == sockets.XPUB:
		return cat.sendLines(ctx, stdin)
	case c.typ == sockets.PULL || c.typ == sockets.SUB || c.typ == sockets.XSUB:
		return cat.recvLoop(ctx)
	case c.typ == sockets.REQ:
		return cat.requestLoop(ctx, stdin)
	case c.typ == sockets.REP:
		return cat.replyLoop(ctx, stdin)
	default: // PAIR, DEALER, ROUTER
		return cat.duplex(ctx, stdin)
	}
}

func subscribe(ctx context.Context, sock *sockets.Socket, t sockets.Type, prefix string) error {
	if t == sockets.XSUB {
		return sock.Send(ctx, sockets.NewMsg(append([]byte{1}, prefix...)))
	}
	return sock.Subscribe([]byte(prefix))
}

type catRun struct {
	c        *catConfig
	sock     *sockets.Socket
	out      *bufio.Writer
	received int
}

func (r *catRun) done() bool { return r.c.n > 0 && r.received >= r.c.n }

// frames splits a line into frames.
func (r *catRun) frames(line string) [][]byte {
	parts := strings.Split(line, r.c.sep)
	f := make([][]byte, len(parts))
	for i, p := range parts {
		f[i] = []byte(p)
	}
	return f
}

// print writes a message as one line; ROUTER drops the identity frame.
func (r *catRun) print(m sockets.Msg) error {
	frames := m.Frames
	if r.c.typ == sockets.ROUTER && len(frames) > 0 {
		frames = frames[1:]
	}
	r.out.Write(bytes.Join(frames, []byte(r.c.sep)))
	r.out.WriteByte('\n')
	return r.out.Flush()
}

// recv waits for the next message within -timeout.
func (r *catRun) recv(ctx context.Context) (sockets.Msg, error) {
	if r.c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.c.timeout)
		defer cancel()
	}
	m, err := r.sock.Recv(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil && r.c.timeout > 0 {
			return m, fmt.Errorf("no message within %v", r.c.timeout)
		}
		return m, err
	}
	r.received++
	return m, nil
}

// interrupted reports whether err is the program being told to stop.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err())
}

func (r *catRun) sendLines(ctx context.Context, stdin io.Reader) error {
	sc := newScanner(stdin)
	for sc.Scan() {
		if err := r.sock.Send(ctx, sockets.NewMsg(r.frames(sc.Text())...)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (r *catRun) recvLoop(ctx context.Context) error {
	for !r.done() {
		m, err := r.recv(ctx)
		if err != nil {
			if interrupted(ctx, err) {
				return nil
			}
			return err
		}
		if err := r.print(m); err != nil {
			return err
		}
	}
	return nil
}

func (r *catRun) requestLoop(ctx context.Context, stdin io.Reader) error {
	sc := newScanner(stdin)
	for sc.Scan() && !r.done() {
		if err := r.sock.Send(ctx, sockets.NewMsg(r.frames(sc.Text())...)); err != nil {
			return err
		}
		m, err := r.recv(ctx)
		if err != nil {
			return err
		}
		if err := r.print(m); err != nil {
			return err
		}
	}
	return sc.Err()
}

// replyLoop prints each request and answers it with the next stdin line.
func (r *catRun) replyLoop(ctx context.Context, stdin io.Reader) error {
	sc := newScanner(stdin)
	for !r.done() {
		m, err := r.recv(ctx)
		if err != nil {
			if interrupted(ctx, err) {
				return nil
			}
			return err
		}
		if err := r.print(m); err != nil {
			return err
		}
		if !sc.Scan() {
			return sc.Err()
		}
		if err := r.sock.Send(ctx, sockets.NewMsg(r.frames(sc.Text())...)); err != nil {
			return err
		}
	}
	return nil
}

func (r *catRun) echoLoop(ctx context.Context) error {
	for !r.done() {
		m, err := r.recv(ctx)
		if err != nil {
			if interrupted(ctx, err) {
				return nil
			}
			return err
		}
		if err := r.print(m); err != nil {
			return err
		}
		if err := r.sock.Send(ctx, sockets.Msg{Frames: m.Frames}); err != nil {
			return err
		}
	}
	return nil
}

// duplex sends stdin lines and prints received messages at once; it ends
// when stdin has ended and, with -n, N messages have arrived.
func (r *catRun) duplex(ctx context.Context, stdin io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		sent <- r.sendLines(ctx, stdin)
	}()
	recvd := make(chan error, 1)
	go func() {
		if r.c.n == 0 {
			// Print what arrives until the sender is done.
			for {
				m, err := r.sock.Recv(ctx)
				if err != nil {
					recvd <- nil
					return
				}
				if err := r.print(m); err != nil {
					recvd <- err
					return
				}
			}
		}
		recvd <- r.recvLoop(ctx)
	}()
	if err := <-sent; err != nil {
		cancel()
		<-recvd
		return err
	}
	if r.c.n == 0 {
		cancel()
	}
	return <-recvd
}

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	return sc
}
