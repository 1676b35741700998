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
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
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

cat exits 0 at its end (stdin's, or -n messages received) and at an
interrupt, even one that comes while stdin is open; 1 on a failure,
-timeout included; 2 on a usage error. Before it exits, what is queued is
delivered for at most -linger.

Security (keys are 40 characters of Z85, as dripdrop keygen prints them):
  -curve-server -curve-secret KEY                  CURVE server (any client that knows its public key)
  -curve-public KEY -curve-secret KEY -curve-serverkey KEY   CURVE client
  -plain-user U -plain-pass P [-plain-server]      PLAIN client, or server accepting U/P

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
	curveServer          bool
	curveSecret          keyFlag
	curvePublic          keyFlag
	curveServerKey       keyFlag
	linger               time.Duration
}

// keyFlag is a CURVE key given in Z85. Set keeps the text and parse
// reads it, so that a bad (secret) key is never echoed in an error.
type keyFlag struct {
	set  bool
	text string
	key  curve.Key
}

func (k *keyFlag) String() string     { return "" }
func (k *keyFlag) Set(v string) error { k.text, k.set = v, true; return nil }

func (k *keyFlag) parse(name string) error {
	if !k.set {
		return nil
	}
	key, err := curve.ParseKey(k.text)
	if err != nil {
		return fmt.Errorf("-%s: %v", name, err)
	}
	if key.IsZero() {
		return fmt.Errorf("-%s: the key is all zeros", name)
	}
	k.key = key
	return nil
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
	fs.BoolVar(&c.curveServer, "curve-server", false, "act as CURVE server with -curve-secret")
	fs.Var(&c.curveSecret, "curve-secret", "CURVE secret key, Z85 (server, or client with -curve-public)")
	fs.Var(&c.curvePublic, "curve-public", "CURVE client: this side's public key, Z85")
	fs.Var(&c.curveServerKey, "curve-serverkey", "CURVE client: the server's public key, Z85")
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
	if c.plainPass != "" && c.plainUser == "" {
		return nil, fmt.Errorf("%w: -plain-pass needs -plain-user", errUsage)
	}
	if err := c.checkCurve(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, nil
}

// checkCurve checks the CURVE flags: a server needs its secret key, a
// client its key pair and the server's public key, and CURVE does not mix
// with PLAIN.
func (c *catConfig) checkCurve() error {
	for _, k := range []struct {
		name string
		f    *keyFlag
	}{{"curve-secret", &c.curveSecret}, {"curve-public", &c.curvePublic}, {"curve-serverkey", &c.curveServerKey}} {
		if err := k.f.parse(k.name); err != nil {
			return err
		}
	}
	curveFlags := c.curveServer || c.curveSecret.set || c.curvePublic.set || c.curveServerKey.set
	switch {
	case !curveFlags:
		return nil
	case c.plainUser != "" || c.plainServer:
		return errors.New("CURVE and PLAIN flags do not go together")
	case c.curveServer && c.curveServerKey.set:
		return errors.New("-curve-serverkey is for CURVE clients, not with -curve-server")
	case c.curveServer && c.curvePublic.set:
		return errors.New("-curve-public is for CURVE clients; a server derives its public key from -curve-secret")
	case c.curveServer && !c.curveSecret.set:
		return errors.New("-curve-server needs -curve-secret")
	case c.curveServer:
		return nil
	case !c.curveServerKey.set:
		return errors.New("-curve-secret and -curve-public need -curve-server (a server) or -curve-serverkey (a client)")
	case !c.curveSecret.set || !c.curvePublic.set:
		return errors.New("a CURVE client needs -curve-public, -curve-secret and -curve-serverkey")
	}
	kp, err := curve.KeyPairFromSecret(c.curveSecret.key)
	if err != nil {
		return err
	}
	if kp.Public != c.curvePublic.key {
		return fmt.Errorf("-curve-public %s is not the public key of -curve-secret (that is %s)", c.curvePublic.key, kp.Public)
	}
	return nil
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
	case c.curveServer:
		opts = append(opts, sockets.WithCurveServer(c.curveSecret.key))
	case c.curveServerKey.set:
		opts = append(opts, sockets.WithCurveClient(
			curve.KeyPair{Public: c.curvePublic.key, Secret: c.curveSecret.key}, c.curveServerKey.key))
	case c.plainServer:
		auth := sockets.NewAuth()
		auth.SetPassword(c.plainUser, c.plainPass)
		opts = append(opts, sockets.WithPlainServer(nil), sockets.WithZAP(auth))
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
	if c.echo || c.typ == sockets.PULL || c.typ == sockets.SUB || c.typ == sockets.XSUB {
		// These never read stdin.
		if c.echo {
			return cat.echoLoop(ctx)
		}
		return cat.recvLoop(ctx)
	}
	// Deferred after sock.Close, so it runs first: stdin is no longer read
	// while the socket flushes what is queued.
	in := readStdin(stdin)
	defer in.stop()
	switch c.typ {
	case sockets.PUSH, sockets.PUB, sockets.XPUB:
		return cat.sendLines(ctx, in)
	case sockets.REQ:
		return cat.requestLoop(ctx, in)
	case sockets.REP:
		return cat.replyLoop(ctx, in)
	default: // PAIR, DEALER, ROUTER
		return cat.duplex(ctx, in)
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
	wait := ctx
	if r.c.timeout > 0 {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, r.c.timeout)
		defer cancel()
	}
	m, err := r.sock.Recv(wait)
	if err != nil {
		if r.c.timeout > 0 && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
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

// ended is err, or nil when err is the interrupt: a normal end.
func ended(ctx context.Context, err error) error {
	if interrupted(ctx, err) {
		return nil
	}
	return err
}

// sendLines sends every stdin line, until stdin ends or ctx does.
func (r *catRun) sendLines(ctx context.Context, in *stdinLines) error {
	for {
		line, ok, err := in.next(ctx)
		if !ok {
			return err
		}
		if err := r.sock.Send(ctx, sockets.NewMsg(r.frames(line)...)); err != nil {
			return ended(ctx, err)
		}
	}
}

// recvLoop prints what arrives until -n messages have, or ctx ends.
func (r *catRun) recvLoop(ctx context.Context) error {
	for !r.done() {
		m, err := r.recv(ctx)
		if err != nil {
			return ended(ctx, err)
		}
		if err := r.print(m); err != nil {
			return err
		}
	}
	return nil
}

// requestLoop sends each stdin line and prints its reply.
func (r *catRun) requestLoop(ctx context.Context, in *stdinLines) error {
	for !r.done() {
		line, ok, err := in.next(ctx)
		if !ok {
			return err
		}
		if err := r.sock.Send(ctx, sockets.NewMsg(r.frames(line)...)); err != nil {
			return ended(ctx, err)
		}
		m, err := r.recv(ctx)
		if err != nil {
			return ended(ctx, err)
		}
		if err := r.print(m); err != nil {
			return err
		}
	}
	return nil
}

// replyLoop prints each request and answers it with the next stdin line.
func (r *catRun) replyLoop(ctx context.Context, in *stdinLines) error {
	for !r.done() {
		m, err := r.recv(ctx)
		if err != nil {
			return ended(ctx, err)
		}
		if err := r.print(m); err != nil {
			return err
		}
		line, ok, err := in.next(ctx)
		if !ok {
			return err
		}
		if err := r.sock.Send(ctx, sockets.NewMsg(r.frames(line)...)); err != nil {
			return ended(ctx, err)
		}
	}
	return nil
}

// echoLoop prints and sends back every message, until -n or ctx ends.
func (r *catRun) echoLoop(ctx context.Context) error {
	for !r.done() {
		m, err := r.recv(ctx)
		if err != nil {
			return ended(ctx, err)
		}
		if err := r.print(m); err != nil {
			return err
		}
		if err := r.sock.Send(ctx, sockets.Msg{Frames: m.Frames}); err != nil {
			return ended(ctx, err)
		}
	}
	return nil
}

// duplex sends stdin lines and prints received messages at once. It ends
// when stdin has ended and, with -n, N messages have arrived (without -n,
// receiving stops when stdin ends); at the interrupt; or at the first
// failure, -timeout included, which it returns. It waits for both of its
// goroutines.
func (r *catRun) duplex(ctx context.Context, in *stdinLines) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make(chan error, 1)
	go func() { sent <- r.sendLines(ctx, in) }()
	recvd := make(chan error, 1)
	go func() { recvd <- r.recvLoop(ctx) }()
	var first error
	for range 2 {
		var err error
		select {
		case err = <-sent:
			if r.c.n == 0 {
				cancel() // stdin has ended: so has receiving
			}
		case err = <-recvd:
		}
		if err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	return sc
}
