package io

import (
	"errors"
	"fmt"
	"io/fs"

	stdio "io"

	"syscall"
)

// ErrTooLarge is returned by ReadFileMax for a file larger than the limit
// it was given.
var ErrTooLarge = errors.New("io: file too large")

// ReadFileMax returns the contents of the regular file at p, which must
// hold at most max bytes. It is ReadFile for files that come from
// untrusted hands (a path on a command line, a name in a request):
//
//   - p is stat-ed first, and anything but a regular file (a directory, a
//     FIFO, a socket, a character or block device such as /dev/zero) is
//     refused with an error wrapping ErrInvalid that names the path and its
//     type, without reading a byte;
//   - a file whose size is over max is refused before anything is read or
//     allocated, with an error wrapping ErrTooLarge that names the size and
//     the limit;
//   - the file is opened without blocking (a FIFO swapped in after the stat
//     cannot hang the open) and checked again through the open descriptor;
//   - at most max+1 bytes are read: a file that grows past max meanwhile is
//     refused with ErrTooLarge too.
//
// So the memory it takes is bounded by max, whatever p names. The reads go
// through x (observed and cancelable like every file operation). A negative
// max is an error wrapping ErrInvalid.
func (d Dir) ReadFileMax(x Io, p string, max int64) ([]byte, error) {
	name := d.join(p)
	if max < 0 {
		return nil, opErr("read", name, fmt.Errorf("%w: negative limit %d", ErrInvalid, max))
	}
	fi, err := d.Stat(x, p)
	if err != nil {
		return nil, err
	}
	if err := checkReadable(name, fi, max); err != nil {
		return nil, err
	}
	start := x.start()
	fd, err := x.d.openat(x.t, d.fd, p, oRDONLY|oNONBLOCK, 0)
	x.observe(start, "file", "open", name, 0, err)
	if err != nil {
		return nil, opErr("open", name, err)
	}
	f := newFile(fd, name)
	defer f.Close(x.WithoutCancel())
	// What was opened may not be what was stat-ed: check it again.
	if fi, err = f.Stat(x); err != nil {
		return nil, err
	}
	if err := checkReadable(name, fi, max); err != nil {
		return nil, err
	}
	// Room for the size stat-ed and one more byte, to see the end of file
	// (or a file that grew) without growing the buffer.
	buf := make([]byte, 0, fi.Size+1)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > max {
				return nil, opErr("read", name, fmt.Errorf("%w: it grew past the limit of %d bytes while it was read", ErrTooLarge, max))
			}
			// The file grew since the stat: grow up to max+1 bytes.
			n := min(int64(2*cap(buf))+512, max+1)
			buf = append(make([]byte, 0, n), buf...)
		}
		k, err := f.Read(x, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == stdio.EOF {
			if int64(len(buf)) > max {
				return nil, opErr("read", name, fmt.Errorf("%w: it grew past the limit of %d bytes while it was read", ErrTooLarge, max))
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkReadable refuses what ReadFileMax does not read: anything but a
// regular file, and files over max bytes.
func checkReadable(name string, fi FileInfo, max int64) error {
	if !fi.Mode.IsRegular() {
		return opErr("read", name, notRegularError{fi.Mode})
	}
	if fi.Size > max {
		return opErr("read", name, fmt.Errorf("%w: %d bytes, more than the limit of %d bytes", ErrTooLarge, fi.Size, max))
	}
	return nil
}

// notRegularError is a file that is not regular, where one must be: it
// satisfies errors.Is with ErrInvalid, and with syscall.EISDIR for a
// directory.
type notRegularError struct{ mode fs.FileMode }

func (e notRegularError) Error() string {
	return fmt.Sprintf("%v: is a %s, not a regular file", ErrInvalid, fileKind(e.mode))
}

func (e notRegularError) Is(target error) bool {
	return target == ErrInvalid || (e.mode.IsDir() && target == syscall.EISDIR)
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file"
}
