package iotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// Directories and file-system operations (issue 14 item 5).

// skipNoDirs skips a test on systems where the package has no file
// operations (Windows: every one matches ErrUnsupported).
func skipNoDirs(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("directory-relative file operations are unsupported on windows")
	}
}

// canceledIo returns an Io derived from x whose task is already canceled.
func canceledIo(x io.Io) io.Io {
	c, cancel := x.WithCancel()
	cancel()
	return c
}

// A directory of 1000 files, 3 folders and a link is listed whole, each
// name once, with the right types; Info works during and after the loop.
var _ = register("DirEntries", func(t *testing.T, x io.Io) {
	skipNoDirs(t)
	d, p := tempDir(t, x)
	want := map[string]fs.FileMode{}
	if err := os.Mkdir(filepath.Join(p, "big"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		n := fmt.Sprintf("file-%04d.txt", i)
		if err := os.WriteFile(filepath.Join(p, "big", n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		want[n] = 0
	}
	for _, n := range []string{"sub1", "sub2", "sub3"} {
		if err := os.Mkdir(filepath.Join(p, "big", n), 0o755); err != nil {
			t.Fatal(err)
		}
		want[n] = fs.ModeDir
	}
	if err := os.Symlink("sub1", filepath.Join(p, "big", "link")); err != nil {
		t.Fatal(err)
	}
	want["link"] = fs.ModeSymlink
	got := map[string]fs.FileMode{}
	var kept io.DirEntry
	for e, err := range d.Entries(x, "big") {
		if err != nil {
			t.Fatalf("Entries: %v", err)
		}
		if _, dup := got[e.Name()]; dup {
			t.Fatalf("%s listed twice", e.Name())
		}
		got[e.Name()] = e.Type()
		if e.Name() == "file-0000.txt" {
			kept = e
			fi, err := e.Info(x)
			if err != nil || fi.Size != 1 || !fi.Mode.IsRegular() {
				t.Fatalf("Info during the loop = %+v, %v; want a 1-byte regular file", fi, err)
			}
		}
		if e.Name() == "link" && e.IsDir() {
			t.Fatal("a link to a folder reports IsDir")
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d entries, want %d", len(got), len(want))
	}
	for n, m := range want {
		if g, ok := got[n]; !ok || g != m {
			t.Fatalf("entry %s: type %v (listed %v), want %v", n, g, ok, m)
		}
	}
	// After the loop Info goes by path.
	if fi, err := kept.Info(x); err != nil || fi.Size != 1 {
		t.Fatalf("Info after the loop = %+v, %v", fi, err)
	}
	// Breaking out early closes the directory; a missing one is one error.
	for range d.Entries(x, "big") {
		break
	}
	n := 0
	for e, err := range d.Entries(x, "missing") {
		n++
		if !errors.Is(err, fs.ErrNotExist) || e.Name() != "" {
			t.Fatalf("Entries of a missing folder yielded %q, %v; want fs.ErrNotExist", e.Name(), err)
		}
	}
	if n != 1 {
		t.Fatalf("Entries of a missing folder yielded %d times, want 1", n)
	}
	// Canceled during the loop: the next batch is not read.
	cx, cancel := x.WithCancel()
	defer cancel()
	listed, canceled := 0, false
	for _, err := range d.Entries(cx, "big") {
		if err != nil {
			canceled = errors.Is(err, io.ErrCanceled)
			continue
		}
		listed++
		cancel()
	}
	if !canceled || listed >= len(want) {
		t.Fatalf("Entries canceled after the first entry: %d listed, canceled %v; want fewer than %d and ErrCanceled", listed, canceled, len(want))
	}
	// A canceled task gets the cancellation, not entries.
	for _, err := range d.Entries(canceledIo(x), "big") {
		if !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("Entries on a canceled task: %v; want ErrCanceled", err)
		}
	}
})

// makeTree makes files and folders (names ending in "/") under root.
func makeTree(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(root, filepath.FromSlash(n))
		var err error
		if n[len(n)-1] == '/' {
			err = os.MkdirAll(p, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.WriteFile(p, []byte(n), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Walk reports every entry below the root once, directories before their
// contents, does not enter a skipped folder or a link to a folder, and
// SkipDir on a file skips the rest of its folder.
var _ = register("DirWalkSkip", func(t *testing.T, x io.Io) {
	skipNoDirs(t)
	d, p := tempDir(t, x)
	outside := t.TempDir()
	makeTree(t, outside, "secret.txt")
	makeTree(t, p, "root/a/b/c.txt", "root/a/d.txt", "root/skip/x/y.txt", "root/skip/z.txt",
		"root/e/", "root/f.txt", "root/only/stop.txt")
	if err := os.Symlink(outside, filepath.Join(p, "root", "out")); err != nil {
		t.Fatal(err)
	}
	var got []string
	depth := map[string]int{}
	for e, err := range d.Walk(x, "root") {
		if err != nil {
			t.Fatalf("Walk: %v", err)
		}
		got = append(got, e.Path)
		depth[e.Path] = e.Depth
		if e.Name() == "skip" {
			e.SkipDir()
		}
		if e.Name() == "stop.txt" {
			e.SkipDir() // alone in its folder: nothing else to skip, and no harm
		}
		if e.Path == "a/b" {
			if i := slices.Index(got, "a"); i < 0 {
				t.Fatal("a/b before a")
			}
		}
	}
	slices.Sort(got)
	want := []string{"a", "a/b", "a/b/c.txt", "a/d.txt", "e", "f.txt", "only", "only/stop.txt", "out", "skip"}
	if !slices.Equal(got, want) {
		t.Fatalf("Walk = %q\nwant %q", got, want)
	}
	if depth["a"] != 1 || depth["a/b/c.txt"] != 3 {
		t.Fatalf("depths: a %d, a/b/c.txt %d; want 1 and 3", depth["a"], depth["a/b/c.txt"])
	}
	// SkipDir on a file: the rest of that folder goes unreported.
	makeTree(t, p, "flat/1", "flat/2", "flat/3", "flat/4")
	n := 0
	for e, err := range d.Walk(x, "flat") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		e.SkipDir()
	}
	if n != 1 {
		t.Fatalf("SkipDir on a file: %d entries reported, want 1", n)
	}
	// Canceled during the walk: the error comes, then the walk ends.
	c, cancel := x.WithCancel()
	defer cancel()
	seen, canceled := 0, false
	for _, err := range d.Walk(c, "root") {
		if err != nil {
			if !errors.Is(err, io.ErrCanceled) {
				t.Fatalf("Walk after cancel: %v; want ErrCanceled", err)
			}
			canceled = true
			continue
		}
		seen++
		cancel()
	}
	if !canceled || seen >= len(want) {
		t.Fatalf("canceled walk: %d entries, canceled %v; want fewer than %d and the cancellation", seen, canceled, len(want))
	}
})

// RemoveAll removes a tree holding links to a folder and a file outside it
// and leaves what they point to alone; a missing path is not an error,
// "." and ".." are refused, and a canceled task removes nothing.
var _ = register("DirRemoveAll", func(t *testing.T, x io.Io) {
	skipNoDirs(t)
	d, p := tempDir(t, x)
	outside := t.TempDir()
	makeTree(t, outside, "keep/deep.txt", "keep.txt")
	makeTree(t, p, "tree/a/b/c/d.txt", "tree/a/e.txt", "tree/f/", "tree/g.txt")
	for i := range 300 {
		makeTree(t, p, fmt.Sprintf("tree/many/%03d", i))
	}
	if err := os.Symlink(filepath.Join(outside, "keep"), filepath.Join(p, "tree", "a", "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "keep.txt"), filepath.Join(p, "tree", "linkfile")); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveAll(canceledIo(x), "tree"); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("RemoveAll on a canceled task = %v; want ErrCanceled", err)
	}
	if _, err := os.Stat(filepath.Join(p, "tree", "g.txt")); err != nil {
		t.Fatalf("a canceled RemoveAll removed something: %v", err)
	}
	if err := d.RemoveAll(x, "tree"); err != nil {
		t.Fatalf("RemoveAll: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(p, "tree")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("tree still there: %v", err)
	}
	for _, n := range []string{"keep/deep.txt", "keep.txt"} {
		if _, err := os.Stat(filepath.Join(outside, n)); err != nil {
			t.Fatalf("RemoveAll reached outside the tree: %s: %v", n, err)
		}
	}
	if err := d.RemoveAll(x, "tree"); err != nil {
		t.Fatalf("RemoveAll of a missing path = %v; want nil", err)
	}
	makeTree(t, p, "single.txt")
	if err := d.RemoveAll(x, "single.txt"); err != nil {
		t.Fatalf("RemoveAll of a file: %v", err)
	}
	for _, bad := range []string{".", "..", "a/..", ""} {
		if err := d.RemoveAll(x, bad); !errors.Is(err, io.ErrInvalid) {
			t.Fatalf("RemoveAll(%q) = %v; want ErrInvalid", bad, err)
		}
	}
})

// Symbolic and hard links, access checks, permissions, times and seeking,
// with errors that match the standard library's.
var _ = register("DirLinksModes", func(t *testing.T, x io.Io) {
	skipNoDirs(t)
	d, p := tempDir(t, x)
	makeTree(t, p, "file.txt")
	if err := d.Symlink(x, "file.txt", "sym"); err != nil {
		t.Fatalf("Symlink: %v", err)
	}
	if got, err := d.ReadLink(x, "sym"); err != nil || got != "file.txt" {
		t.Fatalf("ReadLink = %q, %v", got, err)
	}
	if err := d.Symlink(x, "other", "sym"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Symlink over a name = %v; want fs.ErrExist", err)
	}
	if _, err := d.ReadLink(x, "file.txt"); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("ReadLink of a file = %v; want EINVAL", err)
	}
	var ioErr *io.Error
	if _, err := d.ReadLink(x, "nope"); !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &ioErr) || ioErr.Op != "readlink" || ioErr.Path != filepath.Join(p, "nope") {
		t.Fatalf("ReadLink of a missing name = %#v; want an *io.Error readlink %s matching fs.ErrNotExist", err, filepath.Join(p, "nope"))
	}
	long := string(bytes.Repeat([]byte("x/"), 1000))
	if err := d.Symlink(x, long, "long"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.ReadLink(x, "long"); err != nil || got != long {
		t.Fatalf("ReadLink of a 2000-byte target = %d bytes, %v", len(got), err)
	}
	if err := d.Link(x, "file.txt", d, "hard"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	a, _ := d.Stat(x, "file.txt")
	b, _ := d.Stat(x, "hard")
	if a.Inode != b.Inode {
		t.Fatal("a hard link is another file")
	}
	if err := d.Link(x, "nope", d, "hard2"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Link of a missing file = %v; want fs.ErrNotExist", err)
	}
	if err := d.Access(x, "file.txt", io.AccessRead|io.AccessWrite); err != nil {
		t.Fatalf("Access rw: %v", err)
	}
	if err := d.Access(x, "nope", io.AccessExists); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Access of a missing file = %v; want fs.ErrNotExist", err)
	}
	if err := d.Access(x, "file.txt", io.AccessExecute); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Access x of a 0644 file = %v; want fs.ErrPermission", err)
	}
	if err := d.Chmod(x, "file.txt", 0o751); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(p, "file.txt")); fi.Mode().Perm() != 0o751 {
		t.Fatalf("Chmod: mode %v, want 0751", fi.Mode())
	}
	if err := d.Chmod(x, "nope", 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Chmod of a missing file = %v", err)
	}
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	if err := d.Chtimes(x, "file.txt", time.Time{}, mtime); err != nil {
		t.Fatal(err)
	}
	if fi, _ := d.Stat(x, "file.txt"); !fi.ModTime.Equal(mtime) {
		t.Fatalf("Chtimes: mtime %v, want %v", fi.ModTime, mtime)
	}
	f, err := d.OpenFile(x, "file.txt", io.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	if err := f.Chmod(x, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := f.Stat(x); fi.Mode.Perm() != 0o600 {
		t.Fatalf("File.Chmod: %v", fi.Mode)
	}
	if err := f.SetTimes(x, time.Time{}, mtime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if fi, _ := f.Stat(x); !fi.ModTime.Equal(mtime.Add(time.Hour)) {
		t.Fatalf("File.SetTimes: mtime %v", fi.ModTime)
	}
	// Seek: file.txt holds "file.txt".
	if pos, err := f.Seek(x, 5, stdio.SeekStart); err != nil || pos != 5 {
		t.Fatalf("Seek = %d, %v", pos, err)
	}
	buf := make([]byte, 3)
	if n, err := f.Read(x, buf); err != nil || string(buf[:n]) != "txt" {
		t.Fatalf("Read after Seek = %q, %v", buf[:n], err)
	}
	if pos, err := f.Seek(x, -4, stdio.SeekEnd); err != nil || pos != 4 {
		t.Fatalf("Seek from the end = %d, %v", pos, err)
	}
	if _, err := f.Seek(x, -100, stdio.SeekCurrent); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Seek before the start = %v; want EINVAL", err)
	}
	if _, err := f.Seek(x, 0, 7); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("Seek whence 7 = %v; want ErrInvalid", err)
	}
	if _, err := f.Seek(canceledIo(x), 0, stdio.SeekStart); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("Seek on a canceled task = %v", err)
	}
})

// A 10 MiB copy is byte for byte the source, with its permissions; on
// Linux's common file systems it goes through the kernel (clone or
// copy_file_range), not reads and writes. Atomic copies, forced methods,
// ranges and a canceled copy behave.
var _ = register("DirCopy", func(t *testing.T, x io.Io) {
	skipNoDirs(t)
	d, p := tempDir(t, x)
	data := randomBytes(10 << 20)
	if err := os.WriteFile(filepath.Join(p, "src.bin"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(p, "src.bin"), 0o640); err != nil {
		t.Fatal(err)
	}
	res, err := d.CopyFile(x, "src.bin", d, "dst.bin", io.CopyOptions{})
	if err != nil {
		t.Fatalf("CopyFile: %v", err)
	}
	if res.Bytes != int64(len(data)) || res.Method == io.CopyAuto {
		t.Fatalf("CopyFile = %+v; want %d bytes and a method", res, len(data))
	}
	t.Logf("CopyFile on %s used %v", p, res.Method)
	if runtime.GOOS == "linux" && res.Method == io.CopyReadWrite {
		t.Errorf("CopyFile on Linux used %v; want clone or copy_file_range", res.Method)
	}
	check := func(name string, perm fs.FileMode) {
		t.Helper()
		if got := mustRead(t, filepath.Join(p, name)); !bytes.Equal(got, data) {
			t.Fatalf("%s differs from the source (%d bytes)", name, len(got))
		}
		if fi, _ := os.Stat(filepath.Join(p, name)); fi.Mode().Perm() != perm {
			t.Fatalf("%s: mode %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}
	check("dst.bin", 0o640)
	// Over a longer file, atomically, by reads and writes, with a mode.
	if err := os.WriteFile(filepath.Join(p, "long.bin"), make([]byte, 12<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, m := range []io.CopyMethod{io.CopyReadWrite, io.CopyAuto} {
		res, err := d.CopyFile(x, "src.bin", d, "long.bin", io.CopyOptions{Atomic: true, Perm: 0o604, Method: m})
		if err != nil || res.Bytes != int64(len(data)) {
			t.Fatalf("atomic CopyFile (%v) = %+v, %v", m, res, err)
		}
		if m != io.CopyAuto && res.Method != m {
			t.Fatalf("forced %v, used %v", m, res.Method)
		}
		check("long.bin", 0o604)
	}
	if _, err := d.CopyFile(x, "src.bin", d, "src.bin", io.CopyOptions{}); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("CopyFile onto itself = %v; want ErrInvalid", err)
	}
	if fi, _ := os.Stat(filepath.Join(p, "src.bin")); fi.Size() != int64(len(data)) {
		t.Fatal("CopyFile onto itself truncated it")
	}
	if _, err := d.CopyFile(x, "nope", d, "x.bin", io.CopyOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CopyFile of a missing file = %v", err)
	}
	// CopyRange: the middle of the file, then past its end.
	src, err := d.OpenFile(x, "src.bin", io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(x)
	dst, err := d.CreateFile(x, "range.bin", io.CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close(x)
	if res, err := src.CopyRange(x, dst, 1000, 10, 5<<20); err != nil || res.Bytes != 5<<20 {
		t.Fatalf("CopyRange = %+v, %v", res, err)
	}
	got := make([]byte, 5<<20)
	if _, err := dst.ReadAt(x, got, 10); err != nil || !bytes.Equal(got, data[1000:1000+5<<20]) {
		t.Fatalf("CopyRange copied the wrong bytes (%v)", err)
	}
	if res, err := src.CopyRange(x, dst, int64(len(data))-100, 0, 1000); err != stdio.EOF || res.Bytes != 100 {
		t.Fatalf("CopyRange past the end = %+v, %v; want 100 bytes and io.EOF", res, err)
	}
	// Canceled: nothing copied, an atomic destination never appears.
	for _, m := range []io.CopyMethod{io.CopyAuto, io.CopyFileRange, io.CopyReadWrite} {
		_, err := d.CopyFile(canceledIo(x), "src.bin", d, "canceled.bin", io.CopyOptions{Atomic: true, Method: m})
		if !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("canceled CopyFile (%v) = %v; want ErrCanceled", m, err)
		}
		if _, err := os.Stat(filepath.Join(p, "canceled.bin")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a canceled atomic copy left its destination: %v", err)
		}
	}
	cx, cancel := x.WithCancel()
	cancel()
	if _, err := src.CopyTo(cx, dst, io.CopyReadWrite); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled CopyTo = %v", err)
	}
})

// Two Files opened on one path conflict, in one process as in two: an
// exclusive lock keeps out every other, shared ones coexist, Unlock and
// Close release, and a Lock waiting for the lock ends on cancellation.
var _ = register("FileLock", func(t *testing.T, x io.Io) {
	skipNoDirs(t)
	d, _ := tempDir(t, x)
	open := func() *io.File {
		f, err := d.CreateFile(x, "lock", io.CreateOptions{Keep: true, Read: true})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := open(), open()
	defer b.Close(x)
	if err := a.Lock(x, true); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if ok, err := b.TryLock(x, false); ok || err != nil {
		t.Fatalf("TryLock beside an exclusive lock = %v, %v; want false, nil", ok, err)
	}
	// A waiting Lock is canceled from outside, through a context.
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer stop()
	wx, cancel := x.WithContext(ctx)
	if err := b.Lock(wx, true); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("Lock waiting on a held lock, canceled = %v; want ErrCanceled", err)
	}
	cancel()
	// A Lock waiting in another task gets it once it is released.
	f, err := io.Concurrent(x, func(x io.Io) (bool, error) { return true, b.Lock(x, false) })
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		if err := a.Unlock(x); err != nil {
			t.Fatal(err)
		}
		if err := b.Lock(x, false); err != nil {
			t.Fatal(err)
		}
	} else {
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Unlock(x); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Await(x); err != nil {
			t.Fatalf("waiting Lock: %v", err)
		}
	}
	// b holds a shared lock: a may share it but not take it exclusively.
	if ok, err := a.TryLock(x, false); !ok || err != nil {
		t.Fatalf("shared TryLock beside a shared lock = %v, %v", ok, err)
	}
	c := open()
	if ok, err := c.TryLock(x, true); ok || err != nil {
		t.Fatalf("exclusive TryLock beside shared locks = %v, %v; want false", ok, err)
	}
	if err := a.Close(x); err != nil { // Close releases a's lock
		t.Fatal(err)
	}
	if err := b.Unlock(x); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.TryLock(x, true); !ok || err != nil {
		t.Fatalf("exclusive TryLock once the others let go = %v, %v", ok, err)
	}
	if err := c.Close(x); err != nil {
		t.Fatal(err)
	}
	if err := c.Lock(x, true); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("Lock of a closed File = %v; want ErrClosed", err)
	}
})

// A file's Dev and Inode identify it: the same through File.Stat (fstat)
// and Dir.Stat (fstatat; statx on Evented).
var _ = register("StatIdentity", func(t *testing.T, x io.Io) {
	skipNoDirs(t)
	p := filepath.Join(t.TempDir(), "f")
	f, err := io.Cwd().CreateFile(x, p, io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	a, err := f.Stat(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.Cwd().Stat(x, p)
	if err != nil {
		t.Fatal(err)
	}
	if a.Dev != b.Dev || a.Inode != b.Inode || a.Inode == 0 {
		t.Fatalf("File.Stat = dev %d ino %d, Dir.Stat = dev %d ino %d", a.Dev, a.Inode, b.Dev, b.Inode)
	}
})
