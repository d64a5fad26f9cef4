package io

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// WithTimeout's cancel stops the timer: a task canceled before its deadline
// is not canceled again by it (the first cancellation would win anyway), and
// the timer's function never runs. One not canceled does fire.
func TestWithTimeoutCancelStopsTimer(t *testing.T) {
	x := NewThreaded(ThreadedOptions{}).Io()
	before := deadlinesFired.Load()
	deadline := time.Now().Add(20 * time.Millisecond)
	stoppedInTime := 0
	for range 100 {
		_, cancel := x.WithDeadline(deadline)
		cancel()
		if time.Now().Before(deadline) {
			stoppedInTime++
		}
	}
	if stoppedInTime < 100 {
		t.Skipf("only %d of 100 cancels came before the deadline on this machine", stoppedInTime)
	}
	time.Sleep(time.Until(deadline) + 20*time.Millisecond)
	if n := deadlinesFired.Load() - before; n != 0 {
		t.Fatalf("%d deadline timers fired after their cancel", n)
	}
	y, cancel := x.WithTimeout(time.Millisecond)
	<-y.Context().Done()
	cancel()
	if deadlinesFired.Load() == before {
		t.Fatal("an expired deadline did not fire its timer")
	}
}

// A child task's deadline never extends its parent's, and a parent's is
// inherited by every kind of child, tasks started with Async included.
func TestDeadlineInherited(t *testing.T) {
	parent := new(task)
	d := time.Now().Add(time.Hour)
	parent.lowerDeadline(d)
	child := new(task)
	parent.addChild(child)
	if got, ok := child.deadlineTime(); !ok || !got.Equal(d) {
		t.Fatalf("child deadline = %v, %v", got, ok)
	}
	later := d.Add(time.Minute)
	if child.lowerDeadline(later) {
		t.Fatal("a later deadline replaced an earlier one")
	}
	earlier := d.Add(-time.Minute)
	if !child.lowerDeadline(earlier) {
		t.Fatal("an earlier deadline did not replace a later one")
	}
	if got, _ := parent.deadlineTime(); !got.Equal(d) {
		t.Fatal("a child's deadline changed its parent's")
	}
}

// The cause set by the first cancellation reaches children added before and
// after it.
func TestCauseFlowsDown(t *testing.T) {
	parent := new(task)
	before := new(task)
	parent.addChild(before)
	parent.cancelWith(ErrDeadlineExceeded)
	after := new(task)
	parent.addChild(after)
	parent.cancelWith(nil) // too late: the first one won
	for name, tk := range map[string]*task{"parent": parent, "child before": before, "child after": after} {
		if err := tk.err(); err != ErrDeadlineExceeded {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// The error values themselves: what each matches, and their text.
func TestDeadlineErrors(t *testing.T) {
	for _, target := range []error{context.DeadlineExceeded, os.ErrDeadlineExceeded, ErrCanceled, ErrDeadlineExceeded} {
		if !errors.Is(ErrDeadlineExceeded, target) {
			t.Errorf("ErrDeadlineExceeded does not match %v", target)
		}
	}
	if errors.Is(ErrDeadlineExceeded, context.Canceled) {
		t.Error("ErrDeadlineExceeded matches context.Canceled")
	}
	var timeout interface{ Timeout() bool }
	if !errors.As(ErrDeadlineExceeded, &timeout) || !timeout.Timeout() {
		t.Error("ErrDeadlineExceeded is not a timeout")
	}
	cause := errors.New("budget spent")
	c := withCause(cause, false)
	if !errors.Is(c, cause) || !errors.Is(c, ErrCanceled) || !errors.Is(c, context.Canceled) || errors.Is(c, context.DeadlineExceeded) {
		t.Errorf("cancel cause %v matches wrongly", c)
	}
	if c.Error() != "io: canceled: budget spent" {
		t.Errorf("text = %q", c.Error())
	}
	dc := withCause(cause, true)
	if !errors.Is(dc, cause) || !errors.Is(dc, ErrDeadlineExceeded) || !errors.Is(dc, os.ErrDeadlineExceeded) || errors.Is(dc, context.Canceled) {
		t.Errorf("deadline cause %v matches wrongly", dc)
	}
	if dc.Error() != "io: deadline exceeded: budget spent" {
		t.Errorf("text = %q", dc.Error())
	}
	if withCause(nil, false) != ErrCanceled || withCause(nil, true) != ErrDeadlineExceeded {
		t.Error("withCause without a cause")
	}
	// A cause that already is a cancellation of this package is kept, not
	// wrapped again ("io: canceled: canceled: ...").
	if withCause(ErrCanceled, false) != ErrCanceled || withCause(c, false) != c || withCause(dc, true) != dc {
		t.Error("withCause wrapped a cancellation again")
	}
	if got := withCause(ErrCanceled, true); !errors.Is(got, ErrDeadlineExceeded) {
		t.Errorf("a deadline whose cause is a plain cancel = %v", got)
	}
}
