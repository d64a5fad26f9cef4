//go:build linux

package io

import "github.com/vkio/vkio/io/internal/uring"

// Evented's ring requests for directories: symlinkat and linkat (Linux
// 5.15), used where the probe reports them, the system call otherwise.
// Everything else in dirDriver has no io_uring request and runs as
// sysDriver's system call on the task's goroutine.

func (e *Evented) symlinkat(t *task, target string, dir int, path string) error {
	if !e.has(uring.OpSymlinkat) { // before Linux 5.15
		return e.sysDriver.symlinkat(t, target, dir, path)
	}
	_, err := e.call(t, func(o *ringOp, sqe *uring.SQE) error {
		tp, err := o.cString(target)
		if err != nil {
			return err
		}
		lp, err := o.cString(path)
		if err != nil {
			return err
		}
		sqe.Opcode = uring.OpSymlinkat
		sqe.Fd = int32(dir)
		sqe.Addr = tp
		sqe.Off = lp
		return nil
	})
	return err // a cancellation is already t.err()
}

func (e *Evented) linkat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	if !e.has(uring.OpLinkat) { // before Linux 5.15
		return e.sysDriver.linkat(t, oldDir, oldPath, newDir, newPath)
	}
	return e.twoPaths(t, uring.OpLinkat, oldDir, oldPath, newDir, newPath)
}
