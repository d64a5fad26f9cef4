package tasks

import (
	"fmt"
	"sync/atomic"

	"github.com/vkio/vkio/io"
)

// Semaphore is a weighted semaphore with a name: an io.Semaphore (first come,
// first served; Acquire is an Io cancel point; waiters park without holding
// OS threads) that the scheduler and the pipeline name in errors, reports and
// traces. It limits a resource, such as GPU batches in flight, bytes of
// staging memory or concurrent writes.
//
// Under a Blocking Io there is one thread of control: an Acquire that has to
// wait can only be satisfied by another task, so code must release before it
// acquires again (the scheduler and the pipeline do).
type Semaphore struct {
	name string
	id   uint64 // acquisition order, to avoid lock-order deadlocks
	s    *io.Semaphore
}

var semIDs atomic.Uint64

// NewSemaphore returns a semaphore named name (for errors and reports) with
// capacity n > 0.
func NewSemaphore(name string, n int64) *Semaphore {
	if n <= 0 {
		panic(fmt.Sprintf("tasks: NewSemaphore(%q, %d): capacity must be positive", name, n))
	}
	return &Semaphore{name: name, id: semIDs.Add(1), s: io.NewSemaphore(n)}
}

// Name returns the semaphore's name.
func (s *Semaphore) Name() string { return s.name }

// Cap returns the capacity.
func (s *Semaphore) Cap() int64 { return s.s.Cap() }

// InUse returns the weight currently held.
func (s *Semaphore) InUse() int64 { return s.s.InUse() }

// Peak returns the largest weight ever held at once: never more than Cap.
func (s *Semaphore) Peak() int64 { return s.s.Peak() }

// Io returns the io.Semaphore underneath, for code that works with the io
// package's primitives directly.
func (s *Semaphore) Io() *io.Semaphore { return s.s }

// Acquire takes n of the capacity, waiting until it is available. It returns
// an *Error wrapping ErrLimit if n exceeds the capacity, and one wrapping
// io.ErrCanceled if the calling task is canceled before the weight is granted
// (nothing is then held). A nil semaphore grants everything.
func (s *Semaphore) Acquire(x io.Io, n int64) error {
	if s == nil || n == 0 {
		return nil
	}
	if n < 0 || n > s.s.Cap() {
		return &Error{Op: "acquire", Task: s.name, Frame: -1, Err: fmt.Errorf("%w: %d of %d", ErrLimit, n, s.s.Cap())}
	}
	if err := s.s.Acquire(x, n); err != nil {
		return &Error{Op: "acquire", Task: s.name, Frame: -1, Err: err}
	}
	return nil
}

// TryAcquire takes n of the capacity if it is available now, without waiting.
func (s *Semaphore) TryAcquire(n int64) bool {
	if s == nil || n == 0 {
		return true
	}
	return s.s.TryAcquire(n)
}

// Release gives back n, waking waiters in order. Releasing more than is held
// panics: it is a bug in the caller.
func (s *Semaphore) Release(n int64) {
	if s == nil || n == 0 {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("tasks: semaphore %q: %v", s.name, r))
		}
	}()
	s.s.Release(n)
}
