package iotest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkio/vkio/io"
)

// deadPID returns the PID of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return c.Process.Pid
}

// tempFiles lists the names in dir that look like AtomicFile temporaries.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".tmp") {
			got = append(got, e.Name())
		}
	}
	return got
}

// RemoveStaleTemps removes a dead writer's temporary file and keeps a live
// one: this process's open AtomicFile, and a file whose PID is dead but
// whose lock is held (a writer in another PID namespace). Other names are
// left alone.
var _ = register("RemoveStaleTemps", func(t *testing.T, x io.Io) {
	d, p := tempDir(t, x)
	pid := deadPID(t)
	write := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(p, name), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stale := fmt.Sprintf(".frame-0001.png.%d-0123456789abcdef.tmp", pid)
	locked := fmt.Sprintf(".frame-0002.png.%d-fedcba9876543210.tmp", pid)
	keep := []string{
		".frame-0003.png.0123456789abcdef.tmp",       // the older format, no PID
		fmt.Sprintf(".x.%d-0123.tmp", pid),           // random part too short
		fmt.Sprintf(".%d-0123456789abcdef.tmp", pid), // no base name
		"frame-0004.png",
	}
	write(stale)
	write(locked)
	for _, n := range keep {
		write(n)
	}
	lf, err := os.Open(filepath.Join(p, locked))
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := tryFlock(lf); err != nil {
		t.Skipf("no flock on %s: %v", p, err)
	}
	if err := os.Symlink("frame-0004.png", filepath.Join(p, fmt.Sprintf(".l.%d-0123456789abcdef.tmp", pid))); err != nil {
		t.Fatal(err)
	}
	live, err := d.CreateAtomic(x, "live.png", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close(x)
	if _, err := live.Write(x, []byte("live")); err != nil {
		t.Fatal(err)
	}
	liveTemps := len(tempFiles(t, p))

	n, err := d.RemoveStaleTemps(x, 0)
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemps = %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Lstat(filepath.Join(p, stale)); !os.IsNotExist(err) {
		t.Fatalf("the stale temporary file is still there: %v", err)
	}
	if got := len(tempFiles(t, p)); got != liveTemps-1 {
		t.Fatalf("%d temporary files left, want %d: %v", got, liveTemps-1, tempFiles(t, p))
	}
	if err := live.Commit(x); err != nil {
		t.Fatalf("Commit of the live file after RemoveStaleTemps: %v", err)
	}
	if string(mustRead(t, filepath.Join(p, "live.png"))) != "live" {
		t.Fatal("live.png lost its contents")
	}
	// Once its writer is gone (the lock released), the locked one goes too.
	lf.Close()
	if n, err := d.RemoveStaleTemps(x, 0); err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemps after the lock was released = %d, %v; want 1, nil", n, err)
	}
	if n, err := d.RemoveStaleTemps(x, 0); err != nil || n != 0 {
		t.Fatalf("RemoveStaleTemps again = %d, %v; want 0", n, err)
	}

	// Subfolders: only with depth, and never through a symbolic link.
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(p, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{filepath.Join("a", stale), filepath.Join("a", "b", stale)} {
		write(q)
	}
	if err := os.WriteFile(filepath.Join(outside, stale), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(p, "link")); err != nil {
		t.Fatal(err)
	}
	if n, err := d.RemoveStaleTemps(x, 0); err != nil || n != 0 {
		t.Fatalf("RemoveStaleTemps(0) with stale files in subfolders = %d, %v; want 0", n, err)
	}
	if n, err := d.RemoveStaleTemps(x, 1); err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemps(1) = %d, %v; want 1 (a/)", n, err)
	}
	if n, err := d.RemoveStaleTemps(x, 8); err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemps(8) = %d, %v; want 1 (a/b/)", n, err)
	}
	if _, err := os.Stat(filepath.Join(outside, stale)); err != nil {
		t.Fatalf("a file behind a symbolic link was removed: %v", err)
	}
})
