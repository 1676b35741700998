package sockets

import (
	"bytes"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// releasePattern is the body of message i of n octets: its own octet, and
// a different last one, so that a leftover of an earlier message or a
// short read shows.
func releasePattern(i, n int) []byte {
	b := bytes.Repeat([]byte{byte(i%251 + 1)}, n)
	if n > 0 {
		b[n-1] ^= 0xff
	}
	return b
}

// TestReleasedStreamIsExact sends multipart messages of sizes around the
// recycling classes and the reader's chunk over tcp, ipc and CURVE; the
// receiver checks every frame exactly, then releases the message, so that
// later ones are read into recycled bodies. Nothing may differ: a recycled
// body carries exactly its new frame.
func TestReleasedStreamIsExact(t *testing.T) {
	sizes := []int{0, 16, 600, 4 << 10, 4<<10 + 1, 20 << 10, 64 << 10, 64<<10 + 1, 300 << 10}
	const rounds = 12
	serverKeys, _ := curve.NewKeyPair()
	clientKeys, _ := curve.NewKeyPair()
	for _, tc := range []struct {
		name           string
		transport      string
		pullOpts, push []Option
	}{
		{"tcp", TCP, nil, nil},
		{"ipc", IPC, nil, nil},
		{"curve", TCP, []Option{WithCurveServer(serverKeys.Secret)}, []Option{WithCurveClient(clientKeys, serverKeys.Public)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pull := relNew(t, PULL, append([]Option{WithRecvHWM(4)}, tc.pullOpts...)...)
			ep := relBind(t, pull, tc.transport)
			push := relNew(t, PUSH, tc.push...)
			relConnect(t, push, ep)
			sent := make(chan error, 1)
			go func() {
				for r := range rounds {
					for i, n := range sizes {
						k := r*len(sizes) + i
						m := NewMsg([]byte(fmt.Sprint(k)), releasePattern(k, n), releasePattern(k+1, n/2))
						if err := relSendT(push, 10*time.Second, m); err != nil {
							sent <- fmt.Errorf("send %d: %w", k, err)
							return
						}
					}
				}
				sent <- nil
			}()
			for r := range rounds {
				for i, n := range sizes {
					k := r*len(sizes) + i
					m, err := relRecvT(pull, 10*time.Second)
					if err != nil {
						t.Fatalf("recv %d: %v", k, err)
					}
					if len(m.Frames) != 3 || string(m.Frames[0]) != fmt.Sprint(k) ||
						!bytes.Equal(m.Frames[1], releasePattern(k, n)) || !bytes.Equal(m.Frames[2], releasePattern(k+1, n/2)) {
						t.Fatalf("message %d (%d octets) differs from what was sent", k, n)
					}
					m.Release()
					if m.Frames != nil {
						t.Fatal("Release left Frames set")
					}
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReleaseLeavesOthersFramesAlone: releasing a message whose frames are
// not the socket's — received over inproc (they are the sender's), or
// built by the caller — only clears Frames. If those frames were recycled,
// the next messages read from tcp would be written into the sender's
// buffer, which a sender may keep and send again.
func TestReleaseLeavesOthersFramesAlone(t *testing.T) {
	const size = 8 << 10 // a class's capacity: make gives exactly that
	mine := releasePattern(1, size)
	if cap(mine) != size {
		t.Fatalf("test buffer of capacity %d, want %d", cap(mine), size)
	}
	want := bytes.Clone(mine)

	pull := relNew(t, PULL)
	push := relNew(t, PUSH)
	relConnect(t, push, relBind(t, pull, Inproc))
	for range 50 {
		if err := relSendT(push, 5*time.Second, NewMsg(mine)); err != nil {
			t.Fatal(err)
		}
		m, err := relRecvT(pull, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Frames) != 1 || &m.Frames[0][0] != &mine[0] {
			t.Fatal("inproc delivered a copy: this test needs the sender's own frame")
		}
		m.Release()
		built := NewMsg(mine)
		built.Release()
		if built.Frames != nil {
			t.Fatal("Release left Frames set")
		}
	}

	// Now a tcp stream of messages of the same size, released too: had
	// mine been recycled, some would be read into it.
	tpull := relNew(t, PULL)
	tpush := relNew(t, PUSH)
	relConnect(t, tpush, relBind(t, tpull, TCP))
	for i := range 200 {
		if err := relSendT(tpush, 5*time.Second, NewMsg(releasePattern(i+2, size))); err != nil {
			t.Fatal(err)
		}
		m, err := relRecvT(tpull, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if &m.Frames[0][0] == &mine[0] {
			t.Fatalf("tcp message %d was read into the inproc sender's buffer", i)
		}
		m.Release()
	}
	if !bytes.Equal(mine, want) {
		t.Fatal("the sender's buffer was overwritten")
	}
}

// TestMsgStaysSmall: Msg is returned by every Recv; with a fifth word the
// compiler no longer keeps it in registers, which cost 20 % of the 16-octet
// PUSH/PULL throughput when Release's flag was a field of Msg.
func TestMsgStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(Msg{}); n > 4*unsafe.Sizeof(uintptr(0)) {
		t.Fatalf("Msg is %d octets, more than four words", n)
	}
}

// TestReleaseKeepsHeldSmallFrames: small frames share slabs, which are
// reused once every message in them is released. The receiver releases
// most messages as soon as it has checked them, while the reader goes on
// reading into the same slabs, but holds every ninth message and a run of
// several slabs' worth: over tcp and ipc, and on a ROUTER (whose frame
// lists have a slot for the identity in front), none of the held frames
// may change before they are released at the end. Their frame lists are
// cut from recycled chunks too (framechunk.go), so a chunk reused too soon
// shows as well.
func TestReleaseKeepsHeldSmallFrames(t *testing.T) {
	const count = 20_000
	frames := func(k int) [][]byte {
		if k%4 == 0 {
			return [][]byte{releasePattern(k, k%40), releasePattern(k+1, 1+k%500)}
		}
		return [][]byte{releasePattern(k, 1+k%512)}
	}
	for _, tc := range []struct {
		name       string
		transport  string
		recv, send Type
	}{{"tcp", TCP, PULL, PUSH}, {"ipc", IPC, PULL, PUSH}, {"router", TCP, ROUTER, DEALER}} {
		t.Run(tc.name, func(t *testing.T) {
			pull := relNew(t, tc.recv)
			push := relNew(t, tc.send)
			relConnect(t, push, relBind(t, pull, tc.transport))
			skip := 0 // frames before the payload: ROUTER's identity
			if tc.recv == ROUTER {
				skip = 1
			}
			sent := relSendAll(push, count, frames)
			held := map[int]Msg{}
			for k := range count {
				m, err := relRecvT(pull, 10*time.Second)
				if err != nil {
					t.Fatalf("recv %d: %v", k, err)
				}
				want := frames(k)
				if len(m.Frames) != skip+len(want) {
					t.Fatalf("message %d: %d frames, want %d", k, len(m.Frames), skip+len(want))
				}
				for j := range want {
					if !bytes.Equal(m.Frames[skip+j], want[j]) {
						t.Fatalf("message %d, frame %d, differs from what was sent", k, j)
					}
				}
				if k%9 == 0 || (k >= 5000 && k < 5600) {
					held[k] = m
				} else {
					m.Release()
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			for k, m := range held {
				want := frames(k)
				for j := range want {
					if !bytes.Equal(m.Frames[skip+j], want[j]) {
						t.Fatalf("held message %d, frame %d, was overwritten before its release", k, j)
					}
				}
				m.Release()
			}
		})
	}
}
