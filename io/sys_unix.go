//go:build unix

package io

import (
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// The file operations of sysDriver: blocking system calls on descriptors,
// relative to directory descriptors (openat and friends), on every Unix.

const atFdCwd = unix.AT_FDCWD

// maxIovecs is the most slices one readv/writev takes (IOV_MAX on Linux); more
// make the call short, and the caller goes on.
const maxIovecs = 1024

// closeRaw closes a descriptor with a plain close(2).
func closeRaw(fd int) { _ = unix.Close(fd) }

// retry runs a system call again while it is interrupted by a signal.
func retry(f func() error) error {
	for {
		err := f()
		if err != unix.EINTR {
			return err
		}
	}
}

func (sysDriver) openat(t *task, dir int, path string, flags int, perm uint32) (int, error) {
	if t.isCanceled() {
		return -1, t.err()
	}
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Openat(dir, path, flags|unix.O_CLOEXEC, perm)
		return err
	})
	return fd, err
}

func (sysDriver) readv(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	var n int
	err := retry(func() (err error) {
		switch {
		case len(bufs) == 1 && off < 0:
			n, err = unix.Read(fd, bufs[0])
		case len(bufs) == 1:
			n, err = unix.Pread(fd, bufs[0], off)
		case off < 0:
			n, err = readvSys(fd, bufs)
		default:
			n, err = preadvSys(fd, bufs, off)
		}
		return err
	})
	if n < 0 {
		n = 0
	}
	return n, err
}

func (d sysDriver) read(t *task, fd int, p []byte, off int64) (int, error) {
	return d.readv(t, fd, [][]byte{p}, off)
}

func (d sysDriver) write(t *task, fd int, p []byte, off int64) (int, error) {
	return d.writev(t, fd, [][]byte{p}, off)
}

func (sysDriver) writev(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	var n int
	err := retry(func() (err error) {
		switch {
		case len(bufs) == 1 && off < 0:
			n, err = unix.Write(fd, bufs[0])
		case len(bufs) == 1:
			n, err = unix.Pwrite(fd, bufs[0], off)
		case off < 0:
			n, err = writevSys(fd, bufs)
		default:
			n, err = pwritevSys(fd, bufs, off)
		}
		return err
	})
	if n < 0 {
		n = 0
	}
	return n, err
}

func (sysDriver) fsync(t *task, fd int) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Fsync(fd) })
}

func (sysDriver) ftruncate(t *task, fd int, size int64) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Ftruncate(fd, size) })
}

func (sysDriver) fstat(t *task, fd int) (FileInfo, error) {
	if t.isCanceled() {
		return FileInfo{}, t.err()
	}
	var st unix.Stat_t
	if err := retry(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return FileInfo{}, err
	}
	return fileInfoFromStat(&st), nil
}

func (sysDriver) fstatat(t *task, dir int, path string, follow bool) (FileInfo, error) {
	if t.isCanceled() {
		return FileInfo{}, t.err()
	}
	flags := 0
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	var st unix.Stat_t
	if err := retry(func() error { return unix.Fstatat(dir, path, &st, flags) }); err != nil {
		return FileInfo{}, err
	}
	return fileInfoFromStat(&st), nil
}

// closeFd is never a cancel point: a descriptor must always be releasable.
func (sysDriver) closeFd(t *task, fd int) error {
	// close(2) must not be retried on EINTR on Linux: the descriptor is gone.
	return unix.Close(fd)
}

func (sysDriver) renameat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Renameat(oldDir, oldPath, newDir, newPath) })
}

func (sysDriver) unlinkat(t *task, dir int, path string, removeDir bool) error {
	if t.isCanceled() {
		return t.err()
	}
	flags := 0
	if removeDir {
		flags = unix.AT_REMOVEDIR
	}
	return retry(func() error { return unix.Unlinkat(dir, path, flags) })
}

func (sysDriver) mkdirat(t *task, dir int, path string, perm uint32) error {
	if t.isCanceled() {
		return t.err()
	}
	return retry(func() error { return unix.Mkdirat(dir, path, perm) })
}

func fileInfoFromStat(st *unix.Stat_t) FileInfo {
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if st.Mode&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return FileInfo{
		Size:    st.Size,
		Mode:    mode,
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Inode:   st.Ino,
		Dev:     uint64(st.Dev),
	}
}
