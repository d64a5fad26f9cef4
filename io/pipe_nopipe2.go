//go:build unix && !(linux || freebsd || netbsd || openbsd || dragonfly)

package io

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeCloexec returns a new pipe's read and write descriptors, both
// close-on-exec, and non-blocking when nonblock. Without pipe2 (macOS),
// the fork lock keeps a concurrent fork from inheriting them before
// close-on-exec is set, as the os package does.
func pipeCloexec(nonblock bool) (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, err
	}
	if nonblock {
		for _, fd := range p {
			if err := unix.SetNonblock(fd, true); err != nil {
				unix.Close(p[0])
				unix.Close(p[1])
				return -1, -1, err
			}
		}
	}
	return p[0], p[1], nil
}
