package io

import (
	"sync"
	"time"
)

// Io-aware synchronization: Mutex, Condition, Event, Semaphore and RwLock.
//
// They are the standard library's locks with waits that are cancel points:
// a task parked on one returns t.err() (an error matching ErrCanceled and
// context.Canceled) as soon as it is canceled, holding nothing it was waiting
// for. They need no operation of the Io's implementation, so they behave the
// same under Blocking, Threaded, Evented and Failing. A parked task blocks its
// goroutine on a channel of its own (one pooled waiter, never a goroutine per
// waiter), and a cancellation wakes it through the task's done channel,
// closed by the task's cancel callbacks: no polling. Because every wait ends
// with the task's cancel error, a task given a deadline (or canceled with a
// cause) gets that error from a lock wait too.

// waiter is one task parked on a synchronization primitive. All fields but
// ch are guarded by the primitive's internal lock.
type waiter struct {
	next, prev *waiter
	ch         chan struct{} // capacity 1: a wake-up is one token, sent with the primitive's lock held
	n          int64         // Semaphore: the weight asked for
	start      time.Time     // Mutex: when the waiter first parked
	queued     bool          // on a waitList
	granted    bool          // woken as the owner (Mutex handoff, Semaphore, RwLock), or by Condition.Signal
	handoff    bool          // Mutex: wants the lock handed over rather than to compete for it
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan struct{}, 1)} }}

func getWaiter() *waiter { return waiterPool.Get().(*waiter) }

// putWaiter recycles w, whose channel must be empty.
func putWaiter(w *waiter) {
	*w = waiter{ch: w.ch}
	waiterPool.Put(w)
}

// wake sends w its token; the caller holds the primitive's lock and has
// removed w from its list.
func (w *waiter) wake(granted bool) {
	w.granted = granted
	w.ch <- struct{}{}
}

// park waits until w is woken (true) or t is canceled (false). After false
// the caller takes the primitive's lock and looks at w.queued: a waiter that
// is no longer queued was woken meanwhile, and its token is already in w.ch.
func park(t *task, w *waiter) bool {
	if t == nil { // the root task is never canceled
		<-w.ch
		return true
	}
	select {
	case <-w.ch:
		return true
	case <-t.doneCh():
		return false
	}
}

// waitList is an intrusive FIFO of waiters; the zero value is empty.
type waitList struct {
	head, tail *waiter
	n          int
}

func (l *waitList) empty() bool { return l.head == nil }

func (l *waitList) pushBack(w *waiter) {
	w.queued, w.next, w.prev = true, nil, l.tail
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
}

func (l *waitList) pushFront(w *waiter) {
	w.queued, w.prev, w.next = true, nil, l.head
	if l.head != nil {
		l.head.prev = w
	} else {
		l.tail = w
	}
	l.head = w
	l.n++
}

func (l *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.next, w.prev, w.queued = nil, nil, false
	l.n--
}

// popFront removes and returns the first waiter, or nil.
func (l *waitList) popFront() *waiter {
	w := l.head
	if w != nil {
		l.remove(w)
	}
	return w
}
