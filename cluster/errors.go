package cluster

import (
	"errors"
	"strings"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrNotFound: no such job result, dead-letter record or object (yet).
	ErrNotFound = errors.New("not found")
	// ErrDeadLetter: the job was dead-lettered after too many failed deliveries.
	ErrDeadLetter = errors.New("job dead-lettered")
	// ErrFailed: the job's handler failed permanently (see Permanent).
	ErrFailed = errors.New("job failed")
	// ErrTooLarge: a body or object is over Config.MaxBodySize.
	ErrTooLarge = errors.New("too large")
	// ErrBadID: a job ID is empty, too long or has a character outside [A-Za-z0-9_-].
	ErrBadID = errors.New("bad job ID")
	// ErrBadConfig: a Config or WorkerOptions field is invalid.
	ErrBadConfig = errors.New("bad config")
	// ErrBadMessage: a message read from the server is malformed.
	ErrBadMessage = errors.New("bad message")
	// ErrClosed: the Client or Worker was closed.
	ErrClosed = errors.New("closed")
	// ErrAlreadyDone: another run of the job already stored its final
	// result (Output.Put in a run that lost a race).
	ErrAlreadyDone = errors.New("job already has a final result")
)

// Error is the error type of this package: the operation, the job ID (when
// one is involved) and the cause.
type Error struct {
	Op  string // operation, e.g. "submit", "result", "setup"
	ID  string // job ID, or ""
	Err error  // cause; often wraps a sentinel above or a nats error
}

// Error returns "cluster: <op> <id>: <cause>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cluster: ")
	b.WriteString(e.Op)
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(e.ID)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func opErr(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) && ce.Op == op && ce.ID == id {
		return err
	}
	return &Error{Op: op, ID: id, Err: err}
}

// permanentError marks a handler error that must not be retried.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent wraps a handler error to say that retrying cannot help (a bad
// request, say): the job ends at once with status "failed" instead of being
// redelivered. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
