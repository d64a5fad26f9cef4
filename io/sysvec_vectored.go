//go:build linux || darwin

package io

import "golang.org/x/sys/unix"

// Vectored reads and writes: one readv/preadv/writev/pwritev system call.

func readvSys(fd int, bufs [][]byte) (int, error)              { return unix.Readv(fd, bufs) }
func preadvSys(fd int, bufs [][]byte, off int64) (int, error)  { return unix.Preadv(fd, bufs, off) }
func writevSys(fd int, bufs [][]byte) (int, error)             { return unix.Writev(fd, bufs) }
func pwritevSys(fd int, bufs [][]byte, off int64) (int, error) { return unix.Pwritev(fd, bufs, off) }
