//go:build unix && !(linux || darwin || freebsd || netbsd || openbsd)

package io

import (
	"errors"
	"fmt"
	"runtime"
)

// getdents is not wired up on this system: listing, walking and removing
// trees fail with an error matching ErrUnsupported.
func (sysDriver) getdents(t *task, fd int, buf []byte) (int, error) {
	return 0, fmt.Errorf("%w: reading directories on %s (%w)", ErrUnsupported, runtime.GOOS, errors.ErrUnsupported)
}

// parseDirent is never reached: getdents returns no records here.
func parseDirent(buf []byte) (reclen int, typ uint8, name []byte) { return len(buf), 0, nil }
