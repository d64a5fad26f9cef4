package io

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// queued returns the number of waiters parked on m.
func (m *Mutex) queued() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.q.n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not the case after 10s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// A waiter that asked for the lock to be handed over and is canceled as
// Unlock hands it over passes it on: the next waiter gets it.
func TestMutexHandoffCanceled(t *testing.T) {
	x := NewThreaded(ThreadedOptions{}).Io()
	var m Mutex
	for i := range 200 {
		m.LockUncancelable(x)
		y, cancel := x.WithCancel()
		racer := make(chan error, 1)
		go func() {
			err := m.Lock(y)
			if err == nil {
				m.Unlock()
			}
			racer <- err
		}()
		waitFor(t, "racer parked", func() bool { return m.queued() == 1 })
		patient := make(chan error, 1)
		go func() {
			err := m.Lock(x)
			if err == nil {
				m.Unlock()
			}
			patient <- err
		}()
		waitFor(t, "patient parked", func() bool { return m.queued() == 2 })
		m.mu.Lock()
		m.q.head.handoff = true
		m.mu.Unlock()
		if i%2 == 0 {
			m.Unlock()
			cancel()
		} else {
			cancel()
			m.Unlock()
		}
		if err := <-racer; err != nil && !errors.Is(err, ErrCanceled) {
			t.Fatalf("round %d: racer: %v", i, err)
		}
		select {
		case err := <-patient:
			if err != nil {
				t.Fatalf("round %d: patient: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: patient never got the lock (a lost hand-over)", i)
		}
		if s := m.state.Load(); s != 0 || m.queued() != 0 {
			t.Fatalf("round %d: state %b with %d queued, want an idle mutex", i, s, m.queued())
		}
	}
}

// Holders that keep the lock for longer than mutexStarving make waiters ask
// for hand-over; exclusion and progress hold throughout.
func TestMutexStarvation(t *testing.T) {
	x := NewThreaded(ThreadedOptions{}).Io()
	var m Mutex
	var holders atomic.Int32
	count := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				m.LockUncancelable(x)
				if holders.Add(1) != 1 {
					t.Error("two holders at once")
				}
				count++
				time.Sleep(2 * mutexStarving)
				holders.Add(-1)
				m.Unlock()
			}
		})
	}
	wg.Wait()
	if count != 20 || m.state.Load() != 0 || m.queued() != 0 {
		t.Fatalf("count %d, state %b, %d queued", count, m.state.Load(), m.queued())
	}
}

func TestSyncMisusePanics(t *testing.T) {
	x := NewBlocking().Io()
	for name, fn := range map[string]func(){
		"Mutex.Unlock":   func() { var m Mutex; m.Unlock() },
		"RwLock.Unlock":  func() { var l RwLock; l.Unlock() },
		"RwLock.RUnlock": func() { var l RwLock; l.RUnlock() },
		"RwLock.RUnlock held for writing": func() {
			var l RwLock
			l.TryLock()
			l.RUnlock()
		},
		"Semaphore.Release": func() { NewSemaphore(2).Release(1) },
		"Condition.Wait":    func() { var c Condition; var m Mutex; _ = c.Wait(x, &m) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

// stress runs fn(i, y) from 8 goroutines, 1500 times each, where y is a task
// that a ninth goroutine cancels at random moments, or the root; it fails
// if they do not all finish within 60s (a lost wake-up).
func stress(t *testing.T, fn func(i int, y Io)) {
	t.Helper()
	x := NewThreaded(ThreadedOptions{}).Io()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1500 {
				if (i+g)%3 == 0 {
					fn(i, x)
					continue
				}
				y, cancel := x.WithCancel()
				done := make(chan struct{})
				go func() {
					if i%2 == 0 {
						time.Sleep(time.Duration(i%7) * time.Microsecond)
					}
					cancel()
					close(done)
				}()
				fn(i, y)
				<-done
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatal("stress did not finish in 60s: a lost wake-up")
	}
}

func TestMutexStress(t *testing.T) {
	var m Mutex
	var holders atomic.Int32
	stress(t, func(i int, y Io) {
		var err error
		switch i % 5 {
		case 0:
			if !m.TryLock() {
				return
			}
		case 1:
			m.LockUncancelable(y)
		default:
			err = m.Lock(y)
		}
		if err != nil {
			if !errors.Is(err, ErrCanceled) {
				t.Errorf("Lock: %v", err)
			}
			return
		}
		if holders.Add(1) != 1 {
			t.Error("two holders at once")
		}
		runtime.Gosched() // let others park
		holders.Add(-1)
		m.Unlock()
	})
	if m.state.Load() != 0 || m.queued() != 0 {
		t.Fatalf("state %b with %d queued", m.state.Load(), m.queued())
	}
}

func TestRwLockStress(t *testing.T) {
	var l RwLock
	var readers, writers atomic.Int32
	stress(t, func(i int, y Io) {
		if i%3 == 0 {
			if err := l.Lock(y); err != nil {
				return
			}
			if writers.Add(1) != 1 || readers.Load() != 0 {
				t.Error("a writer beside another holder")
			}
			runtime.Gosched()
			writers.Add(-1)
			l.Unlock()
			return
		}
		if err := l.RLock(y); err != nil {
			return
		}
		readers.Add(1)
		if writers.Load() != 0 {
			t.Error("a reader beside a writer")
		}
		readers.Add(-1)
		l.RUnlock()
	})
	if l.state.Load() != 0 || !l.readers.empty() || !l.writers.empty() {
		t.Fatalf("state %x, lists %d %d", l.state.Load(), l.readers.n, l.writers.n)
	}
}

func TestSemaphoreStress(t *testing.T) {
	s := NewSemaphore(5)
	var held atomic.Int64
	stress(t, func(i int, y Io) {
		n := int64(1 + i%5)
		if err := s.Acquire(y, n); err != nil {
			return
		}
		if held.Add(n) > 5 {
			t.Error("more than the capacity granted")
		}
		runtime.Gosched()
		held.Add(-n)
		s.Release(n)
	})
	if s.InUse() != 0 || !s.q.empty() {
		t.Fatalf("in use %d, %d queued", s.InUse(), s.q.n)
	}
}

func TestConditionStress(t *testing.T) {
	// Tokens produced one at a time with Signal are all consumed: a
	// canceled consumer's Signal is passed on.
	var m Mutex
	var c Condition
	tokens, taken := 0, 0
	stress(t, func(i int, y Io) {
		if i%2 == 0 {
			m.LockUncancelable(y)
			tokens++
			runtime.Gosched()
			m.Unlock()
			c.Signal()
			return
		}
		m.LockUncancelable(y)
		defer m.Unlock()
		for tokens == 0 {
			if err := c.Wait(y, &m); err != nil {
				return
			}
		}
		tokens--
		taken++
	})
	if tokens+taken != 8*750 || c.n.Load() != 0 || !c.q.empty() {
		t.Fatalf("tokens %d taken %d, %d waiting", tokens, taken, c.n.Load())
	}
}
