package curve

//go:generate sh testdata/katgen/gen.sh

// Known-answer tests against libsodium: testdata/kat.txt was written by
// testdata/katgen/katgen.c (libsodium 1.0.18, Debian libsodium-dev), which
// lays out the CurveZMQ commands from RFC 26's grammar in C. Our
// construction must produce the same octets from the same inputs, and open
// what libsodium sealed.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

func loadKAT(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/kat.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kat := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, h, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("kat.txt: bad line %q", line)
		}
		if h == "-" {
			h = ""
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("kat.txt %s: %v", name, err)
		}
		kat[name] = b
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kat
}

func katGet(t *testing.T, kat map[string][]byte, name string) []byte {
	t.Helper()
	b, ok := kat[name]
	if !ok {
		t.Fatalf("kat.txt has no %s", name)
	}
	return b
}

func katKey(t *testing.T, kat map[string][]byte, name string) Key {
	t.Helper()
	return Key(katGet(t, kat, name))
}

func katPair(t *testing.T, kat map[string][]byte, name string) KeyPair {
	t.Helper()
	return KeyPair{Public: katKey(t, kat, name+".public"), Secret: katKey(t, kat, name+".secret")}
}

func TestKATKeysAndBoxes(t *testing.T) {
	kat := loadKAT(t)
	for _, name := range []string{"S", "C", "Ct", "St"} {
		kp, err := KeyPairFromSecret(katKey(t, kat, name+".secret"))
		if err != nil || kp.Public != katKey(t, kat, name+".public") {
			t.Errorf("%s: public key %x, libsodium %x", name, kp.Public, kat[name+".public"])
		}
	}
	S, C := katPair(t, kat, "S"), katPair(t, kat, "C")
	var k [32]byte
	box.Precompute(&k, (*[32]byte)(&S.Public), (*[32]byte)(&C.Secret))
	if !bytes.Equal(k[:], katGet(t, kat, "box.beforenm")) {
		t.Fatalf("Precompute %x, crypto_box_beforenm %x", k, kat["box.beforenm"])
	}
	for _, size := range []string{"0", "1", "64", "200", "1000"} {
		msg := katGet(t, kat, "box."+size+".msg")
		nonce := (*[24]byte)(katGet(t, kat, "box."+size+".nonce"))
		sealed := box.Seal(nil, msg, nonce, (*[32]byte)(&S.Public), (*[32]byte)(&C.Secret))
		if !bytes.Equal(sealed, katGet(t, kat, "box."+size+".sealed")) {
			t.Errorf("%s octets: box.Seal differs from crypto_box_easy", size)
		}
		if !bytes.Equal(box.SealAfterPrecomputation(nil, msg, nonce, &k), katGet(t, kat, "box."+size+".afternm")) {
			t.Errorf("%s octets: SealAfterPrecomputation differs from crypto_box_easy_afternm", size)
		}
		if !bytes.Equal(secretbox.Seal(nil, msg, nonce, &k), katGet(t, kat, "secretbox."+size+".sealed")) {
			t.Errorf("%s octets: secretbox.Seal differs from crypto_secretbox_easy", size)
		}
		// The recipient opens libsodium's box.
		got, ok := box.Open(nil, kat["box."+size+".sealed"], nonce, (*[32]byte)(&C.Public), (*[32]byte)(&S.Secret))
		if !ok || !bytes.Equal(got, msg) {
			t.Errorf("%s octets: box.Open of libsodium's box failed", size)
		}
	}
}

// TestKATCommands: every CurveZMQ command, built by our code from
// libsodium's inputs, is octet-for-octet what katgen.c built.
func TestKATCommands(t *testing.T) {
	kat := loadKAT(t)
	S, C := katPair(t, kat, "S"), katPair(t, kat, "C")
	Ct, St := katPair(t, kat, "Ct"), katPair(t, kat, "St")
	body := func(name string) []byte { return katGet(t, kat, "cmd."+name) }
	data := func(name string) []byte { // the octets after the command name
		b := body(name)
		return b[1+int(b[0]):]
	}
	same := func(what string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: ours differs from libsodium's\n ours %x\nlibsodium %x", what, got, want)
		}
	}

	same("HELLO", appendHello(nil, precompute(&S.Public, &Ct.Secret), &Ct.Public, 1), data("hello"))
	ct, n, _, err := openHello(data("hello"), &S.Secret)
	if err != nil || ct != Ct.Public || n != 1 {
		t.Errorf("openHello: %x %d %v", ct, n, err)
	}

	jar := cookieJar{lifetime: CookieKeyLifetime, maxSpent: 2}
	jar.cur = &cookieKey{key: [32]byte(katGet(t, kat, "cookie.key")), born: time.Now(), spent: map[[16]byte]struct{}{}}
	wantCookie := katGet(t, kat, "cookie")
	cookie, err := jar.seal(bytes.NewReader(wantCookie[:16]), &Ct.Public, &St.Secret)
	if err != nil {
		t.Fatal(err)
	}
	same("cookie", cookie, wantCookie)

	welcome, err := appendWelcome(nil, bytes.NewReader(data("welcome")[:16]), precompute(&Ct.Public, &S.Secret), &St.Public, cookie)
	if err != nil {
		t.Fatal(err)
	}
	same("WELCOME", welcome, data("welcome"))
	st, wc, err := openWelcome(data("welcome"), precompute(&S.Public, &Ct.Secret))
	if err != nil || st != St.Public || !bytes.Equal(wc, wantCookie) {
		t.Errorf("openWelcome: %v", err)
	}

	var shared [32]byte
	box.Precompute(&shared, (*[32]byte)(&St.Public), (*[32]byte)(&Ct.Secret))
	md := katGet(t, kat, "initiate.metadata")
	initiate, err := appendInitiate(nil, bytes.NewReader(katGet(t, kat, "vouch.nonce")), &initiateFields{
		cookie: cookie, n: 2, shared: &shared, client: &C, serverKey: &S.Public,
		serverTransient: &St.Public, clientTransient: &Ct.Public, metadata: md,
	})
	if err != nil {
		t.Fatal(err)
	}
	same("INITIATE", initiate, data("initiate"))
	// The server side opens libsodium's INITIATE.
	cc, cs, _, err := jar.open(data("initiate")[:cookieSize])
	if err != nil || cc != Ct.Public || cs != St.Secret {
		t.Fatalf("cookie of libsodium's INITIATE: %v", err)
	}
	ib, err := openInitiateBox(data("initiate"), 2, &shared)
	if err != nil || ib.clientKey != C.Public || !bytes.Equal(ib.metadata, md) {
		t.Fatalf("INITIATE box: %v", err)
	}
	if err := checkVouch(ib.vouch, &ib.clientKey, &St.Secret, &Ct.Public, &S.Public); err != nil {
		t.Errorf("vouch: %v", err)
	}
	if m, err := zmtp.ParseMetadata(ib.metadata); err != nil || m.String(zmtp.PropSocketType) != "DEALER" {
		t.Errorf("INITIATE metadata %v %v", m, err)
	}

	rmd := katGet(t, kat, "ready.metadata")
	same("READY", appendReady(nil, 1, &shared, rmd), data("ready"))
	if rn, got, err := openReady(data("ready"), &shared); err != nil || rn != 1 || !bytes.Equal(got, rmd) {
		t.Errorf("openReady: %d %v", rn, err)
	}

	cli := newCipher(&shared, prefixMsgC, prefixMsgS, counter{next: 3}, peerCounter{last: 1, seen: true})
	srv := newCipher(&shared, prefixMsgS, prefixMsgC, counter{next: 2}, peerCounter{last: 2, seen: true})
	up, _ := cli.Seal(nil, zmtp.FlagMore, []byte("hello"))
	same("client MESSAGE", up, body("message.client"))
	down, _ := srv.Seal(nil, zmtp.FlagCommand, []byte("\x04PING\x00\x00"))
	same("server MESSAGE", down, body("message.server"))
	if f, p, err := srv.Open(body("message.client")); err != nil || f != zmtp.FlagMore || string(p) != "hello" {
		t.Errorf("opening libsodium's client MESSAGE: %#x %q %v", f, p, err)
	}
	if f, p, err := cli.Open(body("message.server")); err != nil || f != zmtp.FlagCommand || string(p) != "\x04PING\x00\x00" {
		t.Errorf("opening libsodium's server MESSAGE: %#x %q %v", f, p, err)
	}
}
