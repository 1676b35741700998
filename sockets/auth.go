package sockets

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dripdrop-go/dripdrop/zmtp"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// Auth is a ready-made authenticator (a zmtp.Authenticator for WithZAP or
// ServeZAP), after the one pyzmq and czmq ship: client addresses are
// allowed or denied by IP address or CIDR prefix, PLAIN clients are
// checked against a password table, CURVE clients against a set of
// allowed public keys (or let in whatever their key). The zero value
// refuses PLAIN and CURVE clients and lets NULL ones in; make it with
// NewAuth or use it as it is. Every method is safe for concurrent use,
// and changes apply to the next client.
//
// The verdict, in order: an address in a Deny prefix is refused (400);
// with Allow prefixes, so is an address in none of them (an ipc client
// has no IP address: Allow rules refuse it, Deny rules do not); then NULL
// clients are let in, PLAIN clients whose password matches (User-Id: the
// username), CURVE clients whose key is allowed (User-Id: the key in
// Z85). Anything else is refused with 400. The ZAP domain is not looked
// at: wrap several Auths in a zmtp.AuthenticatorFunc to have rules per
// domain.
type Auth struct {
	mu        sync.RWMutex
	allow     []netip.Prefix
	deny      []netip.Prefix
	users     map[string]string
	curveKeys map[curve.Key]bool
	anyCurve  bool
}

// NewAuth returns an Auth with no rules.
func NewAuth() *Auth { return &Auth{} }

// Allow adds addresses ("192.0.2.7", "::1") or CIDR prefixes
// ("10.0.0.0/8") that clients must come from. Nothing is added if one of
// them does not parse.
func (a *Auth) Allow(addrs ...string) error {
	ps, err := parsePrefixes(addrs)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.allow = append(a.allow, ps...)
	a.mu.Unlock()
	return nil
}

// Deny adds addresses or CIDR prefixes whose clients are refused, whatever
// Allow says.
func (a *Auth) Deny(addrs ...string) error {
	ps, err := parsePrefixes(addrs)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.deny = append(a.deny, ps...)
	a.mu.Unlock()
	return nil
}

func parsePrefixes(addrs []string) ([]netip.Prefix, error) {
	ps := make([]netip.Prefix, 0, len(addrs))
	for _, s := range addrs {
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
			p = p.Masked()
		} else {
			var ip netip.Addr
			if ip, err = netip.ParseAddr(s); err == nil {
				ip = ip.Unmap()
				p = netip.PrefixFrom(ip, ip.BitLen())
			}
		}
		if err != nil {
			return nil, invalid("address rule %q: %v", s, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// SetPassword lets a PLAIN client in with this username and password (one
// password per username: a second call replaces it).
func (a *Auth) SetPassword(username, password string) {
	a.mu.Lock()
	if a.users == nil {
		a.users = make(map[string]string)
	}
	a.users[username] = password
	a.mu.Unlock()
}

// RemoveUser forgets a PLAIN username.
func (a *Auth) RemoveUser(username string) {
	a.mu.Lock()
	delete(a.users, username)
	a.mu.Unlock()
}

// AllowCurve lets in CURVE clients with these public keys.
func (a *Auth) AllowCurve(keys ...curve.Key) {
	a.mu.Lock()
	if a.curveKeys == nil {
		a.curveKeys = make(map[curve.Key]bool)
	}
	for _, k := range keys {
		a.curveKeys[k] = true
	}
	a.mu.Unlock()
}

// RemoveCurve stops letting in CURVE clients with these public keys.
func (a *Auth) RemoveCurve(keys ...curve.Key) {
	a.mu.Lock()
	for _, k := range keys {
		delete(a.curveKeys, k)
	}
	a.mu.Unlock()
}

// AllowAnyCurve lets in every CURVE client that passes the address rules,
// whatever its key (pyzmq's CURVE_ALLOW_ANY): encryption without client
// authentication. Off by default.
func (a *Auth) AllowAnyCurve(on bool) {
	a.mu.Lock()
	a.anyCurve = on
	a.mu.Unlock()
}

// LoadCurveCertificates allows the public key of every certificate file
// named *.key in dir (the public certificates pyzmq's
// zmq.auth.create_certificates and dripdrop keygen -o NAME.key write; the
// *.key_secret files are not read). It fails, allowing nothing, if one of
// them does not parse; it returns how many keys it allowed.
func (a *Auth) LoadCurveCertificates(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var keys []curve.Key
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".key") {
			continue
		}
		c, err := curve.LoadCertificate(filepath.Join(dir, e.Name()))
		if err != nil {
			return 0, err
		}
		keys = append(keys, c.Public)
	}
	a.AllowCurve(keys...)
	return len(keys), nil
}

// Authenticate gives the verdict described on Auth.
func (a *Auth) Authenticate(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if why := a.addressRefused(r.Address); why != "" {
		return denied(why), nil
	}
	switch r.Mechanism {
	case "NULL":
		return zmtp.AuthResult{Status: zmtp.StatusOK, StatusText: "OK"}, nil
	case "PLAIN":
		want, ok := a.users[r.Username]
		if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(r.Password)) != 1 {
			return denied("wrong username or password"), nil
		}
		return zmtp.AuthResult{Status: zmtp.StatusOK, StatusText: "OK", UserID: r.Username}, nil
	case "CURVE":
		if len(r.ClientKey) != curve.KeySize {
			return denied("no CURVE key"), nil
		}
		k := curve.Key(r.ClientKey)
		if !a.anyCurve && !a.curveKeys[k] {
			return denied("CURVE key not allowed"), nil
		}
		return zmtp.AuthResult{Status: zmtp.StatusOK, StatusText: "OK", UserID: k.String()}, nil
	}
	return denied(fmt.Sprintf("mechanism %.16q not supported", r.Mechanism)), nil
}

// addressRefused says why a client address is refused, or "".
func (a *Auth) addressRefused(addr string) string {
	if len(a.allow) == 0 && len(a.deny) == 0 {
		return ""
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		if len(a.allow) > 0 {
			return "address not allowed"
		}
		return "" // no IP address (ipc) to deny
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range a.deny {
		if p.Contains(ip) {
			return "address denied"
		}
	}
	if len(a.allow) == 0 {
		return ""
	}
	for _, p := range a.allow {
		if p.Contains(ip) {
			return ""
		}
	}
	return "address not allowed"
}

func denied(why string) zmtp.AuthResult {
	return zmtp.AuthResult{Status: zmtp.StatusDenied, StatusText: why}
}
