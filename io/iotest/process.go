//go:build unix

package iotest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// Processes, pipes and FIFOs: registered in the suite, and run alone by
// RunProcesses.

var processes = []testCase{
	{"FIFOReadCanceled", testFIFOReadCanceled},
	{"FIFOWriteCanceled", testFIFOWriteCanceled},
	{"PipeReadWriteClose", testPipeReadWriteClose},
	{"PipeCancelOneOfTwoReaders", testPipeCancelOneOfTwoReaders},
	{"ProcessExitStatus", testProcessExitStatus},
	{"ProcessEnvDir", testProcessEnvDir},
	{"ProcessSpawnErrors", testProcessSpawnErrors},
	{"ProcessEcho", testProcessEcho},
	{"ProcessWaitCanceledTerm", testProcessWaitCanceledTerm},
	{"ProcessWaitCanceledKill", testProcessWaitCanceledKill},
	{"ProcessStdioFile", testProcessStdioFile},
	{"ProcessWaitTwoTasks", testProcessWaitTwoTasks},
}

var _ = func() bool {
	suite = append(suite, processes...)
	return true
}()

// RunProcesses runs the suite's process, pipe and FIFO cases only: for
// running them again with another way of waiting for a child (the
// package's own tests force the goroutine that replaces pidfd where the
// kernel lacks it).
func RunProcesses(t *testing.T, nb NewBackend) { run(t, nb, processes) }

// sh is the shell the process cases run their scripts with.
const sh = "/bin/sh"

func shell(script string) io.Command {
	return io.Command{Path: sh, Args: []string{"sh", "-c", script}}
}

// mkfifo makes a FIFO in a new temporary folder and returns its path.
func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// A task reading an empty FIFO whose writer stays open is canceled promptly
// with the cancel error, not io.EOF (a blocking read(2) would ignore the
// cancel until the writer closed, then report end of file); the FIFO
// still works afterwards, and reads io.EOF once the writer closes.
func testFIFOReadCanceled(t *testing.T, x io.Io) {
	p := mkfifo(t)
	// Linux opens a FIFO read-write without waiting: the writer.
	w, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f, err := io.Cwd().OpenFile(x, p, io.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	start := time.Now()
	n, err := f.Read(y, make([]byte, 10))
	if n != 0 || errors.Is(err, stdio.EOF) {
		t.Fatalf("Read of an empty FIFO = %d, %v; want the cancel error", n, err)
	}
	isCanceled(t, err)
	if time.Since(start) > within {
		t.Fatal("FIFO read not interrupted promptly")
	}
	// Through a Reader too (the readv path).
	z, stop2 := canceledBy(x, 20*time.Millisecond)
	defer stop2()
	if _, err := f.Reader(z, make([]byte, 64)).ReadByte(); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("Reader.ReadByte of an empty FIFO = %v, want the cancel error", err)
	}
	if _, err := w.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if n, err := f.Read(x, buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("Read after a canceled Read = %q, %v", buf[:n], err)
	}
	w.Close()
	if n, err := f.Read(x, buf); n != 0 || err != stdio.EOF {
		t.Fatalf("Read after the writer closed = %d, %v; want io.EOF", n, err)
	}
}

// A task writing to a full FIFO is canceled promptly with the cancel error;
// it reports what it wrote, which the reader then finds, all of it.
func testFIFOWriteCanceled(t *testing.T, x io.Io) {
	p := mkfifo(t)
	r, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0) // does not wait for a writer
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := io.Cwd().OpenFile(x, p, io.WriteOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	data := randomBytes(2 << 20) // more than a FIFO holds (64 KiB unless raised)
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	start := time.Now()
	n, err := f.Write(y, data)
	isCanceled(t, err)
	if time.Since(start) > within {
		t.Fatal("FIFO write not interrupted promptly")
	}
	if n <= 0 || n >= len(data) {
		t.Fatalf("Write to a full FIFO wrote %d of %d bytes before the cancel", n, len(data))
	}
	got := make([]byte, len(data))
	k, _ := r.Read(got) // non-blocking: what is there
	for k < n {
		m, err := r.Read(got[k:])
		if err != nil {
			t.Fatalf("reading back after %d of %d bytes: %v", k, n, err)
		}
		k += m
	}
	if k != n || !bytes.Equal(got[:k], data[:n]) {
		t.Fatalf("read back %d bytes, want the %d written", k, n)
	}
}

// Pipe: bytes go through in order; closing the writer gives io.EOF,
// closing the reader gives EPIPE; Close wakes a parked read with ErrClosed.
func testPipeReadWriteClose(t *testing.T, x io.Io) {
	r, w, err := io.Pipe(x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(x, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(x); err != nil {
		t.Fatal(err)
	}
	got, err := stdio.ReadAll(r.Reader(x, make([]byte, 16)))
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := r.Close(x); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(x, make([]byte, 1)); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}

	r, w, err = io.Pipe(x)
	if err != nil {
		t.Fatal(err)
	}
	r.Close(x)
	if _, err := w.Write(x, []byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write with no reader = %v, want EPIPE", err)
	}
	w.Close(x)

	r, w, err = io.Pipe(x)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(x)
	parked, err := io.Concurrent(x, func(x io.Io) (int, error) { return r.Read(x, make([]byte, 1)) })
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		r.Close(x)
		return
	}
	time.Sleep(10 * time.Millisecond) // let it park (if it has not, it fails at its start: the same error)
	if err := r.Close(x); err != nil {
		t.Fatal(err)
	}
	if _, err := parked.Await(x); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("a Read parked on a pipe closed meanwhile = %v, want ErrClosed", err)
	}
}

func testProcessExitStatus(t *testing.T, x io.Io) {
	for _, c := range []struct {
		script string
		code   int
		sig    syscall.Signal
	}{
		{"exit 0", 0, 0},
		{"exit 3", 3, 0},
		{"exit 255", 255, 0},
		{"kill -TERM $$", -1, syscall.SIGTERM},
		{"kill -KILL $$", -1, syscall.SIGKILL},
	} {
		st, err := shell(c.script).Run(x)
		if err != nil {
			t.Fatalf("%s: %v", c.script, err)
		}
		if st.Code != c.code || st.Signal != c.sig || st.Success() != (c.code == 0) {
			t.Errorf("%s: status %+v (%s), want code %d signal %v", c.script, st, st, c.code, c.sig)
		}
	}
}

// readLine reads r up to and including the first newline.
func readLine(t *testing.T, x io.Io, r *io.File) string {
	t.Helper()
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(x, b)
		if err != nil {
			t.Fatalf("after %q: %v", line, err)
		}
		line = append(line, b[:n]...)
		if n > 0 && b[0] == '\n' {
			return string(line)
		}
	}
}

func testProcessEnvDir(t *testing.T, x io.Io) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := shell(`printf '%s|%s|%s\n' "$VKIO_A" "$(pwd)" "${HOME-unset}"`)
	c.Env = []string{"VKIO_A=a b"}
	c.Dir = dir
	c.Stdout = io.StdioPipe
	p, err := io.Spawn(x, c)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pid() <= 0 || p.Stdin != nil || p.Stderr != nil || p.Stdout == nil {
		t.Fatalf("Process: pid %d, stdin %v, stderr %v, stdout %v", p.Pid(), p.Stdin, p.Stderr, p.Stdout)
	}
	got := readLine(t, x, p.Stdout)
	st, err := p.Wait(x)
	if err != nil || !st.Success() {
		t.Fatalf("Wait = %v, %v", st, err)
	}
	if want := "a b|" + dir + "|unset\n"; got != want {
		t.Fatalf("child printed %q, want %q", got, want)
	}
	// Wait closed the parent's end; a second Wait gives the same status.
	if _, err := p.Stdout.Read(x, make([]byte, 1)); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("Stdout after Wait = %v, want ErrClosed", err)
	}
	if st2, err := p.Wait(x); err != nil || st2 != st {
		t.Fatalf("second Wait = %v, %v; want %v", st2, err, st)
	}
}

func testProcessSpawnErrors(t *testing.T, x io.Io) {
	missing := filepath.Join(t.TempDir(), "no-such-program")
	_, err := io.Spawn(x, io.Command{Path: missing})
	var e *io.Error
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &e) || e.Op != "spawn" || e.Path != missing {
		t.Fatalf("Spawn of a missing program = %v; want an *io.Error (spawn %s) matching fs.ErrNotExist", err, missing)
	}
	c := shell("exit 0")
	c.Dir = missing
	if _, err := io.Spawn(x, c); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Spawn in a missing folder = %v; want fs.ErrNotExist naming it", err)
	}
	if _, err := io.Spawn(x, io.Command{}); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("Spawn with no path = %v, want ErrInvalid", err)
	}
	y, stop := x.WithCancel()
	stop()
	if _, err := io.Spawn(y, shell("exit 0")); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("Spawn by a canceled task = %v, want ErrCanceled", err)
	}
	if _, _, err := io.Pipe(y); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("Pipe by a canceled task = %v, want ErrCanceled", err)
	}
}

// cat echoes 1 MiB from stdin to stdout, written by one task while another
// reads: more than the pipes hold, so neither side can go first alone.
// Under Blocking (no Concurrent), a payload the pipes hold, written then read.
func testProcessEcho(t *testing.T, x io.Io) {
	c := shell("exec cat")
	c.Stdin, c.Stdout = io.StdioPipe, io.StdioPipe
	p, err := io.Spawn(x, c)
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(1 << 20)
	write := func(x io.Io) (int, error) {
		n, err := p.Stdin.Write(x, data)
		if cerr := p.Stdin.Close(x); err == nil {
			err = cerr
		}
		return n, err
	}
	writer, err := io.Concurrent(x, write)
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		data = data[:16<<10]
		if n, err := write(x); n != len(data) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	got, err := stdio.ReadAll(p.Stdout.Reader(x, make([]byte, 32<<10)))
	if err != nil {
		t.Fatal(err)
	}
	if writer != nil {
		if n, err := writer.Await(x); n != len(data) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	st, err := p.Wait(x)
	if err != nil || !st.Success() {
		t.Fatalf("Wait = %v, %v", st, err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes, want the %d written", len(got), len(data))
	}
}

// gone fails unless pid is no child of this process any more (reaped).
func gone(t *testing.T, pid int) {
	t.Helper()
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err != syscall.ECHILD {
		t.Fatalf("wait4(%d) = %v; want ECHILD, the child reaped", pid, err)
	}
}

// A canceled Wait ends the child with SIGTERM, reaps it, and returns its
// status with the cancel error.
func testProcessWaitCanceledTerm(t *testing.T, x io.Io) {
	p, err := io.Spawn(x, shell("exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	start := time.Now()
	st, err := p.Wait(y)
	isCanceled(t, err)
	if time.Since(start) > within {
		t.Fatal("Wait not interrupted promptly")
	}
	if st.Signal != syscall.SIGTERM || st.Code != -1 {
		t.Fatalf("status %v, want signal SIGTERM", st)
	}
	gone(t, p.Pid())
	// A Wait by a task that was not canceled returns the status again.
	if st2, err := p.Wait(x); err != nil || st2 != st {
		t.Fatalf("Wait after the canceled one = %v, %v; want %v", st2, err, st)
	}
	if err := p.Signal(x, syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Signal after Wait = %v, want os.ErrProcessDone", err)
	}
}

// A child that ignores SIGTERM is killed after the grace period.
func testProcessWaitCanceledKill(t *testing.T, x io.Io) {
	c := shell("trap '' TERM; echo ready; exec sleep 60") // ignored stays ignored across exec
	c.Stdout = io.StdioPipe
	const grace = 100 * time.Millisecond
	c.Grace = grace
	p, err := io.Spawn(x, c)
	if err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, x, p.Stdout); line != "ready\n" {
		t.Fatalf("child printed %q", line)
	}
	y, stop := x.WithCancel()
	stop() // canceled before it waits: Wait still ends the child
	start := time.Now()
	st, err := p.Wait(y)
	took := time.Since(start)
	isCanceled(t, err)
	if st.Signal != syscall.SIGKILL {
		t.Fatalf("status %v after %v, want signal SIGKILL", st, took)
	}
	if took < grace || took > within {
		t.Fatalf("killed after %v; want the grace period %v first, then promptly", took, grace)
	}
	gone(t, p.Pid())
}

// A File as a child's stream: its output lands in the file, and the
// parent's File stays usable.
func testProcessStdioFile(t *testing.T, x io.Io) {
	d, dir := tempDir(t, x)
	f, err := d.CreateFile(x, "out.txt", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	c := shell("echo from child; echo to stderr >&2")
	c.Stdout, c.Stderr = io.StdioFile(f), io.StdioFile(f)
	if st, err := c.Run(x); err != nil || !st.Success() {
		t.Fatalf("Run = %v, %v", st, err)
	}
	if _, err := f.Write(x, []byte("from parent\n")); err != nil {
		t.Fatal(err)
	}
	want := "from child\nto stderr\nfrom parent\n"
	if got := mustRead(t, filepath.Join(dir, "out.txt")); string(got) != want {
		t.Fatalf("file holds %q, want %q", got, want)
	}
}

// Two tasks wait for one child: the first is canceled and ends the child;
// the second, not canceled, gets the same status without an error.
func testProcessWaitTwoTasks(t *testing.T, x io.Io) {
	p, err := io.Spawn(x, shell("exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	y, cancel := x.WithCancel()
	defer cancel()
	first, err := io.Concurrent(y, func(y io.Io) (io.ExitStatus, error) { return p.Wait(y) })
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		cancel()
		if _, err := p.Wait(y); !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("canceled Wait = %v", err)
		}
		gone(t, p.Pid())
		return
	}
	second, err := io.Concurrent(x, func(x io.Io) (io.ExitStatus, error) { return p.Wait(x) })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // let both wait (the outcome is the same if not)
	cancel()
	st1, err1 := first.Await(x)
	st2, err2 := second.Await(x)
	if !errors.Is(err1, io.ErrCanceled) || st1.Signal != syscall.SIGTERM {
		t.Fatalf("canceled Wait = %v, %v; want SIGTERM and the cancel error", st1, err1)
	}
	if err2 != nil || st2 != st1 {
		t.Fatalf("other Wait = %v, %v; want %v and no error", st2, err2, st1)
	}
	gone(t, p.Pid())
}

// Two tasks read one pipe; a cancel of one does not disturb the other,
// which reads what comes next.
func testPipeCancelOneOfTwoReaders(t *testing.T, x io.Io) {
	r, w, err := io.Pipe(x)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(x)
	defer w.Close(x)
	other, err := io.Concurrent(x, func(x io.Io) (string, error) {
		buf := make([]byte, 8)
		n, err := r.Read(x, buf)
		return string(buf[:n]), err
	})
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		return // needs two readers at once
	}
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // several cancels while the other task waits
		y, stop := canceledBy(x, 10*time.Millisecond)
		_, err := r.Read(y, make([]byte, 8))
		stop()
		isCanceled(t, err)
	}
	if _, err := w.Write(x, []byte("next")); err != nil {
		t.Fatal(err)
	}
	if got, err := other.Await(x); err != nil || got != "next" {
		t.Fatalf("the other reader got %q, %v; want \"next\"", got, err)
	}
}
