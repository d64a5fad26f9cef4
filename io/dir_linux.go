//go:build linux

package io

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// getdents reads with getdents64(2), which io_uring has no request for: on
// Evented too it is this system call on the task's goroutine.
func (sysDriver) getdents(t *task, fd int, buf []byte) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	var n int
	err := retry(func() (err error) {
		n, err = unix.Getdents(fd, buf)
		return err
	})
	if n < 0 {
		n = 0
	}
	return n, err
}

func (sysDriver) utimensat(t *task, dir int, path string, atime, mtime time.Time, follow bool) error {
	if t.isCanceled() {
		return t.err()
	}
	ts := [2]unix.Timespec{timespec(atime), timespec(mtime)}
	if path == "" { // futimens(3): utimensat on the descriptor, no path
		return retry(func() error {
			_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(dir), 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
			if errno != 0 {
				return errno
			}
			return nil
		})
	}
	flags := 0
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	return retry(func() error { return unix.UtimesNanoAt(dir, path, ts[:], flags) })
}

// timespec returns t as a Timespec, or UTIME_OMIT (leave it) for a zero t.
func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(t.UnixNano())
}
