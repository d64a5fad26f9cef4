//go:build unix && !(solaris || illumos || aix || dragonfly)

package io

import "golang.org/x/sys/unix"

func (sysDriver) symlinkat(t *task, target string, dir int, path string) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Symlinkat(target, dir, path) })
}

func (sysDriver) readlinkat(t *task, dir int, path string, buf []byte) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	var n int
	err := retry(func() (err error) {
		n, err = unix.Readlinkat(dir, path, buf)
		return err
	})
	return n, err
}

func (sysDriver) linkat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Linkat(oldDir, oldPath, newDir, newPath, 0) })
}
