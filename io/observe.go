package io

import "time"

// Op describes one finished Io operation, as an Observer sees it.
type Op struct {
	Class string    // "file", "net", "process" (spawn, wait) or "time"
	Name  string    // the operation: "write", "read", "sync", "accept", "sleep", ...
	Path  string    // the file path or network address, if any
	Bytes int64     // bytes moved, for operations that move bytes
	Start time.Time // when the operation began, on the Io's clock
	End   time.Time // when it finished
	Err   error     // how it failed, or nil
}

// Observer sees every file, socket and sleep operation made through an Io that
// carries it (see WithObserver): opens and creates, reads, writes, syncs,
// stats, truncates, renames, removals, directory creation and closes; listen,
// dial, accept, socket reads, writes and closes; sleeps. A profiler turns them
// into spans. ObserveOp is
// called when the operation finishes, on the goroutine that made it, possibly
// from many goroutines at once; it must be quick and must not block.
type Observer interface {
	ObserveOp(op Op)
}

// WithObserver returns an Io like x whose operations, and those of every task
// started through it, are reported to o. A nil o stops reporting. Without an
// observer, an operation pays one nil check.
func (x Io) WithObserver(o Observer) Io {
	x.o = o
	return x
}

// Observer returns the observer x reports to, or nil.
func (x Io) Observer() Observer { return x.o }

// start returns the start time of an observed operation (zero when unobserved).
func (x Io) start() time.Time {
	if x.o == nil {
		return time.Time{}
	}
	return x.drv().now()
}

// done reports an operation on the named file or address that began at
// start, and returns its error wrapped as an *Error (nil stays nil).
func (x Io) done(start time.Time, class, op, name string, err error) error {
	x.observe(start, class, op, name, 0, err)
	return opErr(op, name, err)
}

// doneAt is done for an operation on path p of directory d: the path is
// joined only when an observer or an error needs it.
func (x Io) doneAt(start time.Time, op string, d Dir, p string, err error) error {
	if x.o == nil && err == nil {
		return nil
	}
	return x.done(start, "file", op, d.join(p), err)
}

// observe reports an operation that began at start.
func (x Io) observe(start time.Time, class, name, path string, n int64, err error) {
	if x.o == nil {
		return
	}
	x.o.ObserveOp(Op{Class: class, Name: name, Path: path, Bytes: n, Start: start, End: x.drv().now(), Err: err})
}
