package io

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A copy canceled after its first chunk stops there: copy_file_range and
// read/write alike check between chunks.
func TestCopyCancelBetweenChunks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("copy_file_range is Linux-only")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "src"), make([]byte, 3*copyChunk), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		method CopyMethod
		chunk  int64
	}{{CopyFileRange, copyChunk}, {CopyReadWrite, copyBufSize}} {
		x, cancel := NewBlocking().Io().WithCancel()
		calls := 0
		copyChunkHook = func(int64) { calls++; cancel() }
		res, err := Cwd().CopyFile(x, filepath.Join(dir, "src"), Cwd(), filepath.Join(dir, "dst"), CopyOptions{Method: m.method})
		copyChunkHook = nil
		cancel()
		if !errors.Is(err, ErrCanceled) || res.Bytes != m.chunk || calls != 1 {
			t.Fatalf("%v canceled after one chunk: %+v, %v, %d chunks; want %d bytes and ErrCanceled", m.method, res, err, calls, m.chunk)
		}
	}
}

// Failing fails every directory operation with its error.
func TestFailingDirs(t *testing.T) {
	x := Failing()
	checks := map[string]error{
		"symlink": Cwd().Symlink(x, "a", "b"),
		"link":    Cwd().Link(x, "a", Cwd(), "b"),
		"access":  Cwd().Access(x, "a", AccessRead),
		"chmod":   Cwd().Chmod(x, "a", 0o600),
		"remove":  Cwd().RemoveAll(x, "a"),
	}
	_, checks["readlink"] = Cwd().ReadLink(x, "a")
	_, checks["copy"] = Cwd().CopyFile(x, "a", Cwd(), "b", CopyOptions{})
	for _, err := range Cwd().Entries(x, ".") {
		checks["entries"] = err
	}
	for _, err := range Cwd().Walk(x, ".") {
		checks["walk"] = err
	}
	for op, err := range checks {
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s on Failing = %v; want ErrUnsupported", op, err)
		}
	}
}
