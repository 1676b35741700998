package sockets

import "bytes"

// subscriptions is a prefix trie of topics (byte strings), compressed so
// that a node's edge holds as many octets as it needs: a 16 MiB topic is one
// node, not sixteen million. Each topic counts its subscriptions per pipe:
// subscribing twice needs two cancels (RFC 29, RFC 37). No operation
// recurses, whatever the topics' length or number (CVE-2021-20236: libzmq's
// recursive removal overflowed the stack), and matching a message walks its
// first frame once and allocates nothing.
type subscriptions struct {
	root   trieNode
	topics int    // distinct topics with at least one subscription
	epoch  uint64 // for match's once-per-pipe marks
}

type trieNode struct {
	label    []byte      // the edge from the parent; empty for the root
	keys     []byte      // first octet of each child's label, ascending
	children []*trieNode // in keys order
	parent   *trieNode
	subs     []subCount // subscribers of exactly this topic
	total    int        // sum of subs' counts
}

type subCount struct {
	p *pipe
	n int
}

func newSubscriptions() subscriptions { return subscriptions{} }

// child returns the child whose label starts with octet b, and its index.
func (n *trieNode) child(b byte) (*trieNode, int) {
	if i := bytes.IndexByte(n.keys, b); i >= 0 {
		return n.children[i], i
	}
	return nil, -1
}

func (n *trieNode) addChild(c *trieNode) {
	c.parent = n
	i := 0
	for i < len(n.keys) && n.keys[i] < c.label[0] {
		i++
	}
	n.keys = append(n.keys, 0)
	copy(n.keys[i+1:], n.keys[i:])
	n.keys[i] = c.label[0]
	n.children = append(n.children, nil)
	copy(n.children[i+1:], n.children[i:])
	n.children[i] = c
}

func (n *trieNode) removeChild(i int) {
	n.keys = append(n.keys[:i], n.keys[i+1:]...)
	copy(n.children[i:], n.children[i+1:])
	n.children[len(n.children)-1] = nil
	n.children = n.children[:len(n.children)-1]
}

// find returns the node of exactly topic, or nil.
func (ss *subscriptions) find(topic []byte) *trieNode {
	n := &ss.root
	for len(topic) > 0 {
		c, _ := n.child(topic[0])
		if c == nil || !bytes.HasPrefix(topic, c.label) {
			return nil
		}
		topic = topic[len(c.label):]
		n = c
	}
	return n
}

// node returns the node of exactly topic, creating it (and splitting an
// edge) if needed.
func (ss *subscriptions) node(topic []byte) *trieNode {
	n := &ss.root
	for len(topic) > 0 {
		c, i := n.child(topic[0])
		if c == nil {
			leaf := &trieNode{label: bytes.Clone(topic)}
			n.addChild(leaf)
			return leaf
		}
		common := commonPrefix(c.label, topic)
		if common < len(c.label) {
			// Split c's edge at common: a new node takes its place.
			// The new node's label is copied: it must not keep the
			// array of a longer topic alive after that one goes.
			mid := &trieNode{label: bytes.Clone(c.label[:common]), parent: n}
			c.label = c.label[common:]
			c.parent = mid
			mid.keys = []byte{c.label[0]}
			mid.children = []*trieNode{c}
			n.children[i] = mid
			c = mid
		}
		topic = topic[common:]
		n = c
	}
	return n
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// add counts a subscription of p to topic and returns the topic's new
// total.
func (ss *subscriptions) add(topic []byte, p *pipe) int {
	n := ss.node(topic)
	if n.total == 0 {
		ss.topics++
	}
	n.total++
	for i := range n.subs {
		if n.subs[i].p == p {
			n.subs[i].n++
			return n.total
		}
	}
	n.subs = append(n.subs, subCount{p, 1})
	return n.total
}

// remove takes back one subscription of p to topic. It reports whether p
// had one, and the topic's new total.
func (ss *subscriptions) remove(topic []byte, p *pipe) (bool, int) {
	n := ss.find(topic)
	if n == nil {
		return false, 0
	}
	for i := range n.subs {
		if n.subs[i].p != p {
			continue
		}
		n.subs[i].n--
		if n.subs[i].n == 0 {
			n.subs = append(n.subs[:i], n.subs[i+1:]...)
		}
		n.total--
		total := n.total
		if total == 0 {
			ss.topics--
			ss.prune(n)
		}
		return true, total
	}
	return false, 0
}

// prune removes n, which has lost its last subscription, if nothing hangs
// below it, and then its ancestors that are left empty; a node left with
// one child and no subscription is merged with that child.
func (ss *subscriptions) prune(n *trieNode) {
	for n != &ss.root && n.total == 0 && len(n.children) == 0 {
		parent := n.parent
		_, i := parent.child(n.label[0])
		parent.removeChild(i)
		n.parent = nil
		n = parent
	}
	if n != &ss.root && n.total == 0 && len(n.children) == 1 {
		c := n.children[0]
		c.label = append(n.label[:len(n.label):len(n.label)], c.label...)
		c.parent = n.parent
		_, i := n.parent.child(n.label[0])
		n.parent.children[i] = c
		n.parent = nil
	}
}

// removePipe drops every subscription of p and returns the topics whose
// total fell to zero, in ascending order.
func (ss *subscriptions) removePipe(p *pipe) (gone []string) {
	var emptied []*trieNode
	ss.walk(func(n *trieNode, topic []byte) {
		for i := range n.subs {
			if n.subs[i].p != p {
				continue
			}
			n.total -= n.subs[i].n
			n.subs = append(n.subs[:i], n.subs[i+1:]...)
			if n.total == 0 {
				gone = append(gone, string(topic))
				emptied = append(emptied, n)
			}
			return
		}
	})
	ss.topics -= len(emptied)
	// Deepest first, so that pruning one never detaches another still to
	// be pruned from the trie.
	for i := len(emptied) - 1; i >= 0; i-- {
		if n := emptied[i]; n.total == 0 && (n.parent != nil) {
			ss.prune(n)
		}
	}
	return gone
}

// walk calls f for every node with subscriptions, with its topic (which
// aliases a buffer reused between calls), in ascending topic order.
// It uses an explicit stack, never recursion.
func (ss *subscriptions) walk(f func(n *trieNode, topic []byte)) {
	type frame struct {
		n     *trieNode
		depth int // topic length before n's label
	}
	var path []byte
	stack := []frame{{&ss.root, 0}}
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		path = append(path[:fr.depth], fr.n.label...)
		if fr.n.total > 0 {
			f(fr.n, path)
		}
		for i := len(fr.n.children) - 1; i >= 0; i-- {
			stack = append(stack, frame{fr.n.children[i], len(path)})
		}
	}
}

// list returns every topic with a subscription, in ascending order.
func (ss *subscriptions) list() [][]byte {
	out := make([][]byte, 0, ss.topics)
	ss.walk(func(_ *trieNode, topic []byte) { out = append(out, bytes.Clone(topic)) })
	return out
}

// has reports whether topic has a subscription.
func (ss *subscriptions) has(topic []byte) bool {
	n := ss.find(topic)
	return n != nil && n.total > 0
}

// match calls f once for each pipe with a subscription that prefixes msg.
func (ss *subscriptions) match(msg []byte, f func(*pipe)) {
	ss.epoch++
	n := &ss.root
	for {
		for _, sc := range n.subs {
			if sc.p.mark != ss.epoch {
				sc.p.mark = ss.epoch
				f(sc.p)
			}
		}
		if len(msg) == 0 {
			return
		}
		c, _ := n.child(msg[0])
		if c == nil || !bytes.HasPrefix(msg, c.label) {
			return
		}
		msg = msg[len(c.label):]
		n = c
	}
}

// matches reports whether any subscription prefixes msg.
func (ss *subscriptions) matches(msg []byte) bool {
	n := &ss.root
	for {
		if n.total > 0 {
			return true
		}
		if len(msg) == 0 {
			return false
		}
		c, _ := n.child(msg[0])
		if c == nil || !bytes.HasPrefix(msg, c.label) {
			return false
		}
		msg = msg[len(c.label):]
		n = c
	}
}
