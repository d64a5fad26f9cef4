//go:build unix

package io

import (
	"os"
	"syscall"
)

// setListenOptions sets cfg's socket options on fd before it is bound.
func setListenOptions(fd uintptr, cfg ListenConfig) error {
	s := int(fd)
	if cfg.ReuseAddr {
		if err := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
			return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
		}
	}
	if cfg.ReusePort {
		if err := setReusePort(s); err != nil {
			return os.NewSyscallError("setsockopt SO_REUSEPORT", err)
		}
	}
	if cfg.ReadBuffer > 0 {
		if err := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, cfg.ReadBuffer); err != nil {
			return os.NewSyscallError("setsockopt SO_RCVBUF", err)
		}
	}
	if cfg.WriteBuffer > 0 {
		if err := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUF, cfg.WriteBuffer); err != nil {
			return os.NewSyscallError("setsockopt SO_SNDBUF", err)
		}
	}
	return nil
}

// relisten sets the backlog of the listening socket fd: listen(2) again.
func relisten(fd uintptr, backlog int) error {
	if err := syscall.Listen(int(fd), backlog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}
