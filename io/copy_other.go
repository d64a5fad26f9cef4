//go:build !linux

package io

import (
	"errors"
	"fmt"
	"runtime"
)

// errNoCopyCall is the error of the copy methods this system lacks; copies
// fall back to reads and writes.
var errNoCopyCall = fmt.Errorf("%w: copy_file_range and FICLONE on %s (%w)", ErrUnsupported, runtime.GOOS, errors.ErrUnsupported)

func (sysDriver) copyFileRange(t *task, src int, srcOff int64, dst int, dstOff int64, n int) (int, error) {
	return 0, errNoCopyCall
}

func (sysDriver) ficlone(t *task, dst, src int) error { return errNoCopyCall }
