//go:build unix && !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package io

import (
	"errors"
	"fmt"
	"runtime"
)

func setReusePort(fd int) error {
	return fmt.Errorf("%w: SO_REUSEPORT on %s (%w)", ErrUnsupported, runtime.GOOS, errors.ErrUnsupported)
}
