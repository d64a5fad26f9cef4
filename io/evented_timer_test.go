//go:build linux

package io

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Sleeps share one timeout request: an earlier sleep re-arms it, none wakes
// early, canceled sleeps leave at once, and a storm takes few ring requests.
func TestEventedTimers(t *testing.T) {
	e := newTestEvented(t, EventedOptions{ConcurrentLimit: 5000})
	x := e.Io()

	// A long sleep is armed; a short one arriving later must re-arm earlier.
	long, err := Concurrent(x, func(x Io) (int, error) { return 0, x.Sleep(300 * time.Millisecond) })
	if err != nil {
		t.Fatal(err)
	}
	for inFlight(e) == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := x.Sleep(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 10*time.Millisecond || d > 200*time.Millisecond {
		t.Errorf("10 ms sleep behind an armed 300 ms one took %v", d)
	}
	if _, err := long.Cancel(x); !errors.Is(err, ErrCanceled) {
		t.Errorf("canceled long sleep = %v", err)
	}

	// A storm with random deadlines, a tenth of it canceled.
	before := e.Stats()
	const n = 3000
	var wg sync.WaitGroup
	var mu sync.Mutex
	early, canceled := 0, 0
	var late time.Duration
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := time.Duration(rand.IntN(20_000)) * time.Microsecond
			xi, cancel := x.WithCancel()
			defer cancel()
			if i%10 == 0 {
				time.AfterFunc(d/2, cancel)
			}
			deadline := time.Now().Add(d)
			err := xi.SleepUntil(deadline)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrCanceled):
				canceled++
			case err != nil:
				t.Errorf("sleep: %v", err)
			case time.Now().Before(deadline):
				early++
			default:
				late = max(late, time.Since(deadline))
			}
		}()
	}
	wg.Wait()
	reqs := e.Stats().Submitted - before.Submitted
	t.Logf("%d sleeps (%d canceled) took %d ring requests; latest wake-up %v after its deadline", n, canceled, reqs, late)
	if early > 0 {
		t.Errorf("%d sleeps woke before their deadline", early)
	}
	if canceled == 0 {
		t.Errorf("no sleep was canceled")
	}
	if reqs >= n/2 {
		t.Errorf("%d ring requests for %d sleeps; want them multiplexed", reqs, n)
	}
}
