package curve

import (
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/secretbox"
)

// CookieKeyLifetime is how long a server seals new cookies with one cookie
// key before it draws the next. A cookie is accepted while its key is
// current or the one before, so it stays valid for at least this long and
// at most twice this long (CurveCP's two minutes); then the key is wiped.
const CookieKeyLifetime = 60 * time.Second

// maxSpentCookies bounds the cookies remembered per cookie key: when the
// current key has served this many INITIATEs, the server moves to a new
// key early, so the memory of spent cookies stays bounded at any
// connection rate.
const maxSpentCookies = 1 << 16

// cookieSize is the cookie on the wire: a long nonce and a secret box of
// C' and s' (32 + 32 + 16 octets).
const cookieSize = 16 + 2*KeySize + secretbox.Overhead

// cookieJar seals and opens the cookies of one server. It is the only
// state a server keeps between a client's HELLO and its INITIATE (RFC 26):
// one key for every client, never anything per client. After a valid
// INITIATE it remembers the cookie's nonce, so that an INITIATE recorded
// on the wire cannot be replayed on another connection while the key lives.
type cookieJar struct {
	lifetime time.Duration // CookieKeyLifetime; shorter in tests
	maxSpent int           // maxSpentCookies; smaller in tests

	mu        sync.Mutex
	cur, prev *cookieKey
}

type cookieKey struct {
	key   [32]byte
	born  time.Time
	spent map[[16]byte]struct{}
}

// cookieTicket names a cookie that opened, for spend.
type cookieTicket struct {
	k     *cookieKey
	nonce [16]byte
}

func (k *cookieKey) alive(now time.Time, lifetime time.Duration) bool {
	return now.Before(k.born.Add(2 * lifetime))
}

func (k *cookieKey) wipe() {
	clear(k.key[:])
	k.spent = nil
}

// expireLocked drops keys too old to open cookies, and retires the current
// key once it has sealed for its lifetime.
func (j *cookieJar) expireLocked(now time.Time) {
	if j.prev != nil && !j.prev.alive(now, j.lifetime) {
		j.prev.wipe()
		j.prev = nil
	}
	if j.cur != nil && !now.Before(j.cur.born.Add(j.lifetime)) {
		j.retireLocked()
		if !j.prev.alive(now, j.lifetime) {
			j.prev.wipe()
			j.prev = nil
		}
	}
}

// retireLocked makes the current key the previous one.
func (j *cookieJar) retireLocked() {
	if j.prev != nil {
		j.prev.wipe()
	}
	j.prev, j.cur = j.cur, nil
}

// seal makes the cookie that carries C' and s', with the current key.
func (j *cookieJar) seal(r io.Reader, clientTransient, serverTransientSecret *Key) ([]byte, error) {
	now := time.Now()
	j.mu.Lock()
	j.expireLocked(now)
	if j.cur == nil {
		k := &cookieKey{born: now, spent: make(map[[16]byte]struct{})}
		if _, err := io.ReadFull(r, k.key[:]); err != nil {
			j.mu.Unlock()
			return nil, err
		}
		j.cur = k
	}
	key := j.cur.key
	j.mu.Unlock()
	defer clear(key[:])

	nonce, err := randomLongNonce(r, prefixCookie)
	if err != nil {
		return nil, err
	}
	var plain [2 * KeySize]byte
	copy(plain[:KeySize], clientTransient[:])
	copy(plain[KeySize:], serverTransientSecret[:])
	cookie := make([]byte, 16, cookieSize)
	copy(cookie, nonce[8:])
	cookie = secretbox.Seal(cookie, plain[:], nonce, &key)
	clear(plain[:])
	return cookie, nil
}

// open recovers C' and s' from a cookie sealed with a key that is still
// alive. It does not spend the cookie: see spend.
func (j *cookieJar) open(cookie []byte) (clientTransient, serverTransientSecret Key, t cookieTicket, err error) {
	now := time.Now()
	j.mu.Lock()
	j.expireLocked(now)
	var keys [2]*cookieKey
	keys[0], keys[1] = j.cur, j.prev
	var raw [2][32]byte
	for i, k := range keys {
		if k != nil {
			raw[i] = k.key
		}
	}
	j.mu.Unlock()
	defer clear(raw[0][:])
	defer clear(raw[1][:])

	nonce := longNonce(prefixCookie, cookie)
	var plain [2 * KeySize]byte
	for i, k := range keys {
		if k == nil {
			continue
		}
		if _, ok := secretbox.Open(plain[:0], cookie[16:cookieSize], nonce, &raw[i]); ok {
			copy(clientTransient[:], plain[:KeySize])
			copy(serverTransientSecret[:], plain[KeySize:])
			clear(plain[:])
			t.k = k
			copy(t.nonce[:], cookie[:16])
			return clientTransient, serverTransientSecret, t, nil
		}
	}
	return clientTransient, serverTransientSecret, t, wrapf(ErrCookie, "INITIATE cookie does not open with a cookie key of the last %v", 2*j.lifetime)
}

// spend marks a cookie as used by a valid INITIATE. A cookie is good for
// one connection only: spending it twice is a replay.
func (j *cookieJar) spend(t cookieTicket) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if t.k != j.cur && t.k != j.prev {
		return wrapf(ErrCookie, "cookie key expired during the handshake")
	}
	if _, dup := t.k.spent[t.nonce]; dup {
		return wrapf(ErrReplay, "INITIATE repeats a cookie already used")
	}
	t.k.spent[t.nonce] = struct{}{}
	if t.k == j.cur && len(t.k.spent) >= j.maxSpent {
		j.retireLocked()
	}
	return nil
}

// stats reports how many cookie keys are held and how many cookies they
// remember as spent (for tests of RFC 26's minimal server state).
func (j *cookieJar) stats() (keys, spent int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, k := range []*cookieKey{j.cur, j.prev} {
		if k != nil {
			keys++
			spent += len(k.spent)
		}
	}
	return keys, spent
}
