package io

import (
	"sync"
	"sync/atomic"
)

// Condition is a condition variable for a Mutex, like Zig's Io.Condition
// and sync.Cond: tasks wait for a condition on data the mutex guards, and the
// task that changes the data signals them. The zero value is ready; a
// Condition must not be copied after first use.
//
// Wait is a cancel point; Signal and Broadcast never wait and may be called
// from any goroutine, with or without the mutex held. As with sync.Cond, a
// woken Wait must check its condition again in a loop: another task may have
// changed the data first, and a Wait may return without a Signal after a
// waiter that was signaled was canceled (its Signal is passed on rather than
// lost). Under Blocking, where there is one thread of control, only another
// goroutine's Signal or Broadcast, or a cancellation, ends a Wait.
type Condition struct {
	n  atomic.Int32 // waiters queued, so that Signal with none takes no lock
	mu sync.Mutex
	q  waitList
}

// Wait unlocks m, which the caller must hold, waits until Signal or Broadcast
// wakes it, and locks m again before it returns. It is a cancel point: if the
// calling task is canceled while it waits (or already was), Wait returns the
// task's cancel error (matching ErrCanceled) — and even then it returns with
// m locked, so the caller unlocks m in every case. Re-locking m afterwards is
// not itself a cancel point. A Signal that reached a waiter as it was being
// canceled is passed on to the next waiter.
func (c *Condition) Wait(x Io, m *Mutex) error {
	t := x.t
	if t.isCanceled() {
		return t.err()
	}
	if m.state.Load()&mutexLocked == 0 {
		panic("io: Condition.Wait with an unlocked Mutex")
	}
	w := getWaiter()
	c.mu.Lock()
	c.q.pushBack(w)
	c.n.Add(1)
	c.mu.Unlock()
	m.Unlock()
	var err error
	if !park(t, w) {
		c.mu.Lock()
		if w.queued {
			c.q.remove(w)
			c.n.Add(-1)
		} else {
			<-w.ch // woken after the cancellation
			if w.granted {
				c.signalLocked() // the Signal was meant for one waiter: give it to another
			}
		}
		c.mu.Unlock()
		err = t.err()
	}
	putWaiter(w)
	m.LockUncancelable(x)
	return err
}

// Signal wakes one waiting task, the one that has waited longest, if any.
func (c *Condition) Signal() {
	if c.n.Load() == 0 {
		return
	}
	c.mu.Lock()
	c.signalLocked()
	c.mu.Unlock()
}

func (c *Condition) signalLocked() {
	if w := c.q.popFront(); w != nil {
		c.n.Add(-1)
		w.wake(true)
	}
}

// Broadcast wakes every waiting task.
func (c *Condition) Broadcast() {
	if c.n.Load() == 0 {
		return
	}
	c.mu.Lock()
	for w := c.q.popFront(); w != nil; w = c.q.popFront() {
		c.n.Add(-1)
		w.wake(false)
	}
	c.mu.Unlock()
}

// Event is a flag that tasks can wait for, like Zig's Io.Event
// (ResetEvent): Set raises it and wakes every waiter, Reset lowers it. The
// zero value is an event that is not set; an Event must not be copied after
// first use.
//
// All methods may be called from any goroutine. Wait is a cancel point; Set,
// Reset and IsSet never wait. Every task already parked in Wait when Set is
// called wakes, even if a Reset follows at once; a Wait that starts after
// the Reset waits for the next Set.
type Event struct {
	set atomic.Bool
	mu  sync.Mutex
	ch  chan struct{} // made by the first waiter after a Reset; closed by Set
}

// IsSet reports whether the event is set.
func (e *Event) IsSet() bool { return e.set.Load() }

// Set sets the event and wakes every task waiting for it. Setting a set event
// does nothing.
func (e *Event) Set() {
	if e.set.Load() {
		return
	}
	e.mu.Lock()
	if !e.set.Load() {
		e.set.Store(true)
		if e.ch != nil {
			close(e.ch)
			e.ch = nil
		}
	}
	e.mu.Unlock()
}

// Reset clears the event, so that later Waits wait for the next Set.
func (e *Event) Reset() {
	if !e.set.Load() {
		return
	}
	e.mu.Lock()
	e.set.Store(false)
	e.mu.Unlock()
}

// Wait waits until the event is set, returning nil at once if it is. It is a
// cancel point: if the calling task is canceled before or while it waits, it
// returns the task's cancel error (matching ErrCanceled), even when the event
// is set. Wait consumes nothing: every waiter sees the same Set. For a wait
// that ignores cancellation, pass x.WithoutCancel().
func (e *Event) Wait(x Io) error {
	t := x.t
	if t.isCanceled() {
		return t.err()
	}
	if e.set.Load() {
		return nil
	}
	e.mu.Lock()
	if e.set.Load() {
		e.mu.Unlock()
		return nil
	}
	if e.ch == nil {
		e.ch = make(chan struct{})
	}
	ch := e.ch
	e.mu.Unlock()
	if t == nil {
		<-ch
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-t.doneCh():
		return t.err()
	}
}
