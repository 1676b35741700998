//go:build !race

package curve

import (
	"bytes"
	"testing"
)

// The MESSAGE path seals into and opens from reused buffers: no
// allocation per message once the buffers have grown.
func TestMessagePathAllocs(t *testing.T) {
	for _, size := range []int{16, 64 << 10} {
		cli, srv := cipherPair()
		payload := bytes.Repeat([]byte{1}, size)
		dst, _ := cli.Seal(nil, 0, payload)
		if _, _, err := srv.Open(dst); err != nil {
			t.Fatal(err)
		}
		var err error
		allocs := testing.AllocsPerRun(200, func() {
			dst, err = cli.Seal(dst[:0], 0, payload)
			if err == nil {
				_, _, err = srv.Open(dst)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("%d-octet messages: %v allocations per Seal+Open, want 0", size, allocs)
		}
	}
}
