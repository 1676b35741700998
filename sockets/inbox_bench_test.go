package sockets

import (
	"context"
	"testing"
)

// BenchmarkInbox is the inbox's own cost per message, without a network:
// a reader's batches of 256 one-frame messages in, Recv's pops out, on one
// pipe and on four (fair-queued in turn).
func BenchmarkInbox(b *testing.B) {
	for _, pipes := range []int{1, 4} {
		b.Run(map[int]string{1: "1pipe", 4: "4pipes"}[pipes], func(b *testing.B) {
			s := relNew(b, PULL, WithRecvHWM(0))
			ps := make([]*pipe, pipes)
			for i := range ps {
				ps[i] = newPipe(s, "tcp://bench", true)
			}
			frame := [][]byte{make([]byte, 16)}
			batch := make([][][]byte, 256)
			for i := range batch {
				batch[i] = frame
			}
			ctx := context.Background()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if n == 0 {
					for _, p := range ps {
						s.in.push(ctx, p, batch)
					}
					n = len(batch) * pipes
				}
				if _, ok := s.in.tryPop(); !ok {
					b.Fatal("inbox empty")
				}
				n--
			}
		})
	}
}
