package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkio/vkio/io"
)

// TestOpenSaveRootRemovesStaleTemps: temporary files of a killed server's
// saves, at the root and in save folders, are removed when the next server
// opens --out, and the note says how many; a live one is kept.
func TestOpenSaveRootRemovesStaleTemps(t *testing.T) {
	root := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf(".r.npy.%d-0123456789abcdef.tmp", dead.Process.Pid)
	if err := os.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, filepath.Join("a", stale), filepath.Join("a", "b", stale)} {
		if err := os.WriteFile(filepath.Join(root, p), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x := io.NewBlocking().Io()
	d, err := io.Cwd().OpenDir(x, root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(x)
	live, err := d.CreateAtomic(x, "a/live.npy", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close(x)

	r, err := openSaveRoot(x, root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close(x)
	if note := r.staleNote(); !strings.Contains(note, "removed 3 stale temporary file(s)") {
		t.Fatalf("staleNote = %q", note)
	}
	m, _ := filepath.Glob(filepath.Join(root, "a", ".live.npy.*.tmp"))
	if len(m) != 1 {
		t.Fatalf("the live temporary file: %v", m)
	}
	if err := live.Commit(x); err != nil {
		t.Fatal(err)
	}
	r2, err := openSaveRoot(x, root)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.close(x)
	if note := r2.staleNote(); note != "" {
		t.Fatalf("nothing stale, staleNote = %q", note)
	}
}
