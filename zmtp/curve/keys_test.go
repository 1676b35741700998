package curve

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/dripdrop-go/dripdrop/internal/libzmqpeer"
	"github.com/dripdrop-go/dripdrop/zmtp"
)

// pyRun runs a Python snippet with pyzmq (required when CI=true) and
// returns its stdout.
func pyRun(t *testing.T, script string, args ...string) string {
	t.Helper()
	libzmqpeer.Require(t)
	cmd := exec.Command(libzmqpeer.Python, append([]string{"-c", script}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\n%s", err, errb.String())
	}
	return out.String()
}

// The key pairs of libzmq's documentation: the public keys are
// X25519(secret, 9).
func TestKeyPairFromSecretLibzmqVectors(t *testing.T) {
	for _, kp := range [][2]string{{testServerPublic, testServerSecret}, {testClientPublic, testClientSecret}} {
		got, err := KeyPairFromSecret(mustKey(t, kp[1]))
		if err != nil || got.Public.String() != kp[0] {
			t.Errorf("public of %s = %s, %v; want %s", kp[1], got.Public, err, kp[0])
		}
	}
}

func TestKeyForms(t *testing.T) {
	k := mustKey(t, testServerPublic)
	if k.String() != testServerPublic {
		t.Fatalf("String = %q", k.String())
	}
	raw := k[:]
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"32 raw octets", raw, true},
		{"40 Z85", []byte(testServerPublic), true},
		{"41 Z85 with NUL", append([]byte(testServerPublic), 0), true},
		{"41 without NUL", append([]byte(testServerPublic), 'x'), false},
		{"31 octets", raw[:31], false},
		{"39 Z85", []byte(testServerPublic[:39]), false},
		{"Z85 with a space", []byte(" " + testServerPublic[1:]), false},
		{"empty", nil, false},
	} {
		got, err := KeyFromBytes(tc.in)
		if tc.ok && (err != nil || got != k) {
			t.Errorf("%s: %v, %v", tc.name, got, err)
		}
		if !tc.ok && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
	}
	if _, err := ParseKey(strings.Repeat("\"", 40)); !errors.Is(err, zmtp.ErrZ85) {
		t.Errorf("ParseKey of quotes: %v, want ErrZ85", err)
	}
	var u Key
	if err := u.UnmarshalText([]byte(testClientPublic)); err != nil || u.String() != testClientPublic {
		t.Errorf("UnmarshalText: %v %v", u, err)
	}
	j, err := json.Marshal(map[string]Key{"k": k})
	var back map[string]string
	if err != nil || json.Unmarshal(j, &back) != nil || back["k"] != testServerPublic {
		t.Errorf("JSON %s (%v): the key is not its Z85 text", j, err)
	}
}

func TestNewKeyPair(t *testing.T) {
	seen := map[Key]bool{}
	for range 20 {
		kp, err := NewKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		if seen[kp.Secret] || kp.Secret.IsZero() {
			t.Fatal("repeated or zero secret key")
		}
		seen[kp.Secret] = true
		again, _ := KeyPairFromSecret(kp.Secret)
		if again.Public != kp.Public {
			t.Fatal("public key does not belong to the secret key")
		}
		if s := kp.String(); strings.Contains(s, kp.Secret.String()) || !strings.Contains(s, kp.Public.String()) {
			t.Fatalf("KeyPair.String() = %q shows the secret or hides the public key", s)
		}
	}
}

// TestKeysAgainstPyzmq: keys from libzmq's zmq_curve_keypair have matching
// halves by our derivation, and libzmq's zmq_curve_public agrees with ours
// on our keys.
func TestKeysAgainstPyzmq(t *testing.T) {
	var ours []string
	want := map[string]string{}
	for range 5 {
		kp, _ := NewKeyPair()
		ours = append(ours, kp.Secret.String())
		want[kp.Secret.String()] = kp.Public.String()
	}
	out := pyRun(t, `
import sys, zmq
for _ in range(5):
    p, s = zmq.curve_keypair()
    print("pair", p.decode(), s.decode())
for s in sys.argv[1:]:
    print("public", s, zmq.curve_public(s.encode()).decode())
`, ours...)
	pairs, publics := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		switch f[0] {
		case "pair":
			kp, err := KeyPairFromSecret(mustKey(t, f[2]))
			if err != nil || kp.Public.String() != f[1] {
				t.Errorf("libzmq pair %s/%s: our public %s", f[1], f[2], kp.Public)
			}
			pairs++
		case "public":
			if want[f[1]] != f[2] {
				t.Errorf("libzmq public of %s is %s, ours %s", f[1], f[2], want[f[1]])
			}
			publics++
		}
	}
	if pairs != 5 || publics != 5 {
		t.Fatalf("python printed %d pairs and %d publics:\n%s", pairs, publics, out)
	}
}
