package iotest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vkio/vkio/io"
)

// Confined opens (Dir.OpenFileBeneath and the other ...Beneath methods):
// registered in the suite, and run alone by RunConfined.

var confined = []testCase{
	{"BeneathOpenCreate", testBeneathOpenCreate},
	{"BeneathSymlinkOut", testBeneathSymlinkOut},
	{"BeneathDotDotAbsolute", testBeneathDotDotAbsolute},
	{"BeneathSymlinkSwapped", testBeneathSymlinkSwapped},
}

var _ = func() bool {
	suite = append(suite, confined...)
	return true
}()

// RunConfined runs the suite's confined-open cases only: for running them
// again with another resolution path (the package's own tests force the
// component walk that replaces openat2 where the kernel lacks it).
func RunConfined(t *testing.T, nb NewBackend) { run(t, nb, confined) }

// wantOutside fails unless err is a confined operation's refusal naming p.
func wantOutside(t *testing.T, what, p string, err error) {
	t.Helper()
	if !errors.Is(err, io.ErrOutside) || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("%s %q: %v, want an error matching io.ErrOutside and fs.ErrPermission", what, p, err)
		return
	}
	if !strings.Contains(err.Error(), p) {
		t.Errorf("%s %q: %q does not name the path", what, p, err)
	}
}

func testBeneathOpenCreate(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	if err := d.MakePathBeneath(x, "a/b/c", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.MakePathBeneath(x, "a/b/c", 0o755); err != nil {
		t.Fatalf("MakePathBeneath of an existing path: %v", err)
	}
	a, err := d.CreateAtomicBeneath(x, "a/b/c/f.txt", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(x, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(x); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, filepath.Join(p, "a/b/c/f.txt"))); got != "hello" {
		t.Fatalf("committed file holds %q", got)
	}
	f, err := d.OpenFileBeneath(x, "./a//b/c/f.txt", io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := f.Read(x, buf)
	f.Close(x)
	if string(buf[:n]) != "hello" {
		t.Fatalf("read back %q", buf[:n])
	}
	sub, err := d.OpenDirBeneath(x, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(x)
	g, err := sub.CreateFileBeneath(x, "new.txt", io.CreateOptions{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	g.Close(x)
	if _, err := os.Stat(filepath.Join(p, "a/b/new.txt")); err != nil {
		t.Fatal(err)
	}
	// An abandoned atomic file leaves nothing, and its folder is released.
	a, err = d.CreateAtomicBeneath(x, "a/gone.txt", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(x); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(p, "a")); len(ents) != 1 {
		t.Fatalf("after an abandoned save, a holds %d entries, want 1 (b)", len(ents))
	}
	// A missing file is ENOENT, not a confinement error.
	if _, err := d.OpenFileBeneath(x, "a/none", io.ReadOnly); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, io.ErrOutside) {
		t.Fatalf("open of a missing file: %v, want fs.ErrNotExist", err)
	}
	if err := d.MakePathBeneath(x, "a/b/c/f.txt/d", 0o755); err == nil || errors.Is(err, io.ErrOutside) {
		t.Fatalf("MakePathBeneath through a file: %v, want an error, not ErrOutside", err)
	}
}

func testBeneathSymlinkOut(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{out, "link"}, {filepath.Join(out, "secret"), "flink"}, {filepath.Join(out, "none"), "dangling"}, {"in", "inlink"}} {
		if err := os.Symlink(l[0], filepath.Join(p, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(p, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"link/secret", "flink", "dangling", "inlink/x", "link"} {
		_, err := d.OpenFileBeneath(x, q, io.ReadOnly)
		wantOutside(t, "OpenFileBeneath", q, err)
		_, err = d.CreateFileBeneath(x, q, io.CreateOptions{Keep: true})
		wantOutside(t, "CreateFileBeneath", q, err)
		_, err = d.CreateAtomicBeneath(x, q, 0o644)
		wantOutside(t, "CreateAtomicBeneath", q, err)
	}
	for _, q := range []string{"link", "link/sub", "inlink/sub", "dangling/sub"} {
		wantOutside(t, "MakePathBeneath", q, d.MakePathBeneath(x, q, 0o755))
		_, err := d.OpenDirBeneath(x, q)
		wantOutside(t, "OpenDirBeneath", q, err)
	}
	if err := d.MakePathBeneath(x, "in/ok", 0o755); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, filepath.Join(out, "secret"))); got != "secret" {
		t.Fatalf("the file outside was changed: %q", got)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Fatalf("something was created outside: %d entries", len(ents))
	}
}

func testBeneathDotDotAbsolute(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	if err := os.Mkdir(filepath.Join(p, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(p, "a")
	for _, q := range []string{"..", "../x", "a/../../x", "a/..", abs, "/"} {
		_, err := d.OpenFileBeneath(x, q, io.ReadOnly)
		wantOutside(t, "OpenFileBeneath", q, err)
		_, err = d.OpenDirBeneath(x, q)
		wantOutside(t, "OpenDirBeneath", q, err)
		_, err = d.CreateAtomicBeneath(x, q, 0o644)
		wantOutside(t, "CreateAtomicBeneath", q, err)
		wantOutside(t, "MakePathBeneath", q, d.MakePathBeneath(x, q, 0o755))
	}
	for _, q := range []string{"", "a/\x00"} {
		if _, err := d.OpenFileBeneath(x, q, io.ReadOnly); !errors.Is(err, io.ErrInvalid) {
			t.Errorf("OpenFileBeneath %q: %v, want io.ErrInvalid", q, err)
		}
	}
	if _, err := d.OpenFileBeneath(x, strings.Repeat("a/", 3000), io.ReadOnly); !errors.Is(err, io.ErrInvalid) {
		t.Errorf("OpenFileBeneath of a 6000-byte path: %v, want io.ErrInvalid", err)
	}
}

// testBeneathSymlinkSwapped swaps a folder and a symbolic link to a folder
// outside under one name while confined opens and saves go through it: each
// either reaches the folder inside or fails, and nothing outside is read or
// written.
func testBeneathSymlinkSwapped(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "f"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(p, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "real", "f"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, filepath.Join(p, "link")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a plain goroutine: it must run beside Blocking's tasks too
		defer wg.Done()
		sw := filepath.Join(p, "sw")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			from := filepath.Join(p, []string{"real", "link"}[i%2])
			_ = os.Rename(from, sw)
			_ = os.Rename(sw, from)
		}
	}()
	inside, refused := 0, 0
	for i := range 2000 {
		if i%10 == 0 {
			a, err := d.CreateAtomicBeneath(x, "sw/new", 0o644)
			if err == nil {
				_, _ = a.Write(x, []byte("new"))
				if err := a.Commit(x); err != nil {
					t.Errorf("commit: %v", err)
				}
			}
			continue
		}
		f, err := d.OpenFileBeneath(x, "sw/f", io.ReadOnly)
		if err != nil {
			if !errors.Is(err, io.ErrOutside) && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("open sw/f: %v, want ErrOutside or ErrNotExist", err)
			}
			refused++
			continue
		}
		buf := make([]byte, 16)
		n, _ := f.Read(x, buf)
		f.Close(x)
		if string(buf[:n]) != "inside" {
			t.Fatalf("a confined open read %q: it left the folder", buf[:n])
		}
		inside++
	}
	close(stop)
	wg.Wait()
	if _, err := os.Lstat(filepath.Join(out, "new")); err == nil {
		t.Fatal("a confined save wrote outside the folder")
	}
	t.Logf("%d opens inside, %d refused", inside, refused)
}
