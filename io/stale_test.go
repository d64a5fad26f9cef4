package io_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// staleChildEnv names the folder in which TestStaleTempChild, run as a
// child process, starts an atomic write and then waits to be killed.
const staleChildEnv = "VKIO_IO_STALE_CHILD_DIR"

// TestStaleTempChild is the child of TestRemoveStaleTempsAfterSIGKILL; run
// directly it does nothing.
func TestStaleTempChild(t *testing.T) {
	dir := os.Getenv(staleChildEnv)
	if dir == "" {
		t.Skip("only run as the child of TestRemoveStaleTempsAfterSIGKILL")
	}
	x := io.NewBlocking().Io()
	d, err := io.Cwd().OpenDir(x, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.CreateAtomic(x, "frame-0007.png", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(x, []byte("half a frame")); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ready\n")
	time.Sleep(time.Hour) // until SIGKILL
}

// A process SIGKILLed in the middle of an atomic write leaves its temporary
// file; RemoveStaleTemps keeps it while the process lives and removes it once
// the process is gone.
func TestRemoveStaleTempsAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestStaleTempChild$", "-test.count=1")
	child.Env = append(os.Environ(), staleChildEnv+"="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			child.Process.Kill()
			child.Wait()
		}
	}()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the child ended before it was ready")
		}
	case <-time.After(time.Minute):
		t.Fatal("the child never got ready")
	}
	temps := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, ".frame-0007.png.*.tmp"))
		return m
	}
	if len(temps()) != 1 {
		t.Fatalf("the child's temporary file: %v", temps())
	}
	x := io.NewBlocking().Io()
	d, err := io.Cwd().OpenDir(x, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(x)
	if n, err := d.RemoveStaleTemps(x, 0); n != 0 || err != nil {
		t.Fatalf("RemoveStaleTemps with the writer alive = %d, %v; want 0", n, err)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed = true
	if len(temps()) != 1 {
		t.Fatalf("after SIGKILL: %v; want the temporary file left behind", temps())
	}
	n, err := d.RemoveStaleTemps(x, 0)
	if n != 1 || err != nil {
		t.Fatalf("RemoveStaleTemps after SIGKILL = %d, %v; want 1", n, err)
	}
	if left := temps(); len(left) != 0 {
		t.Fatalf("left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "frame-0007.png")); !os.IsNotExist(err) {
		t.Fatalf("the unfinished frame appeared: %v", err)
	}
}
