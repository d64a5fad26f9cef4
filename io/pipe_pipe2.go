//go:build linux || freebsd || netbsd || openbsd || dragonfly

package io

import "golang.org/x/sys/unix"

// pipeCloexec returns a new pipe's read and write descriptors, both
// close-on-exec (atomically, with pipe2), and non-blocking when nonblock.
func pipeCloexec(nonblock bool) (r, w int, err error) {
	flags := unix.O_CLOEXEC
	if nonblock {
		flags |= unix.O_NONBLOCK
	}
	var p [2]int
	if err := unix.Pipe2(p[:], flags); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}
