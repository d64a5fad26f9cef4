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

// On Evented, symbolic and hard links are ring requests where the kernel
// has them (Linux 5.15), and system calls where it does not.
func TestEventedLinkRequests(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Evented is Linux-only")
	}
	for _, hide := range []bool{false, true} {
		if hide {
			eventedProbeHook = func(supported func(op uint8) bool, err error) (func(op uint8) bool, error) {
				return func(op uint8) bool { return op != 38 && op != 39 && supported(op) }, err
			}
		}
		e, err := NewEvented(EventedOptions{})
		eventedProbeHook = nil
		if err != nil {
			t.Skipf("no io_uring: %v", err)
		}
		x := e.Io()
		d, err := Cwd().OpenDir(x, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WriteFile(x, "f", []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		ring := e.has(38) && e.has(39)
		before := e.Stats().Submitted
		if err := d.Symlink(x, "f", "sym"); err != nil {
			t.Fatal(err)
		}
		if err := d.Link(x, "f", d, "hard"); err != nil {
			t.Fatal(err)
		}
		got := e.Stats().Submitted - before
		if target, err := d.ReadLink(x, "sym"); err != nil || target != "f" {
			t.Fatalf("ReadLink = %q, %v", target, err)
		}
		if fi, err := d.Stat(x, "hard"); err != nil || fi.Size != 1 {
			t.Fatalf("Stat of the hard link = %+v, %v", fi, err)
		}
		d.Close(x)
		e.Close()
		switch {
		case hide && (ring || got != 0):
			t.Fatalf("probe hiding SYMLINKAT/LINKAT: has %v, %d requests; want the system calls", ring, got)
		case !hide && ring && got != 2:
			t.Fatalf("with SYMLINKAT/LINKAT: %d requests, want 2", got)
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
