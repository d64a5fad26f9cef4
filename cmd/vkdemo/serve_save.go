package main

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"syscall"

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

// save writes data (as .npy of type t when p ends in .npy, raw otherwise) to
// p under the root, atomically: the file appears whole or not at all.
// Missing folders are created. Every step is confined to the root by io's
// ...Beneath operations (openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
// or a component walk with O_NOFOLLOW): a component that is, or is swapped
// for, a symbolic link is refused, never followed.
func (r *saveRoot) save(x io.Io, p string, t dtype, data []byte) error {
	return r.put(x, p, saveHead(p, t, data), data)
}

// put writes the concatenation of parts to p under the root, atomically and
// confined to it, as save does.
func (r *saveRoot) put(x io.Io, p string, parts ...[]byte) error {
	if err := checkSavePath(p); err != nil {
		return err
	}
	if folder := path.Dir(p); folder != "." {
		if err := r.dir.MakePathBeneath(x, folder, 0o755); err != nil {
			return saveErr(p, err)
		}
	}
	f, err := r.dir.CreateAtomicBeneath(x, p, 0o644)
	if err != nil {
		return saveErr(p, err)
	}
	defer f.Close(x)
	if _, err := f.WriteVec(x, parts, 1); err != nil {
		return err
	}
	return f.Commit(x)
}

// saveHead is what a save of data at p starts with: the .npy header when p
// ends in .npy, nothing otherwise.
func saveHead(p string, t dtype, data []byte) []byte {
	if isNpyPath(path.Base(p)) {
		return npyHeader(t, []int64{int64(len(data) / t.Size())})
	}
	return nil
}

// saveErr words a refused save for the client: the path as they gave it,
// not the server's folder.
func saveErr(p string, err error) error {
	var e *io.Error
	switch {
	case errors.Is(err, io.ErrOutside) && errors.As(err, &e):
		return fmt.Errorf("%s: %w: saves stay inside the server's --out folder and do not follow links", p, e.Err)
	case errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("%s is a folder", p)
	case errors.As(err, &e):
		return fmt.Errorf("%s: %w", p, e.Err)
	}
	return err
}
