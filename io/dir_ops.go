package io

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// dirDriver is the part of the driver for directories and file-system
// operations (issue 14 item 5). sysDriver implements it with system calls
// (dir_unix.go, flock_unix.go, copy_*.go; dir_windows.go refuses); Evented
// embeds sysDriver and overrides symlinkat and linkat with ring requests
// where the kernel has them (dir_evented.go). The rest have no io_uring
// request (getdents, readlinkat, faccessat, fchmod, utimensat, lseek, flock,
// copy_file_range, FICLONE), so on Evented they run as the system call on
// the task's goroutine, as on Threaded.
//
// Every method checks the task's cancel state first and returns t.err() when
// it is canceled (except unlock, which must always be possible). Errors are
// syscall.Errno values, unwrapped.
type dirDriver interface {
	// getdents reads raw directory records (the platform's struct dirent
	// layout, see parseDirent) into buf and returns the bytes read; 0 at the
	// end of the directory.
	getdents(t *task, fd int, buf []byte) (int, error)
	symlinkat(t *task, target string, dir int, path string) error
	// readlinkat reads the link's target into buf and returns its length.
	readlinkat(t *task, dir int, path string, buf []byte) (int, error)
	// linkat makes a hard link; a symbolic link at oldPath is linked itself.
	linkat(t *task, oldDir int, oldPath string, newDir int, newPath string) error
	faccessat(t *task, dir int, path string, mode uint32) error
	fchmodat(t *task, dir int, path string, mode uint32) error
	fchmod(t *task, fd int, mode uint32) error
	// utimensat sets the access and modification times of path in dir (of
	// the open file dir itself when path is ""); a zero time is left alone.
	utimensat(t *task, dir int, path string, atime, mtime time.Time, follow bool) error
	lseek(t *task, fd int, off int64, whence int) (int64, error)
	// flockTry takes (or, with how = lockUnlock, releases) a flock(2) lock
	// without waiting: EWOULDBLOCK when another open file description holds
	// a conflicting one. Unlocking is not a cancel point.
	flockTry(t *task, fd int, how int) error
	// copyFileRange is one copy_file_range(2) of at most n bytes between the
	// given offsets; ErrUnsupported where the system has none.
	copyFileRange(t *task, src int, srcOff int64, dst int, dstOff int64, n int) (int, error)
	// ficlone makes dst share src's blocks (the FICLONE ioctl); an error
	// where the file system cannot (EOPNOTSUPP, EXDEV, EINVAL) or the
	// system has no such call (ErrUnsupported).
	ficlone(t *task, dst, src int) error
}

// The failing driver's directory operations: each gives the error that
// Failing is configured with for the operation.

func (f failing) getdents(*task, int, []byte) (int, error)   { return 0, f.fail("read dir") }
func (f failing) symlinkat(*task, string, int, string) error { return f.fail("symlink") }
func (f failing) readlinkat(*task, int, string, []byte) (int, error) {
	return 0, f.fail("readlink")
}
func (f failing) linkat(*task, int, string, int, string) error { return f.fail("link") }
func (f failing) faccessat(*task, int, string, uint32) error   { return f.fail("access") }
func (f failing) fchmodat(*task, int, string, uint32) error    { return f.fail("chmod") }
func (f failing) fchmod(*task, int, uint32) error              { return f.fail("chmod") }
func (f failing) utimensat(*task, int, string, time.Time, time.Time, bool) error {
	return f.fail("chtimes")
}
func (f failing) lseek(*task, int, int64, int) (int64, error) { return 0, f.fail("seek") }
func (f failing) flockTry(*task, int, int) error              { return f.fail("lock") }
func (f failing) copyFileRange(*task, int, int64, int, int64, int) (int, error) {
	return 0, f.fail("copy")
}
func (f failing) ficlone(*task, int, int) error { return f.fail("copy") }

// Symlink creates a symbolic link at p in d whose contents are target. The
// target is stored as given: a relative one is resolved, when the link is
// followed, from the link's folder. It is a cancel point at its start; on
// Evented it is an io_uring request (IORING_OP_SYMLINKAT, Linux 5.15) where
// the kernel has it.
func (d Dir) Symlink(x Io, target, p string) error {
	start := x.start()
	return x.doneAt(start, "symlink", d, p, x.drv().symlinkat(x.t, target, d.fd, p))
}

// maxLinkTarget bounds the buffer ReadLink grows to: Linux's PATH_MAX is
// 4096, and no file system in common use stores longer targets.
const maxLinkTarget = 64 << 10

// ReadLink returns the target of the symbolic link at p (not followed). It
// fails with EINVAL (errors.Is(err, syscall.EINVAL)) when p is not a link. A
// cancel point at its start.
func (d Dir) ReadLink(x Io, p string) (string, error) {
	start := x.start()
	for size := 256; ; size *= 4 {
		buf := make([]byte, size)
		n, err := x.drv().readlinkat(x.t, d.fd, p, buf)
		if err != nil {
			return "", x.doneAt(start, "readlink", d, p, err)
		}
		if n < size {
			x.observe(start, "file", "readlink", d.join(p), 0, nil)
			return string(buf[:n]), nil
		}
		if size >= maxLinkTarget {
			return "", x.doneAt(start, "readlink", d, p, syscall.ENAMETOOLONG)
		}
	}
}

// Link creates newPath in newDir as a hard link to the file oldPath in d:
// two names for one file. A symbolic link at oldPath is linked itself, not
// its target. It fails with EXDEV across file systems and EEXIST when
// newPath exists. A cancel point at its start; on Evented an io_uring
// request (IORING_OP_LINKAT, Linux 5.15) where the kernel has it.
func (d Dir) Link(x Io, oldPath string, newDir Dir, newPath string) error {
	start := x.start()
	return x.doneAt(start, "link", newDir, newPath, x.drv().linkat(x.t, d.fd, oldPath, newDir.fd, newPath))
}

// AccessMode says what Access checks. The modes combine with |.
type AccessMode uint32

// The access checks. AccessExists (0) only checks that the file exists.
const (
	AccessExists  AccessMode = 0
	AccessExecute AccessMode = 1
	AccessWrite   AccessMode = 2
	AccessRead    AccessMode = 4
)

// Access checks whether the process may use the file at p as mode says
// (faccessat, with the real user and group IDs, as access(2)); nil means it
// may. It fails with an error matching fs.ErrNotExist when p does not exist
// and fs.ErrPermission when the access is denied. Symbolic links are
// followed. A cancel point at its start.
func (d Dir) Access(x Io, p string, mode AccessMode) error {
	if mode&^(AccessRead|AccessWrite|AccessExecute) != 0 {
		return opErr("access", d.join(p), fmt.Errorf("%w: access mode %#o", ErrInvalid, uint32(mode)))
	}
	start := x.start()
	return x.doneAt(start, "access", d, p, x.drv().faccessat(x.t, d.fd, p, uint32(mode)))
}

// sysMode returns the system's mode bits for mode: the permissions and the
// setuid, setgid and sticky bits.
func sysMode(mode fs.FileMode) uint32 {
	m := uint32(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// Chmod sets the permissions of the file at p (following symbolic links) to
// mode's permission bits and its setuid, setgid and sticky bits, exactly:
// the umask does not apply. A cancel point at its start.
func (d Dir) Chmod(x Io, p string, mode fs.FileMode) error {
	start := x.start()
	return x.doneAt(start, "chmod", d, p, x.drv().fchmodat(x.t, d.fd, p, sysMode(mode)))
}

// Chtimes sets the access and modification times of the file at p,
// following symbolic links, to the nanosecond where the file system keeps
// them. A zero time leaves that time as it is, as os.Chtimes does. A cancel
// point at its start.
func (d Dir) Chtimes(x Io, p string, atime, mtime time.Time) error {
	start := x.start()
	return x.doneAt(start, "chtimes", d, p, x.drv().utimensat(x.t, d.fd, p, atime, mtime, true))
}

// Chmod sets the open file's permissions as Dir.Chmod does.
func (f *File) Chmod(x Io, mode fs.FileMode) error {
	if err := f.hold("chmod"); err != nil {
		return err
	}
	defer f.drop()
	start := x.start()
	return x.done(start, "file", "chmod", f.name, x.drv().fchmod(x.t, f.fd, sysMode(mode)))
}

// SetTimes sets the open file's access and modification times as
// Dir.Chtimes does; a zero time is left as it is.
func (f *File) SetTimes(x Io, atime, mtime time.Time) error {
	if err := f.hold("chtimes"); err != nil {
		return err
	}
	defer f.drop()
	start := x.start()
	return x.done(start, "file", "chtimes", f.name, x.drv().utimensat(x.t, f.fd, "", atime, mtime, true))
}

// Seek sets the file position for the next Read or Write to off, relative
// to whence (io.SeekStart, io.SeekCurrent or io.SeekEnd of the standard
// library), and returns the new position, as io.Seeker does. The position
// is shared by every task using f (ReadAt and WriteAt neither use nor move
// it). It is a cancel point at its start; a pipe or socket fails with
// ESPIPE.
func (f *File) Seek(x Io, off int64, whence int) (int64, error) {
	if err := f.hold("seek"); err != nil {
		return 0, err
	}
	defer f.drop()
	if whence < 0 || whence > 2 {
		return 0, opErr("seek", f.name, fmt.Errorf("%w: whence %d", ErrInvalid, whence))
	}
	start := x.start()
	pos, err := x.drv().lseek(x.t, f.fd, off, whence)
	if err := x.done(start, "file", "seek", f.name, err); err != nil {
		return 0, err
	}
	return pos, nil
}
