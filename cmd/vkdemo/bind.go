package main

import (
	"errors"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
)

// bindHelp documents --bind.
const bindHelp = job.BindHelp

// fileReader reads --bind file:PATH sources through x: a regular file of
// at most maxBindFile bytes (a binding's limit, and a .npy header). Devices
// (/dev/zero), FIFOs and larger files are refused before anything is read.
func fileReader(x io.Io) job.ReadFunc {
	return func(path string) ([]byte, error) {
		return io.Cwd().ReadFileMax(x, path, maxBindFile)
	}
}

// cliError is err as vkdemo run reports it: a *job.Error about the job's
// description is a usage error (exit status 2).
func cliError(err error) error {
	var je *job.Error
	if errors.As(err, &je) && je.Usage {
		return usageError{err}
	}
	return err
}
