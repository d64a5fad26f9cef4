package io

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Child processes. Spawn starts a program with os.StartProcess (the
// standard library's fork/exec, which already gets close-on-exec, the
// working directory, the environment and the file table right), with its
// standard streams connected to Files of this package; Process.Wait is the
// cancel point. Waiting for the child's end does not block a thread: on
// Linux (5.3 or later) a pidfd, a descriptor that becomes readable when the
// child ends, waits in the Go runtime's poller like a socket, and a cancel
// interrupts it as it interrupts a socket read (by moving its deadline into
// the past). Where pidfd_open is missing or refused (other systems, old
// kernels, seccomp), one goroutine per waited child waits in wait4 and the
// Wait selects on its result and on the cancel.

// procDriver is the part of a driver that starts processes and makes pipes.
type procDriver interface {
	// spawn starts c; the Process it returns is not yet waited for.
	spawn(t *task, c *Command) (*Process, error)
	// pipe returns a new pipe's read and write descriptors, both
	// close-on-exec and non-blocking.
	pipe(t *task) (r, w int, err error)
}

func (f failing) spawn(*task, *Command) (*Process, error) { return nil, f.fail("spawn") }
func (f failing) pipe(*task) (int, int, error)            { return -1, -1, f.fail("pipe") }

// DefaultGrace is how long a canceled Process.Wait lets the child handle its
// SIGTERM before it sends SIGKILL, when Command.Grace is 0.
const DefaultGrace = 2 * time.Second

// Command describes a program to start with Spawn, as exec.Cmd does for
// os/exec. The zero values of its fields are the usual defaults: the
// program's name as its only argument, this process's environment and
// working directory, and every standard stream connected to the null device.
type Command struct {
	// Path is the program to run. As for os.StartProcess, it is a path, not
	// a name looked up in PATH (exec.LookPath finds one); a relative path is
	// relative to Dir when Dir is set.
	Path string
	// Args are the arguments, the program's name (argv[0]) included. Empty
	// means []string{Path}.
	Args []string
	// Env is the environment, as "KEY=value" strings. nil means this
	// process's environment; an empty non-nil slice means none.
	Env []string
	// Dir is the working directory of the child; "" means this process's.
	Dir string
	// Stdin, Stdout and Stderr say what the child's standard streams are
	// connected to: the null device (the zero Stdio), this process's own
	// (StdioInherit), a new pipe whose other end is the Process's Stdin,
	// Stdout or Stderr (StdioPipe), or an open File (StdioFile).
	Stdin, Stdout, Stderr Stdio
	// Grace is how long a canceled Wait waits after sending SIGTERM before
	// it sends SIGKILL: 0 means DefaultGrace, a negative value SIGKILL at
	// once.
	Grace time.Duration
}

// Stdio says what one standard stream of a child is connected to. The zero
// value is the null device (os.DevNull), as with a nil stream in os/exec.
type Stdio struct {
	kind stdioKind
	file *File
}

type stdioKind uint8

const (
	stdioNull stdioKind = iota
	stdioInherit
	stdioPipe
	stdioFile
)

var (
	// StdioNull connects the stream to the null device: the child reads
	// end of file and its writes are discarded. It is the zero Stdio.
	StdioNull = Stdio{}
	// StdioInherit gives the child this process's own stream (its
	// descriptor 0, 1 or 2).
	StdioInherit = Stdio{kind: stdioInherit}
	// StdioPipe connects the stream to a new pipe. The parent's end is the
	// Process's Stdin (to write to), Stdout or Stderr (to read from): a
	// File whose reads and writes wait in the runtime's poller, so they are
	// cancel points on every implementation. Process.Wait closes it.
	StdioPipe = Stdio{kind: stdioPipe}
)

// StdioFile connects the stream to the open file f, which the child then
// shares (the parent keeps its own f and closes it when it likes; Spawn
// takes a duplicate of its descriptor). A pipe, FIFO or terminal opened by
// this package is handed to the child in blocking mode, which its
// description keeps, as os/exec does with an *os.File: the parent's later
// reads and writes of f still work, but then block a thread instead of
// waiting in the poller, and a cancel no longer interrupts them. Give a
// child the end of a pipe that the parent then closes.
func StdioFile(f *File) Stdio {
	if f == nil {
		return StdioNull
	}
	return Stdio{kind: stdioFile, file: f}
}

// Process is a started child process. Wait for it with Wait, which reaps it:
// a child that is never waited for stays a zombie (and, where pidfd is
// unavailable, so does the goroutine that waits for it) until this process
// ends. Its methods may be called from several tasks.
type Process struct {
	// Stdin is the parent's end of the pipe connected to the child's
	// standard input, when Command.Stdin was StdioPipe, and nil otherwise:
	// close it to have the child read end of file.
	Stdin *File
	// Stdout and Stderr are the parent's ends of the pipes connected to the
	// child's standard output and error, when they were StdioPipe, and nil
	// otherwise. They read io.EOF once the child (and every process it
	// passed them to) has ended or closed them. Read them to their end
	// before calling Wait: Wait closes them once the child has ended, and a
	// read still in progress then fails with ErrClosed, losing what the pipe
	// still held (os/exec's StdoutPipe has the same rule). A task that reads
	// while another waits must finish reading before that Wait is called.
	Stdout, Stderr *File

	path  string
	pid   int
	grace time.Duration
	proc  *os.Process
	w     childWaiter

	lock   chan struct{} // a one-slot semaphore: held by the Wait in progress
	waited bool          // reaped: status and werr are final
	status ExitStatus
	werr   error
}

// childWaiter waits for a child's end: through a pidfd in the runtime's poller
// (Linux), or through a goroutine blocked in wait4.
type childWaiter interface {
	// await returns nil once the child has ended (it has not necessarily
	// been reaped), t.err() when t is canceled first, and errGraceOver when
	// deadline (when not zero) passes first.
	await(t *task, deadline time.Time) error
	// reap collects the status of the ended child and releases the
	// waiter's resources.
	reap() (*os.ProcessState, error)
}

// errGraceOver is what waiter.await returns when its deadline passes.
var errGraceOver = errors.New("io: grace period over")

// ExitStatus is how a process ended: it exited with a code, or a signal
// ended it.
type ExitStatus struct {
	Code   int            // the exit code (0 to 255), or -1 when a signal ended the process
	Signal syscall.Signal // the signal that ended the process, or 0 when it exited
	// UserTime and SystemTime are the CPU time the process used.
	UserTime, SystemTime time.Duration
}

// Success reports whether the process exited with code 0.
func (s ExitStatus) Success() bool { return s.Code == 0 && s.Signal == 0 }

// String describes the status as os.ProcessState does: "exit status 2",
// "signal: killed".
func (s ExitStatus) String() string {
	if s.Signal != 0 {
		return "signal: " + s.Signal.String()
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

// Spawn starts the program c describes. It is a cancel point at its start
// only: starting a program does not wait for it. Errors of the system come
// through as syscall.Errno (errors.Is(err, fs.ErrNotExist) for a missing
// program), in an *Error with Op "spawn" and the program's path. On Windows,
// where this package has no files, it fails with an error matching
// ErrUnsupported.
func Spawn(x Io, c Command) (*Process, error) {
	if x.t.isCanceled() {
		return nil, opErr("spawn", c.Path, x.t.err())
	}
	if c.Path == "" {
		return nil, opErr("spawn", "", fmt.Errorf("%w: no program path", ErrInvalid))
	}
	start := x.start()
	p, err := x.drv().spawn(x.t, &c)
	x.observe(start, "process", "spawn", c.Path, 0, err)
	if err != nil {
		return nil, opErr("spawn", c.Path, err)
	}
	return p, nil
}

// Run starts the program c describes and waits for it: Spawn, then Wait.
func (c Command) Run(x Io) (ExitStatus, error) {
	p, err := Spawn(x, c)
	if err != nil {
		return ExitStatus{}, err
	}
	return p.Wait(x)
}

// Pid returns the child's process ID.
func (p *Process) Pid() int { return p.pid }

// Wait waits for the child to end, reaps it, closes the parent's ends of its
// pipes (Stdin, Stdout, Stderr) and returns how it ended; a child that exits
// with a code other than 0 is no error, see ExitStatus.Success.
//
// Wait is a cancel point that ends the child: when the task is canceled
// (before or while it waits), Wait sends the child SIGTERM, then SIGKILL if
// it has not ended within Command.Grace, reaps it, and returns its status
// with an error matching ErrCanceled (the task's cancel error). No zombie
// and no goroutine remain. Only the child is signaled, not processes it
// started.
//
// Once the child is reaped, Wait returns the same status again, with a
// cancel error only if this task is canceled. Several tasks may wait at
// once; a cancel of any of them ends the child, and the others get its
// status without an error.
func (p *Process) Wait(x Io) (ExitStatus, error) {
	if p == nil || p.proc == nil {
		return ExitStatus{}, opErr("wait", "", ErrInvalid)
	}
	p.acquire(x.t)
	defer func() { <-p.lock }()
	if p.waited {
		err := p.werr
		if err == nil && x.t.isCanceled() {
			err = x.t.err()
		}
		return p.status, opErr("wait", p.path, err)
	}
	start := x.start()
	canceled := x.t.isCanceled()
	if !canceled && p.w.await(x.t, time.Time{}) != nil {
		// A cancel; or a failure of the wait itself, after which reap
		// blocks instead.
		canceled = x.t.isCanceled()
	}
	if canceled {
		p.stop()
	}
	ps, err := p.w.reap()
	p.waited = true
	if err == nil {
		p.status = exitStatus(ps)
	} else {
		p.werr = err
	}
	for _, f := range []*File{p.Stdin, p.Stdout, p.Stderr} {
		if f != nil {
			_ = f.Close(x) // ErrClosed when the caller closed it: fine
		}
	}
	if err == nil && canceled {
		err = x.t.err()
	}
	x.observe(start, "process", "wait", p.path, 0, err)
	return p.status, opErr("wait", p.path, err)
}

// acquire takes p.lock, which another task's Wait may hold. A cancel of t
// meanwhile ends the child as the holder would (SIGTERM, the grace period,
// SIGKILL), so that the holder's wait ends too.
func (p *Process) acquire(t *task) {
	select {
	case p.lock <- struct{}{}:
		return
	default:
	}
	select {
	case p.lock <- struct{}{}:
		return
	case <-t.doneCh():
	}
	if p.grace >= 0 && p.proc.Signal(syscall.SIGTERM) == nil {
		timer := time.NewTimer(p.grace)
		defer timer.Stop()
		select {
		case p.lock <- struct{}{}:
			return
		case <-timer.C:
		}
	}
	_ = p.proc.Kill() // os.ErrProcessDone once reaped: harmless
	p.lock <- struct{}{}
}

// stop ends the child after a cancel: SIGTERM, the grace period, SIGKILL.
// It returns once the child has ended, not waiting for any cancel.
func (p *Process) stop() {
	if p.grace >= 0 {
		if p.proc.Signal(syscall.SIGTERM) == nil && p.w.await(nil, time.Now().Add(p.grace)) == nil {
			return
		}
	}
	_ = p.proc.Kill()
	_ = p.w.await(nil, time.Time{})
}

// Signal sends sig to the child. It is not a cancel point. After Wait
// reaped the child it fails with an error matching os.ErrProcessDone.
func (p *Process) Signal(x Io, sig os.Signal) error {
	if p == nil || p.proc == nil {
		return opErr("signal", "", ErrInvalid)
	}
	return opErr("signal", p.path, p.proc.Signal(sig))
}

// newProcess returns the Process for a started child.
func newProcess(c *Command, proc *os.Process, stdin, stdout, stderr *File) *Process {
	grace := c.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	return &Process{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		path: c.Path, pid: proc.Pid, grace: grace, proc: proc,
		w:    newWaiter(proc),
		lock: make(chan struct{}, 1),
	}
}

// goWaiter waits for the child in a goroutine blocked in wait4 (Process.Wait
// of the os package), started by the first await.
type goWaiter struct {
	proc    *os.Process
	started bool          // guarded by Process.lock
	done    chan struct{} // closed when the goroutine has reaped the child
	ps      *os.ProcessState
	err     error
}

func newGoWaiter(proc *os.Process) *goWaiter {
	return &goWaiter{proc: proc, done: make(chan struct{})}
}

func (g *goWaiter) await(t *task, deadline time.Time) error {
	if !g.started {
		g.started = true
		go func() {
			g.ps, g.err = g.proc.Wait()
			close(g.done)
		}()
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-g.done:
		return nil
	case <-t.doneCh():
		return t.err()
	case <-timeout:
		return errGraceOver
	}
}

func (g *goWaiter) reap() (*os.ProcessState, error) {
	if err := g.await(nil, time.Time{}); err != nil {
		return nil, err
	}
	if g.err != nil {
		return nil, sysErr(g.err)
	}
	return g.ps, nil
}
