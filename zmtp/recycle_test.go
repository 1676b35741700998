package zmtp

import (
	"bytes"
	"fmt"
	"testing"
)

// TestBodyClasses checks the size classes: each size in the pooled range
// maps to the smallest class that holds it, at most 25 % larger.
func TestBodyClasses(t *testing.T) {
	if classSizes[0] != RecycleMin || classSizes[numClasses-1] != recycleMax {
		t.Fatalf("classes span %d..%d, want %d..%d", classSizes[0], classSizes[numClasses-1], RecycleMin, recycleMax)
	}
	for i := 1; i < numClasses; i++ {
		if classSizes[i] <= classSizes[i-1] {
			t.Fatalf("class %d (%d) not above class %d (%d)", i, classSizes[i], i-1, classSizes[i-1])
		}
	}
	check := func(n int) {
		i := classOf(n)
		if i < 0 || i >= numClasses {
			t.Fatalf("classOf(%d) = %d, out of range", n, i)
		}
		if classSizes[i] < n {
			t.Fatalf("classOf(%d): class %d holds %d, too small", n, i, classSizes[i])
		}
		if i > 0 && classSizes[i-1] >= n {
			t.Fatalf("classOf(%d) = %d, but class %d (%d) holds it", n, i, i-1, classSizes[i-1])
		}
		if 4*classSizes[i] > 5*n {
			t.Fatalf("classOf(%d): class of %d, more than 25 %% over", n, classSizes[i])
		}
	}
	for _, c := range classSizes {
		for _, n := range []int{c - 1, c, c + 1} {
			if n >= RecycleMin && n <= recycleMax {
				check(n)
			}
		}
	}
	for n := RecycleMin; n <= 1<<20; n += 97 {
		check(n)
	}
}

// TestRecycleKeepsOnlyClassBodies: Recycle keeps a body whose capacity is
// a class's and lets every other one go.
func TestRecycleKeepsOnlyClassBodies(t *testing.T) {
	for _, tc := range []struct {
		len, cap int
		kept     bool
	}{
		{4096, 4096, true},
		{100, 5120, true}, // a class body, whatever its length
		{65536, 65536, true},
		{recycleMax, recycleMax, true},
		{4095, 4095, false},        // below RecycleMin
		{5000, 5000, false},        // not a class's capacity
		{65537, 65537, false},      // idem
		{1, 2 * recycleMax, false}, // above recycleMax
	} {
		if got := keepBody(make([]byte, tc.len, tc.cap)); got != tc.kept {
			t.Errorf("keepBody(len %d, cap %d) = %v, want %v", tc.len, tc.cap, got, tc.kept)
		}
	}
	if keepBody(nil) {
		t.Error("keepBody(nil) kept it")
	}
}

// TestRecycledReadsAreExact reads messages of many sizes, each filled with
// its own pattern, recycling every frame after checking it: a recycled
// body must carry exactly the new frame, never a leftover of the old one.
func TestRecycledReadsAreExact(t *testing.T) {
	sizes := []int{4 << 10, 4<<10 + 1, 5000, 16 << 10, 16<<10 + 1, 64 << 10, 64<<10 + 1, 100 << 10, 300 << 10, 1 << 20}
	var stream []byte
	var want [][]byte
	for round := range 3 {
		for i, n := range sizes {
			body := bytes.Repeat([]byte{byte(round*len(sizes) + i + 1)}, n)
			body[n-1] ^= 0xff // a different last octet: a short read shows
			stream = AppendFrameHeader(stream, 0, n)
			stream = append(stream, body...)
			want = append(want, body)
		}
	}
	c := readyConn(&discardConn{replay: stream}, Pull)
	var msg [][]byte
	for k, w := range want {
		var err error
		if msg, err = c.ReadMsg(msg[:0]); err != nil {
			t.Fatal(err)
		}
		if len(msg) != 1 || !bytes.Equal(msg[0], w) {
			t.Fatalf("message %d (%d octets): got a different body", k, len(w))
		}
		if cap(msg[0]) != classSizes[classOf(len(w))] && k >= len(sizes) {
			t.Fatalf("message %d (%d octets): capacity %d, want its class's %d", k, len(w), cap(msg[0]), classSizes[classOf(len(w))])
		}
		Recycle(msg...)
	}
}

// BenchmarkReadMsgRecycled is BenchmarkReadMsg for large frames whose
// bodies the reader recycles, as a receiver calling Recycle does.
func BenchmarkReadMsgRecycled(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 256 << 10} {
		b.Run(fmt.Sprint(size), func(b *testing.B) { benchReadMsg(b, size, true) })
	}
}
