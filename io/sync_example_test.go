package io_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vkio/vkio/io"
)

// A Mutex guards a counter that many tasks update; Lock is a cancel point.
func ExampleMutex() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	var m io.Mutex
	total := 0
	var g io.Group
	for i := 1; i <= 10; i++ {
		g.Async(x, func(x io.Io) error {
			if err := m.Lock(x); err != nil {
				return err // canceled while waiting: the lock is not held
			}
			defer m.Unlock()
			total += i
			return nil
		})
	}
	if err := g.Wait(x); err != nil {
		fmt.Println(err)
	}
	fmt.Println(total)
	// Output: 55
}

// A Lock that waits for a mutex held elsewhere gives up when its task is
// canceled, here by a context's deadline: even under Blocking, where the
// holder could never let go.
func ExampleMutex_canceled() {
	x := io.NewBlocking().Io()
	var m io.Mutex
	m.LockUncancelable(x)
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer stop()
	y, cancel := x.WithContext(ctx)
	defer cancel()
	err := m.Lock(y)
	fmt.Println(errors.Is(err, io.ErrCanceled), m.TryLock())
	m.Unlock()
	// Output: true false
}

// A Condition lets a consumer wait for a producer, with the mutex held while
// it checks the data.
func ExampleCondition() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	var m io.Mutex
	var c io.Condition
	var items []string
	consumer, err := io.Concurrent(x, func(x io.Io) (string, error) {
		m.LockUncancelable(x)
		defer m.Unlock() // Wait returns with m held, even when canceled
		for len(items) == 0 {
			if err := c.Wait(x, &m); err != nil {
				return "", err
			}
		}
		item := items[0]
		items = items[1:]
		return item, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.LockUncancelable(x)
	items = append(items, "frame 1")
	c.Signal()
	m.Unlock()
	fmt.Println(consumer.Await(x))
	// Output: frame 1 <nil>
}

// An Event tells any number of tasks that something has happened.
func ExampleEvent() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	var ready io.Event
	var g io.Group
	for range 3 {
		g.Async(x, func(x io.Io) error { return ready.Wait(x) })
	}
	ready.Set()
	fmt.Println(g.Wait(x), ready.IsSet())
	// Output: <nil> true
}

// A Semaphore bounds the weight in use: here at most 4 MiB of buffers at
// once, granted first come, first served.
func ExampleSemaphore() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	const mib = 1 << 20
	budget := io.NewSemaphore(4 * mib)
	var g io.Group
	for _, size := range []int64{3 * mib, 2 * mib, 4 * mib, 1 * mib} {
		g.Async(x, func(x io.Io) error {
			if err := budget.Acquire(x, size); err != nil {
				return err
			}
			defer budget.Release(size)
			// ... fill and write size bytes of buffers ...
			return nil
		})
	}
	fmt.Println(g.Wait(x), budget.Peak() <= 4*mib, budget.InUse())
	// Output: <nil> true 0
}

// An RwLock lets readers share a table while a writer waits its turn.
func ExampleRwLock() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	var l io.RwLock
	table := map[string]int{"a": 1}
	var g io.Group
	for range 4 {
		g.Async(x, func(x io.Io) error {
			if err := l.RLock(x); err != nil {
				return err
			}
			defer l.RUnlock()
			_ = table["a"]
			return nil
		})
	}
	g.Async(x, func(x io.Io) error {
		if err := l.Lock(x); err != nil {
			return err
		}
		defer l.Unlock()
		table["b"] = 2
		return nil
	})
	fmt.Println(g.Wait(x), len(table))
	// Output: <nil> 2
}
