package curve

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/dripdrop-go/dripdrop/zmtp"
)

// Messages of every size written through one batch and one flush, as the
// sockets' writer does, arrive intact: the sealed frame of a large body is
// written uncopied (gathered for writev), so sealing the next frame must
// not reuse its memory before the flush.
func TestEncryptedBatchOfLargeFrames(t *testing.T) {
	c, s := mustPair(t,
		zmtp.Config{SocketType: zmtp.Push, Mechanism: newTestClient(t, nil)},
		zmtp.Config{SocketType: zmtp.Pull, Mechanism: newTestServer(t, nil)})
	sizes := []int{16, zmtp.DirectWriteThreshold - 17, zmtp.DirectWriteThreshold, 64 << 10, 64 << 10, 100, 64 << 10, 1 << 20, 300 << 10, 8 << 10, 1}
	var msgs [][][]byte
	for round := range 3 {
		for i, n := range sizes {
			body := bytes.Repeat([]byte{byte('a' + (round*len(sizes)+i)%26)}, n)
			msgs = append(msgs, [][]byte{body, []byte(fmt.Sprint(round, "/", i))})
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		b := c.BeginBatch()
		defer func() {
			if err := b.End(); err != nil {
				t.Errorf("End: %v", err)
			}
		}()
		for i, m := range msgs {
			if err := b.WriteMsg(m); err != nil {
				t.Errorf("WriteMsg %d: %v", i, err)
				return
			}
		}
		if err := b.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
	})
	for i, want := range msgs {
		got, err := s.ReadMsg(nil)
		if err != nil {
			t.Errorf("message %d: %v", i, err)
			break
		}
		if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
			t.Errorf("message %d (%d octets) arrived altered", i, len(want[0]))
			break
		}
	}
	if t.Failed() {
		_ = s.Close() // the writer may be blocked on a peer that stopped reading
	}
	wg.Wait()
}
