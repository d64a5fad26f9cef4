package io

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// forceGoWaiter makes newWaiter use a goroutine even where pidfd works (for
// tests of that path).
var forceGoWaiter atomic.Bool

// newWaiter returns a waiter on a pidfd in the runtime's poller (Linux 5.3
// or later), or, where pidfd_open is missing or refused, a goroutine.
func newWaiter(proc *os.Process) childWaiter {
	if forceGoWaiter.Load() {
		return newGoWaiter(proc)
	}
	fd, err := unix.PidfdOpen(proc.Pid, 0)
	if err != nil {
		return newGoWaiter(proc)
	}
	if unix.SetNonblock(fd, true) != nil {
		unix.Close(fd)
		return newGoWaiter(proc)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil || f.SetReadDeadline(time.Time{}) != nil { // not in the poller
		f.Close()
		return newGoWaiter(proc)
	}
	w := &pidfdWaiter{proc: proc, f: f, rc: rc}
	w.in.d = deadlineFunc(f.SetReadDeadline)
	return w
}

// pidfdWaiter waits for the child's pidfd to become readable (the child has
// ended) in the runtime's poller; os.Process.Wait then reaps it at once.
type pidfdWaiter struct {
	proc *os.Process
	f    *os.File
	rc   syscall.RawConn
	in   sharedDeadline
}

func (w *pidfdWaiter) await(t *task, deadline time.Time) error {
	if t.isCanceled() {
		return t.err()
	}
	if !deadline.IsZero() {
		_ = w.f.SetReadDeadline(deadline)
		defer w.f.SetReadDeadline(time.Time{})
	}
	guard := w.in.guard(t)
	err := w.rc.Read(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(pfd, 0)
			if err != unix.EINTR {
				return err != nil || n > 0 // an error: let reap block instead
			}
		}
	})
	guard.release()
	switch {
	case err == nil:
		return nil
	case t.isCanceled():
		return t.err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errGraceOver
	}
	return sysErr(err)
}

func (w *pidfdWaiter) reap() (*os.ProcessState, error) {
	defer w.f.Close()
	ps, err := w.proc.Wait()
	if err != nil {
		return nil, sysErr(err)
	}
	return ps, nil
}
