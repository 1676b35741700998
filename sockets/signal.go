package sockets

import "sync"

// signal is a broadcast wake-up: waiters take C() before checking their
// condition, and Notify wakes everyone who took it. Notify costs a lock and
// nothing more when no one waits.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// C returns a channel closed by the next Notify.
func (s *signal) C() <-chan struct{} {
	s.mu.Lock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	c := s.ch
	s.mu.Unlock()
	return c
}

// Notify wakes every waiter.
func (s *signal) Notify() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
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
