package iotest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Deadlines and cancellation with a cause (WithDeadline, WithTimeout,
// WithCancelCause): every cancel point expires with the deadline error, the
// cause reaches the error and context.Cause, and both flow down to child
// tasks. No case asserts how fast anything happens: only that a wait ended
// (within the generous bound `within`) and did not end before its deadline.

// isDeadlineExceeded checks that err is an expired deadline: it matches
// context.DeadlineExceeded, os.ErrDeadlineExceeded, io.ErrDeadlineExceeded
// and io.ErrCanceled, and (as in package context) not context.Canceled.
func isDeadlineExceeded(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) ||
		!errors.Is(err, io.ErrDeadlineExceeded) || !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("err = %v; want an error matching context.DeadlineExceeded, os.ErrDeadlineExceeded and io.ErrCanceled", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v matches context.Canceled; a deadline must not", err)
	}
}

// expiresIn returns an Io whose deadline is d from now, the deadline, and its
// cancel func.
func expiresIn(x io.Io, d time.Duration) (io.Io, time.Time, context.CancelFunc) {
	deadline := time.Now().Add(d)
	y, cancel := x.WithDeadline(deadline)
	return y, deadline, cancel
}

// expired checks that a wait that ended with err at the time it returned
// ended because of deadline: with the deadline error, not before it, and
// (checked by the caller's start) not a hang.
func expired(t *testing.T, what string, err error, deadline time.Time) {
	t.Helper()
	if time.Now().Before(deadline) {
		t.Fatalf("%s returned %v before its deadline", what, err)
	}
	isDeadlineExceeded(t, err)
}

var _ = register("DeadlineSleep", func(t *testing.T, x io.Io) {
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	if d, ok := y.Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("Deadline = %v, %v; want %v", d, ok, deadline)
	}
	if d, ok := y.Context().Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("Context().Deadline = %v, %v; want %v", d, ok, deadline)
	}
	if _, ok := x.Deadline(); ok {
		t.Fatal("the root Io reports a deadline")
	}
	if y.Context().Err() != nil {
		t.Fatal("context done before its deadline")
	}
	start := time.Now()
	err := y.Sleep(time.Hour)
	if time.Since(start) > within {
		t.Fatal("sleep not interrupted by its deadline")
	}
	expired(t, "Sleep", err, deadline)
	isDeadlineExceeded(t, y.CheckCancel())
	isDeadlineExceeded(t, y.SleepUntil(time.Now().Add(time.Hour)))
	ctx := y.Context()
	if ctx.Err() != context.DeadlineExceeded {
		t.Fatalf("Context().Err() = %v; want context.DeadlineExceeded", ctx.Err())
	}
	if c := context.Cause(ctx); c != context.DeadlineExceeded {
		t.Fatalf("context.Cause = %v; want context.DeadlineExceeded", c)
	}
	// A deadline already passed cancels at once.
	z, zcancel := x.WithDeadline(time.Now().Add(-time.Second))
	defer zcancel()
	isDeadlineExceeded(t, z.CheckCancel())
	// Cancel before the deadline: a plain cancel, and it stays one.
	w, wdeadline, wcancel := expiresIn(x, 20*time.Millisecond)
	wcancel()
	err = w.Sleep(time.Hour)
	if !errors.Is(err, io.ErrCanceled) || !errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep after cancel = %v; want a plain cancel", err)
	}
	_ = x.SleepUntil(wdeadline.Add(10 * time.Millisecond))
	if err := w.CheckCancel(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after its cancel, the deadline overrode it: %v", err)
	}
	if w.Context().Err() != context.Canceled {
		t.Fatalf("Context().Err() after cancel = %v", w.Context().Err())
	}
})

var _ = register("DeadlineAwait", func(t *testing.T, x io.Io) {
	// A task started through the Io with the deadline expires with it.
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	f := io.Async(y, func(x io.Io) (time.Time, error) {
		d, _ := x.Deadline()
		return d, x.Sleep(time.Hour)
	})
	d, err := f.Await(y)
	expired(t, "Await", err, deadline)
	if !d.Equal(deadline) {
		t.Fatalf("the task's Deadline = %v; want its parent's %v", d, deadline)
	}
	// Cancel afterwards returns the same result: the first cancellation won.
	if _, err := f.Cancel(x); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Cancel after the deadline = %v", err)
	}
	// A task started elsewhere: the awaiter's deadline reaches it through
	// Await, with the same cause.
	g, err := io.Concurrent(x, sleepForever)
	if err != nil {
		return // Blocking: nothing can run beside the awaiter
	}
	y2, deadline2, cancel2 := expiresIn(x, 20*time.Millisecond)
	defer cancel2()
	_, err = g.Await(y2)
	expired(t, "Await of a task started elsewhere", err, deadline2)
})

var _ = register("DeadlineSelectRace", func(t *testing.T, x io.Io) {
	f1, err := io.Concurrent(x, sleepForever)
	if err != nil {
		return // Blocking: the futures would have run to completion inline
	}
	f2, err := io.Concurrent(x, sleepForever)
	if err != nil {
		f1.Cancel(x)
		t.Fatal(err)
	}
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	i, err := io.Select(y, f1, f2)
	if i != -1 {
		t.Fatalf("Select = %d", i)
	}
	expired(t, "Select", err, deadline)
	io.CancelAll(f1, f2)
	f3, _ := io.Concurrent(x, sleepForever)
	f4, _ := io.Concurrent(x, sleepForever)
	y2, deadline2, cancel2 := expiresIn(x, 20*time.Millisecond)
	defer cancel2()
	i, _, err = io.Race(y2, f3, f4)
	if i != -1 {
		t.Fatalf("Race = %d", i)
	}
	expired(t, "Race", err, deadline2)
	if !f3.Done() || !f4.Done() {
		t.Fatal("Race left a future running")
	}
})

var _ = register("DeadlineGroupWait", func(t *testing.T, x io.Io) {
	// Members started through the Io with the deadline.
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	var g io.Group
	g.Async(y, func(x io.Io) error { return x.Sleep(time.Hour) })
	expired(t, "Group.Wait", g.Wait(y), deadline)
	// Members started elsewhere: the waiter's deadline cancels them.
	var h io.Group
	if err := h.Concurrent(x, func(x io.Io) error { return x.Sleep(time.Hour) }); err != nil {
		return // Blocking
	}
	y2, deadline2, cancel2 := expiresIn(x, 20*time.Millisecond)
	defer cancel2()
	expired(t, "Group.Wait of members started elsewhere", h.Wait(y2), deadline2)
})

var _ = register("DeadlineQueue", func(t *testing.T, x io.Io) {
	q := io.NewQueue[int](2)
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	n, err := q.Put(y, []int{1, 2, 3}, 3)
	expired(t, "Queue.Put", err, deadline)
	if n != 2 {
		t.Fatalf("Put past its deadline moved %d, want 2", n)
	}
	buf := make([]int, 3)
	y2, deadline2, cancel2 := expiresIn(x, 20*time.Millisecond)
	defer cancel2()
	n, err = q.Get(y2, buf, 3)
	expired(t, "Queue.Get", err, deadline2)
	if n != 2 {
		t.Fatalf("Get past its deadline moved %d, want 2", n)
	}
})

var _ = register("DeadlineNet", func(t *testing.T, x io.Io) {
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	_, err = l.Accept(y) // nobody dials
	expired(t, "Accept", err, deadline)
	// A dial whose deadline has passed fails with it; one within it works.
	past, pcancel := x.WithDeadline(time.Now().Add(-time.Second))
	defer pcancel()
	_, err = io.Dial(past, "tcp", l.Addr().String())
	isDeadlineExceeded(t, err)
	accepted, err := io.Concurrent(x, func(x io.Io) (*io.Conn, error) { return l.Accept(x) })
	if err != nil {
		return // Blocking: needs accept and dial at once
	}
	dx, dcancel := x.WithTimeout(within)
	defer dcancel()
	c, err := io.Dial(dx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("Dial within its deadline = %v", err)
	}
	defer c.Close(x)
	s, err := accepted.Await(x)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(x)
	// Read: nothing is sent.
	y2, deadline2, cancel2 := expiresIn(x, 20*time.Millisecond)
	defer cancel2()
	_, err = s.Read(y2, make([]byte, 8))
	expired(t, "Conn.Read", err, deadline2)
	// Write: the peer does not read, so the socket buffers fill up.
	y3, deadline3, cancel3 := expiresIn(x, 50*time.Millisecond)
	defer cancel3()
	big := make([]byte, 1<<20)
	for {
		if _, err = s.Write(y3, big); err != nil {
			break
		}
	}
	expired(t, "Conn.Write", err, deadline3)
	// The connection still works for a task without a deadline (the write
	// may have left part of a chunk in flight: drain what arrived).
	go func() {
		buf := make([]byte, 1<<16)
		for {
			if _, err := c.Read(x, buf); err != nil {
				return
			}
		}
	}()
	if _, err := s.Write(x, []byte("ping")); err != nil {
		t.Fatalf("write after an expired write = %v", err)
	}
	s.Close(x)
	c.Close(x)
})

var _ = register("DeadlineFile", func(t *testing.T, x io.Io) {
	d, _ := tempDir(t, x)
	f, err := d.CreateFile(x, "f", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	// A task writing chunk after chunk until its deadline stops at a
	// boundary with the deadline error.
	y, deadline, cancel := expiresIn(x, 30*time.Millisecond)
	defer cancel()
	chunk := randomBytes(4096)
	for {
		if _, err = f.Write(y, chunk); err != nil {
			break
		}
		if err = y.Sleep(time.Millisecond); err != nil {
			break
		}
	}
	expired(t, "file write loop", err, deadline)
	// Every file operation past the deadline fails with it.
	_, err = f.Write(y, chunk)
	isDeadlineExceeded(t, err)
	_, err = f.WriteAt(y, chunk, 0)
	isDeadlineExceeded(t, err)
	isDeadlineExceeded(t, f.Sync(y))
	_, err = d.OpenFile(y, "f", io.ReadOnly)
	isDeadlineExceeded(t, err)
	// The file is fine for a task without a deadline.
	if _, err := f.WriteAt(x, chunk[:1], 0); err != nil {
		t.Fatal(err)
	}
})

var _ = register("DeadlineRacesCompletion", func(t *testing.T, x io.Io) {
	// The deadline and the completion fall at the same instant: either wins,
	// never both, never a hang.
	const rounds = 200
	var won, expiredN int
	for range rounds {
		at := time.Now().Add(200 * time.Microsecond)
		y, cancel := x.WithDeadline(at)
		err := y.SleepUntil(at)
		cancel()
		switch {
		case err == nil:
			won++
		case errors.Is(err, context.DeadlineExceeded) && errors.Is(err, io.ErrCanceled):
			expiredN++
		default:
			t.Fatalf("sleep racing its deadline = %v", err)
		}
	}
	t.Logf("sleep: %d completed, %d expired", won, expiredN)
	// A queue item put at the deadline: it arrives or the Get expires.
	q := io.NewQueue[int](1)
	won, expiredN = 0, 0
	for range rounds {
		at := time.Now().Add(200 * time.Microsecond)
		p, err := io.Concurrent(x, func(x io.Io) (int, error) {
			if err := x.SleepUntil(at); err != nil {
				return 0, err
			}
			return 0, q.PutOne(x, 7)
		})
		if err != nil {
			return // Blocking
		}
		y, cancel := x.WithDeadline(at)
		buf := make([]int, 1)
		n, err := q.Get(y, buf, 1)
		cancel()
		if _, perr := p.Await(x); perr != nil {
			t.Fatal(perr)
		}
		switch {
		case n == 1 && err == nil && buf[0] == 7:
			won++
		case n == 0 && errors.Is(err, context.DeadlineExceeded):
			expiredN++
			if v, err := q.GetOne(x); v != 7 || err != nil { // the item is still there
				t.Fatalf("item left after an expired Get = %d, %v", v, err)
			}
		default:
			t.Fatalf("Get racing its deadline = %d, %v", n, err)
		}
	}
	t.Logf("queue: %d completed, %d expired", won, expiredN)
})

var _ = register("CancelCause", func(t *testing.T, x io.Io) {
	cause := errors.New("shutting down")
	y, cancel := x.WithCancelCause()
	derived, dstop := context.WithCancel(y.Context()) // derived before the cancel
	defer dstop()
	child := io.Async(y, func(x io.Io) (int, error) {
		if _, err := io.Concurrent(x, sleepForever); err != nil {
			return 0, nil // Blocking: the child ran inline before the cancel
		}
		return 0, x.Sleep(time.Hour)
	})
	if context.Cause(y.Context()) != nil {
		t.Fatal("a cause before the cancel")
	}
	time.AfterFunc(10*time.Millisecond, func() { cancel(cause) })
	err := y.Sleep(time.Hour)
	if !errors.Is(err, cause) || !errors.Is(err, io.ErrCanceled) || !errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep canceled with a cause = %v; want it to match the cause and ErrCanceled", err)
	}
	if c := context.Cause(y.Context()); c != cause {
		t.Fatalf("context.Cause = %v; want %v", c, cause)
	}
	if y.Context().Err() != context.Canceled {
		t.Fatalf("Context().Err() = %v", y.Context().Err())
	}
	<-derived.Done()
	if c := context.Cause(derived); c != cause {
		t.Fatalf("context.Cause of a derived context = %v; want %v", c, cause)
	}
	if _, err := child.Await(x); err != nil && !errors.Is(err, cause) {
		t.Fatalf("child task = %v; want the parent's cause", err)
	}
	cancel(errors.New("later")) // the first cancellation wins
	if err := y.CheckCancel(); !errors.Is(err, cause) {
		t.Fatalf("after a second cancel: %v", err)
	}
	// cancel(nil) is a plain cancel.
	z, zcancel := x.WithCancelCause()
	zcancel(nil)
	if err := z.CheckCancel(); err != io.ErrCanceled || context.Cause(z.Context()) != context.Canceled {
		t.Fatalf("cancel(nil) = %v, cause %v", err, context.Cause(z.Context()))
	}
	// A deadline with a cause matches both.
	tcause := errors.New("job budget spent")
	w, wcancel := x.WithTimeoutCause(10*time.Millisecond, tcause)
	defer wcancel()
	err = w.Sleep(time.Hour)
	isDeadlineExceeded(t, err)
	if !errors.Is(err, tcause) || context.Cause(w.Context()) != tcause {
		t.Fatalf("deadline with a cause = %v, context.Cause %v", err, context.Cause(w.Context()))
	}
	// A context's cause crosses the bridge, both ways.
	ctx, ccancel := context.WithCancelCause(context.Background())
	v, vstop := x.WithContext(ctx)
	defer vstop()
	ccancel(cause)
	err = v.Sleep(time.Hour)
	if !errors.Is(err, cause) || !errors.Is(err, io.ErrCanceled) || context.Cause(v.Context()) != cause {
		t.Fatalf("context canceled with a cause: %v, context.Cause %v", err, context.Cause(v.Context()))
	}
	dctx, dcancel := context.WithDeadlineCause(context.Background(), time.Now().Add(10*time.Millisecond), tcause)
	defer dcancel()
	u, ustop := x.WithContext(dctx)
	defer ustop()
	if d, ok := u.Deadline(); !ok || d.After(time.Now().Add(time.Second)) {
		t.Fatalf("WithContext did not take the context's deadline: %v, %v", d, ok)
	}
	err = u.Sleep(time.Hour)
	isDeadlineExceeded(t, err)
	if !errors.Is(err, tcause) {
		t.Fatalf("context deadline with a cause = %v", err)
	}
})

var _ = register("DeadlineFlowsDown", func(t *testing.T, x io.Io) {
	y, deadline, cancel := expiresIn(x, 30*time.Millisecond)
	defer cancel()
	// A later deadline of a child does not extend the parent's.
	z, zcancel := y.WithTimeout(time.Hour)
	defer zcancel()
	if d, _ := z.Deadline(); !d.Equal(deadline) {
		t.Fatalf("child's Deadline = %v; want the parent's earlier %v", d, deadline)
	}
	w, wcancel := y.WithCancel()
	defer wcancel()
	if d, ok := w.Context().Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("WithCancel child's Context().Deadline = %v, %v", d, ok)
	}
	// An earlier deadline of a child expires it alone.
	e, ecancel := y.WithTimeout(5 * time.Millisecond)
	defer ecancel()
	isDeadlineExceeded(t, e.Sleep(time.Hour))
	if y.Canceled() {
		t.Fatal("a child's deadline canceled its parent")
	}
	// The parent's deadline reaches every descendant, with its cause.
	err := z.Sleep(time.Hour)
	expired(t, "a child's Sleep under its parent's deadline", err, deadline)
	select { // the cancellation reaches the children one after another
	case <-w.Context().Done():
	case <-time.After(within):
		t.Fatal("the parent's deadline did not reach a WithCancel child")
	}
	isDeadlineExceeded(t, w.CheckCancel())
	isDeadlineExceeded(t, y.CheckCancel())
})

var _ = register("DeadlinePromise", func(t *testing.T, x io.Io) {
	// A wait for an operation completed from outside the Io (a GPU fence
	// under Threaded and Evented): the awaiter's deadline reaches the
	// producer, which resolves with the cause.
	p := io.NewPromise[int]()
	p.OnCancel(func() { p.Resolve(0, p.Cause()) })
	if p.Cause() != nil {
		t.Fatal("a cause before any cancellation")
	}
	y, deadline, cancel := expiresIn(x, 20*time.Millisecond)
	defer cancel()
	_, err := p.Future().Await(y)
	expired(t, "Await of a Promise", err, deadline)
	isDeadlineExceeded(t, p.Cause())
	// A plain Cancel gives ErrCanceled.
	q := io.NewPromise[int]()
	q.OnCancel(func() { q.Resolve(0, q.Cause()) })
	if _, err := q.Future().Cancel(x); err != io.ErrCanceled {
		t.Fatalf("Cancel of a Promise = %v; want ErrCanceled", err)
	}
})
