//go:build windows

package io

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// setListenOptions sets cfg's socket options on the socket handle fd before
// it is bound. Windows has no SO_REUSEPORT; its SO_REUSEADDR lets another
// socket take over a bound port, unlike Unix's.
func setListenOptions(fd uintptr, cfg ListenConfig) error {
	h := syscall.Handle(fd)
	if cfg.ReusePort {
		return fmt.Errorf("%w: SO_REUSEPORT on windows (%w)", ErrUnsupported, errors.ErrUnsupported)
	}
	if cfg.ReuseAddr {
		if err := syscall.SetsockoptInt(h, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
			return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
		}
	}
	if cfg.ReadBuffer > 0 {
		if err := syscall.SetsockoptInt(h, syscall.SOL_SOCKET, syscall.SO_RCVBUF, cfg.ReadBuffer); err != nil {
			return os.NewSyscallError("setsockopt SO_RCVBUF", err)
		}
	}
	if cfg.WriteBuffer > 0 {
		if err := syscall.SetsockoptInt(h, syscall.SOL_SOCKET, syscall.SO_SNDBUF, cfg.WriteBuffer); err != nil {
			return os.NewSyscallError("setsockopt SO_SNDBUF", err)
		}
	}
	return nil
}

// relisten fails: Windows ignores listen on a listening socket, so the
// backlog cannot be set after net.ListenConfig has listened.
func relisten(fd uintptr, backlog int) error {
	return fmt.Errorf("%w: ListenConfig.Backlog on windows (%w)", ErrUnsupported, errors.ErrUnsupported)
}
