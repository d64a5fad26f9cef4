//go:build windows

package io

import (
	"errors"
	"fmt"
	"os"
)

// On Windows this package has no files, and so no pipes or processes with
// standard streams: Spawn and Pipe fail with an error matching
// ErrUnsupported and errors.ErrUnsupported (use os/exec there).

var errNoProcesses = fmt.Errorf("%w: processes and pipes on windows (%w)", ErrUnsupported, errors.ErrUnsupported)

func (sysDriver) spawn(t *task, c *Command) (*Process, error) { return nil, errNoProcesses }

func (sysDriver) pipe(t *task) (r, w int, err error) { return -1, -1, errNoProcesses }

func newWaiter(proc *os.Process) childWaiter { return newGoWaiter(proc) }

func exitStatus(ps *os.ProcessState) ExitStatus {
	return ExitStatus{Code: ps.ExitCode(), UserTime: ps.UserTime(), SystemTime: ps.SystemTime()}
}

// pollFile is never made on Windows.
type pollFile struct{}

func (p *pollFile) close() error { return nil }
func (p *pollFile) shut()        {}

func newOpenedFile(fd int, name string) *File { return newFile(fd, name) }

func newPipeEnd(fd int, name string) *File { return newFile(fd, name) }
