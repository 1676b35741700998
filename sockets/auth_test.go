package sockets

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

func TestAuthVerdicts(t *testing.T) {
	t.Parallel()
	alice, mallory := zapKeyPair().Public, zapKeyPair().Public
	plain := func(addr, user, pass string) *zmtp.AuthRequest {
		return &zmtp.AuthRequest{Mechanism: "PLAIN", Address: addr, Username: user, Password: pass}
	}
	curveReq := func(addr string, k curve.Key) *zmtp.AuthRequest {
		return &zmtp.AuthRequest{Mechanism: "CURVE", Address: addr, ClientKey: k[:]}
	}
	null := func(addr string) *zmtp.AuthRequest { return &zmtp.AuthRequest{Mechanism: "NULL", Address: addr} }

	var zero Auth
	rules := NewAuth()
	if err := rules.Allow("10.0.0.0/8", "192.0.2.7", "2001:db8::/32"); err != nil {
		t.Fatal(err)
	}
	if err := rules.Deny("10.9.0.0/16", "::ffff:10.1.2.3"); err != nil {
		t.Fatal(err)
	}
	rules.SetPassword("admin", "secret")
	rules.SetPassword("bob", "old")
	rules.SetPassword("bob", "new")
	rules.SetPassword("gone", "x")
	rules.RemoveUser("gone")
	rules.AllowCurve(alice, mallory)
	rules.RemoveCurve(mallory)
	denyOnly := NewAuth()
	if err := denyOnly.Deny("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	anyCurve := NewAuth()
	anyCurve.AllowAnyCurve(true)

	for _, c := range []struct {
		name   string
		a      *Auth
		r      *zmtp.AuthRequest
		status string
		user   string
	}{
		{"zero: NULL in", &zero, null("127.0.0.1"), "200", ""},
		{"zero: PLAIN refused", &zero, plain("127.0.0.1", "u", "p"), "400", ""},
		{"zero: CURVE refused", &zero, curveReq("127.0.0.1", alice), "400", ""},
		{"zero: ipc NULL in", &zero, null(""), "200", ""},
		{"allowed prefix", rules, plain("10.1.1.1", "admin", "secret"), "200", "admin"},
		{"allowed address", rules, plain("192.0.2.7", "admin", "secret"), "200", "admin"},
		{"allowed IPv6 prefix", rules, plain("2001:db8::5", "admin", "secret"), "200", "admin"},
		{"IPv4-mapped address in an allowed prefix", rules, plain("::ffff:10.2.2.2", "admin", "secret"), "200", "admin"},
		{"IPv6 with a zone", rules, plain("2001:db8::5%eth0", "admin", "secret"), "200", "admin"},
		{"not allowed", rules, plain("192.0.2.8", "admin", "secret"), "400", ""},
		{"denied inside an allowed prefix", rules, plain("10.9.3.4", "admin", "secret"), "400", ""},
		{"denied by a mapped rule", rules, plain("10.1.2.3", "admin", "secret"), "400", ""},
		{"ipc with allow rules", rules, plain("", "admin", "secret"), "400", ""},
		{"wrong password", rules, plain("10.1.1.1", "admin", "guess"), "400", ""},
		{"unknown user", rules, plain("10.1.1.1", "eve", "secret"), "400", ""},
		{"replaced password", rules, plain("10.1.1.1", "bob", "new"), "200", "bob"},
		{"old password", rules, plain("10.1.1.1", "bob", "old"), "400", ""},
		{"removed user", rules, plain("10.1.1.1", "gone", "x"), "400", ""},
		{"allowed key", rules, curveReq("10.1.1.1", alice), "200", alice.String()},
		{"removed key", rules, curveReq("10.1.1.1", mallory), "400", ""},
		{"CURVE without a key", rules, &zmtp.AuthRequest{Mechanism: "CURVE", Address: "10.1.1.1"}, "400", ""},
		{"unknown mechanism", rules, &zmtp.AuthRequest{Mechanism: "GSSAPI", Address: "10.1.1.1"}, "400", ""},
		{"deny only: denied", denyOnly, null("127.0.0.1"), "400", ""},
		{"deny only: other address", denyOnly, null("127.0.0.2"), "200", ""},
		{"deny only: ipc", denyOnly, null(""), "200", ""},
		{"any CURVE key", anyCurve, curveReq("127.0.0.1", mallory), "200", mallory.String()},
		{"any CURVE: PLAIN still refused", anyCurve, plain("127.0.0.1", "u", "p"), "400", ""},
	} {
		res, err := c.a.Authenticate(context.Background(), c.r)
		if err != nil || res.Status != c.status || res.UserID != c.user {
			t.Errorf("%s: %+v, %v; want status %s, User-Id %q", c.name, res, err, c.status, c.user)
		}
		if res.Status != "200" && res.StatusText == "" {
			t.Errorf("%s: a refusal without a reason", c.name)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "300.1.1.1", "host.example", ""} {
		if err := NewAuth().Allow(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Allow(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestAuthLoadCurveCertificates reads a directory of certificates as
// pyzmq's zmq.auth.create_certificates and dripdrop keygen -o write them.
func TestAuthLoadCurveCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var keys []curve.Key
	for _, name := range []string{"alice", "bob"} {
		c, err := curve.NewCertificate()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Save(filepath.Join(dir, name+".key")); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, c.Public)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := NewAuth()
	n, err := a.LoadCurveCertificates(dir)
	if err != nil || n != 2 {
		t.Fatalf("LoadCurveCertificates = %d, %v; want 2", n, err)
	}
	for _, k := range keys {
		res, _ := a.Authenticate(context.Background(), &zmtp.AuthRequest{Mechanism: "CURVE", ClientKey: k[:]})
		if res.Status != "200" {
			t.Errorf("key %s from the directory: %+v", k, res)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.key"), []byte("curve\n    public-key = \"short\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAuth().LoadCurveCertificates(dir); err == nil ||
		!strings.Contains(err.Error(), "broken.key") || !strings.Contains(err.Error(), "public-key") {
		t.Errorf("a broken certificate: %v; want an error naming broken.key and its public-key", err)
	}
	if _, err := NewAuth().LoadCurveCertificates(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing directory: %v; want fs.ErrNotExist", err)
	}
}
