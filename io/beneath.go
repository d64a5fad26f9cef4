package io

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync/atomic"
	"syscall"
)

// Confined opens.
//
// The ...Beneath methods of Dir resolve a path that someone else chose (a
// client of a server, an archive) without ever leaving the directory: an
// absolute path, a ".." component or a symbolic link anywhere on the path
// (the last component included) is refused with an error matching
// ErrOutside, whatever the file system holds. Two ways give that guarantee:
//
//   - openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (Linux 5.6): the
//     kernel resolves the whole path under the directory in one call, so no
//     rename or symbolic link swapped in meanwhile can lead it out.
//   - Elsewhere, or where openat2 is refused (ENOSYS: an older kernel; EPERM:
//     a seccomp profile), a walk: each component is opened relative to the
//     descriptor of the one before, with O_NOFOLLOW, so a component that is
//     (or becomes, concurrently) a symbolic link fails the open instead of
//     being followed.
//
// When openat2 reports an escape, the walk runs to say which component it
// was; it is confined as well, so it never makes the answer less safe.

// ErrOutside is the cause (wrapped in an *Error naming the path, with the
// offending component in its text) of a confined operation whose path would
// leave its directory: an absolute path, a ".." component, or a symbolic
// link. It also matches fs.ErrPermission under errors.Is.
var ErrOutside error = outsideError{}

type outsideError struct{}

func (outsideError) Error() string { return "io: path leaves the directory" }

// Is makes ErrOutside match fs.ErrPermission too.
func (outsideError) Is(target error) bool { return target == fs.ErrPermission }

// maxBeneathPath bounds a confined path (PATH_MAX): the work per path is
// bounded by its length.
const maxBeneathPath = 4096

// forceWalk makes every confined open take the walk, never openat2 (set
// through export_test.go, to test the fallback where openat2 works).
var forceWalk atomic.Bool

// walkHook, when set (through export_test.go), runs in the walk after the
// component comps[:i+1] has been opened: tests swap a symbolic link in there.
var walkHook func(i int)

// beneathComps checks p lexically and returns its components, without empty
// and "." ones; none means the directory itself.
func beneathComps(p string) ([]string, error) {
	switch {
	case p == "":
		return nil, fmt.Errorf("%w: empty path", ErrInvalid)
	case len(p) > maxBeneathPath:
		return nil, fmt.Errorf("%w: path longer than %d bytes", ErrInvalid, maxBeneathPath)
	case strings.IndexByte(p, 0) >= 0:
		return nil, fmt.Errorf("%w: NUL in path", ErrInvalid)
	case strings.HasPrefix(p, "/"):
		return nil, fmt.Errorf("%w: absolute path", ErrOutside)
	}
	var comps []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			return nil, fmt.Errorf("%w: '..' component", ErrOutside)
		default:
			comps = append(comps, c)
		}
	}
	return comps, nil
}

// rawJoin is join without cleaning p: an error about a refused path shows
// it as given ("a/../../x", not what path.Join makes of it).
func (d Dir) rawJoin(p string) string {
	if d.fd == atFdCwd || strings.HasPrefix(p, "/") {
		return p
	}
	return d.name + "/" + p
}

// isLinkErr reports whether err is how an open with O_NOFOLLOW meets a
// symbolic link: ELOOP (Linux, macOS), EMLINK (FreeBSD).
func isLinkErr(err error) bool { return err == syscall.ELOOP || err == syscall.EMLINK }

// linkErr is the ErrOutside error for the symbolic link at comps[:i+1].
func linkErr(comps []string, i int) error {
	return fmt.Errorf("%w: %s is a symbolic link (not followed)", ErrOutside, strings.Join(comps[:i+1], "/"))
}

// walk opens comps under dir one component at a time: the folders with
// O_DIRECTORY|O_NOFOLLOW, the last with flags|O_NOFOLLOW. With mkdir, it
// creates missing folders (the last component included, then opened as a
// folder). It returns the descriptor; dir itself is never closed.
func (x Io) walk(dir int, comps []string, flags int, perm uint32, mkdir bool, dirPerm uint32) (int, error) {
	cur := dir
	closeCur := func() {
		if cur != dir {
			_ = x.drv().closeFd(x.t, cur)
		}
	}
	for i, c := range comps {
		last := i == len(comps)-1
		fl, pm := oRDONLY|oDIRECTORY|oNOFOLLOW, uint32(0)
		if last && !mkdir {
			fl, pm = flags|oNOFOLLOW, perm
		}
		fd, err := x.drv().openat(x.t, cur, c, fl, pm)
		if mkdir && err == syscall.ENOENT {
			if err = x.drv().mkdirat(x.t, cur, c, dirPerm); err == nil || err == syscall.EEXIST {
				fd, err = x.drv().openat(x.t, cur, c, fl, pm)
			}
		}
		if err != nil {
			if isLinkErr(err) || (err == syscall.ENOTDIR && !x.isFile(cur, c)) {
				// A folder opened with O_NOFOLLOW|O_DIRECTORY that is a
				// link fails with ENOTDIR on Linux; unless the name is
				// a file (a genuine ENOTDIR), it was a link when the open
				// looked (it may be a folder again, or gone, by now).
				err = linkErr(comps, i)
			} else if !errors.Is(err, ErrCanceled) {
				err = fmt.Errorf("%s: %w", strings.Join(comps[:i+1], "/"), err)
			}
			closeCur()
			return -1, err
		}
		closeCur()
		cur = fd
		if walkHook != nil && !last {
			walkHook(i)
		}
	}
	return cur, nil
}

// isFile reports whether name in dir is neither a folder nor a symbolic link.
func (x Io) isFile(dir int, name string) bool {
	fi, err := x.drv().fstatat(x.t, dir, name, false)
	return err == nil && fi.Mode&fs.ModeSymlink == 0 && !fi.IsDir()
}

// openBeneath opens p under d, confined (see the comment at the top).
func (d Dir) openBeneath(x Io, op, p string, flags int, perm uint32) (int, error) {
	name := d.join(p)
	comps, err := beneathComps(p)
	if err != nil {
		return -1, opErr(op, d.rawJoin(p), err)
	}
	start := x.start()
	var fd int
	if len(comps) == 0 {
		if flags&(oWRONLY|oRDWR|oCREAT) != 0 {
			err = fmt.Errorf("%w: the directory itself", ErrInvalid)
		} else {
			fd, err = x.drv().openat(x.t, d.fd, ".", flags, 0)
		}
	} else {
		fd, err = x.openat2(d.fd, strings.Join(comps, "/"), flags, perm)
		if err == errNoOpenat2 || err == syscall.ELOOP || err == syscall.EXDEV {
			// No openat2, or it met a symbolic link or "..": the walk
			// does the work, or says which component it was.
			fd, err = x.walk(d.fd, comps, flags, perm, false, 0)
		}
	}
	if err := x.done(start, "file", op, name, err); err != nil {
		return -1, err
	}
	return fd, nil
}

// errNoOpenat2 is openat2's result where the walk must do the work: the
// system has no openat2, refuses it, or a test forces the walk.
var errNoOpenat2 = errors.New("io: no openat2")

// OpenDirBeneath opens the directory at p under d, confined to d (see
// ErrOutside): p is relative, without "..", and no component may be a
// symbolic link. "." opens d itself again.
func (d Dir) OpenDirBeneath(x Io, p string) (Dir, error) {
	fd, err := d.openBeneath(x, "open dir", p, oRDONLY|oDIRECTORY, 0)
	if err != nil {
		return Dir{}, err
	}
	return Dir{fd: fd, name: d.join(p)}, nil
}

// OpenFileBeneath is OpenFile confined to d: see OpenDirBeneath.
func (d Dir) OpenFileBeneath(x Io, p string, mode OpenMode) (*File, error) {
	flags, err := openFlags(mode)
	if err != nil {
		return nil, opErr("open", d.join(p), err)
	}
	fd, err := d.openBeneath(x, "open", p, flags, 0)
	if err != nil {
		return nil, err
	}
	return newOpenedFile(fd, d.join(p)), nil
}

// CreateFileBeneath is CreateFile confined to d: see OpenDirBeneath. The
// folders on the way must exist (MakePathBeneath creates them).
func (d Dir) CreateFileBeneath(x Io, p string, opts CreateOptions) (*File, error) {
	flags, perm, err := createFlags(opts)
	if err != nil {
		return nil, opErr("create", d.join(p), err)
	}
	fd, err := d.openBeneath(x, "create", p, flags, perm)
	if err != nil {
		return nil, err
	}
	return newOpenedFile(fd, d.join(p)), nil
}

// ReadFileBeneath is ReadFile confined to d: see OpenDirBeneath.
func (d Dir) ReadFileBeneath(x Io, p string) ([]byte, error) {
	f, err := d.OpenFileBeneath(x, p, ReadOnly)
	if err != nil {
		return nil, err
	}
	return readAll(x, f)
}

// MakePathBeneath creates the directory p under d and any missing parents,
// like MakePath, confined to d: each folder is created and opened relative
// to the one before, and a symbolic link on the way is refused with
// ErrOutside rather than followed.
func (d Dir) MakePathBeneath(x Io, p string, perm fs.FileMode) error {
	dd, err := d.makePathBeneath(x, p, perm)
	if err != nil {
		return err
	}
	return dd.Close(x.WithoutCancel())
}

func (d Dir) makePathBeneath(x Io, p string, perm fs.FileMode) (Dir, error) {
	name := d.join(p)
	comps, err := beneathComps(p)
	if err != nil {
		return Dir{}, opErr("mkdir", d.rawJoin(p), err)
	}
	start := x.start()
	fd := -1
	if len(comps) == 0 {
		fd, err = x.drv().openat(x.t, d.fd, ".", oRDONLY|oDIRECTORY, 0)
	} else {
		fd, err = x.walk(d.fd, comps, 0, 0, true, uint32(perm.Perm()))
	}
	if err := x.done(start, "file", "mkdir", name, err); err != nil {
		return Dir{}, err
	}
	return Dir{fd: fd, name: name}, nil
}

// CreateAtomicBeneath is CreateAtomic confined to d: the folder of p must
// exist (MakePathBeneath creates it) and is opened as OpenDirBeneath does;
// the temporary file, its fsync, the rename over the final name and the
// fsync of the folder all go through that folder's descriptor, so none of
// them can reach outside d. The final name must be absent or a regular
// file: a symbolic link there is refused with ErrOutside (a rename would
// replace the link, not follow it, but the caller asked for a file), any
// other kind of file with ErrInvalid.
func (d Dir) CreateAtomicBeneath(x Io, p string, perm fs.FileMode) (*AtomicFile, error) {
	name := d.join(p)
	comps, err := beneathComps(p)
	if err != nil {
		return nil, opErr("create", d.rawJoin(p), err)
	}
	if len(comps) == 0 {
		return nil, opErr("create", name, fmt.Errorf("%w: not a file name", ErrInvalid))
	}
	folder := path.Join(comps[:len(comps)-1]...)
	if folder == "" {
		folder = "."
	}
	base := comps[len(comps)-1]
	parent, err := d.OpenDirBeneath(x, folder)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			err = e.Err
		}
		return nil, opErr("create", name, err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = parent.Close(x.WithoutCancel())
		}
	}()
	fi, err := x.drv().fstatat(x.t, parent.fd, base, false)
	switch {
	case err == syscall.ENOENT:
	case err != nil:
		return nil, opErr("create", name, err)
	case fi.Mode&fs.ModeSymlink != 0:
		return nil, opErr("create", name, linkErr(comps, len(comps)-1))
	case fi.IsDir():
		return nil, opErr("create", name, syscall.EISDIR)
	case !fi.Mode.IsRegular():
		return nil, opErr("create", name, fmt.Errorf("%w: %s is not a regular file (%v)", ErrInvalid, base, fi.Mode.Type()))
	}
	a, err := parent.CreateAtomic(x, base, perm)
	if err != nil {
		return nil, err
	}
	if a.tmp == "" { // became a device or FIFO meanwhile: not ours to write
		_ = a.File.Close(x.WithoutCancel())
		return nil, opErr("create", name, fmt.Errorf("%w: %s is not a regular file", ErrInvalid, base))
	}
	keep = true
	a.ownDir = true
	a.destName = name
	return a, nil
}
