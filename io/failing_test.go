package io_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

func TestFailingWithRealisticErrors(t *testing.T) {
	x := io.FailingWith(io.FailPlan{Ops: map[string]io.Fault{
		"open":  {},                    // ENOENT
		"mkdir": {Err: syscall.EACCES}, // as given
	}})
	if x.Kind() != io.KindFailing {
		t.Fatalf("Kind = %v", x.Kind())
	}
	_, err := io.Cwd().OpenFile(x, "data.bin", io.ReadOnly)
	var e *io.Error
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ENOENT) || !errors.As(err, &e) || e.Op != "open" || e.Path != "data.bin" {
		t.Fatalf("open = %v, want an *io.Error for open data.bin matching fs.ErrNotExist", err)
	}
	if err := io.Cwd().MakeDir(x, "d", 0o755); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("mkdir = %v, want fs.ErrPermission", err)
	}
	// Not in the plan, no Base: ErrUnsupported, as under Failing.
	if err := x.Sleep(0); !errors.Is(err, io.ErrUnsupported) {
		t.Fatalf("sleep = %v, want ErrUnsupported", err)
	}
	if _, err := x.ClockNow(io.ClockAwake); !errors.Is(err, io.ErrUnsupported) {
		t.Fatalf("clock = %v, want ErrUnsupported", err)
	}
	// Default replaces ErrUnsupported.
	x = io.FailingWith(io.FailPlan{Default: syscall.EIO})
	if _, err := io.Dial(x, "tcp", "127.0.0.1:1"); !errors.Is(err, syscall.EIO) {
		t.Fatalf("dial = %v, want EIO", err)
	}
	// Failing itself is unchanged.
	if _, err := io.Cwd().OpenFile(io.Failing(), "x", io.ReadOnly); !errors.Is(err, io.ErrUnsupported) {
		t.Fatalf("Failing open = %v, want ErrUnsupported", err)
	}
}

// TestFailingWithThirdWrite is the case FailPlan is for: the third write of a
// file fails with ENOSPC, on a real file system.
func TestFailingWithThirdWrite(t *testing.T) {
	base := io.NewBlocking().Io()
	x := io.FailingWith(io.FailPlan{Base: base, Ops: map[string]io.Fault{
		"write": {Err: syscall.ENOSPC, After: 2, Times: 1},
	}})
	if x.Kind() != io.KindBlocking {
		t.Fatalf("Kind = %v, want the Base's", x.Kind())
	}
	dir := t.TempDir()
	f, err := io.Cwd().CreateFile(x, filepath.Join(dir, "out"), io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, s := range []string{"a", "b", "c", "d"} {
		_, err := f.Write(x, []byte(s))
		errs = append(errs, err)
	}
	if err := f.Close(x); err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if i == 2 {
			var e *io.Error
			if !errors.Is(err, syscall.ENOSPC) || !errors.As(err, &e) || e.Op != "write" {
				t.Fatalf("write 3 = %v, want an *io.Error for write matching ENOSPC", err)
			}
		} else if err != nil {
			t.Fatalf("write %d = %v, want success", i+1, err)
		}
	}
	got, err := io.Cwd().ReadFile(base, filepath.Join(dir, "out"))
	if err != nil || string(got) != "abd" {
		t.Fatalf("file holds %q, %v; want \"abd\"", got, err)
	}
}

func TestFailingWithSockets(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := io.FailingWith(io.FailPlan{Base: th.Io(), Ops: map[string]io.Fault{
		"net.read": {},            // ECONNRESET
		"read":     {After: 1000}, // files: not reached
		"accept":   {After: 1},    // the second accept fails with EMFILE
	}})
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	for i := 0; i < 2; i++ {
		c, err := io.Dial(x, "tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept(x)
		if i == 1 {
			c.Close(x)
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("second accept = %v, want EMFILE", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(x, []byte("hi")); err != nil {
			t.Fatalf("write = %v", err)
		}
		if _, err := s.Read(x, make([]byte, 2)); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read = %v, want ECONNRESET", err)
		}
		c.Close(x)
		s.Close(x)
	}
}

// TestFailingWithConcurrent checks the counting under concurrent calls:
// exactly Times calls fail.
func TestFailingWithConcurrent(t *testing.T) {
	x := io.FailingWith(io.FailPlan{Base: io.NewBlocking().Io(), Ops: map[string]io.Fault{
		"sleep": {Err: syscall.EINTR, After: 50, Times: 10},
	}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 8 {
		wg.Go(func() {
			for range 25 {
				if err := x.Sleep(0); err != nil {
					if !errors.Is(err, syscall.EINTR) {
						t.Errorf("sleep = %v", err)
					}
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if failed != 10 {
		t.Fatalf("%d sleeps failed, want 10", failed)
	}
}

func TestFailingExternal(t *testing.T) {
	if _, err := io.Failing().External("gpu.submit"); !errors.Is(err, io.ErrUnsupported) {
		t.Fatalf("Failing External = %v, want ErrUnsupported", err)
	}
	if _, err := (io.Io{}).External("gpu.submit"); !errors.Is(err, io.ErrZeroIo) {
		t.Fatalf("zero Io External = %v, want ErrZeroIo", err)
	}
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := io.FailingWith(io.FailPlan{Base: th.Io(), Ops: map[string]io.Fault{
		"gpu.submit": {Err: syscall.EIO, After: 1, Times: 1},
	}})
	for i, want := range []error{nil, syscall.EIO, nil} {
		inline, err := x.External("gpu.submit")
		if want == nil && (err != nil || inline) {
			t.Fatalf("call %d: External = %v, %v; want the Base's answer (false, nil)", i+1, inline, err)
		}
		if want != nil && !errors.Is(err, want) {
			t.Fatalf("call %d: External = %v, want %v", i+1, err, want)
		}
	}
	if inline, err := io.FailingWith(io.FailPlan{Base: io.NewBlocking().Io()}).External("gpu.submit"); !inline || err != nil {
		t.Fatalf("over Blocking: External = %v, %v; want true, nil", inline, err)
	}
}

// TestFailingWithKeepsCancel: a FailingWith Io over a task's Io is canceled
// with that task.
func TestFailingWithKeepsCancel(t *testing.T) {
	cx, cancel := io.NewBlocking().Io().WithCancel()
	x := io.FailingWith(io.FailPlan{Base: cx})
	cancel()
	if err := x.Sleep(time.Hour); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("sleep after the Base's cancel = %v, want ErrCanceled", err)
	}
}
