//go:build !race

package sockets

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// TestIdlePeersMemory measures what idle tcp peers cost a ROUTER (issue
// 5: 10,000 of them at most 32 KiB each). The peers live in a child
// process (this test binary again, TestIdlePeersChild): the file
// descriptor limit of 20,000 could not hold both ends here. Each peer
// handshakes and sends one request, so that its connection has read and
// written once (its buffers, slab and frame lists were in use), then
// stays idle. Measured in this process once all are routed: the growth
// of RSS and of the Go heap and stacks, per peer. (Not under -race,
// whose shadow memory would be measured too.)
func TestIdlePeersMemory(t *testing.T) {
	if os.Getenv(idleChildEnv) != "" {
		t.Skip("the child's side of this test is TestIdlePeersChild")
	}
	n := 10_000
	if testing.Short() {
		n = 1000
	}
	router := relNew(t, ROUTER, WithLinger(0))
	ep := relBind(t, router, TCP)
	rss0, heap0, stack0 := idleMem()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdlePeersChild$")
	cmd.Env = append(os.Environ(), idleChildEnv+"="+ep, "DD_IDLE_PEERS_N="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	ready := false
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "ready") {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatal("the child never got its peers connected")
	}
	// Every peer sent one request: take them all, answer each.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		m, err := router.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d requests: %v", i, err)
		}
		if err := router.Send(ctx, NewMsg(m.Frames[0], []byte{}, []byte("reply"))); err != nil {
			t.Fatal(err)
		}
	}
	if got := specRouterPeers(router); got != n {
		t.Fatalf("the ROUTER routes to %d peers, want %d", got, n)
	}
	// The child reads every reply before it says so.
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "replied") {
			break
		}
	}
	var rest strings.Builder // what the child says after, for a failure
	restDone := make(chan struct{})
	go func() {
		defer close(restDone)
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
	}()
	rss1, heap1, stack1 := idleMem()
	kib := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) / 1024 }
	perRSS := kib(rss0, rss1) * 1024
	t.Logf("%d idle tcp peers on one ROUTER: RSS +%.1f MiB, %.1f KiB per peer (Go heap %.1f KiB, goroutine stacks %.1f KiB)",
		n, (float64(rss1)-float64(rss0))/(1<<20), kib(rss0, rss1), kib(heap0, heap1), kib(stack0, stack1))
	// Both: RSS misses buffers allocated but never touched (the pages of
	// a fresh allocation are not resident until written), the heap counts
	// them.
	if perRSS > 32<<10 {
		t.Errorf("%.1f KiB of RSS per idle peer, want ≤ 32 KiB", perRSS/1024)
	}
	if perGo := kib(heap0+stack0, heap1+stack1); perGo > 32 {
		t.Errorf("%.1f KiB of Go heap and stacks per idle peer, want ≤ 32 KiB", perGo)
	}
	stdin.Close()
	<-restDone
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v\n%s", err, rest.String())
	}
	if !relWaitUntil(30*time.Second, func() bool { return specRouterPeers(router) == 0 }) {
		t.Errorf("%d peers still routed after the child left", specRouterPeers(router))
	}
}

const idleChildEnv = "DD_IDLE_PEERS_CHILD"

// idleMem returns the process's resident set and the Go heap and stacks
// in use, in octets, after a collection.
func idleMem() (rss, heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, err := os.ReadFile("/proc/self/statm")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			rss = pages * uint64(os.Getpagesize())
		}
	}
	return rss, ms.HeapInuse, ms.StackInuse
}

// TestIdlePeersChild is the peers' side of TestIdlePeersMemory: it opens
// the connections, sends one request on each, reads every reply, and
// holds them until its stdin closes.
func TestIdlePeersChild(t *testing.T) {
	ep := os.Getenv(idleChildEnv)
	if ep == "" {
		t.Skip("run by TestIdlePeersMemory")
	}
	n, _ := strconv.Atoi(os.Getenv("DD_IDLE_PEERS_N"))
	addr := strings.TrimPrefix(ep, "tcp://")
	conns := make([]*zmtp.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				zc, err := zmtp.Handshake(ctx, nc, zmtp.Config{SocketType: zmtp.Dealer})
				cancel()
				if err != nil {
					nc.Close()
					errs <- err
					continue
				}
				conns[i] = zc
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("connecting: %v", err)
	}
	defer func() {
		for _, zc := range conns {
			zc.Close()
		}
	}()
	fmt.Println("ready")
	for _, zc := range conns {
		if err := zc.Send([][]byte{{}, []byte("request")}); err != nil {
			t.Fatal(err)
		}
	}
	for i, zc := range conns {
		if m, err := zc.ReadMsg(nil); err != nil || len(m) != 2 || len(m[0]) != 0 || string(m[1]) != "reply" {
			t.Fatalf("reply %d: %q, %v", i, m, err)
		}
	}
	fmt.Println("replied")
	bufio.NewReader(os.Stdin).ReadString(0) // until EOF
}
