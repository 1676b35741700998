package curve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A secret certificate as czmq's zcert_save writes it (quoted metadata).
const czmqSecretCert = `#   ****  Generated on 2013-12-29 12:31:45 by CZMQ  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

metadata
    name = "Pieter Hintjens"
    email = "ph@imatix.com"
curve
    public-key = "` + testServerPublic + `"
    secret-key = "` + testServerSecret + `"
`

func TestParseCertificateCzmq(t *testing.T) {
	c, err := ParseCertificate([]byte(czmqSecretCert))
	if err != nil {
		t.Fatal(err)
	}
	if c.Public.String() != testServerPublic || c.Secret.String() != testServerSecret || !c.HasSecret() {
		t.Errorf("keys %s / %s", c.Public, c.Secret)
	}
	if c.Metadata["name"] != "Pieter Hintjens" || c.Metadata["email"] != "ph@imatix.com" {
		t.Errorf("metadata %q", c.Metadata)
	}
	if kp := c.KeyPair(); kp.Public != c.Public || kp.Secret != c.Secret {
		t.Error("KeyPair differs from the certificate")
	}
}

// The files pyzmq's zmq.auth.create_certificates wrote (kept in testdata;
// TestPyzmqCertificates makes fresh ones): bare metadata values, and a
// secret key with '#' inside its quotes.
func TestLoadPyzmqCertificateFiles(t *testing.T) {
	pub, err := LoadCertificate("testdata/certs/pyzmq.key")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := LoadCertificate("testdata/certs/pyzmq.key_secret")
	if err != nil {
		t.Fatal(err)
	}
	if pub.HasSecret() || pub.Public != sec.Public || !sec.HasSecret() {
		t.Fatalf("public %s (secret %v), secret file's public %s", pub.Public, pub.HasSecret(), sec.Public)
	}
	if sec.Secret.String() != "t}J8ha7@Nl:WfPkQQ3@C9:4*VTNb[>QRJGcN>]#w" {
		t.Errorf("secret key %s", sec.Secret)
	}
	if sec.Metadata["name"] != "alice smith" || sec.Metadata["email"] != "alice@example.com" {
		t.Errorf("metadata %q", sec.Metadata)
	}
}

func TestParseCertificateEdges(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"single quotes, tab, CRLF, comment after value",
			"curve\r\n\tpublic-key = '" + testClientPublic + "' # mine\r\n", true},
		{"other sections and nesting are skipped",
			"context\n    iothreads = 1\n    deeper\n        x = 1\ncurve\n    public-key = \"" + testClientPublic + "\"\n", true},
		{"no public key", "metadata\n    name = x\n", false},
		{"secret key of another public key",
			"curve\n    public-key = \"" + testClientPublic + "\"\n    secret-key = \"" + testServerSecret + "\"\n", false},
		{"short key", "curve\n    public-key = \"abc\"\n", false},
		{"unterminated quote", "curve\n    public-key = \"" + testClientPublic + "\n", false},
		{"text after quotes", "curve\n    public-key = \"" + testClientPublic + "\" x\n", false},
		{"property without value", "curve\n    public-key\n", false},
	} {
		_, err := ParseCertificate([]byte(tc.text))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestCertificateSaveLoad(t *testing.T) {
	c, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	c.Metadata = map[string]string{"name": "bob \"the\" builder", "id": "7"}
	dir := t.TempDir()
	path := filepath.Join(dir, "bob.key")
	if err := os.WriteFile(path+"_secret", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	for file, mode := range map[string]os.FileMode{path: 0o644, path + "_secret": 0o600} {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != mode {
			t.Errorf("%s: mode %v, want %v", file, perm, mode)
		}
	}
	pub, err := LoadCertificate(path)
	if err != nil || pub.HasSecret() || pub.Public != c.Public || pub.Metadata["name"] != "bob \"the\" builder" {
		t.Fatalf("public certificate: %+v, %v", pub, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), c.Secret.String()) {
		t.Fatal("the public certificate contains the secret key")
	}
	sec, err := LoadCertificate(path + "_secret")
	if err != nil || sec.Secret != c.Secret || sec.Public != c.Public || sec.Metadata["id"] != "7" {
		t.Fatalf("secret certificate: %v", err)
	}
	if _, err := LoadCertificate(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := &Certificate{Public: c.Public, Metadata: map[string]string{"a b": "x"}}
	if err := bad.Save(filepath.Join(dir, "bad")); err == nil {
		t.Error("saved a metadata name with a space")
	}
	if _, err := (&Certificate{Public: c.Public}).Marshal(true); err == nil {
		t.Error("marshalled a secret certificate without a secret key")
	}
}

// TestPyzmqCertificates: files written now by pyzmq load here, and files we
// write load in pyzmq (zmq.auth.load_certificate).
func TestPyzmqCertificates(t *testing.T) {
	dir := t.TempDir()
	ours, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ours.Metadata = map[string]string{"name": "ours"}
	if err := ours.Save(filepath.Join(dir, "ours.key")); err != nil {
		t.Fatal(err)
	}
	out := pyRun(t, `
import sys, zmq.auth
d = sys.argv[1]
pub, sec = zmq.auth.create_certificates(d, "theirs", metadata={"name": "theirs"})
p, s = zmq.auth.load_certificate(sec)
print(p.decode(), s.decode())
p, s = zmq.auth.load_certificate(d + "/ours.key_secret")
print(p.decode(), s.decode())
p, s = zmq.auth.load_certificate(d + "/ours.key")
print(p.decode(), s)
print(len(zmq.auth.load_certificates(d)))
`, dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("python printed:\n%s", out)
	}
	theirs := strings.Fields(lines[0])
	sec, err := LoadCertificate(filepath.Join(dir, "theirs.key_secret"))
	if err != nil || sec.Public.String() != theirs[0] || sec.Secret.String() != theirs[1] || sec.Metadata["name"] != "theirs" {
		t.Fatalf("pyzmq's secret certificate: %v (%v)", err, sec)
	}
	pub, err := LoadCertificate(filepath.Join(dir, "theirs.key"))
	if err != nil || pub.Public != sec.Public || pub.HasSecret() {
		t.Fatalf("pyzmq's public certificate: %v", err)
	}
	if lines[1] != ours.Public.String()+" "+ours.Secret.String() {
		t.Errorf("pyzmq read our secret certificate as %q", lines[1])
	}
	if lines[2] != ours.Public.String()+" None" {
		t.Errorf("pyzmq read our public certificate as %q", lines[2])
	}
	if lines[3] != "2" {
		t.Errorf("pyzmq found %s public certificates (*.key), want 2", lines[3])
	}
}
