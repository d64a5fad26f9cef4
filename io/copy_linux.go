//go:build linux

package io

import "golang.org/x/sys/unix"

// copyFileRange is copy_file_range(2), which io_uring has no request for: on
// Evented too it runs on the task's goroutine.
func (sysDriver) copyFileRange(t *task, src int, srcOff int64, dst int, dstOff int64, n int) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	var k int
	err := retry(func() (err error) {
		k, err = unix.CopyFileRange(src, &srcOff, dst, &dstOff, n, 0)
		return err
	})
	if k < 0 {
		k = 0
	}
	return k, err
}

// ficlone is the FICLONE ioctl: dst shares src's blocks.
func (sysDriver) ficlone(t *task, dst, src int) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.IoctlFileClone(dst, src) })
}
