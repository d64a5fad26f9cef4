package io

import (
	"fmt"
	"io/fs"
	"iter"
	"path"
	"sync"
	"syscall"
)

// dirBufSize is the buffer of one getdents batch: a directory is read in
// batches of at most this many bytes of records (some 250 names of 16
// bytes), whatever its size.
const dirBufSize = 8 << 10

// MaxWalkDepth bounds how deep Walk and RemoveAll go below the directory
// they start from. Each level holds one open directory and one 8 KiB
// buffer, so a walk holds at most 256 descriptors and 2 MiB. A deeper
// directory is reported (Walk) or refused (RemoveAll) with an error
// wrapping ErrInvalid.
const MaxWalkDepth = 256

var dirBufs = sync.Pool{New: func() any { b := make([]byte, dirBufSize); return &b }}

// DirEntry is an entry of a directory, as Entries and Walk report it: a
// name and a type, read in one batch with the others; the rest of the
// file's description (Info) is read only when asked for.
type DirEntry struct {
	name string
	typ  fs.FileMode
	dir  *dirHandle
}

// dirHandle is the directory an entry was read from: open (f) while the
// iteration runs, and reachable again through parent and rel after.
type dirHandle struct {
	f      *File
	parent Dir
	rel    string // the directory's path in parent
}

// Name returns the entry's name, without its directory.
func (e DirEntry) Name() string { return e.name }

// Type returns the entry's type bits (fs.ModeDir, fs.ModeSymlink, ...; 0
// for a regular file), as fs.DirEntry.Type does: what the entry is itself,
// a symbolic link not followed.
func (e DirEntry) Type() fs.FileMode { return e.typ }

// IsDir reports whether the entry is a directory (not a link to one).
func (e DirEntry) IsDir() bool { return e.typ.IsDir() }

// Info describes the entry without following a symbolic link (as Lstat).
// During the iteration it asks through the open directory (fstatat);
// after it, through the Dir the iteration started from, by path, which
// must then still be open. The file may have changed or gone since it was
// listed: an error matching fs.ErrNotExist says so. A cancel point.
func (e DirEntry) Info(x Io) (FileInfo, error) {
	if e.dir == nil {
		return FileInfo{}, opErr("lstat", e.name, fmt.Errorf("%w: zero DirEntry", ErrInvalid))
	}
	if e.dir.f.hold("lstat") == nil {
		defer e.dir.f.drop()
		start := x.start()
		fi, err := x.drv().fstatat(x.t, e.dir.f.fd, e.name, false)
		if err := x.done(start, "file", "lstat", path.Join(e.dir.f.name, e.name), err); err != nil {
			return FileInfo{}, err
		}
		return fi, nil
	}
	return e.dir.parent.Lstat(x, path.Join(e.dir.rel, e.name))
}

// The d_type values of struct dirent, the same on Linux and the BSDs.
const (
	dtUnknown = 0
	dtFifo    = 1
	dtChr     = 2
	dtDir     = 4
	dtBlk     = 6
	dtReg     = 8
	dtLnk     = 10
	dtSock    = 12
)

// dtMode maps a d_type to the type bits; ok is false for DT_UNKNOWN (and
// anything else), which the caller resolves with an lstat.
func dtMode(dt uint8) (fs.FileMode, bool) {
	switch dt {
	case dtReg:
		return 0, true
	case dtDir:
		return fs.ModeDir, true
	case dtLnk:
		return fs.ModeSymlink, true
	case dtFifo:
		return fs.ModeNamedPipe, true
	case dtSock:
		return fs.ModeSocket, true
	case dtChr:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case dtBlk:
		return fs.ModeDevice, true
	}
	return 0, false
}

// dirStream reads one open directory in getdents batches.
type dirStream struct {
	h        *dirHandle
	buf      *[]byte
	pos, end int
	eof      bool
}

// openStream opens the directory p of d (not following a symbolic link at
// p when nofollow) for reading its entries.
func (d Dir) openStream(x Io, p string, nofollow bool) (*dirStream, error) {
	flags := oRDONLY | oDIRECTORY
	if nofollow {
		flags |= oNOFOLLOW
	}
	name := d.join(p)
	start := x.start()
	fd, err := x.drv().openat(x.t, d.fd, p, flags, 0)
	if err := x.done(start, "file", "open dir", name, err); err != nil {
		return nil, err
	}
	return &dirStream{
		h:   &dirHandle{f: newFile(fd, name), parent: d, rel: p},
		buf: dirBufs.Get().(*[]byte),
	}, nil
}

// close closes the directory; entries' Info then goes by path.
func (s *dirStream) close(x Io) {
	_ = s.h.f.Close(x.WithoutCancel())
	if s.buf != nil {
		dirBufs.Put(s.buf)
		s.buf = nil
	}
}

// rewind starts the directory over (for RemoveAll's next pass).
func (s *dirStream) rewind(x Io) error {
	s.pos, s.end, s.eof = 0, 0, false
	_, err := x.drv().lseek(x.t, s.h.f.fd, 0, 0)
	return err
}

// next returns the next entry other than "." and "..", or ok = false at the
// end. It is a cancel point before each batch.
func (s *dirStream) next(x Io) (e DirEntry, ok bool, err error) {
	for {
		if s.pos >= s.end {
			if s.eof {
				return DirEntry{}, false, nil
			}
			if x.t.isCanceled() {
				return DirEntry{}, false, opErr("read dir", s.h.f.name, x.t.err())
			}
			start := x.start()
			n, err := x.drv().getdents(x.t, s.h.f.fd, *s.buf)
			x.observe(start, "file", "read dir", s.h.f.name, int64(n), err)
			if err != nil {
				return DirEntry{}, false, opErr("read dir", s.h.f.name, err)
			}
			if n == 0 {
				s.eof = true
				return DirEntry{}, false, nil
			}
			s.pos, s.end = 0, n
		}
		reclen, dt, name := parseDirent((*s.buf)[s.pos:s.end])
		s.pos += reclen
		if len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		typ, known := dtMode(dt)
		e := DirEntry{name: string(name), typ: typ, dir: s.h}
		if !known { // the file system did not say: ask
			fi, err := x.drv().fstatat(x.t, s.h.f.fd, e.name, false)
			if err == syscall.ENOENT {
				continue // gone since the batch was read
			}
			if err != nil {
				return DirEntry{}, false, opErr("lstat", path.Join(s.h.f.name, e.name), err)
			}
			e.typ = fi.Mode.Type()
		}
		return e, true, nil
	}
}

// Entries returns the entries of the directory p in d (p itself is
// followed if it is a symbolic link), in the order the file system keeps
// them, without "." and "..":
//
//	for e, err := range dir.Entries(x, "data") {
//		if err != nil { return err }
//		... e.Name(), e.IsDir(), e.Info(x) ...
//	}
//
// The directory is opened when the loop starts and closed when it ends.
// It is read with getdents64 (getdirentries on the BSDs) in batches of 8
// KiB, so memory stays bounded however big the directory. An error (the
// open, a read) is yielded once, with a zero DirEntry, and ends the
// sequence. It is a cancel point before each batch. On Evented the reads
// are the system call on the task's goroutine, as on Threaded: io_uring
// has no getdents request. Entries made or removed during the loop may or
// may not be reported.
func (d Dir) Entries(x Io, p string) iter.Seq2[DirEntry, error] {
	return func(yield func(DirEntry, error) bool) {
		s, err := d.openStream(x, p, false)
		if err != nil {
			yield(DirEntry{}, err)
			return
		}
		defer s.close(x)
		for {
			e, ok, err := s.next(x)
			if err != nil {
				yield(DirEntry{}, err)
				return
			}
			if !ok || !yield(e, nil) {
				return
			}
		}
	}
}

// WalkEntry is an entry of a tree, as Walk reports it.
type WalkEntry struct {
	DirEntry
	// Path is the entry's path below the walked directory, slash-separated
	// ("a/b/c.txt").
	Path string
	// Depth is 1 for the walked directory's own entries, 2 for theirs, ...
	Depth int

	w   *walker
	seq uint64
}

type walker struct {
	seq  uint64 // the entry being yielded
	skip bool
}

// SkipDir, called in the loop body, tells Walk not to go into this entry
// when it is a directory; for any other entry, to skip the rest of the
// directory that holds it (as fs.SkipDir does for fs.WalkDir). Called on
// an entry other than the one being handled, or after the loop, it does
// nothing.
func (e WalkEntry) SkipDir() {
	if e.w != nil && e.w.seq == e.seq {
		e.w.skip = true
	}
}

// Walk returns the tree below the directory p in d, depth first: each
// directory is yielded before its contents, entries in the order the file
// system keeps them (not sorted: sorting would need a directory's names all
// in memory). p itself is not yielded; it is followed if it is a symbolic
// link, but nothing below it is: a link is yielded as a link and never
// entered, and a directory is opened with O_NOFOLLOW, so a directory
// replaced meanwhile by a link is not entered either.
//
//	for e, err := range dir.Walk(x, "src") {
//		if err != nil { return err } // or log it and go on
//		if e.IsDir() && e.Name() == ".git" { e.SkipDir() }
//	}
//
// Memory is bounded: one open directory and one 8 KiB batch per level of
// the path being walked, at most MaxWalkDepth levels. An error is yielded
// with the entry it concerns (a directory that could not be opened or
// read, or is deeper than MaxWalkDepth: then that directory is yielded a
// second time, with the error, and not entered) and the walk goes on with
// the next entry if the loop continues; an error opening p is yielded with
// a zero WalkEntry and ends it. It is a cancel point before each batch and
// each directory it enters; once canceled, it yields the error and ends.
func (d Dir) Walk(x Io, p string) iter.Seq2[WalkEntry, error] {
	return func(yield func(WalkEntry, error) bool) {
		root, err := d.openStream(x, p, false)
		if err != nil {
			yield(WalkEntry{}, err)
			return
		}
		type level struct {
			s    *dirStream
			path string
		}
		stack := []level{{s: root}}
		defer func() {
			for _, l := range stack {
				l.s.close(x)
			}
		}()
		pop := func() {
			stack[len(stack)-1].s.close(x)
			stack = stack[:len(stack)-1]
		}
		w := &walker{}
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			e, ok, err := top.s.next(x)
			if err != nil {
				we := WalkEntry{Path: top.path, Depth: len(stack) - 1}
				if top.path != "" && len(stack) >= 2 {
					// The directory that failed is an entry of its parent.
					we.DirEntry = DirEntry{name: path.Base(top.path), typ: fs.ModeDir, dir: stack[len(stack)-2].s.h}
				}
				if !yield(we, err) || x.t.isCanceled() {
					return
				}
				pop()
				continue
			}
			if !ok {
				pop()
				continue
			}
			rel := e.name
			if top.path != "" {
				rel = top.path + "/" + e.name
			}
			w.seq++
			w.skip = false
			we := WalkEntry{DirEntry: e, Path: rel, Depth: len(stack), w: w, seq: w.seq}
			if !yield(we, nil) {
				return
			}
			w.seq++ // SkipDir from now on does nothing
			if w.skip {
				if !e.IsDir() {
					pop()
				}
				continue
			}
			if !e.IsDir() {
				continue
			}
			if len(stack) > MaxWalkDepth-1 {
				err := opErr("walk", top.s.h.f.name+"/"+e.name, fmt.Errorf("%w: deeper than MaxWalkDepth (%d)", ErrInvalid, MaxWalkDepth))
				if !yield(we, err) {
					return
				}
				continue
			}
			sub, err := (Dir{fd: top.s.h.f.fd, name: top.s.h.f.name}).openStream(x, e.name, true)
			if err != nil {
				if !yield(we, err) || x.t.isCanceled() {
					return
				}
				continue
			}
			// Info after the walk goes by path from d.
			sub.h.parent, sub.h.rel = d, path.Join(p, rel)
			stack = append(stack, level{s: sub, path: rel})
		}
	}
}

// RemoveAll removes p in d and, if it is a directory, everything below it,
// as os.RemoveAll does: nil if p does not exist. Symbolic links are removed,
// never followed: a link to a directory outside the tree removes the link
// and leaves the directory alone, also when a directory is replaced by a
// link during the removal (directories are opened with O_NOFOLLOW and their
// entries removed relative to them, with unlinkat). It refuses a path ending
// in "." or "..", and a tree deeper than MaxWalkDepth. It is a cancel point
// before each entry it removes: a canceled RemoveAll leaves the rest of the
// tree in place. An entry that cannot be removed does not stop it; the
// first such error is returned.
func (d Dir) RemoveAll(x Io, p string) error {
	name := d.join(p)
	if base := path.Base(p); p == "" || base == "." || base == ".." {
		return opErr("remove all", name, fmt.Errorf("%w: not a removable path", ErrInvalid))
	}
	start := x.start()
	err := d.removeAll(x, p, name, 0)
	x.observe(start, "file", "remove all", name, 0, err)
	return err
}

// removeAll removes p in d, named name in errors, depth levels below the
// directory RemoveAll started in.
func (d Dir) removeAll(x Io, p, name string, depth int) error {
	if x.t.isCanceled() {
		return opErr("remove all", name, x.t.err())
	}
	err := x.drv().unlinkat(x.t, d.fd, p, false)
	if err == nil || err == syscall.ENOENT {
		return nil
	}
	if err != syscall.EISDIR && err != syscall.EPERM && err != syscall.EACCES {
		return opErr("remove", name, err)
	}
	if fi, serr := x.drv().fstatat(x.t, d.fd, p, false); serr != nil || !fi.IsDir() {
		if serr == syscall.ENOENT {
			return nil
		}
		return opErr("remove", name, err) // not a directory: the unlink's refusal stands
	}
	if depth >= MaxWalkDepth {
		return opErr("remove all", name, fmt.Errorf("%w: deeper than MaxWalkDepth (%d)", ErrInvalid, MaxWalkDepth))
	}
	s, err := d.openStream(x, p, true)
	if err != nil {
		switch errnoOf(err) {
		case syscall.ENOENT:
			return nil
		case syscall.ELOOP, syscall.ENOTDIR: // replaced by a link or a file meanwhile
			return d.removeAll(x, p, name, depth+1) // depth+1: a path flipping between the two ends
		}
		return opErr("remove all", name, errnoOf(err))
	}
	defer s.close(x)
	sub := Dir{fd: s.h.f.fd, name: name}
	// Passes over the directory: removing entries while reading it may
	// make the reads miss some, so it is read again until it is empty, as
	// long as a pass removes something.
	for pass := 0; ; pass++ {
		var first error
		removed := 0
		for {
			e, ok, err := s.next(x)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if x.t.isCanceled() {
				return opErr("remove all", name, x.t.err())
			}
			if err := sub.removeAll(x, e.name, name+"/"+e.name, depth+1); err != nil {
				if first == nil {
					first = err
				}
				continue
			}
			removed++
		}
		err := x.drv().unlinkat(x.t, d.fd, p, true)
		if err == nil || err == syscall.ENOENT {
			return nil
		}
		if first != nil {
			return first
		}
		if (err != syscall.ENOTEMPTY && err != syscall.EEXIST) || removed == 0 || pass >= 64 {
			return opErr("remove dir", name, err)
		}
		if err := s.rewind(x); err != nil {
			return opErr("remove all", name, err)
		}
	}
}

// errnoOf returns the system error inside err (an *Error from openStream),
// or err.
func errnoOf(err error) error {
	if e, ok := err.(*Error); ok {
		return e.Err
	}
	return err
}
