package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/vkio/vkio/io"
)

// saveRoot is the --out folder of `vkdemo serve`: every save is a path
// relative to it, resolved one component at a time with openat-relative Dir
// operations, never following a symbolic link, and written atomically.
type saveRoot struct {
	dir  io.Dir
	name string
	// stale is the number of temporary files of killed saves that
	// openSaveRoot removed, and staleErr the first error doing it.
	stale    int
	staleErr error
}

// openSaveRoot creates (if needed) and opens the --out folder. The folder
// itself may be reached through a symbolic link: it is the operator's
// choice; what is inside it is the clients'.
func openSaveRoot(x io.Io, p string) (*saveRoot, error) {
	d, err := openOutDir(x, "--out", p)
	if err != nil {
		return nil, err
	}
	// A server killed in the middle of saves left their temporary files;
	// remove those whose writer is gone, down to the deepest save folder.
	n, serr := d.RemoveStaleTemps(x, maxSaveDepth)
	return &saveRoot{dir: d, name: p, stale: n, staleErr: serr}, nil
}

// staleNote is the line to log about the stale temporary files openSaveRoot
// removed, or "" if there were none.
func (r *saveRoot) staleNote() string {
	if r.stale == 0 && r.staleErr == nil {
		return ""
	}
	return fmt.Sprintf("removed %d stale temporary file(s) of killed saves in %s%s", r.stale, r.name, errSuffix(r.staleErr))
}

func (r *saveRoot) close(x io.Io) { _ = r.dir.Close(x.WithoutCancel()) }

// maxSaveDepth bounds the folders of a save path.
const maxSaveDepth = 8

// checkSavePath checks a save path lexically: relative, '/'-separated, no
// empty, "." or ".." component, no hidden (dot) names (the atomic saves'
// temporary files are dot files), at most maxSaveDepth folders deep.
func checkSavePath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case len(p) > 1024:
		return errors.New("path longer than 1024 bytes")
	case strings.HasPrefix(p, "/"):
		return errors.New("absolute paths are not allowed: give a path relative to the server's --out folder")
	case strings.ContainsAny(p, "\x00\\"):
		return errors.New("NUL and backslash are not allowed in paths")
	}
	comps := strings.Split(p, "/")
	if len(comps) > maxSaveDepth+1 {
		return fmt.Errorf("more than %d folders deep", maxSaveDepth)
	}
	for _, c := range comps {
		switch {
		case c == "..":
			return errors.New("'..' is not allowed: saves stay inside the server's --out folder")
		case c == "" || c == ".":
			return errors.New("empty or '.' path component")
		case strings.HasPrefix(c, "."):
			return fmt.Errorf("%q: names starting with '.' are reserved", c)
		}
	}
	return nil
}

// errSymlink is a save path that goes through a symbolic link.
var errSymlink = errors.New("is a symbolic link: saves do not follow links")

// save writes data (as .npy of type t when p ends in .npy, raw otherwise) to
// p under the root, atomically: the file appears whole or not at all.
// Missing folders are created. A component that is a symbolic link is
// rejected, and each folder opened is checked to be the one inspected (same
// inode), so a link swapped in meanwhile is caught too.
func (r *saveRoot) save(x io.Io, p string, t dtype, data []byte) error {
	if err := checkSavePath(p); err != nil {
		return err
	}
	comps := strings.Split(p, "/")
	d := r.dir
	defer func() {
		if d != r.dir {
			_ = d.Close(x.WithoutCancel())
		}
	}()
	for i, c := range comps {
		last := i == len(comps)-1
		st, exists, err := lstatIn(x, d, c)
		if err != nil {
			return err
		}
		if exists && st.Mode&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s %w", strings.Join(comps[:i+1], "/"), errSymlink)
		}
		if last {
			if exists && st.IsDir() {
				return fmt.Errorf("%s is a folder", p)
			}
			break
		}
		if !exists {
			if err := d.MakeDir(x, c, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if st, exists, err = lstatIn(x, d, c); err != nil {
				return err
			}
			if !exists || st.Mode&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s %w", strings.Join(comps[:i+1], "/"), errSymlink)
			}
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a folder", strings.Join(comps[:i+1], "/"))
		}
		nd, err := d.OpenDir(x, c)
		if err != nil {
			return err
		}
		if d != r.dir {
			_ = d.Close(x.WithoutCancel())
		}
		d = nd
		if ino, err := dirInode(x, d); err != nil || ino != st.Inode {
			return fmt.Errorf("%s changed while it was opened (a symbolic link swapped in?)", strings.Join(comps[:i+1], "/"))
		}
	}
	base := comps[len(comps)-1]
	var head []byte
	if isNpyPath(base) {
		head = npyHeader(t, []int64{int64(len(data) / t.Size())})
	}
	f, err := d.CreateAtomic(x, base, 0o644)
	if err != nil {
		return err
	}
	defer f.Close(x)
	if _, err := f.WriteVec(x, [][]byte{head, data}, 1); err != nil {
		return err
	}
	return f.Commit(x)
}

// lstatIn describes name in d without following a symbolic link, and
// reports whether it exists.
func lstatIn(x io.Io, d io.Dir, name string) (io.FileInfo, bool, error) {
	fi, err := d.Lstat(x, name)
	switch {
	case err == nil:
		return fi, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return fi, false, nil
	}
	return fi, false, err
}

// dirInode returns the inode of the open directory d.
func dirInode(x io.Io, d io.Dir) (uint64, error) {
	fi, err := d.Lstat(x, ".")
	return fi.Inode, err
}
