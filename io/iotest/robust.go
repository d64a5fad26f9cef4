package iotest

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Misuse of the task API — panicking tasks, self-waits, zero futures — is
// reported the same way on every implementation: no crash on a pool
// goroutine, no silent deadlock.

// catchPanic runs fn and returns the *io.PanicError it panicked with, failing
// the test if it returned normally or panicked with anything else.
func catchPanic(t *testing.T, what string, fn func()) *io.PanicError {
	t.Helper()
	var got any
	func() {
		defer func() { got = recover() }()
		fn()
	}()
	if got == nil {
		t.Fatalf("%s returned; want it to raise the task's panic again", what)
	}
	pe, ok := got.(*io.PanicError)
	if !ok {
		t.Fatalf("%s panicked with %T %v; want *io.PanicError", what, got, got)
	}
	return pe
}

// panickingMember panics with value; its name is in the stack the panic keeps.
func panickingMember(value any) error { panic(value) }

func checkPanic(t *testing.T, pe *io.PanicError, value any) {
	t.Helper()
	if pe.Value != value {
		t.Fatalf("PanicError.Value = %v, want %v", pe.Value, value)
	}
	if !strings.Contains(string(pe.Stack), "panickingMember") {
		t.Fatalf("PanicError.Stack does not show where the task panicked:\n%s", pe.Stack)
	}
	if !strings.Contains(pe.Error(), "task panicked") || !strings.Contains(pe.Error(), "panickingMember") {
		t.Fatalf("PanicError.Error() = %q; want the value and the task's stack", pe.Error())
	}
}

var _ = register("GroupMemberPanicRaisedByWait", func(t *testing.T, x io.Io) {
	for _, concurrent := range []bool{false, true} {
		var g io.Group
		var others atomic.Int64
		boom := errors.New("boom")
		start := func(fn func(io.Io) error) {
			if concurrent {
				if err := g.Concurrent(x, fn); err != nil {
					if errors.Is(err, io.ErrConcurrencyUnavailable) {
						g.Async(x, fn) // fall back: the rule is the same
					} else {
						t.Fatalf("Concurrent: %v", err)
					}
				}
				return
			}
			g.Async(x, fn)
		}
		start(func(io.Io) error { others.Add(1); return nil })
		start(func(io.Io) error { return panickingMember(boom) })
		start(func(x io.Io) error { _ = x.Sleep(time.Millisecond); others.Add(1); return nil })
		pe := catchPanic(t, "Group.Wait", func() { _ = g.Wait(x) })
		checkPanic(t, pe, boom)
		if !errors.Is(pe, boom) {
			t.Fatalf("errors.Is(PanicError, value) = false for an error value")
		}
		if others.Load() != 2 {
			t.Fatalf("Wait raised the panic before the other members finished (%d of 2)", others.Load())
		}
		// The group is empty and usable again; the panic was raised once.
		g.Async(x, func(io.Io) error { return nil })
		if err := g.Wait(x); err != nil {
			t.Fatalf("Wait after the panic: %v", err)
		}
		// Cancel raises it too.
		g.Async(x, func(io.Io) error { return panickingMember("cancel") })
		checkPanic(t, catchPanic(t, "Group.Cancel", func() { _ = g.Cancel(x) }), "cancel")
	}
})

var _ = register("FuturePanicRaisedByAwait", func(t *testing.T, x io.Io) {
	f := io.Async(x, func(io.Io) (int, error) { return 0, panickingMember("async") })
	checkPanic(t, catchPanic(t, "Await", func() { _, _ = f.Await(x) }), "async")
	checkPanic(t, catchPanic(t, "Await again", func() { _, _ = f.Await(x) }), "async")
	checkPanic(t, catchPanic(t, "Cancel", func() { _, _ = f.Cancel(x) }), "async")

	g, err := io.Concurrent(x, func(io.Io) (int, error) { return 0, panickingMember("concurrent") })
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		return
	}
	if err != nil {
		t.Fatalf("Concurrent: %v", err)
	}
	checkPanic(t, catchPanic(t, "Await", func() { _, _ = g.Await(x) }), "concurrent")

	// Race drains the losers, then raises a loser's panic.
	h, err := io.Concurrent(x, func(io.Io) (int, error) { return 0, panickingMember("loser") })
	if err != nil {
		t.Fatalf("Concurrent: %v", err)
	}
	for !h.Done() {
		time.Sleep(time.Millisecond)
	}
	k, err := io.Concurrent(x, func(x io.Io) (int, error) { return sleepForever(x) })
	if err != nil {
		t.Fatalf("Concurrent: %v", err)
	}
	checkPanic(t, catchPanic(t, "CancelAll", func() { io.CancelAll(k, h) }), "loser")
	if !k.Done() {
		t.Fatal("CancelAll raised the panic before every future had finished")
	}
})

var _ = register("SelfAwaitFails", func(t *testing.T, x io.Io) {
	var self atomic.Pointer[io.Future[int]]
	ready := make(chan struct{})
	type result struct{ await, cancel error }
	results := make(chan result, 1)
	f, err := io.Concurrent(x, func(tx io.Io) (int, error) {
		select {
		case <-ready:
		case <-time.After(within):
			return 0, errors.New("never got its own future")
		}
		f := self.Load()
		var r result
		_, r.await = f.Await(tx)
		_, r.cancel = f.Cancel(tx)
		results <- r
		// Cancel still requested the cancellation: the next cancel point fails.
		return 0, tx.CheckCancel()
	})
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		return // the task runs inline: it cannot hold its own future
	}
	if err != nil {
		t.Fatalf("Concurrent: %v", err)
	}
	self.Store(f)
	close(ready)
	_, ferr := f.Await(x)
	r := <-results
	if !errors.Is(r.await, io.ErrSelfAwait) || !errors.Is(r.cancel, io.ErrSelfAwait) {
		t.Fatalf("self Await, Cancel = %v, %v; want ErrSelfAwait", r.await, r.cancel)
	}
	if !errors.Is(ferr, io.ErrCanceled) {
		t.Fatalf("task after self-Cancel = %v; want ErrCanceled at its next cancel point", ferr)
	}
})

var _ = register("GroupSelfWaitFails", func(t *testing.T, x io.Io) {
	var g io.Group
	var waitErr, cancelErr, after error
	g.Async(x, func(mx io.Io) error {
		waitErr = g.Wait(mx)
		cancelErr = g.Cancel(mx)
		after = mx.CheckCancel()
		return nil
	})
	if err := g.Wait(x); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if !errors.Is(waitErr, io.ErrSelfAwait) || !errors.Is(cancelErr, io.ErrSelfAwait) {
		t.Fatalf("Wait, Cancel from a member = %v, %v; want ErrSelfAwait", waitErr, cancelErr)
	}
	if !errors.Is(after, io.ErrCanceled) {
		t.Fatalf("member after its own Group.Cancel: CheckCancel = %v, want ErrCanceled", after)
	}
})

var _ = register("ZeroFutureFails", func(t *testing.T, x io.Io) {
	var f io.Future[int]
	var nilF *io.Future[int]
	for name, fn := range map[string]func() error{
		"Await":      func() error { _, err := f.Await(x); return err },
		"Cancel":     func() error { _, err := f.Cancel(x); return err },
		"nil Await":  func() error { _, err := nilF.Await(x); return err },
		"nil Cancel": func() error { _, err := nilF.Cancel(x); return err },
		"Select":     func() error { _, err := io.Select(x, &f); return err },
		"nil Select": func() error { _, err := io.Select(x, nilF); return err },
		"Race":       func() error { _, _, err := io.Race(x, &f, nilF); return err },
	} {
		if err := fn(); !errors.Is(err, io.ErrZeroFuture) || !errors.Is(err, io.ErrInvalid) {
			t.Errorf("%s on a zero Future = %v; want ErrZeroFuture", name, err)
		}
	}
	if f.Done() {
		t.Error("zero Future is Done")
	}
	io.CancelAll(&f, nilF) // returns: nothing to wait for
})

var _ = register("ZeroPromise", func(t *testing.T, x io.Io) {
	var p io.Promise[string]
	go p.Resolve("late", nil)
	v, err := p.Future().Await(x)
	if v != "late" || err != nil {
		t.Fatalf("zero Promise: Await = %q, %v", v, err)
	}
})

var _ = register("HugeQueueCapacity", func(t *testing.T, x io.Io) {
	q := io.NewQueue[[64]byte](1 << 40) // 64 TiB if allocated up front
	if q.Cap() != 1<<40 {
		t.Fatalf("Cap = %d", q.Cap())
	}
	for i := range 100 {
		if err := q.PutOne(x, [64]byte{byte(i)}); err != nil {
			t.Fatalf("PutOne: %v", err)
		}
	}
	for i := range 100 {
		v, err := q.GetOne(x)
		if err != nil || v[0] != byte(i) {
			t.Fatalf("GetOne = %d, %v; want %d", v[0], err, i)
		}
	}
})

// A task that ends with runtime.Goexit (t.FailNow in a task) does not leave
// its future or group waiting forever: the wait returns an error. Under
// Blocking the task runs inline, so Goexit also ends the goroutine that
// started it; the test starts it from a goroutine of its own.
var _ = register("GoexitInTaskDoesNotHang", func(t *testing.T, x io.Io) {
	type result struct{ fut, grp error }
	res := make(chan result, 1)
	go func() {
		var r result
		var f *io.Future[int]
		func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				f = io.Async(x, func(io.Io) (int, error) { runtime.Goexit(); return 0, nil })
			}()
			<-done
		}()
		if f != nil {
			_, r.fut = f.Await(x)
		} else {
			// Inline: Async never returned, so nobody holds the future.
			r.fut = errors.New("Goexit")
		}
		var g io.Group
		func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				g.Async(x, func(io.Io) error { runtime.Goexit(); return nil })
			}()
			<-done
		}()
		r.grp = g.Wait(x)
		res <- r
	}()
	select {
	case r := <-res:
		for what, err := range map[string]error{"Future.Await": r.fut, "Group.Wait": r.grp} {
			if err == nil || !strings.Contains(err.Error(), "Goexit") {
				t.Errorf("%s after a task's runtime.Goexit = %v; want an error naming Goexit", what, err)
			}
		}
	case <-time.After(within):
		t.Fatal("a wait on a task that called runtime.Goexit hangs")
	}
})
