package io

import (
	"sync"
	"sync/atomic"
)

const (
	rwWriter        = 1 << 62 // a writer holds the lock
	rwWriterWaiting = 1 << 61 // the writers' wait list is not empty: new readers wait
	rwReaderWaiting = 1 << 60 // the readers' wait list is not empty
	rwReaders       = rwReaderWaiting - 1
)

// RwLock is a reader/writer lock whose Lock and RLock are cancel points, like
// Zig's Io.RwLock and sync.RWMutex: any number of readers, or one writer. The
// zero value is unlocked; an RwLock must not be copied after first use.
//
// All methods may be called from any goroutine, and the lock is not tied to
// the task that took it. Writers are preferred: once a writer waits, new
// readers wait behind it, so readers cannot starve a writer; when a writer
// unlocks, the readers that were waiting go in together before the next
// writer, so writers cannot starve readers either. Uncontended RLock and
// Lock are one compare-and-swap each.
//
// As with sync.RWMutex, a reader must not take RLock again while it holds
// it: a writer that started waiting in between blocks the second RLock
// until the task is canceled, and forever when the Io cannot be canceled
// (the root Io, or one from WithoutCancel). Under Blocking, a Lock or RLock that has to wait for a holder in
// the same thread of control waits until the task is canceled (see Mutex).
type RwLock struct {
	state   atomic.Int64
	mu      sync.Mutex // guards the lists and the two waiting bits
	readers waitList
	writers waitList
}

// RLock takes the lock for reading, waiting while a writer holds it or waits
// for it. It is a cancel point: if the calling task is canceled before or
// while it waits, RLock returns the task's cancel error (matching
// ErrCanceled) and holds nothing.
func (l *RwLock) RLock(x Io) error {
	return l.rlock(x.t) // inlined, so that the Io is not copied
}

// rlock is RLock's fast path.
func (l *RwLock) rlock(t *task) error {
	if t.isCanceled() {
		return t.err()
	}
	// The CAS fails if a writer holds or waits: s has their bits cleared.
	if s := l.state.Load() &^ (rwWriter | rwWriterWaiting); l.state.CompareAndSwap(s, s+1) {
		return nil
	}
	return l.rlockSlow(t)
}

// TryRLock takes the lock for reading if no writer holds it or waits for it,
// without waiting, and reports whether it did.
func (l *RwLock) TryRLock() bool {
	for {
		s := l.state.Load()
		if s&(rwWriter|rwWriterWaiting) != 0 {
			return false
		}
		if l.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// RUnlock releases a read lock; the last reader out lets a waiting writer
// in. Releasing a read lock that is not held panics.
func (l *RwLock) RUnlock() {
	if s := l.state.Add(-1); (s+1)&rwReaders <= 1 { // no reader left, or none was there
		l.runlockSlow(s)
	}
}

// Lock takes the lock for writing, waiting while readers or another writer
// hold it. It is a cancel point: if the calling task is canceled before or
// while it waits, Lock returns the task's cancel error (matching
// ErrCanceled) and holds nothing; readers held back by it alone go in.
func (l *RwLock) Lock(x Io) error {
	if x.t == nil && l.state.CompareAndSwap(0, rwWriter) {
		return nil // the root task is never canceled: Lock inlines to this
	}
	return l.lock(x.t)
}

// lock is Lock's fast path for a task that can be canceled.
func (l *RwLock) lock(t *task) error {
	if t.isCanceled() {
		return t.err()
	}
	if l.state.CompareAndSwap(0, rwWriter) {
		return nil
	}
	return l.lockSlow(t)
}

// TryLock takes the lock for writing if nobody holds it, without waiting, and
// reports whether it did.
func (l *RwLock) TryLock() bool {
	for {
		s := l.state.Load()
		if s&(rwWriter|rwReaders) != 0 {
			return false
		}
		if l.state.CompareAndSwap(s, s|rwWriter) {
			return true
		}
	}
}

// Unlock releases the write lock: the readers that were waiting go in, or
// else the next writer. Unlocking an RwLock not locked for writing panics.
func (l *RwLock) Unlock() {
	if l.state.CompareAndSwap(rwWriter, 0) {
		return
	}
	l.unlockSlow()
}

func (l *RwLock) rlockSlow(t *task) error {
	if t.isCanceled() {
		return t.err()
	}
	l.mu.Lock()
	for {
		s := l.state.Load()
		if s&(rwWriter|rwWriterWaiting) == 0 {
			if l.state.CompareAndSwap(s, s+1) {
				l.mu.Unlock()
				return nil
			}
			continue
		}
		if l.state.CompareAndSwap(s, s|rwReaderWaiting) {
			break
		}
	}
	w := getWaiter()
	l.readers.pushBack(w)
	l.mu.Unlock()
	if park(t, w) {
		putWaiter(w) // granted: the reader count includes us
		return nil
	}
	l.mu.Lock()
	if w.queued {
		l.readers.remove(w)
		if l.readers.empty() {
			l.state.And(^int64(rwReaderWaiting))
		}
		l.mu.Unlock()
		putWaiter(w)
		return t.err()
	}
	<-w.ch // granted after the cancellation: give it back
	l.mu.Unlock()
	putWaiter(w)
	l.RUnlock()
	return t.err()
}

func (l *RwLock) lockSlow(t *task) error {
	if t.isCanceled() {
		return t.err()
	}
	l.mu.Lock()
	for {
		s := l.state.Load()
		if s&(rwWriter|rwReaders) == 0 {
			if l.state.CompareAndSwap(s, s|rwWriter) {
				l.mu.Unlock()
				return nil
			}
			continue
		}
		// With rwWriterWaiting set, the last reader's RUnlock or the
		// writer's Unlock takes the slow path and grants us.
		if l.state.CompareAndSwap(s, s|rwWriterWaiting) {
			break
		}
	}
	w := getWaiter()
	l.writers.pushBack(w)
	l.mu.Unlock()
	if park(t, w) {
		putWaiter(w)
		return nil
	}
	l.mu.Lock()
	if w.queued {
		l.writers.remove(w)
		if l.writers.empty() {
			l.state.And(^int64(rwWriterWaiting))
			l.grantReadersLocked() // readers held back by this writer alone
		}
		l.mu.Unlock()
		putWaiter(w)
		return t.err()
	}
	<-w.ch // granted after the cancellation: give it back
	l.mu.Unlock()
	putWaiter(w)
	l.Unlock()
	return t.err()
}

// grantReadersLocked lets every waiting reader in unless a writer holds the
// lock (its Unlock then does). l.mu is held.
func (l *RwLock) grantReadersLocked() {
	if l.readers.empty() {
		return
	}
	for {
		s := l.state.Load()
		if s&(rwWriter|rwWriterWaiting) != 0 {
			return
		}
		if l.state.CompareAndSwap(s, (s&^rwReaderWaiting)+int64(l.readers.n)) {
			break
		}
	}
	for w := l.readers.popFront(); w != nil; w = l.readers.popFront() {
		w.wake(true)
	}
}

// runlockSlow grants the first waiting writer once the last reader is out,
// unless that has been done already; s is the state RUnlock left. l.mu is
// not held.
func (l *RwLock) runlockSlow(s int64) {
	if s&rwReaders == rwReaders {
		panic("io: RUnlock of an RwLock not locked for reading")
	}
	if s&rwWriterWaiting == 0 {
		return
	}
	l.mu.Lock()
	for {
		s := l.state.Load()
		w := l.writers.head
		if s&(rwReaders|rwWriter) != 0 || w == nil {
			break
		}
		ns := s | rwWriter
		if w.next == nil {
			ns &^= rwWriterWaiting
		}
		if l.state.CompareAndSwap(s, ns) {
			l.writers.remove(w)
			w.wake(true)
			break
		}
	}
	l.mu.Unlock()
}

func (l *RwLock) unlockSlow() {
	l.mu.Lock()
	// While a writer holds the lock and l.mu is held, no one else changes
	// the state: every other change needs the writer bit clear or l.mu.
	s := l.state.Load()
	if s&rwWriter == 0 {
		l.mu.Unlock()
		panic("io: Unlock of an RwLock not locked for writing")
	}
	switch {
	case !l.readers.empty():
		l.state.Store(s&^(rwWriter|rwReaderWaiting) + int64(l.readers.n))
		for w := l.readers.popFront(); w != nil; w = l.readers.popFront() {
			w.wake(true)
		}
	case !l.writers.empty():
		w := l.writers.popFront()
		if l.writers.empty() {
			s &^= rwWriterWaiting
		}
		l.state.Store(s) // still held: the lock passes to w
		w.wake(true)
	default:
		l.state.Store(s &^ rwWriter)
	}
	l.mu.Unlock()
}
