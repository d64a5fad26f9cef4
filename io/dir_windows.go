//go:build windows

package io

import "time"

// Directories and file-system operations on Windows: like the other file
// operations (sys_windows.go), they fail with an error matching
// ErrUnsupported.

func (sysDriver) getdents(t *task, fd int, buf []byte) (int, error) { return 0, errNoFiles }

func (sysDriver) symlinkat(t *task, target string, dir int, path string) error { return errNoFiles }

func (sysDriver) readlinkat(t *task, dir int, path string, buf []byte) (int, error) {
	return 0, errNoFiles
}

func (sysDriver) linkat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	return errNoFiles
}

func (sysDriver) faccessat(t *task, dir int, path string, mode uint32) error { return errNoFiles }

func (sysDriver) fchmodat(t *task, dir int, path string, mode uint32) error { return errNoFiles }

func (sysDriver) fchmod(t *task, fd int, mode uint32) error { return errNoFiles }

func (sysDriver) utimensat(t *task, dir int, path string, atime, mtime time.Time, follow bool) error {
	return errNoFiles
}

func (sysDriver) lseek(t *task, fd int, off int64, whence int) (int64, error) { return 0, errNoFiles }

func (sysDriver) flockTry(t *task, fd int, how int) error { return errNoFiles }

// parseDirent is never reached: getdents returns no records here.
func parseDirent(buf []byte) (reclen int, typ uint8, name []byte) { return len(buf), 0, nil }
