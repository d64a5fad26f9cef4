package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lines collects a stream's lines and lets a test wait for one.
type lines struct {
	mu   sync.Mutex
	all  []string
	next chan struct{}
}

func collect(t *testing.T, r *os.File) *lines {
	l := &lines{next: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			select {
			case l.next <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

// waitFor waits until a line from index *from on contains s, and moves *from
// past it.
func (l *lines) waitFor(t *testing.T, from *int, s string) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		l.mu.Lock()
		for i := *from; i < len(l.all); i++ {
			if strings.Contains(l.all[i], s) {
				*from = i + 1
				line := l.all[i]
				l.mu.Unlock()
				return line
			}
		}
		l.mu.Unlock()
		select {
		case <-l.next:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no line with %q; got:\n%s", s, strings.Join(l.all, "\n"))
		}
	}
}

func (l *lines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// TestWatch starts run --watch, changes the shader, breaks it, fixes it, and
// ends it with SIGINT: exit 0.
func TestWatch(t *testing.T) {
	needGlslc(t)
	dir := t.TempDir()
	src, err := os.ReadFile(repo("cmd/vkdemo/testdata/square.comp"))
	if err != nil {
		t.Fatal(err)
	}
	shader := filepath.Join(dir, "sq.comp")
	if err := os.WriteFile(shader, src, 0o644); err != nil {
		t.Fatal(err)
	}
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	cmd := exec.Command(vkdemoBin, "--io", "threaded", "run", "sq.comp", "--bind", "0=iota:64", "--out", "1=out.npy", "--watch")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1")
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	errW.Close()
	stdout, stderr := collect(t, outR), collect(t, errR)
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var o, e int
	check := func(offset uint32) {
		t.Helper()
		npy := readNpy(t, filepath.Join(dir, "out.npy"))
		for i, v := range u32s(npy.data) {
			if want := uint32(i*i) + offset; v != want {
				t.Fatalf("out[%d] = %d, want %d", i, v, want)
			}
		}
	}
	stdout.waitFor(t, &o, "=== run 1: start")
	stdout.waitFor(t, &o, "wrote     out.npy")
	stdout.waitFor(t, &o, "watching sq.comp")
	check(0)

	// A change is picked up and run.
	edit := func(s string) {
		t.Helper()
		if err := os.WriteFile(shader, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(strings.Replace(string(src), "+ BIAS;", "+ BIAS + 1000u;", 1))
	stdout.waitFor(t, &o, "=== run 2: sq.comp changed")
	stdout.waitFor(t, &o, "wrote     out.npy")
	check(1000)

	// A broken shader prints glslc's error and keeps going.
	edit(strings.Replace(string(src), "+ BIAS;", "+ NOPE;", 1))
	stdout.waitFor(t, &o, "=== run 3")
	stderr.waitFor(t, &e, "sq.comp:12: error: 'NOPE' : undeclared identifier")
	stderr.waitFor(t, &e, "keeping the last good pipeline")
	check(1000)

	// Fixed again, it runs again.
	edit(strings.Replace(string(src), "+ BIAS;", "+ BIAS + 2000u;", 1))
	stdout.waitFor(t, &o, "=== run 4")
	stdout.waitFor(t, &o, "wrote     out.npy")
	check(2000)

	// Ctrl-C ends it cleanly.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		exited = true
		if err != nil {
			t.Fatalf("after SIGINT: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.text(), stderr.text())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGINT")
	}
	stdout.waitFor(t, &o, "stopped")
	if bytes.Contains([]byte(stderr.text()), []byte("panic")) || strings.Contains(stderr.text(), "validation") {
		t.Fatalf("stderr:\n%s", stderr.text())
	}
}

// TestInterrupt sends SIGINT to a long run: it stops with status 130 and
// "vkdemo: interrupted", leaving no output file.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(vkdemoBin, "run", repo("shaders/saxpy.spv"), "--bind", "0=rand:15M", "--bind", "1=iota",
		"--push", "f32:2,u32:15728640", "--out", "1=y.npy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code == 0 {
		t.Skipf("the run finished within a second: %v", err)
	}
	if code != 130 || strings.TrimSpace(stderr.String()) != "vkdemo: interrupted" {
		t.Fatalf("exit %d (%v), stderr:\n%s", code, err, stderr.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}

// TestWatchRefusesFIFO replaces the watched shader with a FIFO: the watch
// reports that it is not a regular file and goes on (it used to hang in the
// open, deaf to Ctrl-C), runs again when a real file is back, and ends on
// SIGINT. A FIFO from the start is refused at once.
func TestWatchRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	spv, err := os.ReadFile(repo("shaders/saxpy.spv"))
	if err != nil {
		t.Fatal(err)
	}
	shader := filepath.Join(dir, "k.spv")
	if err := os.WriteFile(shader, spv, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.spv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--io", "threaded", "run", "--bind", "0=iota:64", "--bind", "1=iota:64", "--push", "f32:2,u32:64", "--out", "1=y.npy", "--watch"}

	// A FIFO from the start: refused, exit status 2, no hang.
	start := exec.Command(vkdemoBin, append(args, "fifo.spv")...)
	start.Dir = dir
	done := make(chan []byte, 1)
	go func() { out, _ := start.CombinedOutput(); done <- out }()
	select {
	case out := <-done:
		if code := start.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "not a regular file (a FIFO)") {
			t.Fatalf("--watch on a FIFO: exit %d, output:\n%s", code, out)
		}
	case <-time.After(time.Minute):
		start.Process.Kill()
		<-done
		t.Fatal("--watch on a FIFO hangs")
	}

	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	cmd := exec.Command(vkdemoBin, append(args, "k.spv")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1")
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	errW.Close()
	stdout, stderr := collect(t, outR), collect(t, errR)
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var o, e int
	stdout.waitFor(t, &o, "watching k.spv")
	// Swap a FIFO in by rename, as an editor swaps files.
	if err := os.Rename(fifo, shader); err != nil {
		t.Fatal(err)
	}
	stdout.waitFor(t, &o, "=== run 2")
	stderr.waitFor(t, &e, "not a regular file (a FIFO)")
	stderr.waitFor(t, &e, "keeping the last good pipeline")
	// A file again: it runs again.
	tmp := filepath.Join(dir, "new.spv")
	if err := os.WriteFile(tmp, spv, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, shader); err != nil {
		t.Fatal(err)
	}
	stdout.waitFor(t, &o, "=== run 3")
	stdout.waitFor(t, &o, "wrote     y.npy")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		exited = true
		if err != nil {
			t.Fatalf("after SIGINT: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.text(), stderr.text())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGINT")
	}
}
