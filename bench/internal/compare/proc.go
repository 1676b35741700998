package compare

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dripdrop-go/dripdrop/bench/internal/peer"
)

// proc is one peer process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr *syncBuffer
	done   chan struct{} // closed once the process has been waited for
	err    error         // the exit, valid once done is closed
	rssKiB int64         // peak resident set, valid once done is closed
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil // enough to say what went wrong
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.b.String())
}

// startProc runs bin with args, adding env to the environment; ctx's end
// kills it.
func startProc(ctx context.Context, bin string, env []string, args ...string) (*proc, error) {
	p := &proc{
		name:   strings.Join(args, " "),
		cmd:    exec.CommandContext(ctx, bin, args...),
		lines:  make(chan string, 16),
		stderr: &syncBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd.Stderr = p.stderr
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.WaitDelay = time.Second
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = p.cmd.Wait()
		if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			p.rssKiB = ru.Maxrss // KiB on Linux
		}
		close(p.done)
	}()
	return p, nil
}

// failure describes why p did not do its part.
func (p *proc) failure(what string, err error) error {
	msg := fmt.Sprintf("%s: %s: %v", p.name, what, err)
	if s := p.stderr.String(); s != "" {
		msg += ": " + s
	}
	return fmt.Errorf("%s", msg)
}

// expect waits for the next line starting with prefix and returns the
// rest of it.
func (p *proc) expect(ctx context.Context, prefix string) (string, error) {
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				return "", p.failure("exited before saying "+strings.TrimSpace(prefix), p.err)
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return rest, nil
			}
		case <-ctx.Done():
			return "", p.failure("waiting for "+strings.TrimSpace(prefix), context.Cause(ctx))
		}
	}
}

// result waits for the result line and the exit.
func (p *proc) result(ctx context.Context) (peer.Result, error) {
	line, err := p.expect(ctx, "result ")
	if err != nil {
		return peer.Result{}, err
	}
	var r peer.Result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return r, p.failure("bad result line", err)
	}
	if err := p.wait(ctx); err != nil {
		return r, err
	}
	return r, nil
}

// wait waits for the exit, which must be clean.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return p.failure("waiting for the exit", context.Cause(ctx))
	}
	if p.err != nil {
		return p.failure("exit", p.err)
	}
	return nil
}

// kill ends the process, if it still runs, and waits for it.
func (p *proc) kill() {
	p.stdin.Close()
	select {
	case <-p.done:
		return
	case <-time.After(2 * time.Second):
	}
	p.cmd.Process.Kill()
	<-p.done
}
