package io

import (
	"syscall"
	"time"
)

// File locks: flock(2) advisory locks on a whole file, shared between
// processes. A lock belongs to the open file (the open file description):
// two Files opened separately on one path — in one process or two —
// conflict with each other, while a File conflicts with nothing it holds
// itself. The kernel drops the lock when the File is closed, or when the
// process ends however it ends. Locks are advisory: they bind only the code
// that takes them.

// How flockTry is asked to lock (portable names for LOCK_SH, LOCK_EX,
// LOCK_UN; LOCK_NB is always added).
const (
	lockShared = iota + 1
	lockExclusive
	lockUnlock
)

// The backoff between attempts of a Lock that waits: a blocked flock(2)
// cannot be interrupted (no cancel reaches a thread parked in the kernel,
// and a goroutine left there would hold the lock after its task was
// canceled), so Lock tries without waiting and sleeps through the Io in
// between, from lockBackoffMin doubling to lockBackoffMax.
const (
	lockBackoffMin = time.Millisecond
	lockBackoffMax = 64 * time.Millisecond
)

// Lock takes an advisory lock on the whole file, waiting while another open
// file holds a conflicting one: exclusive (a writer's; no other lock may be
// held) or shared (a reader's; other shared locks may be held). Taking a
// lock of the other kind on a File that holds one converts it, and this is
// not atomic: another process may take the lock in between.
//
// Lock is a cancel point: it tries flock(2) with LOCK_NB and, while the lock
// is held elsewhere, sleeps through x (Io.Sleep, which cancellation
// interrupts) with a backoff from 1 ms doubling to 64 ms, so a lock released
// by its holder is taken within the current step. The wait is therefore not
// fair: a steady stream of other lockers can starve it. On Evented the
// attempt is the system call on the task's goroutine (io_uring has no flock
// request) and the sleep a ring timeout. On Windows it fails with an error
// matching ErrUnsupported.
func (f *File) Lock(x Io, exclusive bool) error {
	if err := f.hold("lock"); err != nil {
		return err
	}
	defer f.drop()
	how := lockShared
	if exclusive {
		how = lockExclusive
	}
	start := x.start()
	wait := lockBackoffMin
	for {
		err := x.drv().flockTry(x.t, f.fd, how)
		if err != syscall.EWOULDBLOCK {
			return x.done(start, "file", "lock", f.name, err)
		}
		if err := x.Sleep(wait); err != nil {
			return x.done(start, "file", "lock", f.name, err)
		}
		wait = min(2*wait, lockBackoffMax)
	}
}

// TryLock takes the lock as Lock does, but without waiting: it reports
// false, with a nil error, when another open file holds a conflicting lock.
func (f *File) TryLock(x Io, exclusive bool) (bool, error) {
	if err := f.hold("lock"); err != nil {
		return false, err
	}
	defer f.drop()
	how := lockShared
	if exclusive {
		how = lockExclusive
	}
	start := x.start()
	err := x.drv().flockTry(x.t, f.fd, how)
	if err == syscall.EWOULDBLOCK {
		x.observe(start, "file", "lock", f.name, 0, nil)
		return false, nil
	}
	if err := x.done(start, "file", "lock", f.name, err); err != nil {
		return false, err
	}
	return true, nil
}

// Unlock releases the File's lock; without one it does nothing. It is not a
// cancel point: a lock can always be released. Closing the File releases it
// too.
func (f *File) Unlock(x Io) error {
	if err := f.hold("unlock"); err != nil {
		return err
	}
	defer f.drop()
	start := x.start()
	return x.done(start, "file", "unlock", f.name, x.drv().flockTry(x.t, f.fd, lockUnlock))
}
