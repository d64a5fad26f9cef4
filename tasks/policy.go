package tasks

import (
	"context"
	"errors"
	"sync"

	"github.com/vkio/vkio/io"
)

// verdict is what the failure policy made of an error.
type verdict int

const (
	// canceledRun: the run was canceled; the unit stopped, it did not fail.
	canceledRun verdict = iota
	// failedAlone: a failure that stops only what depends on it
	// (CancelDependents).
	failedAlone
	// failedStop: a failure that stops the run (CancelAll).
	failedStop
)

// failures is the one failure policy of Graph and Pipeline. A unit of work (a
// task, a frame) that ends with an error is a cancellation if the error
// matches io.ErrCanceled and the run's Io was canceled, and a failure
// otherwise. A failure is counted, the first one is kept as the run's error,
// the first MaxReportErrors are listed for the Report, and under CancelAll
// the run is stopped: its Io is canceled, so nothing new starts and what runs
// stops at its next cancel point. What depends on the failed unit never runs
// under either policy; the schedulers skip it (a Graph its dependents, a
// Pipeline the frame's later stages). It is safe for concurrent use.
type failures struct {
	policy Policy
	run    io.Io              // the run's Io
	stop   context.CancelFunc // cancels run

	mu       sync.Mutex
	first    error
	errs     []FrameError
	failed   int
	canceled int
}

// add applies the policy to err, the *Error ending frame (or -1) or task (or
// ""), and says what it was.
func (f *failures) add(err error, frame int, task string) verdict {
	if errors.Is(err, io.ErrCanceled) && f.run.Canceled() {
		f.mu.Lock()
		f.canceled++
		f.mu.Unlock()
		return canceledRun
	}
	f.mu.Lock()
	f.failed++
	f.note(err, frame, task)
	f.mu.Unlock()
	if f.policy == CancelAll {
		f.stop()
		return failedStop
	}
	return failedAlone
}

// hookFailed records err, a panic of a progress hook (OnFrame, OnTask), and
// stops the run whatever the policy: the hook's state may be inconsistent.
// It is not counted as a failed unit.
func (f *failures) hookFailed(err error, frame int, task string) {
	f.mu.Lock()
	f.note(err, frame, task)
	f.mu.Unlock()
	f.stop()
}

// note keeps err as the first error if it is, and lists it (f.mu held).
func (f *failures) note(err error, frame int, task string) {
	if f.first == nil {
		f.first = err
	}
	if len(f.errs) < MaxReportErrors {
		f.errs = append(f.errs, FrameError{Frame: frame, Task: task, Err: err.Error()})
	}
}

// result returns the first failure, the listed failures and the count of
// failed units.
func (f *failures) result() (first error, errs []FrameError, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first, f.errs, f.failed
}
