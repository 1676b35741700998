package curve

// Fuzz targets for the two parsers of text from outside: ParseCertificate
// (ZPL files from disk) and ParseKey (keys users type). Seeds: the files in
// testdata/certs, and edge cases in testdata/fuzz/<Target>/.

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// echoRun is how many characters in a row of the input, none of them
// white space, an error may not repeat: half a key's 40. The messages'
// own words are all shorter, so only text taken from the input can match.
const echoRun = 20

// echoes reports a run of echoRun non-space characters of input that msg
// repeats.
func echoes(msg, input string) (string, bool) {
	fields := strings.FieldsFunc(input, unicode.IsSpace)
	for _, f := range fields {
		for i := 0; i+echoRun <= len(f); i++ {
			if strings.Contains(msg, f[i:i+echoRun]) {
				return f[i : i+echoRun], true
			}
		}
	}
	return "", false
}

func FuzzParseCertificate(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "certs", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no certificates in testdata/certs: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return // a certificate is a few hundred octets
		}
		c, err := ParseCertificate(data)
		if err != nil {
			if c != nil {
				t.Fatalf("a certificate and an error: %v", err)
			}
			// The text around a secret key must not end up in logs.
			if run, ok := echoes(err.Error(), string(data)); ok {
				t.Fatalf("the error repeats %q of the input: %v", run, err)
			}
			return
		}
		if c.HasSecret() {
			kp, err := KeyPairFromSecret(c.Secret)
			if err != nil || kp.Public != c.Public {
				t.Fatalf("accepted a secret key that is not the public key's (%v)", err)
			}
		}
		// What parses, and can be written, reads back the same.
		text, err := c.Marshal(c.HasSecret())
		if err != nil {
			return // metadata that ZPL cannot quote
		}
		again, err := ParseCertificate(text)
		if err != nil {
			t.Fatalf("our own text does not parse: %v\n%s", err, text)
		}
		if again.Public != c.Public || again.Secret != c.Secret || !maps.Equal(again.Metadata, c.Metadata) {
			t.Fatalf("round trip changed the certificate:\n%+v\n%+v\n%s", c, again, text)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add(testServerPublic)
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParseKey(text)
		var k2 Key
		err2 := k2.UnmarshalText([]byte(text))
		k3, err3 := KeyFromBytes([]byte(text))
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, zmtp.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if k != (Key{}) {
				t.Fatalf("a key and an error: %v", err)
			}
			if err2 == nil {
				t.Fatalf("UnmarshalText took what ParseKey refused (%v)", err)
			}
			// ParseKey reads secret keys: its errors do not repeat them.
			if run, ok := echoes(err.Error(), text); ok {
				t.Fatalf("the error repeats %q of the input: %v", run, err)
			}
			if len(text) == Z85KeySize && err3 == nil {
				t.Fatalf("KeyFromBytes took the 40 characters ParseKey refused (%v)", err)
			}
			return
		}
		if s := k.String(); s != text {
			t.Fatalf("ParseKey(%q) prints as %q", text, s)
		}
		if b, _ := k.MarshalText(); string(b) != text {
			t.Fatalf("MarshalText = %q, want %q", b, text)
		}
		if err2 != nil || k2 != k {
			t.Fatalf("UnmarshalText: %v, %v; ParseKey: %v", k2, err2, k)
		}
		if err3 != nil || k3 != k {
			t.Fatalf("KeyFromBytes: %v, %v; ParseKey: %v", k3, err3, k)
		}
		nul, err := KeyFromBytes(append([]byte(text), 0))
		if err != nil || nul != k {
			t.Fatalf("KeyFromBytes with the NUL libzmq appends: %v, %v", nul, err)
		}
	})
}
