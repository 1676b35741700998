package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

var keygenLine = regexp.MustCompile(`^public: (\S{40})\nsecret: (\S{40})\n$`)

// keygen runs "dripdrop keygen args..." and returns the printed pair.
func keygen(t *testing.T, args ...string) curve.KeyPair {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"keygen"}, args...), nil, &out, &errb); err != nil {
		t.Fatalf("keygen %q: %v\n%s", args, err, errb.String())
	}
	m := keygenLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("keygen printed %q; want public: <z85> / secret: <z85>", out.String())
	}
	pub, err1 := curve.ParseKey(m[1])
	sec, err2 := curve.ParseKey(m[2])
	if err1 != nil || err2 != nil {
		t.Fatalf("keys do not parse: %v %v", err1, err2)
	}
	derived, err := curve.KeyPairFromSecret(sec)
	if err != nil || derived.Public != pub {
		t.Fatalf("printed public key %s does not belong to the secret key", m[1])
	}
	return curve.KeyPair{Public: pub, Secret: sec}
}

func TestKeygenPrintsAPair(t *testing.T) {
	a, b := keygen(t), keygen(t)
	if a.Secret == b.Secret {
		t.Fatal("two runs printed the same secret key")
	}
}

func TestKeygenWritesCertificates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.key")
	kp := keygen(t, "-o", path, "-name", "server")
	pub, err := curve.LoadCertificate(path)
	if err != nil || pub.Public != kp.Public || pub.HasSecret() || pub.Metadata["name"] != "server" {
		t.Fatalf("public certificate: %v %+v", err, pub)
	}
	sec, err := curve.LoadCertificate(path + "_secret")
	if err != nil || sec.KeyPair() != kp {
		t.Fatalf("secret certificate: %v", err)
	}
	st, err := os.Stat(path + "_secret")
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Fatalf("secret certificate mode %v, want 0600", perm)
	}
}

func TestKeygenUsage(t *testing.T) {
	for _, args := range [][]string{{"keygen", "extra"}, {"keygen", "-bogus"}, {"keygen", "-name", "x"}} {
		var out bytes.Buffer
		err := run(context.Background(), args, nil, &out, &out)
		if !errors.Is(err, errUsage) || exitCode(err, &out) != 2 {
			t.Errorf("run(%q) = %v, want a usage error (exit 2)", args, err)
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"keygen", "-o", filepath.Join(t.TempDir(), "no", "such", "dir")}, nil, &out, &out)
	if err == nil || errors.Is(err, errUsage) || exitCode(err, &out) != 1 {
		t.Errorf("keygen -o into a missing directory: %v, want a runtime failure (exit 1)", err)
	}
}
