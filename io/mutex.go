package io

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	mutexLocked  = 1 << iota // held
	mutexWoken               // a woken waiter is competing for the lock: Unlock wakes no other
	mutexWaiters             // the wait list is not empty
)

// mutexStarving is how long a waiter competes with newcomers before it asks
// for the lock to be handed to it, as sync.Mutex does.
const mutexStarving = time.Millisecond

// Mutex is a mutual exclusion lock whose Lock is a cancel point: a task
// waiting for it returns when it is canceled, without the lock. The zero
// value is an unlocked mutex; a Mutex must not be copied after first use.
//
// Lock, TryLock, LockUncancelable and Unlock may be called from any task or
// goroutine; the mutex is not tied to the task that locked it, so one task may
// lock it and another unlock it, as with sync.Mutex. An uncontended Lock is one
// compare-and-swap; a contended one parks the task (on its own pooled
// channel, not a goroutine) until Unlock wakes it.
//
// Fairness is that of sync.Mutex: Unlock wakes the longest waiter, which then
// competes with newcomers (a task that has just unlocked may take the lock
// again, which keeps throughput high); a waiter that has lost for more than
// 1ms is put first and handed the lock directly by the next Unlock, so no
// waiter starves. TryLock always competes.
//
// Under Blocking there is one thread of control: a Lock that finds the mutex
// held by that same thread of control can never be granted. It waits until
// the task is canceled (a context bridged with WithContext, or a deadline)
// and then returns the cancel error; a task that nothing can cancel (the root
// Io, or LockUncancelable) deadlocks, as a sync.Mutex locked twice does.
// Locks taken and released within one task, or held across Async calls that
// do not take them again, work under Blocking as everywhere else.
type Mutex struct {
	state atomic.Int32
	mu    sync.Mutex // guards q and the mutexWaiters bit
	q     waitList
}

// Lock locks m, waiting while another holder has it. It is a cancel point: if
// the calling task is canceled before or while it waits, Lock returns the
// task's cancel error (matching ErrCanceled) and does not hold the lock; a
// wake-up that raced with the cancellation is passed on to the next waiter,
// so none is lost. A nil error means the caller holds the lock.
func (m *Mutex) Lock(x Io) error {
	if x.t == nil && m.state.CompareAndSwap(0, mutexLocked) {
		return nil // the root task is never canceled: Lock inlines to this
	}
	return m.lock(x.t)
}

// lock is Lock's fast path for a task that can be canceled.
func (m *Mutex) lock(t *task) error {
	if t.isCanceled() {
		return t.err()
	}
	if m.state.CompareAndSwap(0, mutexLocked) {
		return nil
	}
	return m.lockSlow(t)
}

// LockUncancelable locks m, waiting as long as it takes: it is not a cancel
// point. Use it where the lock must be taken whatever happens, such as
// cleanup after a cancellation. x is the caller's Io.
func (m *Mutex) LockUncancelable(x Io) {
	if m.state.CompareAndSwap(0, mutexLocked) {
		return
	}
	_ = m.lockSlow(nil)
}

// TryLock locks m if it is free now, without waiting, and reports whether it
// did. It may take the lock ahead of parked waiters.
func (m *Mutex) TryLock() bool {
	for {
		s := m.state.Load()
		if s&mutexLocked != 0 {
			return false
		}
		if m.state.CompareAndSwap(s, s|mutexLocked) {
			return true
		}
	}
}

// Unlock unlocks m and wakes a waiter, if any. Unlocking a mutex that is not
// locked panics: it is a bug in the caller, as with sync.Mutex.
func (m *Mutex) Unlock() {
	if m.state.CompareAndSwap(mutexLocked, 0) {
		return
	}
	m.unlockSlow()
}

// lockSlow checks for cancellation, then competes for the lock and parks
// between attempts; t nil waits without a cancel point.
func (m *Mutex) lockSlow(t *task) error {
	if t.isCanceled() {
		return t.err()
	}
	var w *waiter
	woken := false // this goroutine was woken by Unlock and owns the mutexWoken bit
	for {
		s := m.state.Load()
		if s&mutexLocked == 0 {
			ns := s | mutexLocked
			if woken {
				ns &^= mutexWoken
			}
			if m.state.CompareAndSwap(s, ns) {
				if w != nil {
					putWaiter(w)
				}
				return nil
			}
			continue
		}
		if w == nil {
			w = getWaiter()
			w.start = time.Now()
		}
		m.mu.Lock()
		s = m.state.Load()
		if s&mutexLocked == 0 {
			m.mu.Unlock()
			continue
		}
		// Setting mutexWaiters while the lock is held makes the holder's
		// Unlock take the slow path, which wakes us: no lost wake-up.
		ns := s | mutexWaiters
		if woken {
			ns &^= mutexWoken
		}
		if !m.state.CompareAndSwap(s, ns) {
			m.mu.Unlock()
			continue
		}
		if woken {
			// Lost to a newcomer: wait first in line, and after long
			// enough, ask for the lock to be handed over.
			w.handoff = time.Since(w.start) > mutexStarving
			m.q.pushFront(w)
		} else {
			m.q.pushBack(w)
		}
		woken = false
		m.mu.Unlock()
		if !park(t, w) {
			return m.cancelWait(t, w)
		}
		if w.granted { // handed over by Unlock
			putWaiter(w)
			return nil
		}
		woken = true
	}
}

// cancelWait ends the wait of w, whose task t was canceled, leaving m as if
// w had never waited.
func (m *Mutex) cancelWait(t *task, w *waiter) error {
	m.mu.Lock()
	if w.queued {
		m.q.remove(w)
		if m.q.empty() {
			m.state.And(^int32(mutexWaiters))
		}
		m.mu.Unlock()
		putWaiter(w)
		return t.err()
	}
	// Unlock woke w after the cancellation; its token is in w.ch.
	<-w.ch
	granted := w.granted
	if !granted {
		m.passWokenLocked()
	}
	m.mu.Unlock()
	putWaiter(w)
	if granted {
		m.Unlock() // the lock was handed to w: hand it on
	}
	return t.err()
}

// passWokenLocked gives up the mutexWoken bit of a woken waiter that leaves,
// waking the next waiter if the lock is free (if it is held, the holder's
// Unlock wakes one). m.mu is held.
func (m *Mutex) passWokenLocked() {
	for {
		s := m.state.Load()
		ns := s &^ mutexWoken
		next := m.q.head
		if s&mutexLocked != 0 {
			next = nil
		}
		if next != nil {
			ns |= mutexWoken
			if next.next == nil {
				ns &^= mutexWaiters
			}
		}
		if m.state.CompareAndSwap(s, ns) {
			if next != nil {
				m.q.remove(next)
				next.wake(false)
			}
			return
		}
	}
}

func (m *Mutex) unlockSlow() {
	m.mu.Lock()
	// While the lock is held and m.mu is too, no one else changes the
	// state: every other change needs the lock free or m.mu.
	s := m.state.Load()
	if s&mutexLocked == 0 {
		m.mu.Unlock()
		panic("io: Unlock of an unlocked Mutex")
	}
	w := m.q.head
	switch {
	case w != nil && w.handoff:
		m.q.remove(w)
		if m.q.empty() {
			s &^= mutexWaiters
		}
		m.state.Store(s) // still locked: the lock passes to w
		w.wake(true)
	case w != nil && s&mutexWoken == 0:
		m.q.remove(w)
		s = s&^mutexLocked | mutexWoken
		if m.q.empty() {
			s &^= mutexWaiters
		}
		m.state.Store(s)
		w.wake(false)
	default: // no waiter, or one already woken and competing
		m.state.Store(s &^ mutexLocked)
	}
	m.mu.Unlock()
}
