package sockets

import (
	"bytes"
	"testing"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// TestSubscriptionWireForms: our SUB sends a ZMTP 3.0 publisher
// 0x01/0x00-prefixed messages and a 3.1 one SUBSCRIBE and CANCEL commands;
// our XPUB takes both forms and hands the application the same message
// for each (RFC 29, RFC 37).
func TestSubscriptionWireForms(t *testing.T) {
	for _, tr := range []string{TCP, IPC} {
		for _, minor := range []byte{0, 1} {
			name := tr + "/SUB to a 3." + string('0'+minor) + " PUB"
			t.Run(name, func(t *testing.T) {
				ln, ep := specRawListener(t, tr)
				sub := specNew(t, SUB)
				relSubscribe(t, sub, []byte("topic"))
				specConnect(t, sub, ep)
				r := specRawOn(t, specAcceptNet(t, ln))
				r.handshake(specGreeting(3, minor), zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("PUB")}})
				want := func(on bool) {
					t.Helper()
					flags, body, err := r.readFrame()
					if err != nil {
						t.Fatal(err)
					}
					if minor == 0 {
						prefix := byte(0)
						if on {
							prefix = 1
						}
						if flags != 0 || !bytes.Equal(body, append([]byte{prefix}, "topic"...)) {
							t.Fatalf("to a 3.0 peer: flags %#x body %q; want a %#x-prefixed message", flags, body, prefix)
						}
						return
					}
					cmd := zmtp.CmdCancel
					if on {
						cmd = zmtp.CmdSubscribe
					}
					gotName, data := specCommandName(body)
					if flags&zmtp.FlagCommand == 0 || gotName != cmd || string(data) != "topic" {
						t.Fatalf("to a 3.1 peer: flags %#x %s %q; want a %s command", flags, gotName, data, cmd)
					}
				}
				want(true)
				if err := sub.Unsubscribe([]byte("topic")); err != nil {
					t.Fatal(err)
				}
				want(false)
			})
		}
		t.Run(tr+"/XPUB takes both forms", func(t *testing.T) {
			xpub := specNew(t, XPUB)
			ep := specBind(t, xpub, tr)
			old := specRawDial(t, ep)
			old.handshake(specGreeting(3, 0), zmtp.Metadata{{Name: zmtp.PropSocketType, Value: []byte("SUB")}})
			old.write(specRawEncode("\x01old"))
			specRecvWant(t, xpub, "\x01old")
			cur := specRawDial(t, ep)
			cur.handshakeAs("SUB")
			cur.write(zmtp.AppendSubscribe(nil, []byte("new")))
			specRecvWant(t, xpub, "\x01new")
			old.write(specRawEncode("\x00old"))
			specRecvWant(t, xpub, "\x00old")
			cur.write(zmtp.AppendCancel(nil, []byte("new")))
			specRecvWant(t, xpub, "\x00new")
		})
	}
}
