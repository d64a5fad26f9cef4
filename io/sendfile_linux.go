//go:build linux

package io

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// The kernel copies of Writer.SendFile on Linux: copy_file_range(2) and
// sendfile(2), as system calls on the task's goroutine on every
// implementation (io_uring has no request for either).

// copyRefused reports whether a kernel copy's error says that the kernel
// cannot copy this pair (an old kernel, another file system, a pipe or
// device, an append-only destination, a seccomp filter), rather than that
// the copy failed: the caller then copies through user memory, where a real
// failure shows again.
func copyRefused(err error) bool {
	switch err {
	case unix.ENOSYS, unix.EXDEV, unix.EINVAL, unix.EOPNOTSUPP, unix.EPERM, unix.EBADF, unix.EIO:
		return true
	}
	return false
}

func (sysDriver) copyRange(t *task, dst int, dstOff int64, src int, srcOff int64, n int) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	var k int
	err := retry(func() (err error) {
		so := srcOff
		if dstOff >= 0 {
			do := dstOff
			k, err = unix.CopyFileRange(src, &so, dst, &do, n, 0)
		} else {
			k, err = unix.CopyFileRange(src, &so, dst, nil, n, 0)
		}
		return err
	})
	if err != nil && dstOff < 0 && copyRefused(err) {
		// sendfile writes to any descriptor at its position: a pipe, a
		// device, a file on another file system.
		err = retry(func() (err error) {
			so := srcOff
			k, err = unix.Sendfile(dst, src, &so, n)
			return err
		})
	}
	if k < 0 {
		k = 0
	}
	if err != nil && copyRefused(err) {
		return 0, unsupportedCopy(err)
	}
	return k, err
}

// sendFile sends up to n bytes of the file src from off to the socket with
// one sendfile(2) once the socket can take some: a full socket buffer
// (EAGAIN on the non-blocking socket) parks the task in the runtime's
// network poller, where a cancel request interrupts it (see interruptible).
func (p *pollConn) sendFile(t *task, src int, off int64, n int) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	sc, ok := p.c.(syscall.Conn)
	if !ok {
		return 0, ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	p.init()
	guard := p.wr.guard(t)
	var k int
	var serr error
	send := func(fd uintptr) bool {
		for {
			so := off
			k, serr = unix.Sendfile(int(fd), src, &so, n)
			if serr != unix.EINTR {
				return serr != unix.EAGAIN
			}
		}
	}
	err = rc.Write(send)
	for err != nil && spurious(t, err) { // another task's cancel woke it
		err = rc.Write(send)
	}
	guard.release()
	if err != nil {
		return 0, canceledOr(t, err)
	}
	if k < 0 {
		k = 0
	}
	if serr != nil && (serr == unix.EINVAL || serr == unix.ENOSYS || serr == unix.EOPNOTSUPP) {
		return 0, unsupportedCopy(serr) // not a file sendfile can read from (a pipe)
	}
	return k, serr
}
