//go:build unix

package io

import "golang.org/x/sys/unix"

func (sysDriver) flockTry(t *task, fd int, how int) error {
	op := unix.LOCK_UN
	switch how {
	case lockShared:
		op = unix.LOCK_SH | unix.LOCK_NB
	case lockExclusive:
		op = unix.LOCK_EX | unix.LOCK_NB
	}
	if how != lockUnlock && t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Flock(fd, op) })
}
