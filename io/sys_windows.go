//go:build windows

package io

import (
	"errors"
	"fmt"
	"syscall"
)

// On Windows, Blocking and Threaded run tasks, time, queues and sockets (the
// runtime's network poller) as everywhere. Their file operations are built
// on descriptors relative to directory descriptors (openat and friends),
// which Windows does not have: they fail with an error matching
// ErrUnsupported and errors.ErrUnsupported.

const atFdCwd = -100

const maxIovecs = 1024

// errNoFiles is the error of every file operation on Windows.
var errNoFiles = fmt.Errorf("%w: directory-relative file operations on windows (%w)", ErrUnsupported, errors.ErrUnsupported)

func closeRaw(fd int) { _ = syscall.CloseHandle(syscall.Handle(fd)) }

func (sysDriver) openat(t *task, dir int, path string, flags int, perm uint32) (int, error) {
	return -1, errNoFiles
}

func (sysDriver) readv(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	return 0, errNoFiles
}

func (sysDriver) read(t *task, fd int, p []byte, off int64) (int, error) { return 0, errNoFiles }

func (sysDriver) write(t *task, fd int, p []byte, off int64) (int, error) { return 0, errNoFiles }

func (sysDriver) writev(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	return 0, errNoFiles
}

func (sysDriver) fsync(t *task, fd int) error { return errNoFiles }

func (sysDriver) ftruncate(t *task, fd int, size int64) error { return errNoFiles }

func (sysDriver) fstat(t *task, fd int) (FileInfo, error) { return FileInfo{}, errNoFiles }

func (sysDriver) fstatat(t *task, dir int, path string, follow bool) (FileInfo, error) {
	return FileInfo{}, errNoFiles
}

func (sysDriver) closeFd(t *task, fd int) error { return errNoFiles }

func (sysDriver) renameat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	return errNoFiles
}

func (sysDriver) unlinkat(t *task, dir int, path string, removeDir bool) error { return errNoFiles }

func (sysDriver) mkdirat(t *task, dir int, path string, perm uint32) error { return errNoFiles }

// processAlive says yes: nothing is removed as stale on Windows.
func processAlive(pid int) bool { return true }

// tryLock reports the lock unavailable, so nothing is taken as stale.
func tryLock(fd int) (busy bool, err error) { return true, nil }
