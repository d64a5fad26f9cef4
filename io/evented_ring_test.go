//go:build linux

package io

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	stdio "io"

	"golang.org/x/sys/unix"

	"github.com/vkio/vkio/io/internal/uring"
)

func newTestEvented(t *testing.T, opts EventedOptions) *Evented {
	t.Helper()
	e, err := NewEvented(opts)
	if err != nil {
		t.Fatalf("NewEvented: %v", err)
	}
	t.Cleanup(func() {
		e.opsMu.Lock()
		left := len(e.ops)
		e.opsMu.Unlock()
		if left != 0 {
			t.Errorf("%d requests still in flight at the end of the test", left)
		}
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// The ring really does the work: every file operation and sleep goes through it,
// so a silent fallback to blocking system calls cannot pass as Evented.
func TestEventedUsesRing(t *testing.T) {
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	before := e.Stats()
	dir := t.TempDir()
	d, err := Cwd().OpenDir(x, dir) // openat
	if err != nil {
		t.Fatal(err)
	}
	f, err := d.CreateFile(x, "a", CreateOptions{Read: true}) // openat
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"write", func() error { _, err := f.Write(x, []byte("hello")); return err }},
		{"writeAt", func() error { _, err := f.WriteAt(x, []byte("H"), 0); return err }},
		{"writeVec", func() error { _, err := f.WriteVec(x, [][]byte{[]byte(" "), []byte("w")}, 3); return err }},
		{"readAt", func() error {
			b := make([]byte, 9)
			if _, err := f.ReadAt(x, b, 0); err != nil {
				return err
			}
			if string(b) != "Hello www" {
				return fmt.Errorf("read %q", b)
			}
			return nil
		}},
		{"sync", func() error { return f.Sync(x) }},
		{"truncate", func() error { return f.SetLength(x, 5) }},
		{"stat", func() error {
			fi, err := f.Stat(x)
			if err == nil && fi.Size != 5 {
				err = fmt.Errorf("size %d after truncate to 5", fi.Size)
			}
			return err
		}},
		{"close", func() error { return f.Close(x) }},
		{"statat", func() error { _, err := d.Stat(x, "a"); return err }},
		{"mkdir", func() error { return d.MakeDir(x, "sub", 0o755) }},
		{"rename", func() error { return d.Rename(x, "a", d, "sub/b") }},
		{"unlink", func() error { return d.Remove(x, "sub/b") }},
		{"rmdir", func() error { return d.RemoveDir(x, "sub") }},
		{"sleep", func() error { return x.Sleep(time.Millisecond) }},
		{"closedir", func() error { return d.Close(x) }},
	}
	for _, s := range steps {
		was := e.Stats()
		if err := s.fn(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		now := e.Stats()
		if op, ok := optionalStepOps[s.name]; ok && !e.has(op) {
			t.Logf("kernel lacks io_uring opcode %d: %s used the system call", op, s.name)
			continue
		}
		if now.Submitted == was.Submitted || now.Completed == was.Completed {
			t.Errorf("%s did not go through the ring: %+v -> %+v", s.name, was, now)
		}
	}
	after := e.Stats()
	if after.Enters == before.Enters {
		t.Errorf("no io_uring_enter calls: %+v", after)
	}
	t.Logf("stats: %+v", after)
}

// optionalStepOps names the steps of TestEventedUsesRing whose requests are
// optional (newer than Linux 5.6): without them Evented makes the system call.
var optionalStepOps = map[string]uint8{
	"truncate": uring.OpFtruncate,
	"mkdir":    uring.OpMkdirat,
	"rename":   uring.OpRenameat,
	"unlink":   uring.OpUnlinkat,
	"rmdir":    uring.OpUnlinkat,
}

func TestEventedFallback(t *testing.T) {
	var logged []error
	oldHook, oldLog := eventedSetupHook, fallbackLog
	eventedSetupHook = func() error { return syscall.EPERM } // as under kernel.io_uring_disabled=2 or seccomp
	fallbackLog = func(err error) { logged = append(logged, err) }
	fallbackOnce = sync.Once{}
	t.Cleanup(func() { eventedSetupHook, fallbackLog, fallbackOnce = oldHook, oldLog, sync.Once{} })

	_, err := NewEvented(EventedOptions{})
	var ue *EventedUnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, syscall.EPERM) || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("NewEvented with setup refused = %v; want *EventedUnavailableError wrapping EPERM", err)
	}
	if _, err := New("evented"); !errors.Is(err, syscall.EPERM) {
		t.Fatalf(`New("evented") = %v; want the refusal`, err)
	}
	for _, name := range []string{"", "auto", "AUTO"} {
		b, err := New(name)
		if err != nil {
			t.Fatalf("New(%q) = %v", name, err)
		}
		if b.Kind() != KindThreaded {
			t.Errorf("New(%q) with io_uring refused = %s; want threaded", name, b.Kind())
		}
		b.Close()
	}
	if len(logged) != 1 || !errors.Is(logged[0], syscall.EPERM) {
		t.Errorf("fallback logged %v; want one line naming EPERM", logged)
	}

	// Without the refusal, auto picks Evented.
	eventedSetupHook = nil
	b, err := New("auto")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Kind() != KindEvented {
		t.Errorf(`New("auto") = %s; want evented on this kernel`, b.Kind())
	}
	if k := Kinds(); len(k) != 3 || k[0] != KindEvented {
		t.Errorf("Kinds() = %v; want evented first", k)
	}
}

// The external-completion hook: a task parks on a Promise that another thread
// resolves (as a GPU device's completion thread does), and a cancel while parked
// reaches the producer through OnCancel.
func TestEventedPromise(t *testing.T) {
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	p := NewPromise[int]()
	go func() { time.Sleep(5 * time.Millisecond); p.Resolve(42, nil) }()
	f := Async(x, func(x Io) (int, error) { return p.Future().Await(x) })
	if v, err := f.Await(x); v != 42 || err != nil {
		t.Fatalf("Await = %d, %v", v, err)
	}

	q := NewPromise[int]()
	q.OnCancel(func() { q.Resolve(0, ErrCanceled) })
	g, err := Concurrent(x, func(x Io) (int, error) { return q.Future().Await(x) })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := g.Cancel(x); !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled promise wait = %v", err)
	}
}

// A canceled request's memory stays in use until its own completion: a read
// canceled while parked on an empty pipe returns ErrCanceled, and the buffer
// is not written afterwards.
func TestEventedCancelParkedRead(t *testing.T) {
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	r, w := pipe(t)
	f, err := Concurrent(x, func(x Io) ([]byte, error) {
		buf := make([]byte, 16)
		n, err := r.Read(x, buf)
		return buf[:n], err
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	b, err := f.Cancel(x)
	if !errors.Is(err, ErrCanceled) || len(b) != 0 {
		t.Fatalf("canceled read = %q, %v", b, err)
	}
	if e.Stats().Canceled == 0 {
		t.Errorf("no IORING_OP_ASYNC_CANCEL was sent")
	}
	// The pipe still works for others, and nothing was consumed.
	if _, err := w.Write(x, []byte("x")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 1)
	if _, err := r.Read(x, got); err != nil || got[0] != 'x' {
		t.Fatalf("read after cancel = %q, %v", got, err)
	}
}

// A cancel racing a completion: each round parks a reader on a pipe, then
// writes one byte and cancels the reader at the same time. Either the read wins
// (it returns the byte) or the cancel does (ErrCanceled, and the byte stays in
// the pipe); a byte is never lost or read twice, and nothing leaks.
func TestEventedCancelRacesCompletion(t *testing.T) {
	e := newTestEvented(t, EventedOptions{Entries: 8})
	x := e.Io()
	r, w := pipe(t)
	const rounds = 500
	got := 0
	var canceled, completed int
	left := 0 // bytes that canceled reads left in the pipe, drained before each round
	drain := func() {
		n, err := unix.IoctlGetInt(r.fd, unix.TIOCINQ) // FIONREAD
		if err != nil {
			t.Fatal(err)
		}
		for buf := make([]byte, n); len(buf) > 0; {
			k, err := r.Read(x, buf)
			if err != nil {
				t.Fatal(err)
			}
			buf = buf[k:]
			left += k
		}
	}
	for i := range rounds {
		drain()
		f, err := Concurrent(x, func(x Io) (int, error) {
			b := make([]byte, 1)
			return r.Read(x, b)
		})
		if err != nil {
			t.Fatal(err)
		}
		if i%4 != 0 { // mostly wait until the read is in the ring
			for inFlight(e) == 0 && !f.Done() {
				runtime.Gosched()
			}
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			if d := i % 5; d > 0 { // spread the write around the cancel
				time.Sleep(time.Duration(d) * 15 * time.Microsecond)
			}
			if _, err := w.Write(x, []byte{1}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			f.Cancel(x)
		}()
		close(start)
		wg.Wait()
		n, err := f.Await(x)
		switch {
		case err == nil && n == 1:
			completed++
			got++
		case errors.Is(err, ErrCanceled) && n == 0:
			canceled++
		default:
			t.Fatalf("round %d: read = %d, %v", i, n, err)
		}
	}
	// Whatever the cancels left in the pipe is still there.
	if err := w.Close(x); err != nil {
		t.Fatal(err)
	}
	rest, err := stdio.ReadAll(r.Reader(x, make([]byte, 64)))
	if err != nil {
		t.Fatal(err)
	}
	left += len(rest)
	if got+left != rounds {
		t.Fatalf("%d bytes read by racing reads + %d left by canceled ones = %d; want %d", got, left, got+left, rounds)
	}
	t.Logf("%d reads completed, %d canceled; stats %+v", completed, canceled, e.Stats())
	if e.Stats().Canceled == 0 {
		t.Errorf("no cancel reached the ring")
	}
}

func inFlight(e *Evented) int {
	e.opsMu.Lock()
	defer e.opsMu.Unlock()
	return len(e.ops)
}

// Thousands of concurrent operations on a tiny ring (8 submission slots, 16
// completion slots): submitters wait for slots, completions overflow and are
// moved in by the reaper, and every result still reaches its task.
func TestEventedThousandsConcurrent(t *testing.T) {
	e := newTestEvented(t, EventedOptions{Entries: 8, CQEntries: 16, ConcurrentLimit: 5000})
	x := e.Io()
	const tasks, chunk = 4000, 512
	f, err := Cwd().CreateFile(x, filepath.Join(t.TempDir(), "many"), CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	var g Group
	for i := range tasks {
		if err := g.Concurrent(x, func(x Io) error {
			b := bytes.Repeat([]byte{byte(i)}, chunk)
			if _, err := f.WriteAt(x, b, int64(i)*chunk); err != nil {
				return err
			}
			if i%2 == 0 {
				if err := x.Sleep(time.Millisecond); err != nil {
					return err
				}
			}
			back := make([]byte, chunk)
			if _, err := f.ReadAt(x, back, int64(i)*chunk); err != nil {
				return err
			}
			if !bytes.Equal(back, b) {
				return fmt.Errorf("task %d read back other bytes", i)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	t.Logf("stats: %+v (%.1f requests per io_uring_enter)", st, float64(st.Submitted)/float64(st.Enters))
	if st.Completed != st.Submitted {
		t.Errorf("completed %d of %d submitted requests", st.Completed, st.Submitted)
	}
}

// Close with a task still parked on the ring cancels its request and waits for
// the completion; afterwards the ring refuses requests, files can still be
// closed, and a second Close reports ErrClosed.
func TestEventedClose(t *testing.T) {
	e, err := NewEvented(EventedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := e.Io()
	f, err := Cwd().CreateFile(x, filepath.Join(t.TempDir(), "f"), CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sleeping, err := Concurrent(x, func(x Io) (int, error) { return 0, x.Sleep(time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	for inFlight(e) == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := sleeping.Await(x); !errors.Is(err, ErrClosed) || time.Since(start) > 10*time.Second {
		t.Fatalf("sleep across Close = %v after %v; want ErrClosed, promptly", err, time.Since(start))
	}
	if err := x.Sleep(time.Millisecond); !errors.Is(err, ErrClosed) {
		t.Errorf("Sleep after Close = %v; want ErrClosed", err)
	}
	if _, err := f.Write(x, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v; want ErrClosed", err)
	}
	if err := f.Close(x); err != nil {
		t.Errorf("closing a file after Close = %v; want nil", err)
	}
	if err := e.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v; want ErrClosed", err)
	}
}

// Close racing live writers: each round closes a fresh Evented while tasks
// loop writing to a file, so that Close meets requests in every state: queued,
// in the kernel, a leader waiting in io_uring_enter, a task that lost the race
// to lead and is reaping, a task between its completion and its return (the
// leader's last reap, the eventfd's unmute). Close must neither crash (a task
// reading the ring after it is unmapped) nor hang, every writer must end with
// ErrClosed (not a retried EINTR, not a request stuck on a closed ring), and
// nothing may be left running.
func TestEventedCloseRacesWriters(t *testing.T) {
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	const writers = 4
	dir := t.TempDir()
	wait := func(what string, round int, done <-chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: %s hangs", round, what)
		}
	}
	for i := range rounds {
		e, err := NewEvented(EventedOptions{Entries: 8})
		if err != nil {
			t.Fatal(err)
		}
		x := e.Io()
		f, err := Cwd().CreateFile(x, filepath.Join(dir, "f"), CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := make([]byte, 512)
				for {
					var err error
					if w == 0 {
						_, err = f.Write(x, b) // at the file position
					} else {
						_, err = f.WriteAt(x, b, int64(w)*512)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		if i%3 != 0 { // mostly close with requests in flight; else at once
			for inFlight(e) == 0 && len(errs) < writers {
				runtime.Gosched()
			}
		}
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			if err := e.Close(); err != nil {
				t.Errorf("round %d: Close: %v", i, err)
			}
		}()
		wait("Close", i, closed)
		written := make(chan struct{})
		go func() { wg.Wait(); close(written) }()
		wait("a writer", i, written)
		close(errs)
		for err := range errs {
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("round %d: write across Close = %v; want ErrClosed", i, err)
			}
		}
		if err := f.Close(x); err != nil {
			t.Fatalf("round %d: closing the file after Close: %v", i, err)
		}
	}
}

// A request that Close cancels ends with ECANCELED, or with EINTR when the
// kernel had begun it (an io-wq worker interrupted mid-call): either reports
// ErrClosed, not an errno that call and rw would retry. Before Close both are
// plain results.
func TestEventedResultAfterClose(t *testing.T) {
	e := newTestEvented(t, EventedOptions{})
	for _, errno := range []unix.Errno{unix.ECANCELED, unix.EINTR} {
		if _, err := e.result(-int32(errno)); err != nil {
			t.Errorf("result(-%s) before Close = %v; want no error", unix.ErrnoName(errno), err)
		}
	}
	e.closing.Store(true) // as Close does first
	defer e.closing.Store(false)
	for _, errno := range []unix.Errno{unix.ECANCELED, unix.EINTR} {
		if _, err := e.result(-int32(errno)); err != ErrClosed {
			t.Errorf("result(-%s) while closing = %v; want ErrClosed", unix.ErrnoName(errno), err)
		}
	}
	if _, err := e.result(-int32(unix.EIO)); err != nil {
		t.Errorf("result(-EIO) while closing = %v; want no error (the errno is the caller's)", err)
	}
}

// A lone task's wait on the ring (it leads: it waits in io_uring_enter
// itself) allocates nothing on the root task, which has no cancellation to
// register for.
func TestEventedLeadAllocs(t *testing.T) {
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	f, err := Cwd().CreateFile(x, filepath.Join(t.TempDir(), "f"), CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	if n := testing.AllocsPerRun(200, func() { f.Sync(x) }); n > 0.5 {
		t.Fatalf("Sync on the root task: %.1f allocations, want 0", n)
	}
}

// TestFallbackReason: the default Io's fallback logs nothing; the reason is
// there for the program to show.
func TestFallbackReason(t *testing.T) {
	oldHook := eventedSetupHook
	eventedSetupHook = func() error { return syscall.EPERM }
	fallbackOnce = sync.Once{}
	fallbackReason.Store(nil)
	t.Cleanup(func() { eventedSetupHook, fallbackOnce = oldHook, sync.Once{}; fallbackReason.Store(nil) })
	if err := FallbackReason(); err != nil {
		t.Fatalf("FallbackReason before any fallback = %v", err)
	}
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := FallbackReason(); b.Kind() != KindThreaded || !errors.Is(err, syscall.EPERM) || !errors.Is(err, ErrUnsupported) {
		t.Fatalf(`New("") = %s, FallbackReason = %v; want threaded and the EPERM refusal`, b.Kind(), err)
	}
}
