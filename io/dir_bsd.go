//go:build darwin || freebsd || netbsd || openbsd

package io

import "golang.org/x/sys/unix"

// getdents reads with getdirentries(2) (on macOS, the x/sys emulation over
// readdir, which keeps its place in the descriptor's offset).
func (sysDriver) getdents(t *task, fd int, buf []byte) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	var n int
	err := retry(func() (err error) {
		var base uintptr
		n, err = unix.Getdirentries(fd, buf, &base)
		return err
	})
	if n < 0 {
		n = 0
	}
	return n, err
}
