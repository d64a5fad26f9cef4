package io

import (
	"errors"
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
