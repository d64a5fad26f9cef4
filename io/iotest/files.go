package iotest

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io"
)

func tempDir(t *testing.T, x io.Io) (io.Dir, string) {
	t.Helper()
	p := t.TempDir()
	d, err := io.Cwd().OpenDir(x, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(x); err != nil {
			t.Errorf("close dir: %v", err)
		}
	})
	return d, p
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Direct I/O (O_DIRECT): aligned positional writes and reads reach the file,
// and a misaligned buffer is refused by the kernel with EINVAL, leaving the
// file as it was; the refusal also proves the flag reached the open.
var _ = register("FileDirect", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	f, err := d.CreateFile(x, "direct.bin", io.CreateOptions{Read: true, Direct: true})
	if errors.Is(err, syscall.EINVAL) {
		t.Skipf("the file system under %s refuses O_DIRECT: %v", p, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	const block = 4096
	data := io.AlignedBuffer(16 * block)
	copy(data, randomBytes(len(data)))
	if n, err := f.WriteAt(x, data, 2*block); n != len(data) || err != nil {
		t.Fatalf("aligned WriteAt = %d, %v", n, err)
	}
	got := io.AlignedBuffer(len(data))
	if n, err := f.ReadAt(x, got, 2*block); n != len(data) || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("aligned ReadAt = %d, %v (equal %v)", n, err, bytes.Equal(got, data))
	}
	odd := io.AlignedBuffer(2 * block)[1 : 1+block]
	if n, err := f.WriteAt(x, odd, 0); n != 0 || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("misaligned WriteAt = %d, %v; want 0 and EINVAL", n, err)
	}
	want := append(make([]byte, 2*block), data...)
	if got := mustRead(t, filepath.Join(p, "direct.bin")); !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, not the %d written", len(got), len(want))
	}
})

var _ = register("FileCreateWriteRead", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	data := randomBytes(100_000)
	f, err := d.CreateFile(x, "a.bin", io.CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.Write(x, data); n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	fi, err := f.Stat(x)
	if err != nil || fi.Size != int64(len(data)) || fi.IsDir() {
		t.Fatalf("Stat = %+v, %v", fi, err)
	}
	// pread does not move the position; pwrite neither.
	part := make([]byte, 10)
	if n, err := f.ReadAt(x, part, 500); n != 10 || err != nil || !bytes.Equal(part, data[500:510]) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if n, err := f.WriteAt(x, []byte("HELLO"), 0); n != 5 || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if _, err := f.ReadAt(x, make([]byte, 10), int64(len(data))-5); err != stdio.EOF {
		t.Fatalf("ReadAt past the end = %v, want io.EOF", err)
	}
	if err := f.Sync(x); err != nil {
		t.Fatal(err)
	}
	if err := f.SetLength(x, 1000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(x); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(x); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
	if _, err := f.Write(x, data); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	want := append([]byte("HELLO"), data[5:1000]...)
	if got := mustRead(t, filepath.Join(p, "a.bin")); !bytes.Equal(got, want) {
		t.Fatal("file contents differ")
	}
	got, err := d.ReadFile(x, "a.bin")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadFile = %d bytes, %v", len(got), err)
	}
	// Sequential reads to EOF.
	r, err := d.OpenFile(x, "a.bin", io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(x)
	var all []byte
	buf := make([]byte, 333)
	for {
		n, err := r.Read(x, buf)
		all = append(all, buf[:n]...)
		if err == stdio.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(all, want) {
		t.Fatal("Read loop differs")
	}
})

var _ = register("FileErrors", func(t *testing.T, x io.Io) {
	d, _ := tempDir(t, x)
	_, err := d.OpenFile(x, "missing", io.ReadOnly)
	var e *io.Error
	if !errors.As(err, &e) || e.Op != "open" || !strings.HasSuffix(e.Path, "missing") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open missing = %v; want *io.Error{Op: open, Path: .../missing} matching fs.ErrNotExist", err)
	}
	f, err := d.CreateFile(x, "x", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(x); err != nil {
		t.Fatal(err)
	}
	if f, err := d.CreateFile(x, "x", io.CreateOptions{Exclusive: true}); !errors.Is(err, fs.ErrExist) {
		if err == nil {
			f.Close(x)
		}
		t.Fatalf("exclusive create of existing = %v, want ErrExist", err)
	}
	if _, err := d.OpenFile(x, "x", io.OpenMode(99)); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("bad open mode = %v, want ErrInvalid", err)
	}
	if err := d.Remove(x, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("remove missing = %v", err)
	}
})

var _ = register("DirOperations", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	if err := d.MakePath(x, "a/b/c", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.MakePath(x, "a/b/c", 0o755); err != nil {
		t.Fatalf("MakePath of existing = %v", err)
	}
	sub, err := d.OpenDir(x, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(x)
	if err := sub.WriteFile(x, "c/f.txt", []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sub.Rename(x, "c/f.txt", d, "g.txt"); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(p, "g.txt")); string(got) != "hi" {
		t.Fatalf("renamed file = %q", got)
	}
	if fi, err := d.Stat(x, "a"); err != nil || !fi.IsDir() {
		t.Fatalf("Stat dir = %+v, %v", fi, err)
	}
	if err := sub.RemoveDir(x, "c"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(x, "g.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(x, "g.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat removed = %v", err)
	}
})

var _ = register("FileWriteVecSplat", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	cases := []struct {
		name  string
		data  [][]byte
		splat int
		want  string
	}{
		{"splat0", [][]byte{[]byte("ab"), []byte("cd"), []byte("XY")}, 0, "abcd"},
		{"splat1", [][]byte{[]byte("ab"), []byte("XY")}, 1, "abXY"},
		{"splatN", [][]byte{[]byte("ab"), []byte("XY")}, 3, "abXYXYXY"},
		{"onlyPattern", [][]byte{[]byte("-")}, 5, "-----"},
		{"emptySlices", [][]byte{nil, []byte("a"), {}, []byte("b")}, 2, "abb"},
		{"emptyPattern", [][]byte{[]byte("a"), nil}, 1000, "a"},
		{"hugeOneByte", [][]byte{[]byte("h"), []byte("z")}, 3_000_000, "h" + strings.Repeat("z", 3_000_000)},
		{"oddPattern", [][]byte{[]byte("abc")}, 100_001, strings.Repeat("abc", 100_001)},
	}
	for _, c := range cases {
		f, err := d.CreateFile(x, c.name, io.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.WriteVec(x, c.data, c.splat)
		if err != nil || n != int64(len(c.want)) {
			t.Fatalf("%s: WriteVec = %d, %v; want %d", c.name, n, err, len(c.want))
		}
		f.Close(x)
		if got := mustRead(t, filepath.Join(p, c.name)); string(got) != c.want {
			t.Fatalf("%s: wrote %d bytes %.20q..., want %d bytes %.20q...", c.name, len(got), got, len(c.want), c.want)
		}
	}
	f, err := d.CreateFile(x, "neg", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	if _, err := f.WriteVec(x, [][]byte{[]byte("a")}, -1); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("negative splat = %v, want ErrInvalid", err)
	}
})

var _ = register("FileShortWritesResumed", func(t *testing.T, x io.Io) {
	// More slices than one writev takes (IOV_MAX): the kernel-level write is short
	// and WriteVec and the Writer go on where it stopped.
	d, p := tempDir(t, x)
	var data [][]byte
	var want []byte
	for i := range 3000 {
		b := randomBytes(1 + i%17)
		data = append(data, b)
		want = append(want, b...)
	}
	f, err := d.CreateFile(x, "many", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.WriteVec(x, data, 1); err != nil || n != int64(len(want)) {
		t.Fatalf("WriteVec = %d, %v", n, err)
	}
	w := f.Writer(x, make([]byte, 64))
	if _, err := w.WriteVec(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close(x)
	if got := mustRead(t, filepath.Join(p, "many")); !bytes.Equal(got, append(append([]byte{}, want...), want...)) {
		t.Fatalf("got %d bytes, want %d", len(got), 2*len(want))
	}
})

var _ = register("FileENOSPC", func(t *testing.T, x io.Io) {
	f, err := io.Cwd().OpenFile(x, "/dev/full", io.WriteOnly)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer f.Close(x)
	_, err = f.Write(x, []byte("data"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write to /dev/full = %v, want ENOSPC", err)
	}
	var e *io.Error
	if !errors.As(err, &e) || e.Path != "/dev/full" || e.Op != "write" {
		t.Fatalf("error %v does not name the operation and file", err)
	}
	w := f.Writer(x, make([]byte, 16))
	w.WriteString("0123456789")          // fits the buffer: no error yet
	_, err = w.WriteString("0123456789") // drains: fails, and the error is sticky
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("buffered write = %v, want ENOSPC", err)
	}
	if err := w.Flush(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Flush after failure = %v, want the sticky ENOSPC", err)
	}
})

var _ = register("FileWriterReader", func(t *testing.T, x io.Io) {
	d, _ := tempDir(t, x)
	f, err := d.CreateFile(x, "wr", io.CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	w := f.Writer(x, make([]byte, 4096))
	var want bytes.Buffer
	for i := range 1000 {
		line := strings.Repeat(string(rune('a'+i%26)), i%50) + "\n"
		w.WriteString(line)
		want.WriteString(line)
	}
	w.WriteSplat([][]byte{[]byte("<"), []byte("=")}, 10)
	want.WriteString("<==========")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(x, make([]byte, 1), 0); err != nil {
		t.Fatal(err)
	}
	g, err := d.OpenFile(x, "wr", io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(x)
	r := g.Reader(x, make([]byte, 512))
	got, err := stdio.ReadAll(r)
	if err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, want.Len())
	}
})

var _ = register("AtomicFile", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	if err := d.WriteFile(x, "r.txt", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Abandoned: the old file stays, no temporary file is left.
	a, err := d.CreateAtomic(x, "r.txt", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a.Write(x, []byte("half-written"))
	if err := a.Close(x); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(p, "r.txt")); string(got) != "old" {
		t.Fatalf("after abandon: %q", got)
	}
	onlyFiles(t, p, "r.txt")
	// Committed: the new contents, all at once.
	a, err = d.CreateAtomic(x, "r.txt", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := a.Writer(x, make([]byte, 8))
	w.WriteString("new contents")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(p, "r.txt")); string(got) != "old" {
		t.Fatalf("before commit: %q", got)
	}
	if err := a.Commit(x); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(x); err != nil {
		t.Fatalf("Close after Commit = %v", err)
	}
	if err := a.Commit(x); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("second Commit = %v", err)
	}
	if got := mustRead(t, filepath.Join(p, "r.txt")); string(got) != "new contents" {
		t.Fatalf("after commit: %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(p, "r.txt")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode())
	}
	onlyFiles(t, p, "r.txt")
	// Canceled before Commit: nothing changes, nothing is left behind.
	a, err = d.CreateAtomic(x, "c.txt", 0)
	if err != nil {
		t.Fatal(err)
	}
	a.Write(x, []byte("never seen"))
	y, cancel := x.WithCancel()
	cancel()
	isCanceled(t, a.Commit(y))
	onlyFiles(t, p, "r.txt")
	if _, err := d.CreateAtomic(x, "sub/", 0); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("CreateAtomic of a directory name = %v", err)
	}
})

func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("directory holds %v, want %v", got, names)
	}
}

var _ = register("FilePartialCancellation", func(t *testing.T, x io.Io) {
	// A task writing chunk after chunk is canceled midway: it reports what it
	// wrote, and the file holds exactly that — nothing finished is lost.
	d, p := tempDir(t, x)
	f, err := d.CreateFile(x, "part", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	chunk := randomBytes(4096)
	y, stop := canceledBy(x, 30*time.Millisecond)
	defer stop()
	fut := io.Async(y, func(x io.Io) (int, error) {
		total := 0
		for {
			n, err := f.Write(x, chunk)
			total += n
			if err != nil {
				return total, err
			}
			if err := x.Sleep(time.Millisecond); err != nil {
				return total, err
			}
		}
	})
	total, err := fut.Await(x)
	isCanceled(t, err)
	if total == 0 || total%len(chunk) != 0 {
		t.Fatalf("wrote %d bytes; want a positive number of whole chunks", total)
	}
	if got := mustRead(t, filepath.Join(p, "part")); len(got) != total {
		t.Fatalf("file holds %d bytes, task reported %d", len(got), total)
	}
})

var _ = register("AtomicFileOnDevice", func(t *testing.T, x io.Io) {
	// A device cannot be renamed over: CreateAtomic writes it in place, and the
	// node stays what it was.
	a, err := io.Cwd().CreateAtomic(x, "/dev/null", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(x, []byte("discarded")); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(x); err != nil {
		t.Fatalf("Commit on /dev/null = %v", err)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a character device: %v, %v", fi.Mode(), err)
	}
	// Errors of the device come through; abandoning removes nothing.
	if a, err := io.Cwd().CreateAtomic(x, "/dev/full", 0o644); err == nil {
		if _, err := a.Write(x, []byte("x")); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write to /dev/full through CreateAtomic = %v, want ENOSPC", err)
		}
		if err := a.Close(x); err != nil {
			t.Fatalf("abandon in place = %v", err)
		}
		if _, err := os.Stat("/dev/full"); err != nil {
			t.Fatalf("/dev/full gone after abandon: %v", err)
		}
	}
	// A directory is an error, not a rename target.
	d, p := tempDir(t, x)
	if err := d.MakeDir(x, "sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateAtomic(x, "sub", 0); !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("CreateAtomic of a directory = %v, want EISDIR", err)
	}
	onlyFiles(t, p, "sub")
})

var _ = register("Lstat", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	if err := d.WriteFile(x, "target", []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", filepath.Join(p, "link")); err != nil {
		t.Fatal(err)
	}
	fi, err := d.Lstat(x, "link")
	if err != nil || fi.Mode&fs.ModeSymlink == 0 {
		t.Fatalf("Lstat(link) = %v, %v; want a symbolic link", fi.Mode, err)
	}
	fi, err = d.Stat(x, "link")
	if err != nil || !fi.Mode.IsRegular() || fi.Size != 3 {
		t.Fatalf("Stat(link) = %+v, %v; want the 3-byte target", fi, err)
	}
	self, err := d.Lstat(x, ".")
	if err != nil || !self.IsDir() {
		t.Fatalf("Lstat(.) = %+v, %v", self, err)
	}
	if _, err := d.Lstat(x, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Lstat(missing) = %v", err)
	}
})
