package tasks

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// Sentinel errors. Errors from this package are *Error values whose Err is, or
// wraps, one of these or the cause a task returned; test them with errors.Is.
// Cancellation errors wrap io.ErrCanceled (and so match context.Canceled).
var (
	// ErrSkipped: the task did not run because a task it depends on failed,
	// or because the run was stopped by another task's failure.
	ErrSkipped = errors.New("tasks: skipped")
	// ErrPanic: the task's function panicked; the *PanicError in the chain
	// holds the value and the stack.
	ErrPanic = errors.New("tasks: panic")
	// ErrCycle: the dependencies form a cycle, or name a task of another graph.
	ErrCycle = errors.New("tasks: dependency cycle")
	// ErrInvalid: an invalid argument or configuration.
	ErrInvalid = errors.New("tasks: invalid argument")
	// ErrLimit: a request for more of a resource than its limit allows.
	ErrLimit = errors.New("tasks: beyond the resource limit")
)

// Error describes a failed task, frame or scheduler operation.
type Error struct {
	Op    string // "run", "task", "frame", "submit", "wait", "read", "encode", "save", "acquire", ...
	Task  string // the task's name, if any
	Frame int    // the frame number, or -1
	Err   error  // the cause; errors.Is and errors.As see through it
}

// Error formats the operation, the task or frame, and the cause.
func (e *Error) Error() string {
	s := "tasks: " + e.Op
	if e.Task != "" {
		s += " " + e.Task
	}
	if e.Frame >= 0 {
		s += fmt.Sprintf(" frame %d", e.Frame)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// PanicError is what a recovered panic becomes: see the package
// documentation's panic policy. It matches ErrPanic under errors.Is.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack
}

// Error formats the panic value.
func (p *PanicError) Error() string { return fmt.Sprintf("tasks: panic: %v", p.Value) }

// Is reports whether target is ErrPanic.
func (p *PanicError) Is(target error) bool { return target == ErrPanic }

// Unwrap returns the panic value if it is an error, so errors.Is sees it.
func (p *PanicError) Unwrap() error {
	if err, ok := p.Value.(error); ok {
		return err
	}
	return nil
}

// protect runs fn, turning a panic into a *PanicError.
func protect(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}
