package sockets

import (
	"errors"
	"testing"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// fuzzFrames cuts data into frames, each a length octet and that many
// octets (the last one takes what is left).
func fuzzFrames(data []byte) [][]byte {
	var frames [][]byte
	for len(data) > 0 && len(frames) < 16 {
		n := min(int(data[0]), len(data)-1)
		frames = append(frames, data[1:1+n])
		data = data[1+n:]
	}
	return frames
}

// fuzzEncode is fuzzFrames' inverse, for the seeds.
func fuzzEncode(frames ...string) []byte {
	var b []byte
	for _, f := range frames {
		b = append(append(b, byte(len(f))), f...)
	}
	return b
}

// FuzzZAP feeds arbitrary frames to both ZAP decoders: the server's reading
// of a handler's reply and the handler's reading of a request. Neither may
// panic; every error says which rule broke; what they accept is a reply or
// request RFC 27 allows.
func FuzzZAP(f *testing.F) {
	meta := string(zmtp.AppendMetadata(nil, zmtp.Metadata{{Name: "X-Role", Value: []byte("admin")}}))
	key := string(make([]byte, 32))
	for _, seed := range [][]string{
		{"", "1.0", "1", "200", "OK", "alice", meta},
		{"", "1.0", "1", "400", "no", "", ""},
		{"", "1.1", "1", "200", "OK", "", ""},
		{"", "1.0", "2", "999", "", "", "\x05X-Bad\x00\x00\x01\x00"},
		{"1.0", "7", "domain", "127.0.0.1", "", "NULL"},
		{"1.0", "7", "domain", "127.0.0.1", "id", "PLAIN", "admin", "secret"},
		{"1.0", "7", "", "::1", "", "CURVE", key},
		{"1.0", "7", "", "::1", "", "CURVE", "short"},
		{"1.0", "7", "", "", "", "GSSAPI", "token"},
	} {
		f.Add(fuzzEncode(seed...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames := fuzzFrames(data)
		res, err := parseZAPReply(frames, []byte("1"))
		switch {
		case err != nil:
			if !errors.Is(err, ErrZAP) || res.Status != zmtp.StatusTemporary {
				t.Fatalf("reply %q: %+v, %v; want status 300 and an error wrapping ErrZAP", frames, res, err)
			}
		case len(frames) != 7 || string(frames[1]) != "1.0" || string(frames[2]) != "1":
			t.Fatalf("reply %q accepted", frames)
		case res.Status != "200" && (res.UserID != "" || res.Metadata != nil):
			t.Fatalf("reply %q: a refusal with a user id or metadata: %+v", frames, res)
		}
		r, err := parseZAPRequest(frames)
		switch {
		case err != nil:
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("request %q: %v does not wrap ErrInvalid", frames, err)
			}
		case len(frames) < 6 || string(frames[0]) != "1.0":
			t.Fatalf("request %q accepted", frames)
		case r.Mechanism == "CURVE" && len(r.ClientKey) != 32:
			t.Fatalf("request %q: CURVE key of %d octets", frames, len(r.ClientKey))
		case r.Mechanism == "PLAIN" && len(frames) != 8, r.Mechanism == "NULL" && len(frames) != 6:
			t.Fatalf("request %q: wrong credential count accepted", frames)
		}
	})
}
