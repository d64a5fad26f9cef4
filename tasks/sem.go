package tasks

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vkio/vkio/io"
)

// Semaphore is a weighted semaphore: a limit on a resource, such as GPU
// batches in flight, bytes of staging memory or concurrent writes. Acquire
// waits, first come first served, until the weight fits; the wait is an Io
// cancel point. It works on every Io implementation: waiters park on an
// io.Promise, so an Evented Io parks them without holding OS threads.
//
// Under a Blocking Io there is one thread of control: an Acquire that has to
// wait can only be satisfied by another task, so code must release before it
// acquires again (the scheduler and the pipeline do).
type Semaphore struct {
	name string
	cap  int64
	id   uint64 // acquisition order, to avoid lock-order deadlocks

	mu      sync.Mutex
	used    int64
	peak    int64
	waiters []*semWaiter
}

var semIDs atomic.Uint64

type semWaiter struct {
	n int64
	p *io.Promise[struct{}]
}

// NewSemaphore returns a semaphore named name (for errors and reports) with
// capacity n > 0.
func NewSemaphore(name string, n int64) *Semaphore {
	if n <= 0 {
		panic(fmt.Sprintf("tasks: NewSemaphore(%q, %d): capacity must be positive", name, n))
	}
	return &Semaphore{name: name, cap: n, id: semIDs.Add(1)}
}

// Name returns the semaphore's name.
func (s *Semaphore) Name() string { return s.name }

// Cap returns the capacity.
func (s *Semaphore) Cap() int64 { return s.cap }

// InUse returns the weight currently held.
func (s *Semaphore) InUse() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// Peak returns the largest weight ever held at once: never more than Cap.
func (s *Semaphore) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Acquire takes n of the capacity, waiting until it is available. It returns
// an *Error wrapping ErrLimit if n exceeds the capacity, and one wrapping
// io.ErrCanceled if the calling task is canceled before the weight is granted
// (nothing is then held). A nil semaphore grants everything.
func (s *Semaphore) Acquire(x io.Io, n int64) error {
	if s == nil || n == 0 {
		return nil
	}
	if n < 0 || n > s.cap {
		return &Error{Op: "acquire", Task: s.name, Frame: -1, Err: fmt.Errorf("%w: %d of %d", ErrLimit, n, s.cap)}
	}
	if err := x.CheckCancel(); err != nil {
		return &Error{Op: "acquire", Task: s.name, Frame: -1, Err: err}
	}
	s.mu.Lock()
	if len(s.waiters) == 0 && s.used+n <= s.cap {
		s.take(n)
		s.mu.Unlock()
		return nil
	}
	w := &semWaiter{n: n, p: io.NewPromise[struct{}]()}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	w.p.OnCancel(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, o := range s.waiters {
			if o == w {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				w.p.Resolve(struct{}{}, io.ErrCanceled)
				// A large waiter leaving may let smaller ones behind it in.
				s.grant()
				return
			}
		}
	})
	if _, err := w.p.Future().Await(x); err != nil {
		return &Error{Op: "acquire", Task: s.name, Frame: -1, Err: err}
	}
	return nil
}

// TryAcquire takes n of the capacity if it is available now, without waiting.
func (s *Semaphore) TryAcquire(n int64) bool {
	if s == nil || n == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 || len(s.waiters) > 0 || s.used+n > s.cap {
		return false
	}
	s.take(n)
	return true
}

// Release gives back n, waking waiters in order. Releasing more than is held
// panics: it is a bug in the caller.
func (s *Semaphore) Release(n int64) {
	if s == nil || n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 || n > s.used {
		panic(fmt.Sprintf("tasks: semaphore %q: release of %d with %d held", s.name, n, s.used))
	}
	s.used -= n
	s.grant()
}

func (s *Semaphore) take(n int64) {
	s.used += n
	s.peak = max(s.peak, s.used)
}

// grant wakes waiters from the front while they fit. s.mu is held.
func (s *Semaphore) grant() {
	for len(s.waiters) > 0 {
		w := s.waiters[0]
		if s.used+w.n > s.cap {
			return
		}
		s.waiters = s.waiters[1:]
		s.take(w.n)
		w.p.Resolve(struct{}{}, nil)
	}
}
