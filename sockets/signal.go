package sockets

import (
	"slices"
	"sync"
	"sync/atomic"
)

// signal wakes the goroutines waiting for a condition that others change.
// A waiter registers (wait) before it checks the condition, then either
// finds it true or waits on the waiter's channel; either way it calls done.
// Notify wakes everyone registered. With nobody registered, Notify is one
// atomic load: a reader or writer that notifies per batch pays nothing
// while its peer is busy. Waiters are recycled by the signal itself, so
// waiting does not allocate in the steady state. (They are not shared
// between signals, nor in a global pool: a channel made inside a synctest
// bubble must stay with the sockets of that bubble.)
type signal struct {
	n       atomic.Int32 // len(waiters), read by Notify without the lock
	mu      sync.Mutex
	waiters []*waiter
	free    []*waiter
}

// waiter is one registration with a signal.
type waiter struct{ c chan struct{} }

// wait registers a waiter. Its channel receives once Notify runs.
func (s *signal) wait() *waiter {
	s.mu.Lock()
	var w *waiter
	if n := len(s.free); n > 0 {
		w = s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
	} else {
		w = &waiter{c: make(chan struct{}, 1)}
	}
	s.waiters = append(s.waiters, w)
	s.n.Store(int32(len(s.waiters)))
	s.mu.Unlock()
	return w
}

// done ends a registration; w must not be used afterwards.
func (s *signal) done(w *waiter) {
	s.mu.Lock()
	if i := slices.Index(s.waiters, w); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
		s.n.Store(int32(len(s.waiters)))
	}
	select {
	case <-w.c:
	default:
	}
	if len(s.free) < 64 {
		s.free = append(s.free, w)
	}
	s.mu.Unlock()
}

// Notify wakes every registered waiter.
func (s *signal) Notify() {
	if s.n.Load() == 0 {
		return
	}
	s.mu.Lock()
	for i, w := range s.waiters {
		select {
		case w.c <- struct{}{}:
		default:
		}
		s.waiters[i] = nil
	}
	s.waiters = s.waiters[:0]
	s.n.Store(0)
	s.mu.Unlock()
}

// kick is a one-slot wake-up for a single goroutine.
type kick chan struct{}

func newKick() kick { return make(kick, 1) }

func (k kick) poke() {
	select {
	case k <- struct{}{}:
	default:
	}
}
