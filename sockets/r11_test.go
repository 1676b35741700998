package sockets

// R11, subscription abuse on PUB/XPUB (CVE-2021-20236, CVE-2021-20237,
// libzmq #1224/#2942). The whole test runs in a child process whose
// goroutine stacks are capped at 256 KiB (debug.SetMaxStack), so that any
// recursion over a topic's octets or the trie's depth crashes it.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

const r11ChildEnv = "DRIPDROP_R11_CHILD"

func TestR11SubscriptionAbuse(t *testing.T) {
	if os.Getenv(r11ChildEnv) == "1" {
		r11Child(t)
		return
	}
	relWatchdog(t, 200*time.Second)
	cmd := exec.Command(os.Args[0], "-test.run=^TestR11SubscriptionAbuse$", "-test.count=1", "-test.v", "-test.timeout=180s")
	cmd.Env = append(os.Environ(), r11ChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		t.Log(line)
	}
	if err != nil {
		t.Fatalf("the child with a 256 KiB stack cap failed: %v", err)
	}
	if !strings.Contains(string(out), "r11: all done") {
		t.Fatal("the child did not run to the end")
	}
}

func r11Child(t *testing.T) {
	debug.SetMaxStack(256 << 10)
	ctx := relCtx(t, 150*time.Second)
	big := bytes.Repeat([]byte{'T'}, 16<<20)

	// The trie alone: a 16 MiB topic, a chain 10,000 nodes deep.
	t.Run("trie", trieDeep)

	// 16 MiB topic, subscribe then cancel, over each transport, with the
	// XPUB handing both to the application.
	for _, tr := range []string{Inproc, TCP} {
		t.Run("16MiB topic/"+tr, func(t *testing.T) {
			xpub := relNew(t, XPUB, WithLinger(0))
			ep := relBind(t, xpub, tr)
			sub := relNew(t, SUB, WithLinger(0))
			relConnect(t, sub, ep)
			heap0 := relHeap()
			if err := sub.Subscribe(big); err != nil {
				t.Fatal(err)
			}
			m, err := xpub.Recv(ctx)
			if err != nil || len(m.Frames[0]) != 1+len(big) || m.Frames[0][0] != 1 {
				t.Fatalf("XPUB got %d octets, %v; want the 16 MiB subscription", len(m.Frames[0]), err)
			}
			if err := xpub.Send(ctx, NewMsg(big[:1<<20], []byte("body"))); err != nil {
				t.Fatal(err)
			}
			if err := xpub.Send(ctx, NewMsg(big, []byte("body"))); err != nil {
				t.Fatal(err)
			}
			got, err := sub.Recv(ctx)
			if err != nil || !bytes.Equal(got.Frames[0], big) {
				t.Fatalf("SUB: %v (a 1 MiB prefix of the topic must not match)", err)
			}
			if err := sub.Unsubscribe(big); err != nil {
				t.Fatal(err)
			}
			m, err = xpub.Recv(ctx)
			if err != nil || len(m.Frames[0]) != 1+len(big) || m.Frames[0][0] != 0 {
				t.Fatalf("XPUB got %v; want the 16 MiB cancel", err)
			}
			if !relWaitUntil(5*time.Second, func() bool { return !specPubHas(xpub, string(big)) }) {
				t.Fatal("the topic is still in the trie")
			}
			m, got = Msg{}, Msg{} // drop references before measuring
			heap1 := relHeap()
			t.Logf("heap %d → %d after a 16 MiB subscribe and cancel", heap0, heap1)
			if int64(heap1)-int64(heap0) > 4<<20 {
				t.Errorf("heap grew by %d B: the 16 MiB topic is still held", int64(heap1)-int64(heap0))
			}
		})
	}

	// 100,000 distinct topics, then the subscriber goes: the XPUB emits
	// exactly one unsubscription per live topic (U8) and the heap comes
	// back.
	t.Run("100k topics then disconnect", func(t *testing.T) {
		const n = 100_000
		xpub := relNew(t, XPUB, WithLinger(0), WithRecvHWM(0))
		ep := relBind(t, xpub, Inproc)
		heap0 := relHeap()
		// Not relNew: its cleanup would keep the closed SUB, and its own
		// 100,000 subscriptions, alive while the heap is measured.
		sub, err := New(SUB, WithLinger(0))
		if err != nil {
			t.Fatal(err)
		}
		relConnect(t, sub, ep)
		for i := range n {
			relSubscribe(t, sub, fmt.Appendf(nil, "topic/%06d", i))
		}
		for i := range n {
			m, err := xpub.Recv(ctx)
			if err != nil || m.Frames[0][0] != 1 {
				t.Fatalf("subscription %d: %v", i, err)
			}
		}
		sub.Close()
		sub = nil
		seen := make(map[string]bool, n)
		for range n {
			m, err := xpub.Recv(ctx)
			if err != nil {
				t.Fatalf("after %d unsubscriptions: %v", len(seen), err)
			}
			if m.Frames[0][0] != 0 || seen[string(m.Frames[0][1:])] {
				t.Fatalf("unexpected or repeated %q", m.Frames[0])
			}
			seen[string(m.Frames[0][1:])] = true
		}
		if m, err := relRecvT(xpub, 200*time.Millisecond); err == nil {
			t.Fatalf("an extra message after the %d unsubscriptions: %q", n, m.Frames[0])
		}
		seen = nil
		heap1 := relHeap()
		t.Logf("heap %d → %d after %d topics and a disconnect", heap0, heap1, n)
		if d := int64(heap1) - int64(heap0); d > int64(heap0)/10+512<<10 {
			t.Errorf("heap grew by %d B over a baseline of %d (want ≤ 10 %% + 512 KiB)", d, heap0)
		}
	})

	// Empty cancel, cancel of what was never subscribed, and 10^6
	// subscribe/cancel pairs into a PUB (libzmq #1224, #2942).
	t.Run("odd cancels and 1e6 pairs", func(t *testing.T) {
		pub := relNew(t, PUB, WithLinger(0))
		ep := relBind(t, pub, Inproc)
		xsub := relNew(t, XSUB, WithLinger(0), WithSendHWM(0))
		relConnect(t, xsub, ep)
		for _, raw := range [][]byte{{0}, []byte("\x00never")} {
			if err := xsub.Send(ctx, NewMsg(raw)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 1_000_000 {
			topic := fmt.Appendf(nil, "p%d", i%1000)
			if err := xsub.Send(ctx, NewMsg(append([]byte{1}, topic...))); err != nil {
				t.Fatal(err)
			}
			if err := xsub.Send(ctx, NewMsg(append([]byte{0}, topic...))); err != nil {
				t.Fatal(err)
			}
		}
		// Then a real subscription, which must be the only one left.
		if err := xsub.Send(ctx, NewMsg([]byte("\x01live"))); err != nil {
			t.Fatal(err)
		}
		if !relWaitUntil(10*time.Second, func() bool { return specPubHas(pub, "live") }) {
			t.Fatal("the last subscription never arrived")
		}
		ps := pub.beh.(*pubSocket)
		ps.mu.Lock()
		topics := ps.subs.topics
		ps.mu.Unlock()
		if topics != 1 {
			t.Fatalf("PUB holds %d topics after 1e6 pairs and one subscription; want 1", topics)
		}
	})

	// 10^5 messages, two frames each, sent to a PUB by a raw subscriber
	// that announced extra metadata: the PUB discards them and its heap
	// stays flat (CVE-2021-20237 kept their metadata referenced).
	t.Run("messages into a PUB", func(t *testing.T) {
		pub := relNew(t, PUB, WithLinger(0))
		ep := relBind(t, pub, TCP)
		rp := relDialRaw(t, ep)
		if err := rp.handshake("SUB", "X-Meta", strings.Repeat("m", 1000)); err != nil {
			t.Fatal(err)
		}
		if !relWaitUntil(5*time.Second, func() bool { return specConnected(pub) == 1 }) {
			t.Fatal("no connection")
		}
		heap0 := relHeap()
		one := append(relFrame(true, []byte("x")), relFrame(false, bytes.Repeat([]byte{'m'}, 100))...)
		batch := bytes.Repeat(one, 1000)
		rp.SetWriteDeadline(time.Now().Add(60 * time.Second))
		for range 100 {
			if _, err := rp.Write(batch); err != nil {
				t.Fatal(err)
			}
		}
		// A subscription after them: once it arrives, all of them have
		// been read and discarded.
		if _, err := rp.Write(relFrame(false, []byte("\x01end"))); err != nil {
			t.Fatal(err)
		}
		if !relWaitUntil(30*time.Second, func() bool { return specPubHas(pub, "end") }) {
			t.Fatal("the subscription after the messages never arrived")
		}
		heap1 := relHeap()
		t.Logf("PUB heap %d → %d over 1e5 inbound messages", heap0, heap1)
		if d := int64(heap1) - int64(heap0); d > 1<<20 {
			t.Errorf("heap grew by %d B (want ≤ 1 MiB)", d)
		}
	})
	t.Log("r11: all done")
}
