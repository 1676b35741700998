package sockets

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// trieModel is the obvious implementation the trie must agree with: a map
// of topic → pipe → count.
type trieModel map[string]map[*pipe]int

func (m trieModel) add(topic string, p *pipe) int {
	if m[topic] == nil {
		m[topic] = map[*pipe]int{}
	}
	m[topic][p]++
	return m.total(topic)
}

func (m trieModel) remove(topic string, p *pipe) (bool, int) {
	if m[topic][p] == 0 {
		return false, 0
	}
	m[topic][p]--
	if m[topic][p] == 0 {
		delete(m[topic], p)
	}
	t := m.total(topic)
	if t == 0 {
		delete(m, topic)
	}
	return true, t
}

func (m trieModel) total(topic string) int {
	t := 0
	for _, n := range m[topic] {
		t += n
	}
	return t
}

func (m trieModel) removePipe(p *pipe) []string {
	var gone []string
	for topic, subs := range m {
		if subs[p] == 0 {
			continue
		}
		delete(subs, p)
		if len(subs) == 0 {
			delete(m, topic)
			gone = append(gone, topic)
		}
	}
	slices.Sort(gone)
	return gone
}

func (m trieModel) match(msg string) []*pipe {
	seen := map[*pipe]bool{}
	var out []*pipe
	for topic, subs := range m {
		if !strings.HasPrefix(msg, topic) {
			continue
		}
		for p := range subs {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

func (m trieModel) topics() []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// trieCheck compares every observable of ss with the model, and checks the
// trie's shape: no empty leaf, no empty node with one child (it would have
// been merged), parent links and sorted keys.
func trieCheck(t *testing.T, ss *subscriptions, m trieModel, pipes []*pipe, probes []string) {
	t.Helper()
	got := ss.list()
	want := m.topics()
	if len(got) != len(want) || ss.topics != len(want) {
		t.Fatalf("topics: trie lists %d (counts %d), model has %d", len(got), ss.topics, len(want))
	}
	for i := range got {
		if string(got[i]) != want[i] {
			t.Fatalf("topic %d: trie %q, model %q", i, got[i], want[i])
		}
	}
	for _, probe := range probes {
		var matched []*pipe
		ss.match([]byte(probe), func(p *pipe) { matched = append(matched, p) })
		wantM := m.match(probe)
		byID := func(a, b *pipe) int { return int(a.id) - int(b.id) }
		slices.SortFunc(matched, byID)
		slices.SortFunc(wantM, byID)
		if !slices.Equal(matched, wantM) {
			t.Fatalf("match %q: trie %d pipes, model %d", probe, len(matched), len(wantM))
		}
		if ss.matches([]byte(probe)) != (len(wantM) > 0) {
			t.Fatalf("matches %q disagrees with match", probe)
		}
	}
	stack := []*trieNode{&ss.root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n != &ss.root {
			if len(n.label) == 0 {
				t.Fatal("a non-root node has an empty label")
			}
			if n.total == 0 && len(n.children) == 0 {
				t.Fatalf("empty leaf %q left in the trie", n.label)
			}
			if n.total == 0 && len(n.children) == 1 {
				t.Fatalf("empty node %q with one child was not merged", n.label)
			}
		}
		sum := 0
		for _, sc := range n.subs {
			if sc.n <= 0 {
				t.Fatalf("a subscriber with count %d", sc.n)
			}
			sum += sc.n
		}
		if sum != n.total {
			t.Fatalf("node total %d, subscribers sum to %d", n.total, sum)
		}
		if len(n.keys) != len(n.children) || !slices.IsSorted(n.keys) {
			t.Fatal("keys out of step with children")
		}
		for i, c := range n.children {
			if c.parent != n || c.label[0] != n.keys[i] {
				t.Fatal("bad parent link or key")
			}
			stack = append(stack, c)
		}
	}
	_ = pipes
}

// trieRun applies a program of operations to a trie and to the model,
// checking after each one. Each operation is 3 octets: op, pipe, topic.
func trieRun(t *testing.T, prog []byte) {
	pipes := []*pipe{{id: 1}, {id: 2}, {id: 3}}
	topics := []string{"", "a", "ab", "abc", "abd", "b", "ba", "abcdef", "x\x00y", "\xff", "abcdeg", "ab\x00"}
	probes := append(slices.Clone(topics), "abcdefgh", "zzz", "abx", "a\xff")
	ss := newSubscriptions()
	m := trieModel{}
	for len(prog) >= 3 {
		op, p, topic := prog[0]%4, pipes[int(prog[1])%len(pipes)], topics[int(prog[2])%len(topics)]
		prog = prog[3:]
		switch op {
		case 0, 1:
			if got, want := ss.add([]byte(topic), p), m.add(topic, p); got != want {
				t.Fatalf("add %q: total %d, model %d", topic, got, want)
			}
		case 2:
			gh, gt := ss.remove([]byte(topic), p)
			wh, wt := m.remove(topic, p)
			if gh != wh || gt != wt {
				t.Fatalf("remove %q: (%v, %d), model (%v, %d)", topic, gh, gt, wh, wt)
			}
		case 3:
			if got, want := ss.removePipe(p), m.removePipe(p); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("removePipe: gone %q, model %q", got, want)
			}
		}
		trieCheck(t, &ss, m, pipes, probes)
	}
}

func TestTrieAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		prog := make([]byte, 3*200)
		for i := range prog {
			prog[i] = byte(rng.IntN(256))
		}
		trieRun(t, prog)
	}
}

// FuzzTrie runs arbitrary programs of subscribe, cancel and disconnect
// against the model (reliability matrix R03: subscription trie ops).
func FuzzTrie(f *testing.F) {
	f.Add([]byte{0, 0, 3, 0, 0, 2, 2, 0, 3, 2, 0, 2})
	f.Add([]byte{0, 0, 7, 0, 1, 10, 3, 0, 0, 2, 1, 10})
	f.Add([]byte{0, 0, 0, 0, 1, 0, 2, 0, 0, 3, 1, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 3*500 {
			prog = prog[:3*500]
		}
		trieRun(t, prog)
	})
}

// TestTrieCounted: subscriptions are additive, not idempotent (RFC 29/37,
// U7): two subscriptions need two cancels, per pipe.
func TestTrieCounted(t *testing.T) {
	ss := newSubscriptions()
	p, q := &pipe{id: 1}, &pipe{id: 2}
	ss.add([]byte("A"), p)
	ss.add([]byte("A"), p)
	ss.add([]byte("A"), q)
	if had, total := ss.remove([]byte("A"), p); !had || total != 2 {
		t.Fatalf("first cancel: %v %d", had, total)
	}
	if !ss.matches([]byte("Ax")) {
		t.Fatal("one cancel of two removed the subscription")
	}
	if had, _ := ss.remove([]byte("A"), p); !had {
		t.Fatal("second cancel")
	}
	if had, _ := ss.remove([]byte("A"), p); had {
		t.Fatal("a third cancel of p found a subscription")
	}
	if gone := ss.removePipe(q); !slices.Equal(gone, []string{"A"}) {
		t.Fatalf("removePipe: %q", gone)
	}
	if ss.matches([]byte("A")) || ss.topics != 0 {
		t.Fatal("subscription left")
	}
	// Cancelling what was never subscribed, and the empty topic, are
	// harmless.
	if had, _ := ss.remove([]byte("never"), p); had {
		t.Fatal("cancel of a topic never subscribed")
	}
	if had, _ := ss.remove(nil, p); had {
		t.Fatal("empty cancel")
	}
}

// TestTrieDeep: a topic of 16 MiB and 10,000 nested prefixes are
// handled without recursion (CVE-2021-20236); TestR11SubscriptionAbuse
// runs this with the goroutine stack capped.
func TestTrieDeep(t *testing.T) { trieDeep(t) }

func trieDeep(t *testing.T) {
	ss := newSubscriptions()
	p := &pipe{id: 1}
	big := bytes.Repeat([]byte{'t'}, 16<<20)
	ss.add(big, p)
	for i := 1; i <= 10_000; i++ { // nested prefixes: one node each
		ss.add(big[:i], p)
	}
	hits := 0
	ss.match(big, func(*pipe) { hits++ })
	if hits != 1 {
		t.Fatalf("match called %d times for one pipe", hits)
	}
	for i := 1; i <= 10_000; i++ {
		ss.remove(big[:i], p)
	}
	ss.remove(big, p)
	if ss.topics != 0 || len(ss.root.children) != 0 {
		t.Fatal("trie not empty")
	}
	for i := range 1000 {
		ss.add(fmt.Appendf(nil, "%d", i), p)
	}
	if gone := ss.removePipe(p); len(gone) != 1000 || len(ss.root.children) != 0 {
		t.Fatalf("removePipe: %d gone, %d children left", len(gone), len(ss.root.children))
	}
}

// BenchmarkSubscriptionsMatch matches a message's first frame against
// 1000 topics of varied length, 10 of which match it.
func BenchmarkSubscriptionsMatch(b *testing.B) {
	ss := newSubscriptions()
	pipes := make([]*pipe, 100)
	for i := range pipes {
		pipes[i] = &pipe{id: uint64(i)}
	}
	for i := range 1000 {
		ss.add(fmt.Appendf(nil, "market/%03d/%d", i%100, i), pipes[i%len(pipes)])
	}
	msg := []byte("market/042/42/trade")
	for _, pre := range []string{"", "m", "market", "market/", "market/04", "market/042", "market/042/", "market/042/4", "market/042/42/", "market/042/42/t"} {
		ss.add([]byte(pre), pipes[len(pre)%len(pipes)])
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		ss.match(msg, func(*pipe) { n++ })
	}
	if n == 0 {
		b.Fatal("no match")
	}
}
