//go:build unix

package io

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The walk (the fallback for kernels without openat2) holds each folder by
// its descriptor: a symbolic link swapped in for a folder it already opened
// changes nothing, and one swapped in for the next folder is refused.
func TestWalkSwappedLink(t *testing.T) {
	defer ForceWalk()()
	eachKind(t, func(t *testing.T, x Io) {
		p, out := t.TempDir(), t.TempDir()
		for _, f := range []struct{ path, data string }{
			{filepath.Join(p, "a", "b", "f"), "inside"},
			{filepath.Join(out, "b", "f"), "outside"},
			{filepath.Join(out, "f"), "outside"},
		} {
			if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.path, []byte(f.data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Cwd().OpenDir(x, p)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(x)

		// "a" becomes a link to out after the walk opened it.
		restore := SetWalkHook(func(i int) {
			if i == 0 {
				mustDo(t, os.Rename(filepath.Join(p, "a"), filepath.Join(p, "a.old")))
				mustDo(t, os.Symlink(out, filepath.Join(p, "a")))
			}
		})
		b, err := d.ReadFileBeneath(x, "a/b/f")
		restore()
		if err != nil || string(b) != "inside" {
			t.Fatalf("read a/b/f with a swapped after it was opened: %q, %v; want \"inside\"", b, err)
		}
		mustDo(t, os.Remove(filepath.Join(p, "a")))
		mustDo(t, os.Rename(filepath.Join(p, "a.old"), filepath.Join(p, "a")))

		// "a/b" becomes a link to out before the walk reaches it.
		restore = SetWalkHook(func(i int) {
			if i == 0 {
				mustDo(t, os.Rename(filepath.Join(p, "a", "b"), filepath.Join(p, "a", "b.old")))
				mustDo(t, os.Symlink(out, filepath.Join(p, "a", "b")))
			}
		})
		b, err = d.ReadFileBeneath(x, "a/b/f")
		restore()
		if !errors.Is(err, ErrOutside) {
			t.Fatalf("read a/b/f with b swapped for a link: %q, %v; want ErrOutside", b, err)
		}
	})
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
