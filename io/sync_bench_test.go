package io_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/vkio/vkio/io"
)

// The Io-aware locks against the standard library's (and x/sync's
// semaphore): uncontended (one goroutine) and contended (b.RunParallel, one
// goroutine per P). "io" locks through the root Io, which nothing cancels;
// "io-in-task" through a cancelable task's Io, whose waits watch for the
// cancellation.

// work is a little computation outside the lock, so that contended runs are
// not only lock hand-offs.
func work(n int) int {
	v := 0
	for i := range n {
		v += i * i
	}
	return v
}

// workSink keeps the work's results, so that the compiler cannot drop it.
var workSink atomic.Int64

func ios() (root, task io.Io, cancel context.CancelFunc) {
	root = io.NewThreaded(io.ThreadedOptions{}).Io()
	task, cancel = root.WithCancel()
	return root, task, cancel
}

func BenchmarkMutex(b *testing.B) {
	root, task, cancel := ios()
	defer cancel()
	b.Run("uncontended/baseline=sync.Mutex", func(b *testing.B) {
		var m sync.Mutex
		for b.Loop() {
			m.Lock()
			m.Unlock()
		}
	})
	for name, x := range map[string]io.Io{"io": root, "io-in-task": task} {
		b.Run("uncontended/"+name, func(b *testing.B) {
			var m io.Mutex
			for b.Loop() {
				if err := m.Lock(x); err != nil {
					b.Fatal(err)
				}
				m.Unlock()
			}
		})
	}
	for _, w := range []int{0, 100} {
		suffix := ""
		if w > 0 {
			suffix = "+work"
		}
		b.Run("contended"+suffix+"/baseline=sync.Mutex", func(b *testing.B) {
			var m sync.Mutex
			n := 0
			b.RunParallel(func(pb *testing.PB) {
				acc := 0
				defer func() { workSink.Add(int64(acc)) }()
				for pb.Next() {
					m.Lock()
					n++
					m.Unlock()
					acc += work(w)
				}
			})
		})
		for name, x := range map[string]io.Io{"io": root, "io-in-task": task} {
			b.Run("contended"+suffix+"/"+name, func(b *testing.B) {
				var m io.Mutex
				n := 0
				b.RunParallel(func(pb *testing.PB) {
					acc := 0
					defer func() { workSink.Add(int64(acc)) }()
					for pb.Next() {
						if err := m.Lock(x); err != nil {
							b.Error(err)
							return
						}
						n++
						m.Unlock()
						acc += work(w)
					}
				})
			})
		}
	}
}

func BenchmarkRwLock(b *testing.B) {
	root, task, cancel := ios()
	defer cancel()
	b.Run("uncontended-read/baseline=sync.RWMutex", func(b *testing.B) {
		var l sync.RWMutex
		for b.Loop() {
			l.RLock()
			l.RUnlock()
		}
	})
	b.Run("uncontended-write/baseline=sync.RWMutex", func(b *testing.B) {
		var l sync.RWMutex
		for b.Loop() {
			l.Lock()
			l.Unlock()
		}
	})
	for name, x := range map[string]io.Io{"io": root, "io-in-task": task} {
		b.Run("uncontended-read/"+name, func(b *testing.B) {
			var l io.RwLock
			for b.Loop() {
				if err := l.RLock(x); err != nil {
					b.Fatal(err)
				}
				l.RUnlock()
			}
		})
		b.Run("uncontended-write/"+name, func(b *testing.B) {
			var l io.RwLock
			for b.Loop() {
				if err := l.Lock(x); err != nil {
					b.Fatal(err)
				}
				l.Unlock()
			}
		})
	}
	// One write in ten, with work outside the lock.
	b.Run("contended-mixed/baseline=sync.RWMutex", func(b *testing.B) {
		var l sync.RWMutex
		b.RunParallel(func(pb *testing.PB) {
			acc := 0
			defer func() { workSink.Add(int64(acc)) }()
			i := 0
			for pb.Next() {
				if i++; i%10 == 0 {
					l.Lock()
					l.Unlock()
				} else {
					l.RLock()
					l.RUnlock()
				}
				acc += work(100)
			}
		})
	})
	b.Run("contended-mixed/io", func(b *testing.B) {
		var l io.RwLock
		b.RunParallel(func(pb *testing.PB) {
			acc := 0
			defer func() { workSink.Add(int64(acc)) }()
			i := 0
			for pb.Next() {
				if i++; i%10 == 0 {
					if err := l.Lock(root); err != nil {
						b.Error(err)
						return
					}
					l.Unlock()
				} else {
					if err := l.RLock(root); err != nil {
						b.Error(err)
						return
					}
					l.RUnlock()
				}
				acc += work(100)
			}
		})
	})
}

// A ping-pong between two goroutines through a condition variable: each
// round trip is two waits and two signals.
func BenchmarkCondition(b *testing.B) {
	root, _, cancel := ios()
	defer cancel()
	b.Run("pingpong/baseline=sync.Cond", func(b *testing.B) {
		var m sync.Mutex
		c := sync.NewCond(&m)
		turn := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.Lock()
			defer m.Unlock()
			for i := 0; i < b.N; i++ {
				for turn != 1 {
					c.Wait()
				}
				turn = 0
				c.Signal()
			}
		}()
		m.Lock()
		for i := 0; i < b.N; i++ {
			turn = 1
			c.Signal()
			for turn != 0 {
				c.Wait()
			}
		}
		m.Unlock()
		<-done
	})
	b.Run("pingpong/io", func(b *testing.B) {
		x := root
		var m io.Mutex
		var c io.Condition
		turn := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.LockUncancelable(x)
			defer m.Unlock()
			for i := 0; i < b.N; i++ {
				for turn != 1 {
					_ = c.Wait(x, &m)
				}
				turn = 0
				c.Signal()
			}
		}()
		m.LockUncancelable(x)
		for i := 0; i < b.N; i++ {
			turn = 1
			c.Signal()
			for turn != 0 {
				_ = c.Wait(x, &m)
			}
		}
		m.Unlock()
		<-done
	})
	// Signal with nobody waiting: the common case of a producer.
	b.Run("signal-idle/baseline=sync.Cond", func(b *testing.B) {
		c := sync.NewCond(new(sync.Mutex))
		for b.Loop() {
			c.Signal()
		}
	})
	b.Run("signal-idle/io", func(b *testing.B) {
		var c io.Condition
		for b.Loop() {
			c.Signal()
		}
	})
}

func BenchmarkSemaphore(b *testing.B) {
	root, task, cancel := ios()
	defer cancel()
	ctx := context.Background()
	b.Run("uncontended/baseline=x-sync-semaphore", func(b *testing.B) {
		s := semaphore.NewWeighted(4)
		for b.Loop() {
			if err := s.Acquire(ctx, 1); err != nil {
				b.Fatal(err)
			}
			s.Release(1)
		}
	})
	for name, x := range map[string]io.Io{"io": root, "io-in-task": task} {
		b.Run("uncontended/"+name, func(b *testing.B) {
			s := io.NewSemaphore(4)
			for b.Loop() {
				if err := s.Acquire(x, 1); err != nil {
					b.Fatal(err)
				}
				s.Release(1)
			}
		})
	}
	// Capacity 2 shared by one goroutine per P, with work inside.
	b.Run("contended/baseline=x-sync-semaphore", func(b *testing.B) {
		s := semaphore.NewWeighted(2)
		b.RunParallel(func(pb *testing.PB) {
			acc := 0
			defer func() { workSink.Add(int64(acc)) }()
			for pb.Next() {
				if err := s.Acquire(ctx, 1); err != nil {
					b.Error(err)
					return
				}
				acc += work(100)
				s.Release(1)
			}
		})
	})
	for name, x := range map[string]io.Io{"io": root, "io-in-task": task} {
		b.Run("contended/"+name, func(b *testing.B) {
			s := io.NewSemaphore(2)
			b.RunParallel(func(pb *testing.PB) {
				acc := 0
				defer func() { workSink.Add(int64(acc)) }()
				for pb.Next() {
					if err := s.Acquire(x, 1); err != nil {
						b.Error(err)
						return
					}
					acc += work(100)
					s.Release(1)
				}
			})
		})
	}
}
