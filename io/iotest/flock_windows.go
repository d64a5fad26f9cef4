//go:build windows

package iotest

import (
	"errors"
	"os"
)

// tryFlock fails: Windows has no flock(2).
func tryFlock(f *os.File) error { return errors.ErrUnsupported }
