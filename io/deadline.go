package io

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// ErrDeadlineExceeded is what cancel points return once a deadline set with
// WithDeadline or WithTimeout (or one of an enclosing task, or of a context
// given to WithContext) has passed. It matches context.DeadlineExceeded,
// os.ErrDeadlineExceeded and ErrCanceled under errors.Is — an expired
// deadline is a cancellation — but, as in package context, not
// context.Canceled: errors.Is(err, context.Canceled) tells a cancel from a
// timeout. Like the standard library's timeouts, it is a net.Error whose
// Timeout method reports true.
var ErrDeadlineExceeded error = deadlineError{}

type deadlineError struct{}

func (deadlineError) Error() string   { return "io: deadline exceeded" }
func (deadlineError) Timeout() bool   { return true }
func (deadlineError) Temporary() bool { return true }
func (deadlineError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == os.ErrDeadlineExceeded || target == ErrCanceled
}

// causeError is a cancellation (or an expired deadline) with a cause given
// by the canceler: it matches ErrCanceled (and context.Canceled, or for a
// deadline ErrDeadlineExceeded and what that matches) and, through Unwrap,
// the cause.
type causeError struct {
	cause    error
	deadline bool
}

func (e *causeError) Error() string {
	msg := "io: canceled: "
	if e.deadline {
		msg = "io: deadline exceeded: "
	}
	return msg + strings.TrimPrefix(e.cause.Error(), "io: ")
}

func (e *causeError) Unwrap() error { return e.cause }
func (e *causeError) Timeout() bool { return e.deadline }
func (e *causeError) Is(target error) bool {
	if target == ErrCanceled {
		return true
	}
	if e.deadline {
		return target == ErrDeadlineExceeded || target == context.DeadlineExceeded || target == os.ErrDeadlineExceeded
	}
	return target == context.Canceled
}

// isDeadline reports whether err, a task's cause, is an expired deadline.
// A cause that withCause kept as it was (one that already matches
// ErrCanceled, such as fmt.Errorf("budget: %w", ErrDeadlineExceeded), or
// another task's cause handed on) is a deadline when it matches
// context.DeadlineExceeded: withCause keeps only those for a deadline.
func isDeadline(err error) bool {
	if err == ErrDeadlineExceeded {
		return true
	}
	if c, ok := err.(*causeError); ok {
		return c.deadline
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// withCause returns the cause a task is canceled with: ErrCanceled or
// ErrDeadlineExceeded without a cause, otherwise cause wrapped — unless it
// already is such an error (another task's, handed on), which is kept.
func withCause(cause error, deadline bool) error {
	switch {
	case cause == nil && deadline:
		return ErrDeadlineExceeded
	case cause == nil:
		return ErrCanceled
	case errors.Is(cause, ErrCanceled) && errors.Is(cause, context.DeadlineExceeded) == deadline:
		return cause
	}
	return &causeError{cause: cause, deadline: deadline}
}

// contextCause is what context.Cause reports for a task canceled with
// cause (see task.causeContext): the cause as the context package has it.
func contextCause(cause error) error {
	switch c := cause.(type) {
	case nil:
		return context.Canceled
	case deadlineError:
		return context.DeadlineExceeded
	case *causeError:
		return c.cause
	}
	return cause
}

// contextErr is the cause of a task canceled because ctx is done.
func contextErr(ctx context.Context) error {
	if tc, ok := ctx.(taskContext); ok {
		return tc.x.t.err()
	}
	deadline := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cause := context.Cause(ctx)
	if cause == nil || cause == context.Canceled || cause == context.DeadlineExceeded {
		cause = nil
	}
	return withCause(cause, deadline)
}

// Deadline returns the time at which the current task will be canceled by a
// deadline — its own (WithDeadline, WithTimeout, a context given to
// WithContext) or the nearest of an enclosing task's — and ok false when it
// has none. x.Context().Deadline() reports the same.
func (x Io) Deadline() (deadline time.Time, ok bool) { return x.t.deadlineTime() }

// WithDeadline returns an Io for a new task that is canceled when d passes,
// when the current task is canceled, or when the returned cancel function is
// called, whichever comes first; call cancel when the work is done, to stop
// the timer and release the link. Once d has passed, the task's cancel points
// (and those of every task started through it) fail with an error matching
// ErrDeadlineExceeded, context.DeadlineExceeded, os.ErrDeadlineExceeded and
// ErrCanceled; after cancel, with ErrCanceled. A deadline never extends the
// current task's: if the current task has an earlier one, the new task keeps
// that. No goroutine waits for the deadline: a runtime timer cancels the task.
//
// A deadline is a scope, as in package context, rather than a Timeout
// argument of each operation, as in Zig's std.Io: one Io value threads
// through every operation a piece of code makes — its own, those of a
// library it calls, a GPU fence wait deep inside — so one WithDeadline
// bounds them all, and code written without timeouts in mind gets them
// without a change of signature. It is also what x.Context() hands on to
// libraries that take a context.Context: the same deadline, the same cause.
func (x Io) WithDeadline(d time.Time) (Io, context.CancelFunc) {
	return x.WithDeadlineCause(d, nil)
}

// WithDeadlineCause is WithDeadline with a cause: once d has passed, the
// task's cancel points fail with an error that also matches cause, and
// context.Cause(x.Context()) returns cause. A nil cause is WithDeadline.
func (x Io) WithDeadlineCause(d time.Time, cause error) (Io, context.CancelFunc) {
	child := new(task)
	id := x.t.addChild(child)
	var timer *time.Timer
	if child.lowerDeadline(d) {
		err := withCause(cause, true)
		if wait := time.Until(d); wait <= 0 {
			child.cancelWith(err)
		} else {
			timer = time.AfterFunc(wait, func() {
				deadlinesFired.Add(1)
				child.cancelWith(err)
			})
		}
	}
	return Io{d: x.d, t: child, o: x.o}, func() {
		if timer != nil {
			timer.Stop()
		}
		x.t.removeChild(id)
		child.cancel()
	}
}

// deadlinesFired counts the deadline timers that have fired, for tests that
// check that cancel stops them.
var deadlinesFired atomic.Int64

// WithTimeout is WithDeadline(time.Now().Add(d)). Deadlines are kept on
// the runtime's clock (time.Now, and its timers), whatever x.Now reports.
func (x Io) WithTimeout(d time.Duration) (Io, context.CancelFunc) {
	return x.WithDeadlineCause(time.Now().Add(d), nil)
}

// WithTimeoutCause is WithDeadlineCause(time.Now().Add(d), cause).
func (x Io) WithTimeoutCause(d time.Duration, cause error) (Io, context.CancelFunc) {
	return x.WithDeadlineCause(time.Now().Add(d), cause)
}

// WithCancelCause is WithCancel with a cause: cancel(cause) cancels the new
// task, whose cancel points (and those of every task started through it)
// then fail with an error that matches both ErrCanceled (and
// context.Canceled) and cause under errors.Is, and context.Cause(x.Context())
// returns cause. cancel(nil) is a plain cancel. The first cancellation wins:
// the cause of a later one, or of one after the current task was canceled,
// is not recorded.
func (x Io) WithCancelCause() (Io, context.CancelCauseFunc) {
	child := new(task)
	id := x.t.addChild(child)
	return Io{d: x.d, t: child, o: x.o}, func(cause error) {
		x.t.removeChild(id)
		child.cancelWith(withCause(cause, false))
	}
}
