package io

import (
	"errors"
	"fmt"
	stdio "io"
	"io/fs"
	"syscall"
)

// CopyMethod names how a copy moved its bytes. A copy reports the method it
// used in CopyResult, so that callers and tests can see which path the file
// system allowed.
type CopyMethod int

// The copy methods.
const (
	// CopyAuto, as a request, tries CopyClone, then CopyFileRange, then
	// CopyReadWrite, taking the first the file system allows. It is never
	// reported.
	CopyAuto CopyMethod = iota
	// CopyClone shares the source's blocks (the FICLONE ioctl, a reflink:
	// Btrfs, XFS with reflink, bcachefs, OCFS2, overlayfs on those): no
	// data moves, and the copy is instant whatever its size.
	CopyClone
	// CopyFileRange is copy_file_range(2): the kernel copies inside the
	// page cache (or, on NFS and some others, on the server) without
	// bringing the bytes to user space. Linux only.
	CopyFileRange
	// CopyReadWrite reads into a buffer and writes it out: every system,
	// every kind of file.
	CopyReadWrite
)

// String returns the method's name: "auto", "clone", "copy_file_range",
// "read/write".
func (m CopyMethod) String() string {
	switch m {
	case CopyAuto:
		return "auto"
	case CopyClone:
		return "clone"
	case CopyFileRange:
		return "copy_file_range"
	case CopyReadWrite:
		return "read/write"
	}
	return fmt.Sprintf("CopyMethod(%d)", int(m))
}

// CopyResult says what a copy did.
type CopyResult struct {
	Bytes  int64      // bytes copied (for a clone, the file's size)
	Method CopyMethod // how they were copied (never CopyAuto)
}

// CopyOptions says how CopyFile copies. The zero value copies with the best
// method available, in place, with the source's permissions.
type CopyOptions struct {
	// Atomic writes the copy to a temporary file beside the destination
	// and renames it over the destination only once complete and synced
	// (as CreateAtomic does): a reader sees the old file or the whole
	// copy, and a failed or canceled copy leaves the old file untouched.
	// Without it the destination is truncated and written in place, and a
	// failure leaves a partial file.
	Atomic bool
	// Perm is the copy's permissions; 0 means the source's permission bits.
	// They are set exactly (fchmod): the umask does not apply.
	Perm fs.FileMode
	// Method forces one method instead of CopyAuto's choice; a forced
	// CopyClone or CopyFileRange fails where the file system or system
	// cannot (an error matching ErrUnsupported on systems without it).
	Method CopyMethod
}

// copyChunk is what one copy_file_range call moves at most: the copy checks
// cancellation between chunks.
const copyChunk = 4 << 20

// copyBufSize is the buffer of a read/write copy.
const copyBufSize = 256 << 10

// copyChunkHook, when set (by tests), runs after each chunk a copy moves,
// with the bytes copied so far.
var copyChunkHook func(copied int64)

// CopyFile copies the file src in d to dstPath in dst: its contents (the
// way CopyResult.Method reports: FICLONE where the file system shares
// blocks, else copy_file_range in 4 MiB chunks, else reads and writes of
// 256 KiB) and its permission bits (or opts.Perm); not its owner, times or
// extended attributes. A symbolic link at src is followed. Copying a file
// onto itself fails with ErrInvalid rather than truncating it.
//
// It is a cancel point between chunks (a clone is one call): a canceled copy
// returns an error matching ErrCanceled with the bytes copied so far, and
// leaves the destination partial unless opts.Atomic.
func (d Dir) CopyFile(x Io, src string, dst Dir, dstPath string, opts CopyOptions) (CopyResult, error) {
	name := d.join(src)
	in, err := d.OpenFile(x, src, ReadOnly)
	if err != nil {
		return CopyResult{}, err
	}
	defer in.Close(x.WithoutCancel())
	fi, err := in.Stat(x)
	if err != nil {
		return CopyResult{}, err
	}
	if fi.IsDir() {
		return CopyResult{}, opErr("copy", name, syscall.EISDIR)
	}
	if to, err := dst.Stat(x, dstPath); err == nil && to.Dev == fi.Dev && to.Inode == fi.Inode {
		return CopyResult{}, opErr("copy", name, fmt.Errorf("%w: %s is the source itself", ErrInvalid, dst.join(dstPath)))
	}
	perm := opts.Perm
	if perm == 0 {
		perm = fi.Mode
	}
	perm &= fs.ModePerm
	if opts.Atomic {
		a, err := dst.CreateAtomic(x, dstPath, perm)
		if err != nil {
			return CopyResult{}, err
		}
		defer a.Close(x)
		res, err := in.CopyTo(x, a.File, opts.Method)
		if err != nil {
			return res, err
		}
		if a.tmp != "" { // a new regular file, not a device written in place
			if err := a.File.Chmod(x, perm); err != nil {
				return res, err
			}
		}
		return res, a.Commit(x)
	}
	out, err := dst.CreateFile(x, dstPath, CreateOptions{Perm: perm})
	if err != nil {
		return CopyResult{}, err
	}
	res, err := in.CopyTo(x, out, opts.Method)
	if err == nil {
		if ofi, serr := out.Stat(x); serr == nil && ofi.Mode.IsRegular() {
			err = out.Chmod(x, perm)
		}
	}
	if cerr := out.Close(x.WithoutCancel()); err == nil {
		err = cerr
	}
	return res, err
}

// CopyTo copies f's contents, from its start to its end, over dst's: dst
// ends up with exactly f's bytes (a regular dst is truncated to them). The
// file positions of f and dst are neither used nor moved. method picks the
// way (CopyAuto: the best the file system allows; see CopyMethod), and the
// result reports the one used. A cancel point between chunks, as CopyFile.
func (f *File) CopyTo(x Io, dst *File, method CopyMethod) (CopyResult, error) {
	if err := f.hold("copy"); err != nil {
		return CopyResult{}, err
	}
	defer f.drop()
	if err := dst.hold("copy"); err != nil {
		return CopyResult{}, err
	}
	defer dst.drop()
	if method < CopyAuto || method > CopyReadWrite {
		return CopyResult{}, opErr("copy", f.name, fmt.Errorf("%w: copy method %d", ErrInvalid, int(method)))
	}
	start := x.start()
	res, err := copyFile(x, f, dst, method)
	x.observe(start, "file", "copy", f.name, res.Bytes, err)
	return res, opErr("copy", f.name, err)
}

func copyFile(x Io, f, dst *File, method CopyMethod) (CopyResult, error) {
	d := x.drv()
	sfi, err := d.fstat(x.t, f.fd)
	if err != nil {
		return CopyResult{}, err
	}
	if sfi.IsDir() {
		return CopyResult{}, syscall.EISDIR
	}
	dfi, err := d.fstat(x.t, dst.fd)
	if err != nil {
		return CopyResult{}, err
	}
	regular := sfi.Mode.IsRegular() && dfi.Mode.IsRegular()
	if method == CopyClone || method == CopyAuto && regular {
		err := d.ficlone(x.t, dst.fd, f.fd)
		if err == nil {
			return CopyResult{Bytes: sfi.Size, Method: CopyClone}, nil
		}
		if method == CopyClone || x.t.isCanceled() {
			return CopyResult{Method: CopyClone}, err
		}
	}
	if method == CopyFileRange || method == CopyAuto && regular {
		n, err := copyRanges(x, f.fd, 0, dst.fd, 0, -1)
		switch {
		case err == nil && (n > 0 || sfi.Size == 0 || method == CopyFileRange):
			// An empty first chunk of a file whose size says otherwise
			// (procfs, sysfs) falls through to reads, as in os.File.ReadFrom.
			return CopyResult{Bytes: n, Method: CopyFileRange}, d.ftruncate(x.t, dst.fd, n)
		case err != nil && (n > 0 || method == CopyFileRange || !rangeFallback(err)):
			return CopyResult{Bytes: n, Method: CopyFileRange}, err
		}
	}
	srcOff, dstOff := int64(0), int64(0)
	if !sfi.Mode.IsRegular() {
		srcOff = -1
	}
	if !dfi.Mode.IsRegular() {
		dstOff = -1
	}
	n, err := copyReadWrite(x, f, srcOff, dst, dstOff, -1)
	if err == nil && dstOff == 0 {
		err = d.ftruncate(x.t, dst.fd, n)
	}
	return CopyResult{Bytes: n, Method: CopyReadWrite}, err
}

// CopyRange copies n bytes of f at srcOff to dst at dstOff, with
// copy_file_range where the system allows and reads and writes otherwise
// (the result says which). The file positions are neither used nor moved.
// It copies fewer bytes only with an error: io.EOF (the standard library's)
// when f ends first. A cancel point between chunks.
func (f *File) CopyRange(x Io, dst *File, srcOff, dstOff, n int64) (CopyResult, error) {
	if err := f.hold("copy"); err != nil {
		return CopyResult{}, err
	}
	defer f.drop()
	if err := dst.hold("copy"); err != nil {
		return CopyResult{}, err
	}
	defer dst.drop()
	if srcOff < 0 || dstOff < 0 || n < 0 {
		return CopyResult{}, opErr("copy", f.name, fmt.Errorf("%w: offsets %d, %d and length %d", ErrInvalid, srcOff, dstOff, n))
	}
	start := x.start()
	res := CopyResult{Method: CopyFileRange}
	k, err := copyRanges(x, f.fd, srcOff, dst.fd, dstOff, n)
	res.Bytes = k
	if err != nil && k == 0 && rangeFallback(err) || err == nil && k == 0 && n > 0 {
		res.Method = CopyReadWrite
		res.Bytes, err = copyReadWrite(x, f, srcOff, dst, dstOff, n)
	}
	if err == nil && res.Bytes < n {
		err = stdio.EOF
	}
	x.observe(start, "file", "copy", f.name, res.Bytes, err)
	if err == stdio.EOF {
		return res, err
	}
	return res, opErr("copy", f.name, err)
}

// rangeFallback reports whether a copy_file_range that copied nothing
// failed because the call cannot do this copy (another file system, a kind
// of file or a system it does not serve, a seccomp filter), so that reads
// and writes should do it instead.
func rangeFallback(err error) bool {
	if errors.Is(err, ErrUnsupported) {
		return true
	}
	switch err {
	case syscall.EXDEV, syscall.EINVAL, syscall.ENOSYS, syscall.EOPNOTSUPP, syscall.EPERM, syscall.EIO, syscall.EBADF:
		return true
	}
	return false
}

// copyRanges copies with copy_file_range in chunks from srcOff to dstOff, n
// bytes or (n < 0) to the end of src, checking cancellation between chunks.
func copyRanges(x Io, src int, srcOff int64, dst int, dstOff int64, n int64) (int64, error) {
	var total int64
	for n < 0 || total < n {
		if x.t.isCanceled() {
			return total, x.t.err()
		}
		chunk := int64(copyChunk)
		if n >= 0 {
			chunk = min(chunk, n-total)
		}
		k, err := x.drv().copyFileRange(x.t, src, srcOff+total, dst, dstOff+total, int(chunk))
		if err != nil {
			return total, err
		}
		if k == 0 {
			break
		}
		total += int64(k)
		if copyChunkHook != nil {
			copyChunkHook(total)
		}
	}
	return total, nil
}

// copyReadWrite copies through a buffer, n bytes or (n < 0) to the end of
// src; an offset of -1 means the file position (a pipe, a device). Pipes,
// FIFOs and terminals are read and written through the poller (File.drv).
func copyReadWrite(x Io, srcF *File, srcOff int64, dstF *File, dstOff int64, n int64) (int64, error) {
	src, dst := srcF.fd, dstF.fd
	rd, wr := srcF.drv(x), dstF.drv(x)
	size := int64(copyBufSize)
	if n >= 0 {
		size = max(1, min(size, n))
	}
	buf := make([]byte, size)
	var total int64
	at := func(off int64) int64 {
		if off < 0 {
			return -1
		}
		return off + total
	}
	for n < 0 || total < n {
		p := buf
		if n >= 0 {
			p = p[:min(int64(len(p)), n-total)]
		}
		k, err := rd.read(x.t, src, p, at(srcOff))
		if err != nil {
			return total, err
		}
		if k == 0 {
			break
		}
		for w := 0; w < k; {
			m, err := wr.write(x.t, dst, p[w:k], at(dstOff))
			if err == nil && m == 0 {
				err = stdio.ErrShortWrite
			}
			if err != nil {
				return total, err
			}
			w += m
			total += int64(m)
		}
		if copyChunkHook != nil {
			copyChunkHook(total)
		}
	}
	return total, nil
}
