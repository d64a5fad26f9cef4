//go:build unix && !linux && !darwin

package io

import "golang.org/x/sys/unix"

// Where golang.org/x/sys/unix has no readv/writev (FreeBSD and the other
// BSDs), a vectored call moves the first buffer only: a short transfer,
// which the driver contract allows and every caller continues.

func readvSys(fd int, bufs [][]byte) (int, error) { return unix.Read(fd, bufs[0]) }
func preadvSys(fd int, bufs [][]byte, off int64) (int, error) {
	return unix.Pread(fd, bufs[0], off)
}
func writevSys(fd int, bufs [][]byte) (int, error) { return unix.Write(fd, bufs[0]) }
func pwritevSys(fd int, bufs [][]byte, off int64) (int, error) {
	return unix.Pwrite(fd, bufs[0], off)
}
