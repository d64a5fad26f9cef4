package io

// externalDriver answers Io.External.
type externalDriver interface {
	// external reports whether an operation completed outside the Io is
	// waited for inline by its caller, or why the Io refuses it.
	external(op string) (inline bool, err error)
}

// External begins an operation op that completes outside the Io — a GPU
// fence, a callback from a library with threads of its own, an event that
// only a blocking call can observe — and says who waits for it:
//
//   - inline is true where the Io has a single thread of control (Blocking):
//     nothing else runs to observe the completion, so the caller waits for
//     it itself, on its own goroutine, before its operation returns, as
//     Async runs a function inline under Blocking. Such a wait is the
//     task's cancel point: it must end when x.Context() is done, and by
//     the deadline of x.Context().Deadline() (if any) with an error
//     matching context.DeadlineExceeded; a hung device or library is then
//     detected by the deadline, not by a poll.
//   - inline is false where the Io runs tasks at the same time (Threaded,
//     Evented): the producer resolves a Promise from where it observes the
//     completion (its own completion thread, shared by all its waits; the
//     callback), and a task awaiting the Future parks without holding an OS
//     thread; Await is the cancel point (see Promise.OnCancel).
//
// err is not nil when the Io refuses the operation; nothing must then be
// started. That is the case when the current task is canceled (the task's
// cancellation error, matching ErrCanceled), under Failing (ErrUnsupported),
// under FailingWith when its plan fails op (the plan's error; see FailPlan),
// and for the zero Io (ErrZeroIo). The error is an *Error naming op.
//
// External is how an implementation's shape reaches code outside this
// package without a switch on Kind, which stays informational: a new
// implementation answers for itself. It does not wait, and is safe for
// concurrent use.
func (x Io) External(op string) (inline bool, err error) {
	if x.t.isCanceled() {
		return false, opErr(op, "", x.t.err())
	}
	inline, err = x.drv().external(op)
	if err != nil {
		return false, opErr(op, "", err)
	}
	return inline, nil
}

// Threaded and Evented: a completion thread of the producer resolves a Promise.
func (sysDriver) external(string) (bool, error) { return false, nil }

// Blocking: the caller waits inline.
func (b *Blocking) external(string) (bool, error) { return true, nil }

// Failing: one thread of control, and the operation fails as configured.
func (f failing) external(op string) (bool, error) { return true, f.fail(op) }

// FailingWith with a Base: the plan's error, or the Base's answer.
func (d faultDriver) external(op string) (bool, error) {
	if err := d.f.check(op); err != nil {
		return false, err
	}
	return d.driver.external(op)
}
