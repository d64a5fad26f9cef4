//go:build solaris || illumos || aix || dragonfly

package io

import (
	"errors"
	"fmt"
	"runtime"
)

// errNoLinks is the error of the link calls x/sys lacks on this system.
var errNoLinks = fmt.Errorf("%w: symlinkat, readlinkat and linkat on %s (%w)", ErrUnsupported, runtime.GOOS, errors.ErrUnsupported)

func (sysDriver) symlinkat(t *task, target string, dir int, path string) error { return errNoLinks }

func (sysDriver) readlinkat(t *task, dir int, path string, buf []byte) (int, error) {
	return 0, errNoLinks
}

func (sysDriver) linkat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	return errNoLinks
}
