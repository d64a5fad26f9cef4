//go:build unix

package io

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func (sysDriver) pipe(t *task) (r, w int, err error) {
	if t.isCanceled() {
		return -1, -1, t.err()
	}
	return pipeCloexec(true)
}

// spawn starts c with os.StartProcess. The child's ends of its pipes are
// blocking (a program expects that of its standard streams); the parent's
// are non-blocking, in the poller.
func (sysDriver) spawn(t *task, c *Command) (_ *Process, err error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	var (
		files      [3]*os.File
		closeAfter []*os.File // the child's ends, the null device, duplicates
		ends       [3]*File   // the parent's ends of pipes
		devNull    *os.File   // opened once for the streams that need it
	)
	defer func() {
		for _, f := range closeAfter {
			_ = f.Close()
		}
		if err != nil {
			for _, f := range ends {
				if f != nil {
					_ = f.closeNow()
				}
			}
		}
	}()
	for i, s := range [3]Stdio{c.Stdin, c.Stdout, c.Stderr} {
		switch s.kind {
		case stdioNull:
			if devNull == nil {
				if devNull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
					return nil, sysErr(err)
				}
				closeAfter = append(closeAfter, devNull)
			}
			files[i] = devNull
		case stdioInherit:
			files[i] = [3]*os.File{os.Stdin, os.Stdout, os.Stderr}[i]
		case stdioPipe:
			r, w, err := pipeCloexec(false)
			if err != nil {
				return nil, err
			}
			child, parent, name := r, w, "|stdin"
			if i > 0 {
				child, parent, name = w, r, [3]string{"", "|stdout", "|stderr"}[i]
			}
			files[i] = os.NewFile(uintptr(child), name)
			closeAfter = append(closeAfter, files[i])
			ends[i] = newPipeEnd(parent, c.Path+" "+name)
		case stdioFile:
			f, err := s.file.dupForChild()
			if err != nil {
				return nil, err
			}
			files[i] = f
			closeAfter = append(closeAfter, f)
		}
	}
	argv := c.Args
	if len(argv) == 0 {
		argv = []string{c.Path}
	}
	proc, err := os.StartProcess(c.Path, argv, &os.ProcAttr{Dir: c.Dir, Env: c.Env, Files: files[:]})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Op == "chdir" {
			return nil, fmt.Errorf("chdir %s: %w", c.Dir, pe.Err)
		}
		return nil, sysErr(err)
	}
	return newProcess(c, proc, ends[0], ends[1], ends[2]), nil
}

// dupForChild returns an *os.File of a duplicate of f's descriptor, for a
// child's standard stream, in blocking mode (see StdioFile).
func (f *File) dupForChild() (*os.File, error) {
	if err := f.hold("spawn"); err != nil {
		return nil, err
	}
	defer f.drop()
	fd, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if f.pipe != nil {
		_ = unix.SetNonblock(fd, false) // the description is shared: f's too
	}
	return os.NewFile(uintptr(fd), f.name), nil
}

// closeNow closes the parent's end of a pipe that a failed spawn made.
func (f *File) closeNow() error {
	f.state.Store(1)
	if f.pipe == nil {
		return unix.Close(f.fd)
	}
	return f.pipe.close()
}

// exitStatus converts the os package's status.
func exitStatus(ps *os.ProcessState) ExitStatus {
	s := ExitStatus{Code: ps.ExitCode(), UserTime: ps.UserTime(), SystemTime: ps.SystemTime()}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		s.Code, s.Signal = -1, ws.Signal()
	}
	return s
}
