//go:build unix

package io

import "golang.org/x/sys/unix"

// The directory and file-system operations of sysDriver on every Unix
// (getdents, copy_file_range and FICLONE are per system: dir_linux.go,
// dir_bsd.go, copy_linux.go, copy_other.go).

func (sysDriver) faccessat(t *task, dir int, path string, mode uint32) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Faccessat(dir, path, mode, 0) })
}

func (sysDriver) fchmodat(t *task, dir int, path string, mode uint32) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Fchmodat(dir, path, mode, 0) })
}

func (sysDriver) fchmod(t *task, fd int, mode uint32) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Fchmod(fd, mode) })
}

func (sysDriver) lseek(t *task, fd int, off int64, whence int) (int64, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	return unix.Seek(fd, off, whence)
}
