package iotest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// within is how long a prompt reaction may take on a loaded 2-core CI machine.
// It bounds waits for things that must happen; no test fails for being slow
// unless something hangs for this long.
const within = 10 * time.Second

// canceledBy returns an Io whose task is canceled (a plain cancel, through a
// context, not a deadline: see expiresIn) after d, and its release func.
func canceledBy(x io.Io, d time.Duration) (io.Io, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(d, cancel)
	y, stop := x.WithContext(ctx)
	return y, func() { timer.Stop(); stop(); cancel() }
}

// sleepForever sleeps until canceled and reports how it ended.
func sleepForever(x io.Io) (int, error) {
	err := x.Sleep(time.Hour)
	return 0, err
}

func isCanceled(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v does not match context.Canceled", err)
	}
}

var _ = register("AsyncAwait", func(t *testing.T, x io.Io) {
	f := io.Async(x, func(x io.Io) (int, error) { return 42, nil })
	for range 3 { // idempotent
		v, err := f.Await(x)
		if v != 42 || err != nil {
			t.Fatalf("Await = %d, %v; want 42, nil", v, err)
		}
	}
	wantErr := errors.New("boom")
	g := io.Async(x, func(x io.Io) (string, error) { return "partial", wantErr })
	v, err := g.Await(x)
	if v != "partial" || err != wantErr {
		t.Fatalf("Await = %q, %v; want partial, boom", v, err)
	}
	if v, err := g.Cancel(x); v != "partial" || err != wantErr {
		t.Fatalf("Cancel after Await = %q, %v; want the same result", v, err)
	}
})

var _ = register("AsyncMany", func(t *testing.T, x io.Io) {
	// More tasks than any pool: some run inline, some not; all finish.
	const n = 500
	var ran atomic.Int64
	fs := make([]*io.Future[int], n)
	for i := range fs {
		fs[i] = io.Async(x, func(x io.Io) (int, error) {
			ran.Add(1)
			return i * i, nil
		})
	}
	for i, f := range fs {
		v, err := f.Await(x)
		if err != nil || v != i*i {
			t.Fatalf("task %d = %d, %v", i, v, err)
		}
	}
	if ran.Load() != n {
		t.Fatalf("ran %d tasks, want %d", ran.Load(), n)
	}
})

var _ = register("AsyncInlineUnderBlocking", func(t *testing.T, x io.Io) {
	ran := false
	f := io.Async(x, func(x io.Io) (bool, error) { ran = true; return true, nil })
	if x.Kind() == io.KindBlocking && !ran {
		t.Fatal("Blocking: Async returned before running the function")
	}
	if _, err := f.Await(x); err != nil || !ran {
		t.Fatalf("Await: %v, ran=%v", err, ran)
	}
})

var _ = register("Concurrent", func(t *testing.T, x io.Io) {
	// Two tasks that can only finish together: each waits for the other's signal.
	a, b := make(chan struct{}), make(chan struct{})
	fa, err := io.Concurrent(x, func(x io.Io) (int, error) {
		close(a)
		select {
		case <-b:
			return 1, nil
		case <-time.After(within):
			return 0, errors.New("peer never ran")
		}
	})
	if x.Kind() == io.KindBlocking || x.Kind() == io.KindFailing {
		if !errors.Is(err, io.ErrConcurrencyUnavailable) || fa != nil {
			t.Fatalf("%s: Concurrent = %v, %v; want nil, ErrConcurrencyUnavailable", x, fa, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Concurrent: %v", err)
	}
	fb, err := io.Concurrent(x, func(x io.Io) (int, error) {
		close(b)
		<-a
		return 2, nil
	})
	if err != nil {
		t.Fatalf("Concurrent: %v", err)
	}
	va, ea := fa.Await(x)
	vb, eb := fb.Await(x)
	if va != 1 || vb != 2 || ea != nil || eb != nil {
		t.Fatalf("results %d,%v %d,%v", va, ea, vb, eb)
	}
})

var _ = register("CancelSleepingTask", func(t *testing.T, x io.Io) {
	f, err := io.Concurrent(x, sleepForever)
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		// Sequential implementations: cancellation arrives from outside.
		y, stop := canceledBy(x, 20*time.Millisecond)
		defer stop()
		f = io.Async(y, sleepForever)
	} else if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = f.Cancel(x)
	isCanceled(t, err)
	if d := time.Since(start); d > within {
		t.Fatalf("Cancel took %v", d)
	}
	// Idempotent, and Await after Cancel returns the same.
	if _, err2 := f.Cancel(x); err2 != err {
		t.Fatalf("second Cancel = %v, want %v", err2, err)
	}
	if _, err2 := f.Await(x); err2 != err {
		t.Fatalf("Await after Cancel = %v, want %v", err2, err)
	}
})

var _ = register("CancelFinishedTaskKeepsResult", func(t *testing.T, x io.Io) {
	f := io.Async(x, func(x io.Io) ([]byte, error) { return []byte("resource"), nil })
	if _, err := f.Await(x); err != nil {
		t.Fatal(err)
	}
	v, err := f.Cancel(x)
	if err != nil || string(v) != "resource" {
		t.Fatalf("Cancel of a finished task = %q, %v; want its result", v, err)
	}
})

var _ = register("AwaitPropagatesCancel", func(t *testing.T, x io.Io) {
	// The parent is canceled while it awaits a child: the child is canceled too,
	// and the parent still gets the child's result.
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	parent := io.Async(y, func(x io.Io) (error, error) {
		child := io.Async(x, sleepForever)
		_, err := child.Await(x)
		return err, nil
	})
	childErr, _ := parent.Await(y) // y is canceled while it waits here
	isCanceled(t, childErr)
})

var _ = register("CheckCancelAndWithoutCancel", func(t *testing.T, x io.Io) {
	if err := x.CheckCancel(); err != nil || x.Canceled() {
		t.Fatalf("root Io canceled: %v", err)
	}
	y, cancel := x.WithCancel()
	cancel()
	if !y.Canceled() {
		t.Fatal("Canceled() = false after cancel")
	}
	isCanceled(t, y.CheckCancel())
	isCanceled(t, y.Sleep(time.Millisecond))
	isCanceled(t, y.Sleep(-time.Second)) // a cancel point even when there is nothing to wait for
	// A protected region runs to completion.
	if err := y.WithoutCancel().Sleep(time.Millisecond); err != nil {
		t.Fatalf("WithoutCancel().Sleep = %v", err)
	}
	// The request is still there afterwards.
	isCanceled(t, y.CheckCancel())
})

var _ = register("CPULoopChecksCancel", func(t *testing.T, x io.Io) {
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	f := io.Async(y, func(x io.Io) (int, error) {
		n := 0
		for {
			if err := x.CheckCancel(); err != nil {
				return n, err
			}
			n++
			time.Sleep(100 * time.Microsecond)
		}
	})
	n, err := f.Await(x)
	isCanceled(t, err)
	if n == 0 {
		t.Fatal("loop never ran")
	}
})

var _ = register("ContextBridge", func(t *testing.T, x io.Io) {
	// Io -> context: a task's context is done when the task is canceled.
	y, cancel := x.WithCancel()
	ctx := y.Context()
	if ctx.Err() != nil {
		t.Fatal("context done before cancel")
	}
	if got, ok := io.FromContext(ctx); !ok || got.Kind() != x.Kind() {
		t.Fatal("FromContext did not recover the Io")
	}
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(within):
		t.Fatal("context not done after cancel")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("ctx.Err() = %v", ctx.Err())
	}
	// context -> Io: a context deadline cancels a sleep, as a deadline.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	z, stop := x.WithContext(ctx2)
	defer stop()
	start := time.Now()
	isDeadlineExceeded(t, z.Sleep(time.Hour))
	if time.Since(start) > within {
		t.Fatal("sleep not interrupted promptly")
	}
	// A context handed to a library observes the Io's cancellation.
	w, cancel3 := x.WithCancel()
	go func() { time.Sleep(5 * time.Millisecond); cancel3() }()
	select {
	case <-w.Context().Done():
	case <-time.After(within):
		t.Fatal("Context() not done")
	}
})

var _ = register("Time", func(t *testing.T, x io.Io) {
	t0 := x.Now()
	if err := x.Sleep(15 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := x.Now().Sub(t0); d < 15*time.Millisecond {
		t.Fatalf("Sleep(15ms) returned after %v", d)
	}
	deadline := x.Now().Add(10 * time.Millisecond)
	if err := x.SleepUntil(deadline); err != nil {
		t.Fatal(err)
	}
	if x.Now().Before(deadline) {
		t.Fatal("SleepUntil returned before the deadline")
	}
	if err := x.SleepUntil(x.Now().Add(-time.Hour)); err != nil {
		t.Fatalf("SleepUntil(past) = %v", err)
	}
	y, stop := canceledBy(x, 10*time.Millisecond)
	defer stop()
	isCanceled(t, y.SleepUntil(x.Now().Add(time.Hour)))
})

var _ = register("TimerStorm", func(t *testing.T, x io.Io) {
	// Many tasks sleeping at once all wake; under sequential Io they simply add up.
	var g io.Group
	n := 200
	if x.Kind() == io.KindBlocking {
		n = 5
	}
	var woke atomic.Int64
	for range n {
		g.Async(x, func(x io.Io) error {
			if err := x.Sleep(time.Millisecond); err != nil {
				return err
			}
			woke.Add(1)
			return nil
		})
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	if woke.Load() != int64(n) {
		t.Fatalf("%d of %d sleepers woke", woke.Load(), n)
	}
})
