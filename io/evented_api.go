package io

import (
	"errors"
	"log/slog"
	"sync/atomic"
)

// EventedOptions configures an Evented implementation. The zero value is ready.
type EventedOptions struct {
	// Entries is the size of the submission queue (a power of two, clamped by the
	// kernel). 0 means 256. More requests than this can be in flight at once: the
	// queue only bounds how many are handed to the kernel per io_uring_enter.
	Entries int
	// CQEntries is the size of the completion queue. 0 means 4 × Entries. When more
	// completions arrive than fit, the kernel keeps them aside (CQ overflow) and
	// the reaper moves them in; nothing is lost.
	CQEntries int
	// AsyncLimit and ConcurrentLimit are as in ThreadedOptions: tasks run on
	// goroutines, which are this implementation's green threads.
	AsyncLimit      int
	ConcurrentLimit int
	// Logger receives the errors the ring reports that no operation can
	// return (an io_uring_enter that fails for no request in particular,
	// while the requests stay queued and are retried). nil: not logged.
	Logger *slog.Logger
}

// EventedUnavailableError is returned by NewEvented when the kernel refuses
// io_uring: ENOSYS (no io_uring), EPERM (a seccomp profile, or the sysctl
// kernel.io_uring_disabled), ENOMEM (locked-memory limits on old kernels), or
// when its io_uring lacks what Evented cannot work without, as before Linux
// 5.6: the opcode probe (the cause wraps the probe's errno) or one of the
// requests Evented is built on (the cause names them). It wraps the cause, so
// errors.Is(err, syscall.EPERM) works, and matches ErrUnsupported under
// errors.Is. New("") and New("auto") fall back to Threaded when they get it.
type EventedUnavailableError struct {
	Err error // the cause, usually a syscall.Errno
}

// Error returns "io: io_uring unavailable: cause".
func (e *EventedUnavailableError) Error() string {
	return "io: io_uring unavailable: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *EventedUnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnsupported (this package's or the
// standard library's errors.ErrUnsupported).
func (e *EventedUnavailableError) Is(target error) bool {
	return target == ErrUnsupported || target == errors.ErrUnsupported
}

// EventedStats counts what an Evented implementation has handed to its ring.
type EventedStats struct {
	Submitted uint64 // requests placed in the submission queue (cancel requests included)
	Completed uint64 // completions reaped
	Enters    uint64 // io_uring_enter system calls: submissions and waits
	Flushes   uint64 // io_uring_enter calls that submitted requests
	Canceled  uint64 // cancel requests (IORING_OP_ASYNC_CANCEL) submitted
	Overflows uint64 // times the reaper found the completion queue overflowed
}

var fallbackReason atomic.Pointer[error]

// FallbackReason returns why New("") or New("auto") chose Threaded over
// Evented in this process (an *EventedUnavailableError: io_uring refused by
// the kernel or a seccomp profile, missing a request Evented needs, or not
// Linux), or nil if they have not fallen back. The package logs nothing
// itself: a program that wants the reason shown asks for it here.
func FallbackReason() error {
	if p := fallbackReason.Load(); p != nil {
		return *p
	}
	return nil
}
