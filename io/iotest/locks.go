package iotest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Conformance of the Io-aware locks: Mutex, Condition, Event, Semaphore and
// RwLock. A wait that must end (no lost wake-up) runs under an Io canceled
// after `within`, so that a lost wake-up fails the test with a message
// instead of hanging it.

// concurrent starts fn with io.Concurrent. It reports false when the
// implementation refuses (Blocking), after checking that the refusal is
// the clean ErrConcurrencyUnavailable; the caller then skips what needs two
// tasks at once.
func concurrent(t *testing.T, x io.Io, fn func(io.Io) (int, error)) (*io.Future[int], bool) {
	t.Helper()
	f, err := io.Concurrent(x, fn)
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		if x.Kind() != io.KindBlocking && x.Kind() != io.KindFailing {
			t.Logf("%s: Concurrent refused: %v", x, err)
		}
		return nil, false
	}
	if err != nil {
		t.Fatalf("Concurrent: %v", err)
	}
	return f, true
}

// eventually polls cond until it holds, failing after `within`.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after %v", what, within)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// settle gives tasks just started time to park, so that races start from
// parked waiters most of the time (the tests are correct either way).
func settle() { time.Sleep(100 * time.Microsecond) }

var _ = register("MutexExclusion", func(t *testing.T, x io.Io) {
	var m io.Mutex
	counter := 0 // not atomic: the race detector and the total see a broken mutex
	var inside atomic.Int32
	var g io.Group
	const tasks, rounds = 16, 200
	for range tasks {
		g.Async(x, func(x io.Io) error {
			for range rounds {
				if err := m.Lock(x); err != nil {
					return err
				}
				if inside.Add(1) != 1 {
					return errors.New("two holders of the mutex at once")
				}
				counter++
				inside.Add(-1)
				m.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	if counter != tasks*rounds {
		t.Fatalf("counter = %d, want %d", counter, tasks*rounds)
	}
	if !m.TryLock() {
		t.Fatal("mutex still locked after every task unlocked")
	}
	if m.TryLock() {
		t.Fatal("TryLock of a locked mutex succeeded")
	}
	m.Unlock()
})

var _ = register("MutexLockCanceled", func(t *testing.T, x io.Io) {
	var m io.Mutex
	isCanceled(t, m.Lock(canceledIo(x))) // a cancel point even when free
	if !m.TryLock() {
		t.Fatal("a canceled Lock took the mutex")
	}
	// Wait for a held mutex until canceled: under Blocking too, where the
	// cancellation comes from a context's timer.
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	isCanceled(t, m.Lock(y))
	if m.TryLock() {
		t.Fatal("TryLock succeeded while the mutex was held")
	}
	m.Unlock()
	if !m.TryLock() {
		t.Fatal("a canceled waiter left the mutex locked")
	}
	// A waiter queued beside a canceled one gets the lock.
	w, stopW := canceledBy(x, within)
	defer stopW()
	next, ok := concurrent(t, w, func(x io.Io) (int, error) {
		if err := m.Lock(x); err != nil {
			return 0, err
		}
		m.Unlock()
		return 1, nil
	})
	if !ok {
		m.Unlock()
		return
	}
	z, stopZ := canceledBy(x, 20*time.Millisecond)
	defer stopZ()
	isCanceled(t, m.Lock(z))
	m.Unlock()
	if v, err := next.Await(x); v != 1 || err != nil {
		t.Fatalf("waiter after a canceled one: %d, %v (a lost wake-up?)", v, err)
	}
	m.LockUncancelable(canceledIo(x)) // not a cancel point
	m.Unlock()
})

var _ = register("MutexCancelRacesUnlock", func(t *testing.T, x io.Io) {
	// A canceled waiter and a patient one, while the holder unlocks: the
	// patient one always gets the lock, and nobody holds it twice.
	var m io.Mutex
	var holders atomic.Int32
	hold := func(x io.Io) (int, error) {
		if err := m.Lock(x); err != nil {
			return 0, err
		}
		if holders.Add(1) != 1 {
			return 0, errors.New("two holders of the mutex at once")
		}
		holders.Add(-1)
		m.Unlock()
		return 1, nil
	}
	for i := range 300 {
		m.LockUncancelable(x)
		y, cancel := x.WithCancel()
		racer, ok := concurrent(t, y, hold)
		if !ok {
			cancel()
			m.Unlock()
			return
		}
		settle()
		w, stop := canceledBy(x, within)
		patient, ok := concurrent(t, w, hold)
		if !ok {
			stop()
			cancel()
			m.Unlock()
			racer.Await(x)
			return
		}
		settle()
		if i%2 == 0 {
			cancel()
			m.Unlock()
		} else {
			m.Unlock()
			cancel()
		}
		if _, err := racer.Await(x); err != nil && !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("round %d: canceled waiter: %v", i, err)
		}
		v, err := patient.Await(x)
		stop()
		if v != 1 || err != nil {
			t.Fatalf("round %d: patient waiter: %d, %v (a lost wake-up?)", i, v, err)
		}
		if !m.TryLock() {
			t.Fatalf("round %d: mutex left locked", i)
		}
		m.Unlock()
	}
})

var _ = register("ConditionSignalBroadcast", func(t *testing.T, x io.Io) {
	var m io.Mutex
	var c io.Condition
	c.Signal() // no waiters: nothing happens
	c.Broadcast()
	items, waiting, served := 0, 0, 0
	const n = 4
	fs := make([]*io.Future[int], 0, n)
	w, stop := canceledBy(x, within)
	defer stop()
	for range n {
		f, ok := concurrent(t, w, func(x io.Io) (int, error) {
			m.LockUncancelable(x)
			defer m.Unlock()
			waiting++
			for items == 0 {
				if err := c.Wait(x, &m); err != nil {
					return 0, err
				}
			}
			items--
			served++
			return 1, nil
		})
		if !ok {
			break
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return
	}
	eventually(t, "waiters parked", func() bool {
		m.LockUncancelable(x)
		defer m.Unlock()
		return waiting == len(fs)
	})
	// One Signal per item, then the rest at once with Broadcast.
	m.LockUncancelable(x)
	items++
	c.Signal()
	m.Unlock()
	eventually(t, "one waiter served", func() bool {
		m.LockUncancelable(x)
		defer m.Unlock()
		return served == 1
	})
	m.LockUncancelable(x)
	items += len(fs) - 1
	c.Broadcast()
	m.Unlock()
	for i, f := range fs {
		if v, err := f.Await(x); v != 1 || err != nil {
			t.Fatalf("waiter %d: %d, %v", i, v, err)
		}
	}
	if items != 0 || served != len(fs) {
		t.Fatalf("items %d served %d", items, served)
	}
})

var _ = register("ConditionWaitCanceled", func(t *testing.T, x io.Io) {
	var m io.Mutex
	var c io.Condition
	m.LockUncancelable(x)
	isCanceled(t, c.Wait(canceledIo(x), &m))
	if m.TryLock() {
		t.Fatal("Wait canceled on entry released the mutex")
	}
	// Under Blocking too: the cancellation comes from a context's timer.
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	isCanceled(t, c.Wait(y, &m))
	if m.TryLock() {
		t.Fatal("a canceled Wait returned without the mutex")
	}
	m.Unlock()
	c.Signal() // the canceled waiter left the queue: nothing to wake
	if !m.TryLock() {
		t.Fatal("mutex left locked")
	}
	m.Unlock()
})

var _ = register("ConditionCancelRacesSignal", func(t *testing.T, x io.Io) {
	// Two waiters, one canceled as the item's Signal arrives: the item is
	// always taken, by one or the other (a Signal consumed by a canceled
	// waiter is passed on).
	var m io.Mutex
	var c io.Condition
	for i := range 200 {
		items, waiting := 0, 0
		consume := func(x io.Io) (int, error) {
			m.LockUncancelable(x)
			defer m.Unlock()
			waiting++
			for items == 0 {
				if err := c.Wait(x, &m); err != nil {
					return 0, err
				}
			}
			items--
			return 1, nil
		}
		y, cancel := x.WithCancel()
		racer, ok := concurrent(t, y, consume)
		if !ok {
			cancel()
			return
		}
		w, stop := canceledBy(x, within)
		patient, ok := concurrent(t, w, consume)
		if !ok {
			stop()
			cancel()
			racer.Await(x)
			return
		}
		eventually(t, "waiters parked", func() bool {
			m.LockUncancelable(x)
			defer m.Unlock()
			return waiting == 2
		})
		m.LockUncancelable(x)
		items++
		m.Unlock()
		if i%2 == 0 {
			c.Signal()
			cancel()
		} else {
			cancel()
			c.Signal()
		}
		v, err := racer.Await(x)
		if err != nil && !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("round %d: canceled waiter: %v", i, err)
		}
		if v == 1 { // the racer took the item: give the patient one its own
			m.LockUncancelable(x)
			items++
			c.Signal()
			m.Unlock()
		}
		v, err = patient.Await(x)
		stop()
		if v != 1 || err != nil {
			t.Fatalf("round %d: patient waiter: %d, %v (a lost wake-up?)", i, v, err)
		}
		if items != 0 {
			t.Fatalf("round %d: %d items left", i, items)
		}
	}
})

var _ = register("Event", func(t *testing.T, x io.Io) {
	var e io.Event
	if e.IsSet() {
		t.Fatal("zero Event is set")
	}
	// Set before Wait: no wait.
	e.Set()
	e.Set()
	if !e.IsSet() {
		t.Fatal("IsSet = false after Set")
	}
	if err := e.Wait(x); err != nil {
		t.Fatalf("Wait on a set event: %v", err)
	}
	isCanceled(t, e.Wait(canceledIo(x)))
	e.Reset()
	if e.IsSet() {
		t.Fatal("IsSet = true after Reset")
	}
	// Not set: Wait waits until canceled (under Blocking too).
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	isCanceled(t, e.Wait(y))
	// Set after Wait: every waiter wakes.
	w, stopW := canceledBy(x, within)
	defer stopW()
	var fs []*io.Future[int]
	for range 3 {
		f, ok := concurrent(t, w, func(x io.Io) (int, error) { return 1, e.Wait(x) })
		if !ok {
			break
		}
		fs = append(fs, f)
	}
	time.Sleep(time.Millisecond) // most of them park (correct either way)
	e.Set()
	for i, f := range fs {
		if v, err := f.Await(x); v != 1 || err != nil {
			t.Fatalf("waiter %d: %d, %v", i, v, err)
		}
	}
	e.Reset()
	if e.IsSet() {
		t.Fatal("IsSet = true after Reset")
	}
})

var _ = register("SemaphoreAcquireCanceled", func(t *testing.T, x io.Io) {
	s := io.NewSemaphore(2)
	if err := s.Acquire(x, 3); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("Acquire beyond capacity = %v, want ErrInvalid", err)
	}
	isCanceled(t, s.Acquire(canceledIo(x), 1))
	if err := s.Acquire(x, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Acquire(x, 0); err != nil || s.TryAcquire(1) || !s.TryAcquire(0) {
		t.Fatalf("weight 0 on a full semaphore: %v", err)
	}
	// Uncancelable waits through WithoutCancel: they end when the weight is
	// released, whatever the task's state.
	released := make(chan struct{})
	go func() { time.Sleep(10 * time.Millisecond); s.Release(1); close(released) }()
	if err := s.Acquire(canceledIo(x).WithoutCancel(), 1); err != nil {
		t.Fatalf("Acquire through WithoutCancel: %v", err)
	}
	<-released
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	isCanceled(t, s.Acquire(y, 1))
	if s.InUse() != 2 {
		t.Fatalf("InUse = %d after a canceled Acquire, want 2", s.InUse())
	}
	s.Release(2)
	if s.InUse() != 0 || !s.TryAcquire(2) {
		t.Fatalf("InUse = %d: a canceled Acquire kept weight", s.InUse())
	}
	s.Release(2)
	if s.Peak() != 2 {
		t.Fatalf("Peak = %d, want 2", s.Peak())
	}
})

var _ = register("SemaphoreFairness", func(t *testing.T, x io.Io) {
	// A big waiter is not overtaken by small ones that would fit, and when
	// it gives up, the small ones behind it go in without a Release.
	s := io.NewSemaphore(4)
	if err := s.Acquire(x, 3); err != nil {
		t.Fatal(err)
	}
	var order []int
	var seq io.Mutex
	acquire := func(n int64, tag int) func(io.Io) (int, error) {
		return func(x io.Io) (int, error) {
			if err := s.Acquire(x, n); err != nil {
				return 0, err
			}
			seq.LockUncancelable(x)
			order = append(order, tag)
			seq.Unlock()
			return tag, nil
		}
	}
	w, stop := canceledBy(x, within)
	defer stop()
	big, ok := concurrent(t, w, acquire(4, 4))
	if !ok {
		s.Release(3)
		return
	}
	eventually(t, "big waiter queued", func() bool {
		if s.TryAcquire(1) { // it fits, but must not while the big one waits
			s.Release(1)
			return false
		}
		return true
	})
	small, ok := concurrent(t, w, acquire(1, 1))
	if !ok {
		s.Release(3)
		big.Await(x)
		return
	}
	time.Sleep(time.Millisecond) // let small park behind big (correct either way)
	if s.InUse() != 3 {
		t.Fatalf("InUse = %d: a small waiter overtook the big one", s.InUse())
	}
	s.Release(3)
	if _, err := big.Await(x); err != nil {
		t.Fatal(err)
	}
	s.Release(4)
	if _, err := small.Await(x); err != nil {
		t.Fatal(err)
	}
	s.Release(1)
	if len(order) != 2 || order[0] != 4 {
		t.Fatalf("order %v, want the big waiter first", order)
	}
	// A canceled big waiter lets the small one behind it in.
	if err := s.Acquire(x, 3); err != nil {
		t.Fatal(err)
	}
	y, cancel := w.WithCancel()
	defer cancel()
	if big, ok = concurrent(t, y, acquire(4, 4)); !ok {
		s.Release(3)
		return
	}
	eventually(t, "big waiter queued", func() bool {
		if s.TryAcquire(1) {
			s.Release(1)
			return false
		}
		return true
	})
	if small, ok = concurrent(t, w, acquire(1, 1)); !ok {
		cancel()
		big.Await(x)
		s.Release(3)
		return
	}
	time.Sleep(time.Millisecond)
	cancel()
	if _, err := big.Await(x); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled big waiter: %v", err)
	}
	if v, err := small.Await(x); v != 1 || err != nil {
		t.Fatalf("small waiter behind a canceled big one: %d, %v", v, err)
	}
	if s.InUse() != 4 {
		t.Fatalf("InUse = %d, want 4", s.InUse())
	}
	s.Release(4)
})

var _ = register("SemaphoreCancelRacesRelease", func(t *testing.T, x io.Io) {
	s := io.NewSemaphore(2)
	var held atomic.Int64
	take := func(n int64) func(io.Io) (int, error) {
		return func(x io.Io) (int, error) {
			if err := s.Acquire(x, n); err != nil {
				return 0, err
			}
			if held.Add(n) > 2 {
				return 0, errors.New("more weight granted than the capacity")
			}
			held.Add(-n)
			s.Release(n)
			return 1, nil
		}
	}
	for i := range 300 {
		if err := s.Acquire(x, 2); err != nil {
			t.Fatal(err)
		}
		y, cancel := x.WithCancel()
		racer, ok := concurrent(t, y, take(2))
		if !ok {
			cancel()
			s.Release(2)
			return
		}
		settle()
		w, stop := canceledBy(x, within)
		patient, ok := concurrent(t, w, take(1))
		if !ok {
			stop()
			cancel()
			s.Release(2)
			racer.Await(x)
			return
		}
		settle()
		if i%2 == 0 {
			cancel()
			s.Release(2)
		} else {
			s.Release(2)
			cancel()
		}
		if _, err := racer.Await(x); err != nil && !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("round %d: canceled waiter: %v", i, err)
		}
		v, err := patient.Await(x)
		stop()
		if v != 1 || err != nil {
			t.Fatalf("round %d: patient waiter: %d, %v (a lost wake-up?)", i, v, err)
		}
		if s.InUse() != 0 {
			t.Fatalf("round %d: InUse = %d", i, s.InUse())
		}
	}
})

var _ = register("RwLockExclusion", func(t *testing.T, x io.Io) {
	var l io.RwLock
	value := 0 // written by writers only, read by readers
	var readers, writers atomic.Int32
	var g io.Group
	for i := range 16 {
		g.Async(x, func(x io.Io) error {
			for range 100 {
				if i%4 == 0 {
					if err := l.Lock(x); err != nil {
						return err
					}
					if writers.Add(1) != 1 || readers.Load() != 0 {
						return errors.New("a writer beside another holder")
					}
					value++
					writers.Add(-1)
					l.Unlock()
					continue
				}
				if err := l.RLock(x); err != nil {
					return err
				}
				readers.Add(1)
				if writers.Load() != 0 {
					return errors.New("a reader beside a writer")
				}
				_ = value
				readers.Add(-1)
				l.RUnlock()
			}
			return nil
		})
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	if value != 400 {
		t.Fatalf("value = %d, want 400", value)
	}
	if !l.TryLock() {
		t.Fatal("RwLock still held after every task released it")
	}
	if l.TryRLock() || l.TryLock() {
		t.Fatal("Try while write-locked succeeded")
	}
	l.Unlock()
	if !l.TryRLock() || !l.TryRLock() || l.TryLock() {
		t.Fatal("two readers, then no writer: wrong")
	}
	l.RUnlock()
	l.RUnlock()
})

var _ = register("RwLockCanceled", func(t *testing.T, x io.Io) {
	var l io.RwLock
	isCanceled(t, l.Lock(canceledIo(x)))
	isCanceled(t, l.RLock(canceledIo(x)))
	if err := l.Lock(x); err != nil {
		t.Fatal(err)
	}
	// Waits for a held lock end with the cancellation, under Blocking too.
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	isCanceled(t, l.RLock(y))
	isCanceled(t, l.Lock(y))
	l.Unlock()
	if err := l.RLock(x); err != nil {
		t.Fatal(err)
	}
	z, stopZ := canceledBy(x, 20*time.Millisecond)
	defer stopZ()
	isCanceled(t, l.Lock(z))
	// The canceled writer no longer holds readers back.
	if !l.TryRLock() {
		t.Fatal("a canceled writer still holds readers back")
	}
	l.RUnlock()
	l.RUnlock()
	if !l.TryLock() {
		t.Fatal("lock left held")
	}
	l.Unlock()
})

var _ = register("RwLockWriterPreference", func(t *testing.T, x io.Io) {
	var l io.RwLock
	if err := l.RLock(x); err != nil {
		t.Fatal(err)
	}
	w, stop := canceledBy(x, within)
	defer stop()
	writer, ok := concurrent(t, w, func(x io.Io) (int, error) {
		if err := l.Lock(x); err != nil {
			return 0, err
		}
		l.Unlock()
		return 1, nil
	})
	if !ok {
		l.RUnlock()
		return
	}
	// Once the writer waits, new readers wait behind it.
	eventually(t, "writer waiting", func() bool {
		if l.TryRLock() {
			l.RUnlock()
			return false
		}
		return true
	})
	reader, ok := concurrent(t, w, func(x io.Io) (int, error) {
		if err := l.RLock(x); err != nil {
			return 0, err
		}
		l.RUnlock()
		return 2, nil
	})
	if !ok {
		l.RUnlock()
		writer.Await(x)
		return
	}
	l.RUnlock()
	if v, err := writer.Await(x); v != 1 || err != nil {
		t.Fatalf("writer: %d, %v", v, err)
	}
	if v, err := reader.Await(x); v != 2 || err != nil {
		t.Fatalf("reader: %d, %v", v, err)
	}
	// A waiting writer that is canceled lets the readers behind it in while
	// the first reader still holds the lock.
	if err := l.RLock(x); err != nil {
		t.Fatal(err)
	}
	y, cancel := w.WithCancel()
	defer cancel()
	if writer, ok = concurrent(t, y, func(x io.Io) (int, error) { return 0, l.Lock(x) }); !ok {
		l.RUnlock()
		return
	}
	eventually(t, "writer waiting", func() bool {
		if l.TryRLock() {
			l.RUnlock()
			return false
		}
		return true
	})
	if reader, ok = concurrent(t, w, func(x io.Io) (int, error) {
		if err := l.RLock(x); err != nil {
			return 0, err
		}
		l.RUnlock()
		return 2, nil
	}); !ok {
		cancel()
		writer.Await(x)
		l.RUnlock()
		return
	}
	time.Sleep(time.Millisecond)
	cancel()
	if _, err := writer.Await(x); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled writer: %v", err)
	}
	if v, err := reader.Await(x); v != 2 || err != nil {
		t.Fatalf("reader behind a canceled writer: %d, %v", v, err)
	}
	l.RUnlock()
})

var _ = register("RwLockCancelRacesUnlock", func(t *testing.T, x io.Io) {
	var l io.RwLock
	var writers, readers atomic.Int32
	write := func(x io.Io) (int, error) {
		if err := l.Lock(x); err != nil {
			return 0, err
		}
		if writers.Add(1) != 1 || readers.Load() != 0 {
			return 0, errors.New("a writer beside another holder")
		}
		writers.Add(-1)
		l.Unlock()
		return 1, nil
	}
	read := func(x io.Io) (int, error) {
		if err := l.RLock(x); err != nil {
			return 0, err
		}
		readers.Add(1)
		if writers.Load() != 0 {
			return 0, errors.New("a reader beside a writer")
		}
		readers.Add(-1)
		l.RUnlock()
		return 1, nil
	}
	for i := range 300 {
		if err := l.Lock(x); err != nil {
			t.Fatal(err)
		}
		y, cancel := x.WithCancel()
		racer, ok := concurrent(t, y, []func(io.Io) (int, error){write, read}[i%2])
		if !ok {
			cancel()
			l.Unlock()
			return
		}
		settle()
		w, stop := canceledBy(x, within)
		pw, ok1 := concurrent(t, w, write)
		pr, ok2 := concurrent(t, w, read)
		settle()
		if i%4 < 2 {
			cancel()
			l.Unlock()
		} else {
			l.Unlock()
			cancel()
		}
		if _, err := racer.Await(x); err != nil && !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("round %d: canceled waiter: %v", i, err)
		}
		for _, p := range []struct {
			f  *io.Future[int]
			ok bool
		}{{pw, ok1}, {pr, ok2}} {
			if !p.ok {
				continue
			}
			if v, err := p.f.Await(x); v != 1 || err != nil {
				t.Fatalf("round %d: patient waiter: %d, %v (a lost wake-up?)", i, v, err)
			}
		}
		stop()
		if !l.TryLock() {
			t.Fatalf("round %d: lock left held", i)
		}
		l.Unlock()
	}
})
