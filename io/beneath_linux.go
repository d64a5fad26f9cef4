//go:build linux

package io

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2 answered ENOSYS: the kernel (before 5.6)
// has none, and later calls go straight to the walk.
var noOpenat2 atomic.Bool

// openat2 opens p under dir with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, as a
// blocking system call on the task's goroutine (on every implementation).
// It returns errNoOpenat2 where the walk must do the work: no openat2
// (ENOSYS), a seccomp profile refusing it (EPERM: the walk then meets a
// genuine EPERM itself), or a test forcing the walk.
func (x Io) openat2(dir int, p string, flags int, perm uint32) (int, error) {
	if x.t.isCanceled() {
		return -1, x.t.err()
	}
	if forceWalk.Load() || noOpenat2.Load() {
		return -1, errNoOpenat2
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(perm),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	}
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Openat2(dir, p, &how)
		return err
	})
	switch err {
	case nil:
		return fd, nil
	case unix.ENOSYS:
		noOpenat2.Store(true)
		return -1, errNoOpenat2
	case unix.EPERM:
		return -1, errNoOpenat2
	}
	return -1, err
}
