package io

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"runtime"
	"sync/atomic"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io/internal/uring"

	"syscall"
)

// FileInfo describes a file.
type FileInfo struct {
	Size    int64       // length in bytes
	Mode    fs.FileMode // type and permission bits
	ModTime time.Time   // last modification
	Inode   uint64      // inode number, to tell files apart
	Dev     uint64      // device (file system) the inode is on; with Inode, identifies the file
}

// IsDir reports whether the file is a directory.
func (fi FileInfo) IsDir() bool { return fi.Mode.IsDir() }

// Dir is a directory through which files are opened: the process's working
// directory (Cwd) or one opened with OpenDir. Paths are relative to it.
type Dir struct {
	fd   int
	name string
}

// Cwd returns the current working directory.
func Cwd() Dir { return Dir{fd: atFdCwd, name: "."} }

// Name returns the path the directory was opened with.
func (d Dir) Name() string { return d.name }

func (d Dir) join(p string) string {
	if d.fd == atFdCwd || path.IsAbs(p) {
		return p
	}
	return path.Join(d.name, p)
}

// OpenDir opens the directory at p.
func (d Dir) OpenDir(x Io, p string) (Dir, error) {
	name := d.join(p)
	start := x.start()
	fd, err := x.drv().openat(x.t, d.fd, p, oRDONLY|oDIRECTORY, 0)
	if err := x.done(start, "file", "open dir", name, err); err != nil {
		return Dir{}, err
	}
	return Dir{fd: fd, name: name}, nil
}

// Close closes a directory opened with OpenDir; on Cwd it does nothing.
func (d Dir) Close(x Io) error {
	if d.fd == atFdCwd {
		return nil
	}
	start := x.start()
	return x.done(start, "file", "close dir", d.name, x.drv().closeFd(x.t, d.fd))
}

// CreateOptions says how CreateFile creates a file. The zero value creates or
// truncates a write-only file with permissions 0666 (before the umask).
type CreateOptions struct {
	Read      bool        // open for reading too
	Exclusive bool        // fail if the file exists
	Keep      bool        // keep existing contents instead of truncating
	Perm      fs.FileMode // permissions of a new file; 0 means 0666
	// Direct opens the file with O_DIRECT: reads and writes bypass the page
	// cache and go to the device. Buffers, offsets and lengths must then be
	// aligned to the file system's block size (4096 is safe; see
	// AlignedBuffer); the kernel fails a misaligned request with EINVAL
	// (errors.Is(err, syscall.EINVAL)). File systems without direct I/O
	// refuse the open.
	Direct bool
}

// CreateFile creates (or truncates) the file at p and opens it for writing.
func (d Dir) CreateFile(x Io, p string, opts CreateOptions) (*File, error) {
	name := d.join(p)
	flags, perm, err := createFlags(opts)
	if err != nil {
		return nil, opErr("create", name, err)
	}
	start := x.start()
	fd, err := x.drv().openat(x.t, d.fd, p, flags, perm)
	x.observe(start, "file", "create", name, 0, err)
	if err != nil {
		return nil, opErr("create", name, err)
	}
	return newOpenedFile(fd, name), nil
}

// createFlags returns the open flags and permissions for opts.
func createFlags(opts CreateOptions) (flags int, perm uint32, err error) {
	flags = oCREAT
	if opts.Read {
		flags |= oRDWR
	} else {
		flags |= oWRONLY
	}
	if opts.Exclusive {
		flags |= oEXCL
	}
	if !opts.Keep {
		flags |= oTRUNC
	}
	if opts.Direct {
		if oDIRECT == 0 {
			return 0, 0, fmt.Errorf("%w: direct I/O (O_DIRECT) on %s", ErrUnsupported, runtime.GOOS)
		}
		flags |= oDIRECT
	}
	perm = uint32(opts.Perm.Perm())
	if perm == 0 {
		perm = 0o666
	}
	return flags, perm, nil
}

// OpenMode says how OpenFile opens a file.
type OpenMode int

// The open modes.
const (
	ReadOnly OpenMode = iota
	WriteOnly
	ReadWrite
)

// OpenFile opens the existing file at p. A FIFO, terminal (or other
// character device) is read and written through the runtime's poller, so
// that its reads and writes are cancel points on every implementation (see
// Pipe); opening a FIFO still waits, uninterruptibly, for its other side.
func (d Dir) OpenFile(x Io, p string, mode OpenMode) (*File, error) {
	name := d.join(p)
	flags, err := openFlags(mode)
	if err != nil {
		return nil, opErr("open", name, err)
	}
	start := x.start()
	fd, err := x.drv().openat(x.t, d.fd, p, flags, 0)
	x.observe(start, "file", "open", name, 0, err)
	if err != nil {
		return nil, opErr("open", name, err)
	}
	return newOpenedFile(fd, name), nil
}

// openFlags returns the open(2) access flags of mode.
func openFlags(mode OpenMode) (int, error) {
	switch mode {
	case ReadOnly:
		return oRDONLY, nil
	case WriteOnly:
		return oWRONLY, nil
	case ReadWrite:
		return oRDWR, nil
	}
	return 0, fmt.Errorf("%w: open mode %d", ErrInvalid, mode)
}

// MakeDir creates the directory p.
func (d Dir) MakeDir(x Io, p string, perm fs.FileMode) error {
	start := x.start()
	return x.doneAt(start, "mkdir", d, p, x.drv().mkdirat(x.t, d.fd, p, uint32(perm.Perm())))
}

// MakePath creates the directory p and any missing parents, like os.MkdirAll.
func (d Dir) MakePath(x Io, p string, perm fs.FileMode) error {
	if fi, err := d.Stat(x, p); err == nil {
		if fi.IsDir() {
			return nil
		}
		return opErr("mkdir", d.join(p), syscall.ENOTDIR)
	}
	if parent := path.Dir(p); parent != p && parent != "." && parent != "/" {
		if err := d.MakePath(x, parent, perm); err != nil {
			return err
		}
	}
	start := x.start()
	err := x.drv().mkdirat(x.t, d.fd, p, uint32(perm.Perm()))
	if err == syscall.EEXIST { // made meanwhile, by someone else
		err = nil
	}
	return x.doneAt(start, "mkdir", d, p, err)
}

// Rename moves oldPath in d to newPath in newDir, replacing what is there.
func (d Dir) Rename(x Io, oldPath string, newDir Dir, newPath string) error {
	start := x.start()
	return x.doneAt(start, "rename", d, oldPath, x.drv().renameat(x.t, d.fd, oldPath, newDir.fd, newPath))
}

// Remove removes the file p (not a directory; see RemoveDir).
func (d Dir) Remove(x Io, p string) error {
	start := x.start()
	return x.doneAt(start, "remove", d, p, x.drv().unlinkat(x.t, d.fd, p, false))
}

// RemoveDir removes the empty directory p.
func (d Dir) RemoveDir(x Io, p string) error {
	start := x.start()
	return x.doneAt(start, "remove dir", d, p, x.drv().unlinkat(x.t, d.fd, p, true))
}

// Stat describes the file at p, following symbolic links.
func (d Dir) Stat(x Io, p string) (FileInfo, error) {
	start := x.start()
	fi, err := x.drv().fstatat(x.t, d.fd, p, true)
	if err := x.doneAt(start, "stat", d, p, err); err != nil {
		return FileInfo{}, err
	}
	return fi, nil
}

// Lstat describes the file at p without following a symbolic link: for a
// link, Mode has fs.ModeSymlink set. Lstat(x, ".") describes d itself.
func (d Dir) Lstat(x Io, p string) (FileInfo, error) {
	start := x.start()
	fi, err := x.drv().fstatat(x.t, d.fd, p, false)
	if err := x.doneAt(start, "lstat", d, p, err); err != nil {
		return FileInfo{}, err
	}
	return fi, nil
}

// ReadFile returns the contents of the file at p.
func (d Dir) ReadFile(x Io, p string) ([]byte, error) {
	f, err := d.OpenFile(x, p, ReadOnly)
	if err != nil {
		return nil, err
	}
	return readAll(x, f)
}

// readAll reads f to its end and closes it.
func readAll(x Io, f *File) ([]byte, error) {
	defer f.Close(x)
	var buf []byte
	if fi, err := f.Stat(x); err == nil && fi.Size > 0 {
		buf = make([]byte, 0, fi.Size+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(x, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == stdio.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// WriteFile creates the file at p with data, atomically: a reader sees the old
// file or the whole new one, and a failure leaves the old one in place.
func (d Dir) WriteFile(x Io, p string, data []byte, perm fs.FileMode) error {
	a, err := d.CreateAtomic(x, p, perm)
	if err != nil {
		return err
	}
	defer a.Close(x)
	if _, err := a.Write(x, data); err != nil {
		return err
	}
	return a.Commit(x)
}

// File is an open file. Its methods take the Io of the calling task; a File may be
// used by several tasks, with the usual care about the shared file position.
//
// Its methods may be called from several tasks at once. A Close while other
// tasks' operations are in progress leaves the descriptor open until the
// last of them ends, as os.File does, so that none of them can reach a
// descriptor the system has meanwhile given to another file; operations that
// start after Close fail with ErrClosed.
type File struct {
	fd   int
	name string
	// state counts the operations in progress (in units of 2) and has bit 0
	// set once Close has begun: the last operation to end after that closes
	// the descriptor.
	state atomic.Int64
	pipe  *pollFile // a pipe, FIFO, terminal or socket: read and written through the poller (pipe.go)
}

func newFile(fd int, name string) *File { return &File{fd: fd, name: name} }

// Name returns the path the file was opened with.
func (f *File) Name() string { return f.name }

// Fd returns the file descriptor.
func (f *File) Fd() uintptr { return uintptr(f.fd) }

// hold begins an operation: it fails once Close has begun, and otherwise
// keeps Close from closing the descriptor until the matching drop.
func (f *File) hold(op string) error {
	if f == nil {
		return opErr(op, "", ErrInvalid)
	}
	for {
		s := f.state.Load()
		if s&1 != 0 {
			return opErr(op, f.name, ErrClosed)
		}
		if f.state.CompareAndSwap(s, s+2) {
			return nil
		}
	}
}

// drop ends an operation that hold began; the last one to end after Close
// closes the descriptor, with a plain close(2) on the calling goroutine
// (whose error nobody is left to receive; see Close).
func (f *File) drop() {
	if f.state.Add(-2) == 1 {
		f.closeFd()
	}
}

// Read reads up to len(p) bytes at the file position. At end of file it returns
// 0, io.EOF (the standard library's), as io.Reader does.
func (f *File) Read(x Io, p []byte) (int, error) {
	if err := f.hold("read"); err != nil {
		return 0, err
	}
	defer f.drop()
	if len(p) == 0 {
		return 0, nil
	}
	start := x.start()
	n, err := f.drv(x).read(x.t, f.fd, p, -1)
	x.observe(start, "file", "read", f.name, int64(n), err)
	if err != nil {
		return n, opErr("read", f.name, err)
	}
	if n == 0 {
		return 0, stdio.EOF
	}
	return n, nil
}

// ReadAt reads len(p) bytes at offset off (pread), as io.ReaderAt does: fewer
// only with an error, io.EOF at end of file.
func (f *File) ReadAt(x Io, p []byte, off int64) (int, error) {
	if err := f.hold("read"); err != nil {
		return 0, err
	}
	defer f.drop()
	if off < 0 {
		return 0, opErr("read", f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, off))
	}
	start := x.start()
	n := 0
	for n < len(p) {
		k, err := x.drv().read(x.t, f.fd, p[n:], off+int64(n))
		n += k
		if err != nil {
			x.observe(start, "file", "pread", f.name, int64(n), err)
			return n, opErr("read", f.name, err)
		}
		if k == 0 {
			break
		}
	}
	x.observe(start, "file", "pread", f.name, int64(n), nil)
	if n < len(p) {
		return n, stdio.EOF
	}
	return n, nil
}

// Write writes all of p at the file position, going on after short writes; it
// returns fewer than len(p) only with an error.
func (f *File) Write(x Io, p []byte) (int, error) {
	n, err := f.WriteVec(x, [][]byte{p}, 1)
	return int(n), err
}

// WriteAt writes all of p at offset off (pwrite), without moving the position.
func (f *File) WriteAt(x Io, p []byte, off int64) (int, error) {
	if err := f.hold("write"); err != nil {
		return 0, err
	}
	defer f.drop()
	if off < 0 {
		return 0, opErr("write", f.name, fmt.Errorf("%w: negative offset %d", ErrInvalid, off))
	}
	start := x.start()
	n := 0
	for n < len(p) {
		k, err := x.drv().write(x.t, f.fd, p[n:], off+int64(n))
		n += k
		if err == nil && k == 0 {
			err = stdio.ErrShortWrite // going on would never end
		}
		if err != nil {
			x.observe(start, "file", "pwrite", f.name, int64(n), err)
			return n, opErr("write", f.name, err)
		}
	}
	x.observe(start, "file", "pwrite", f.name, int64(n), nil)
	return n, nil
}

// WriteVec writes data[0], ..., data[len-2], then data[len-1] repeated splat times
// (splat may be 0), with as few vectorized writes (writev) as the OS allows. It
// returns the bytes written, fewer than all only with an error.
func (f *File) WriteVec(x Io, data [][]byte, splat int) (int64, error) {
	if err := f.hold("write"); err != nil {
		return 0, err
	}
	defer f.drop()
	v, err := newVecs(nil, data, splat)
	if err != nil {
		return 0, opErr("write", f.name, err)
	}
	start := x.start()
	total, err := v.writeAll(func(iov [][]byte) (int, error) { return f.drv(x).writev(x.t, f.fd, iov, -1) })
	x.observe(start, "file", "write", f.name, total, err)
	if err != nil {
		return total, opErr("write", f.name, err)
	}
	return total, nil
}

// Sync commits the file's contents and metadata to stable storage (fsync).
func (f *File) Sync(x Io) error {
	if err := f.hold("sync"); err != nil {
		return err
	}
	defer f.drop()
	start := x.start()
	err := x.drv().fsync(x.t, f.fd)
	return x.done(start, "file", "sync", f.name, err)
}

// SetLength truncates or extends the file to size bytes.
func (f *File) SetLength(x Io, size int64) error {
	if err := f.hold("truncate"); err != nil {
		return err
	}
	defer f.drop()
	if size < 0 {
		return opErr("truncate", f.name, fmt.Errorf("%w: negative length %d", ErrInvalid, size))
	}
	start := x.start()
	return x.done(start, "file", "truncate", f.name, x.drv().ftruncate(x.t, f.fd, size))
}

// Stat describes the open file.
func (f *File) Stat(x Io) (FileInfo, error) {
	if err := f.hold("stat"); err != nil {
		return FileInfo{}, err
	}
	defer f.drop()
	start := x.start()
	fi, err := x.drv().fstat(x.t, f.fd)
	if err := x.done(start, "file", "stat", f.name, err); err != nil {
		return FileInfo{}, err
	}
	return fi, nil
}

// Close closes the file; operations that start later fail with ErrClosed. If
// operations of other tasks are in progress, the descriptor is closed when
// the last of them ends, and Close returns nil at once (a read parked on a
// pipe would otherwise hold it): the error of that later close(2) is lost,
// and a read that never ends (a pipe nobody writes to) keeps the descriptor
// open. Sync before Close where its errors matter. It is not a cancel point,
// and a second Close returns an error wrapping ErrClosed. A pipe, FIFO or
// terminal (see Pipe) is different: its parked operations return ErrClosed at once.
func (f *File) Close(x Io) error {
	if f == nil {
		return opErr("close", "", ErrInvalid)
	}
	start := x.start()
	for {
		s := f.state.Load()
		if s&1 != 0 {
			return opErr("close", f.name, ErrClosed)
		}
		if f.state.CompareAndSwap(s, s|1) {
			if f.pipe != nil && s == 0 {
				return x.done(start, "file", "close", f.name, f.pipe.close())
			}
			if f.pipe != nil { // parked operations return ErrClosed at once; the last drop closes
				f.pipe.shut()
				return x.done(start, "file", "close", f.name, nil)
			}
			if s != 0 {
				return x.done(start, "file", "close", f.name, nil) // the last drop closes it
			}
			break
		}
	}
	return x.done(start, "file", "close", f.name, x.drv().closeFd(x.t, f.fd))
}

// Writer returns a buffered writer on the file at its position, for the task
// whose Io is x. buf is its buffer (nil: unbuffered). Flush it before Close.
func (f *File) Writer(x Io, buf []byte) *Writer {
	return NewWriter(&fileSink{f: f, x: x}, buf)
}

// Reader returns a buffered reader of the file from its position, for the task
// whose Io is x. buf is its buffer.
func (f *File) Reader(x Io, buf []byte) *Reader {
	return NewReader(&fileSource{f: f, x: x}, buf)
}

type fileSink struct {
	f   *File
	x   Io
	vec vecs
}

// Drain writes the buffered bytes and data with one writev.
func (s *fileSink) Drain(w *Writer, data [][]byte, splat int) (int, error) {
	if err := s.f.hold("write"); err != nil {
		return 0, err
	}
	defer s.f.drop()
	if err := s.vec.reset(w.Buffered(), data, splat); err != nil {
		return 0, opErr("write", s.f.name, err)
	}
	if s.vec.empty() {
		return 0, nil
	}
	start := s.x.start()
	n, err := s.f.drv(s.x).writev(s.x.t, s.f.fd, s.vec.iovecs(), -1)
	s.x.observe(start, "file", "write", s.f.name, int64(n), err)
	s.vec.clear()
	if err != nil {
		return n, opErr("write", s.f.name, err)
	}
	return n, nil
}

type fileSource struct {
	f *File
	x Io
}

// ReadVec fills data with one readv.
func (s *fileSource) ReadVec(r *Reader, data [][]byte) (int, error) {
	if err := s.f.hold("read"); err != nil {
		return 0, err
	}
	defer s.f.drop()
	bufs := nonEmpty(data)
	if len(bufs) == 0 {
		return 0, nil
	}
	start := s.x.start()
	n, err := s.f.drv(s.x).readv(s.x.t, s.f.fd, bufs, -1)
	s.x.observe(start, "file", "read", s.f.name, int64(n), err)
	if err != nil {
		return n, opErr("read", s.f.name, err)
	}
	if n == 0 {
		return 0, stdio.EOF
	}
	return n, nil
}

// nonEmpty returns data without its empty slices: data itself when it has
// none (a Reader never passes one), so the common case allocates nothing.
func nonEmpty(data [][]byte) [][]byte {
	for i, b := range data {
		if len(b) == 0 {
			bufs := append(make([][]byte, 0, len(data)-1), data[:i]...)
			for _, b := range data[i+1:] {
				if len(b) > 0 {
					bufs = append(bufs, b)
				}
			}
			return bufs
		}
	}
	return data
}

// AtomicFile is a file being written in place of another: its contents go to a
// temporary file in the same directory, and Commit makes them appear under the
// final name all at once (fsync the file, rename it over the name, fsync the
// directory). A reader sees the old file or the complete new one, never a part.
// Close without Commit abandons it: the temporary file is removed, nothing else
// changes. A process killed while writing leaves its temporary file behind;
// Dir.RemoveStaleTemps removes such files. Use it as
//
//	a, err := dir.CreateAtomic(x, "result.png", 0o644)
//	if err != nil { ... }
//	defer a.Close(x)
//	... a.Write(x, data) or a.Writer(x, buf) ...
//	return a.Commit(x)
type AtomicFile struct {
	*File
	dir       Dir
	dest, tmp string // tmp is "" when writing in place (see CreateAtomic)
	destName  string // dir.join(dest), for Name, observers and errors
	done      bool   // committed or abandoned
	ownDir    bool   // dir was opened for this file (CreateAtomicBeneath): closed with it
}

// CreateAtomic starts an atomic replacement of the file at p. Atomicity is a
// property of regular files: when p names an existing device, FIFO or socket
// (/dev/null, /dev/stdout, /dev/full), which a rename would replace, the data
// is written to it in place and Commit just closes it. A directory at p is an
// error.
func (d Dir) CreateAtomic(x Io, p string, perm fs.FileMode) (*AtomicFile, error) {
	if perm == 0 {
		perm = 0o666
	}
	name := d.join(p)
	dirPart, base := path.Split(p)
	if base == "" || base == "." || base == ".." {
		return nil, opErr("create", name, fmt.Errorf("%w: not a file name", ErrInvalid))
	}
	// Nothing can be renamed over a device, FIFO or socket without replacing
	// the node itself (as root, /dev/full would become a regular file): such a
	// destination is written in place.
	if fi, err := x.drv().fstatat(x.t, d.fd, p, true); err == nil && !fi.Mode.IsRegular() {
		if fi.IsDir() {
			return nil, opErr("create", name, syscall.EISDIR)
		}
		start := x.start()
		fd, err := x.drv().openat(x.t, d.fd, p, oWRONLY, 0)
		x.observe(start, "file", "open", name, 0, err)
		if err != nil {
			return nil, opErr("create", name, err)
		}
		return &AtomicFile{File: newOpenedFile(fd, name), dir: d, dest: p, destName: name}, nil
	}
	for range 8 {
		tmp := dirPart + tempName(base, os.Getpid(), rand.Uint64())
		start := x.start()
		fd, err := x.drv().openat(x.t, d.fd, tmp, oCREAT|oEXCL|oWRONLY, uint32(perm.Perm()))
		tmpName := d.join(tmp)
		x.observe(start, "file", "create", tmpName, 0, err)
		if err == syscall.EEXIST {
			continue
		}
		if err != nil {
			return nil, opErr("create", name, err)
		}
		if !lockTemp(x, d, tmp, fd) {
			// RemoveStaleTemps (of another PID namespace, where this
			// process looks dead) took the new file: use another name.
			_ = x.drv().closeFd(x.t, fd)
			continue
		}
		return &AtomicFile{File: newFile(fd, tmpName), dir: d, dest: p, tmp: tmp, destName: name}, nil
	}
	return nil, opErr("create", name, syscall.EEXIST)
}

// Name returns the final path, where Commit puts the file.
func (a *AtomicFile) Name() string { return a.destName }

// Commit makes the written contents appear under the final name. After a failed
// Commit (a cancellation included) nothing has changed: the old file, if any, is
// still there and the temporary file is gone. A Commit that renamed the file
// completes, cancel or not.
func (a *AtomicFile) Commit(x Io) error {
	if a.done {
		return opErr("commit", a.Name(), ErrClosed)
	}
	defer a.closeDir(x)
	if a.tmp == "" { // in place: a device or FIFO, nothing to sync or rename
		a.done = true
		return opErr("commit", a.Name(), a.File.Close(x))
	}
	if err := a.File.Sync(x); err != nil {
		a.abandon(x)
		return opErr("commit", a.Name(), err)
	}
	a.done = true
	if err := a.File.Close(x); err != nil {
		_ = a.dir.Remove(x.WithoutCancel(), a.tmp)
		return opErr("commit", a.Name(), err)
	}
	start := x.start()
	err := x.drv().renameat(x.t, a.dir.fd, a.tmp, a.dir.fd, a.dest)
	x.observe(start, "file", "rename", a.Name(), 0, err)
	if err != nil {
		_ = a.dir.Remove(x.WithoutCancel(), a.tmp)
		return opErr("commit", a.Name(), err)
	}
	// Renamed: from here on the new file is the file; make the rename durable.
	return syncDir(x.WithoutCancel(), a.dir, path.Dir(a.dest))
}

// closeDir closes the folder that CreateAtomicBeneath opened for a.
func (a *AtomicFile) closeDir(x Io) {
	if a.ownDir {
		a.ownDir = false
		_ = a.dir.Close(x.WithoutCancel())
	}
}

// Close abandons the file unless it was committed: it closes and removes the
// temporary file. After Commit it does nothing and returns nil, so it can be
// deferred.
func (a *AtomicFile) Close(x Io) error {
	if a.done {
		return nil
	}
	return a.abandon(x)
}

func (a *AtomicFile) abandon(x Io) error {
	a.done = true
	x = x.WithoutCancel()
	defer a.closeDir(x)
	err := a.File.Close(x)
	if a.tmp == "" {
		return err
	}
	if rerr := a.dir.Remove(x, a.tmp); err == nil {
		err = rerr
	}
	return err
}

func syncDir(x Io, d Dir, p string) error {
	name := d.join(p)
	fd, err := x.drv().openat(x.t, d.fd, p, oRDONLY|oDIRECTORY, 0)
	if err != nil {
		return opErr("sync dir", name, err)
	}
	start := x.start()
	err = x.drv().fsync(x.t, fd)
	_ = x.drv().closeFd(x.t, fd)
	return x.done(start, "file", "sync dir", name, err)
}

// AlignedBuffer returns a zeroed buffer of n bytes whose first byte is aligned
// to 4096 bytes, as direct I/O (CreateOptions.Direct) needs on every common
// file system.
func AlignedBuffer(n int) []byte {
	const align = 4096
	b := make([]byte, n+align)
	off := 0
	if r := int(uring.BytesAddr(b) % align); r != 0 {
		off = align - r
	}
	return b[off : off+n : off+n]
}
