package io

import (
	"fmt"
	"sync"
)

// Semaphore is a weighted semaphore: a limit on a resource such as GPU
// batches in flight, bytes of staging memory or concurrent writes, like
// golang.org/x/sync/semaphore.Weighted with Io cancel points. Get one from
// NewSemaphore (the zero value has capacity 0: every Acquire of a positive
// weight fails); a Semaphore must not be copied after first use.
//
// All methods may be called from any goroutine. Acquire is a cancel point;
// TryAcquire and Release never wait. Waiters are served first come, first
// served: a waiter whose weight does not fit yet holds up those behind it,
// even smaller ones that would fit, so a large request is never starved by a
// stream of small ones.
//
// Under Blocking there is one thread of control: an Acquire that has to wait
// can only be satisfied by another goroutine, so code that holds weight must
// release it before it acquires again.
type Semaphore struct {
	size int64
	mu   sync.Mutex
	cur  int64
	peak int64
	q    waitList
}

// NewSemaphore returns a semaphore with capacity n (a negative n means 0).
func NewSemaphore(n int64) *Semaphore {
	return &Semaphore{size: max(n, 0)}
}

// Cap returns the capacity.
func (s *Semaphore) Cap() int64 { return s.size }

// InUse returns the weight currently held.
func (s *Semaphore) InUse() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Peak returns the largest weight held at once since the semaphore was made:
// never more than Cap.
func (s *Semaphore) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Acquire takes n of the capacity, waiting until it is available. It is a
// cancel point: if the calling task is canceled before the weight is granted,
// Acquire returns the task's cancel error (matching ErrCanceled) and holds
// nothing; weight granted as the cancellation arrived is given back, and
// waiters behind that now fit are served. A weight that exceeds the capacity
// (or is negative) can never be granted: Acquire returns an error wrapping
// ErrInvalid at once. Acquiring 0 returns nil at once, even behind waiters.
// For a wait that ignores cancellation, pass x.WithoutCancel().
func (s *Semaphore) Acquire(x Io, n int64) error {
	t := x.t
	if t.isCanceled() {
		return t.err()
	}
	if n < 0 || n > s.size {
		return opErr("semaphore acquire", "", fmt.Errorf("%w: weight %d with a capacity of %d", ErrInvalid, n, s.size))
	}
	if n == 0 {
		return nil
	}
	s.mu.Lock()
	if s.q.empty() && s.cur+n <= s.size {
		s.take(n)
		s.mu.Unlock()
		return nil
	}
	w := getWaiter()
	w.n = n
	s.q.pushBack(w)
	s.mu.Unlock()
	if park(t, w) {
		putWaiter(w)
		return nil
	}
	s.mu.Lock()
	if w.queued {
		front := s.q.head == w
		s.q.remove(w)
		if front {
			s.grantLocked() // a large waiter leaving may let smaller ones behind it in
		}
	} else {
		<-w.ch // granted after the cancellation: give it back
		s.cur -= n
		s.grantLocked()
	}
	s.mu.Unlock()
	putWaiter(w)
	return t.err()
}

// TryAcquire takes n of the capacity if it is available now and no task is
// waiting, without waiting itself, and reports whether it did.
func (s *Semaphore) TryAcquire(n int64) bool {
	if n < 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.q.empty() || s.cur+n > s.size {
		return false
	}
	s.take(n)
	return true
}

// Release gives back n of the capacity and grants waiters, in order, the
// weights that now fit. Releasing more than is held panics: it is a bug in
// the caller, as with x/sync/semaphore.
func (s *Semaphore) Release(n int64) {
	s.mu.Lock()
	if n < 0 || n > s.cur {
		cur := s.cur
		s.mu.Unlock()
		panic(fmt.Sprintf("io: Semaphore.Release of %d with %d held", n, cur))
	}
	s.cur -= n
	s.grantLocked()
	s.mu.Unlock()
}

func (s *Semaphore) take(n int64) {
	s.cur += n
	s.peak = max(s.peak, s.cur)
}

// grantLocked grants waiters from the front while their weights fit.
func (s *Semaphore) grantLocked() {
	for w := s.q.head; w != nil && s.cur+w.n <= s.size; w = s.q.head {
		s.q.remove(w)
		s.take(w.n)
		w.wake(true)
	}
}
