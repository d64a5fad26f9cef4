// Package io is vkio's I/O abstraction: a Go port of the design of Zig's std.Io.
//
// One Io value is passed through the code, the way a context.Context is. Every
// operation that can wait — starting and awaiting tasks, sleeping, queues, files,
// sockets, GPU fence waits — goes through it, and the caller picks the
// implementation without changing the code:
//
//   - Blocking: one thread of control. Async runs the function inline before it
//     returns; Concurrent always fails with ErrConcurrencyUnavailable.
//   - Threaded: a bounded pool of goroutines. Async runs the function on the pool,
//     or inline when the pool is saturated; Concurrent starts a goroutine up to a limit.
//   - Evented: io_uring, on Linux (see the Evented type, and below).
//   - Failing: every operation fails; for tests.
//
// # What runs where
//
// On Linux all three run: Evented where the kernel allows io_uring (5.6 or
// later, not refused by seccomp or sysctl), and New("") picks it there, or
// Threaded when the kernel refuses. On other systems (macOS, FreeBSD,
// Windows; cgo not needed) Blocking and Threaded run, NewEvented fails with
// an error matching ErrUnsupported and errors.ErrUnsupported, and New("")
// picks Threaded. Tasks, time, queues, groups and sockets work everywhere.
// Files are directory-relative (openat and friends) on every Unix; on Windows
// their operations fail with an error matching ErrUnsupported. Direct I/O
// (CreateOptions.Direct) needs O_DIRECT: Linux and FreeBSD. Confined opens
// (Dir.OpenFileBeneath and the other ...Beneath methods, see ErrOutside) use
// openat2 on Linux and an O_NOFOLLOW component walk elsewhere or where
// openat2 is refused. Processes (Spawn) run on every Unix, waited for through
// a pidfd in the runtime's poller on Linux and a goroutine in wait4
// elsewhere; zero-copy sends (Writer.SendFile) use sendfile and
// copy_file_range on Linux and read and write elsewhere; batched datagrams
// (PacketConn.ReadBatch, WriteBatch) use recvmmsg and sendmmsg on Linux and
// one datagram per call elsewhere.
//
// Errors match the standard library's: ErrClosed matches fs.ErrClosed and
// net.ErrClosed, ErrUnsupported errors.ErrUnsupported, ErrInvalid
// fs.ErrInvalid; system errors stay syscall.Errno values (so fs.ErrNotExist,
// fs.ErrExist and fs.ErrPermission match), and errors.As finds a
// *fs.PathError in a file operation's *Error and a *net.OpError in a
// socket operation's.
//
// Asynchrony is not concurrency. Async says "this may run out of order with what
// follows"; correct code never depends on it overlapping anything. Concurrent says
// "this must run at the same time as the caller" and fails if it cannot.
//
// # Cancellation
//
// Every task started with Async or Concurrent has its own cancel state, carried by
// the Io value handed to it. Future.Cancel requests cancellation; the task sees it at
// its next cancel point — an operation that can wait (Sleep, SleepClock,
// Queue.Put/Get, Future.Await, Group.Wait, Select, the waits of Mutex, Condition,
// Event, Semaphore and RwLock, socket reads/writes/accept/dial, datagram reads and
// writes, name lookups, reads and writes of pipes, FIFOs and terminals,
// Process.Wait, File.Lock, GPU fence waits, directory listings and copies between
// batches, file operations at their boundaries) — which returns an error
// satisfying errors.Is(err, ErrCanceled) and errors.Is(err, context.Canceled). CPU loops may call CheckCancel. As with contexts,
// cancellation flows down: a task started through a canceled task's Io is canceled
// too, and a task that awaits a future passes its own cancellation on to it. Unlike Zig, where a
// request is delivered once, cancellation here is sticky, as with a context: every
// later cancel point fails too. Io.WithoutCancel protects a region (cleanup that must
// run); Io.Context and Io.WithContext bridge to and from context.Context.
//
// # Deadlines and causes
//
// Io.WithTimeout and Io.WithDeadline scope a deadline, as context does: every
// cancel point reached through the returned Io (and through the Io of every
// task started from it) fails once the deadline passes, with an error
// matching ErrDeadlineExceeded, context.DeadlineExceeded,
// os.ErrDeadlineExceeded and ErrCanceled (but not context.Canceled).
// Io.WithCancelCause cancels with a cause that the error matches too. A
// child task has the deadline and the cause of its parent's cancellation;
// its own deadline can only be earlier. Io.Deadline and Context().Deadline
// report the deadline, and context.Cause(x.Context()) the cause, so a
// library handed x.Context() sees both. See Io.WithDeadline for why a
// deadline is a scope here rather than a Timeout argument of each operation.
//
// The package is named io; importers alias the standard library as stdio. Because a
// parameter named io would shadow the package, the examples name the Io value x.
package io

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"time"
)

// Io is the handle through which all waiting operations go. It is a small value:
// copy it freely and pass it down the call stack. Get one from Blocking.Io,
// Threaded.Io, Evented.Io, Failing or New. The zero Io is a mistake, reported
// rather than crashed on: it behaves like Failing (Kind KindFailing), except
// that every operation fails with an error wrapping ErrZeroIo.
//
// An Io carries the cancel state of the task it was handed to, so the Io given to
// a function started with Async is not the one its caller holds.
type Io struct {
	d driver
	t *task    // nil: the root, which is canceled only through WithContext
	o Observer // nil: operations are not reported
}

// Kind names an Io implementation.
type Kind string

// The Io implementations.
const (
	KindBlocking Kind = "blocking"
	KindThreaded Kind = "threaded"
	KindEvented  Kind = "evented"
	KindFailing  Kind = "failing"
)

// Kind reports which implementation x runs on. It is informational (logs,
// reports): code that must behave differently on a single thread of control,
// such as waiting for a GPU fence, asks Io.External instead.
func (x Io) Kind() Kind { return x.drv().kind() }

// String returns the implementation's name.
func (x Io) String() string { return string(x.drv().kind()) }

// Canceled reports whether cancellation of the current task has been requested.
func (x Io) Canceled() bool { return x.t.isCanceled() }

// Cancelable reports whether the current task can ever be canceled: false
// only for the root task of an implementation's Io (Backend.Io), which
// nothing cancels. A wait that need not watch for cancellation can then
// block without polling.
func (x Io) Cancelable() bool { return x.t != nil }

// CheckCancel returns an error wrapping ErrCanceled if cancellation of the current
// task has been requested (matching ErrDeadlineExceeded when a deadline caused
// it, and the cause given to WithCancelCause), and nil otherwise. It is the
// explicit cancel point for long CPU loops.
func (x Io) CheckCancel() error {
	if x.t.isCanceled() {
		return x.t.err()
	}
	return nil
}

// WithoutCancel returns an Io for a region that must not be interrupted, such as
// releasing resources after a cancellation: operations through it ignore the
// current task's cancel state. A request made meanwhile is still seen, by the next
// cancel point reached through x itself.
func (x Io) WithoutCancel() Io { return Io{d: x.d, o: x.o} }

// Now returns the current time from the Io's clock.
func (x Io) Now() time.Time { return x.drv().now() }

// Sleep waits for d, or until the current task is canceled (then it returns an
// error wrapping ErrCanceled). A non-positive d returns at once, after a cancel check.
func (x Io) Sleep(d time.Duration) error {
	return x.SleepUntil(x.drv().now().Add(d))
}

// SleepUntil waits until the Io's clock reaches deadline, or until the current task
// is canceled.
func (x Io) SleepUntil(deadline time.Time) error {
	if x.t.isCanceled() {
		return x.t.err()
	}
	start := x.start()
	err := x.drv().sleepUntil(x.t, deadline)
	x.observe(start, "time", "sleep", "", 0, err)
	return err
}

// ErrCanceled is returned by cancel points when the current task's cancellation
// has been requested. It matches context.Canceled under errors.Is.
var ErrCanceled error = canceledError{}

type canceledError struct{}

func (canceledError) Error() string        { return "io: canceled" }
func (canceledError) Is(target error) bool { return target == context.Canceled }

// ErrConcurrencyUnavailable is returned by Concurrent when the implementation cannot
// run the function at the same time as the caller: always under Blocking, and under
// Threaded when its concurrency limit is reached.
var ErrConcurrencyUnavailable = errors.New("io: concurrency unavailable")

// ErrClosed is returned by operations on a closed Queue, file or socket. It
// matches the standard library's fs.ErrClosed (os.ErrClosed) and
// net.ErrClosed under errors.Is, so code written for os.File and net.Conn
// recognizes it.
var ErrClosed error = &stdError{msg: "io: use of closed resource", std: []error{fs.ErrClosed, net.ErrClosed}}

// ErrUnsupported is returned by every operation of the Failing implementation, and
// by operations an implementation does not provide. It matches the standard
// library's errors.ErrUnsupported under errors.Is.
var ErrUnsupported error = &stdError{msg: "io: operation not supported by this Io", std: []error{errors.ErrUnsupported}}

// ErrInvalid is wrapped by errors about bad arguments. It matches the
// standard library's fs.ErrInvalid (os.ErrInvalid) under errors.Is.
var ErrInvalid error = &stdError{msg: "io: invalid argument", std: []error{fs.ErrInvalid}}

// stdError is a sentinel of this package that also matches sentinels of the
// standard library meaning the same thing.
type stdError struct {
	msg string
	std []error
}

func (e *stdError) Error() string { return e.msg }

// Is reports whether target is one of the standard library's sentinels
// that e stands for (e itself matches by identity).
func (e *stdError) Is(target error) bool {
	for _, s := range e.std {
		if target == s {
			return true
		}
	}
	return false
}

// ErrZeroIo is the error of every operation through the zero Io value, which
// was never set to a real implementation. It wraps ErrInvalid.
var ErrZeroIo = fmt.Errorf("%w: zero Io value; use io.NewBlocking().Io(), io.NewThreaded(opts).Io(), io.NewEvented(opts) or io.New(kind)", ErrInvalid)

// ErrSelfAwait is returned, instead of waiting forever, by a wait that could
// only end after the caller itself had finished: Future.Await or
// Future.Cancel called from inside the future's own task (with the Io that
// task was handed), and Group.Wait or Group.Cancel called from inside a
// member of the same group. Cancel still requests the cancellation; only the
// wait is refused. It wraps ErrInvalid.
var ErrSelfAwait = fmt.Errorf("%w: a task cannot wait for itself to finish", ErrInvalid)

// ErrZeroFuture is returned by Await and Cancel on a zero (or nil) Future,
// which no task or Promise will ever complete. It wraps ErrInvalid.
var ErrZeroFuture = fmt.Errorf("%w: zero Future; get one from io.Async, io.Concurrent or Promise.Future", ErrInvalid)

// PanicError is a panic that a task (started with Async or Concurrent, or as
// a Group member) did not recover. The panic does not end the process on the
// pool goroutine that ran the task: it is kept, and raised again, with a
// *PanicError as its value, in the goroutine that collects the task's result
// — Future.Await or Future.Cancel (also through Race and CancelAll) for a
// future, Group.Wait or Group.Cancel for a group — after which the program
// crashes there as usual unless that goroutine recovers. Error includes the
// task's stack at the panic, so the crash report names where it happened. A
// panic in a task whose result nobody collects is lost, like its error.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the task's stack where it panicked (runtime/debug.Stack)
}

// Error returns "io: task panicked: VALUE", then the task's stack.
func (p *PanicError) Error() string {
	return fmt.Sprintf("io: task panicked: %v\n\ntask stack at the panic:\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through a recovered *PanicError.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// errGoexit is the error of a task that ended with runtime.Goexit (as
// testing.T.FailNow does) instead of returning.
var errGoexit = errors.New("io: task ended with runtime.Goexit instead of returning")

// Error describes a failed operation: which one, on what, and why.
//
// errors.Is sees through it to the cause: a system error stays a
// syscall.Errno, so errors.Is(err, fs.ErrNotExist), fs.ErrExist and
// fs.ErrPermission work as for os. errors.As fills a *fs.PathError (Op, Path,
// Err) from the Error of a file or directory operation, and a *net.OpError
// (Op, Net, Source, Addr, Err) from that of a socket operation, unless the
// cause already holds one, which As then finds.
type Error struct {
	Op   string // the operation: "open", "write", "accept", ...
	Path string // the file path or network address, if any
	Err  error  // the cause; errors.Is sees through it

	src, addr net.Addr // a socket operation's local and remote (or listening) address; addr nil otherwise
}

// Error returns "io: op path: cause". A cause that is itself an error of
// this package is not prefixed with "io: " a second time.
func (e *Error) Error() string {
	cause := "<nil>"
	if e.Err != nil {
		cause = strings.TrimPrefix(e.Err.Error(), "io: ")
	}
	if e.Path == "" {
		return "io: " + e.Op + ": " + cause
	}
	return "io: " + e.Op + " " + e.Path + ": " + cause
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// As fills a **fs.PathError target (from a file or directory operation,
// which has a path) or a **net.OpError target (from a socket operation) with
// e's operation, path or addresses, and cause, unless the cause holds one of
// its own (errors.As then goes on to it).
func (e *Error) As(target any) bool {
	switch p := target.(type) {
	case **fs.PathError:
		if e.addr != nil || e.Path == "" {
			return false
		}
		var inner *fs.PathError
		if errors.As(e.Err, &inner) {
			return false
		}
		*p = &fs.PathError{Op: e.Op, Path: e.Path, Err: e.Err}
		return true
	case **net.OpError:
		if e.addr == nil {
			return false
		}
		var inner *net.OpError
		if errors.As(e.Err, &inner) {
			return false
		}
		*p = &net.OpError{Op: e.Op, Net: e.addr.Network(), Source: e.src, Addr: e.addr, Err: e.Err}
		return true
	}
	return false
}

func opErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Path: path, Err: err}
}

// netErr is opErr for a socket operation: src and addr are its local and
// remote (or listening, or dialed) addresses, for errors.As to a
// *net.OpError; addr must not be nil.
func netErr(op, path string, src, addr net.Addr, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Path: path, Err: err, src: src, addr: addr}
}

// dialAddr is the address a dial or listen was given, as a net.Addr.
type dialAddr struct{ network, address string }

func (a dialAddr) Network() string { return a.network }
func (a dialAddr) String() string  { return a.address }
