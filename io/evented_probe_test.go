//go:build linux

package io

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/vkio/vkio/io/internal/uring"
)

// playOldKernel makes NewEvented's opcode probe report the opcodes in hide as
// unsupported, as an older kernel would, for the rest of the test.
func playOldKernel(t *testing.T, hide ...uint8) {
	t.Helper()
	old := eventedProbeHook
	eventedProbeHook = func(supported func(uint8) bool, err error) (func(uint8) bool, error) {
		if err != nil {
			return nil, err
		}
		return func(op uint8) bool {
			for _, h := range hide {
				if op == h {
					return false
				}
			}
			return supported(op)
		}, nil
	}
	t.Cleanup(func() { eventedProbeHook = old })
}

// openFds counts the process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(ents)
}

// On a kernel without the optional requests (ftruncate before Linux 6.9,
// renameat and unlinkat before 5.11, mkdirat before 5.15) Evented still does
// each operation, with the blocking system call and without the ring.
func TestEventedOptionalOpsFallBack(t *testing.T) {
	playOldKernel(t, uring.OpFtruncate, uring.OpRenameat, uring.OpUnlinkat, uring.OpMkdirat)
	e := newTestEvented(t, EventedOptions{})
	for _, op := range []uint8{uring.OpFtruncate, uring.OpRenameat, uring.OpUnlinkat, uring.OpMkdirat} {
		if e.has(op) {
			t.Fatalf("has(%d) = true with the opcode hidden from the probe", op)
		}
	}
	x := e.Io()
	dir := t.TempDir()
	d, err := Cwd().OpenDir(x, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(x)
	f, err := d.CreateFile(x, "a", CreateOptions{Read: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(x, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool {
		_, err := os.Lstat(filepath.Join(dir, p))
		return err == nil
	}
	steps := []struct {
		name  string
		fn    func() error
		check func() bool // the operation took effect
	}{
		{"truncate", func() error { return f.SetLength(x, 2) }, func() bool {
			fi, err := os.Stat(filepath.Join(dir, "a"))
			return err == nil && fi.Size() == 2
		}},
		{"mkdir", func() error { return d.MakeDir(x, "sub", 0o755) }, func() bool {
			fi, err := os.Stat(filepath.Join(dir, "sub"))
			return err == nil && fi.IsDir()
		}},
		{"rename", func() error { return d.Rename(x, "a", d, "sub/b") }, func() bool {
			return !exists("a") && exists("sub/b")
		}},
		{"unlink", func() error { return d.Remove(x, "sub/b") }, func() bool { return !exists("sub/b") }},
		{"rmdir", func() error { return d.RemoveDir(x, "sub") }, func() bool { return !exists("sub") }},
	}
	for _, s := range steps {
		was := e.Stats()
		if err := s.fn(); err != nil {
			t.Fatalf("%s without its opcode: %v", s.name, err)
		}
		if now := e.Stats(); now.Submitted != was.Submitted || now.Completed != was.Completed {
			t.Errorf("%s used the ring without its opcode: %+v -> %+v", s.name, was, now)
		}
		if !s.check() {
			t.Errorf("%s without its opcode did not take effect", s.name)
		}
	}
	// The fallbacks are cancel points, as the ring requests are.
	cx, cancel := x.WithCancel()
	cancel()
	was := e.Stats()
	if err := d.MakeDir(cx, "never", 0o755); !errors.Is(err, ErrCanceled) {
		t.Errorf("MakeDir on a canceled Io = %v; want ErrCanceled", err)
	}
	if now := e.Stats(); now.Submitted != was.Submitted || exists("never") {
		t.Errorf("canceled MakeDir ran: %+v -> %+v", was, now)
	}
	// The required requests still go through the ring.
	was = e.Stats()
	if err := f.Close(x); err != nil {
		t.Fatal(err)
	}
	if now := e.Stats(); now.Submitted == was.Submitted {
		t.Errorf("close did not go through the ring: %+v -> %+v", was, now)
	}
}

// A kernel without a request Evented is built on (before Linux 5.6), or without
// the opcode probe (Linux 5.5), is refused, so that the default Io is Threaded.
func TestEventedRequiresOps(t *testing.T) {
	// Written out again on purpose, not taken from requiredOps: dropping a
	// request from that table must fail this test.
	required := []struct {
		op   uint8
		name string
	}{
		{uring.OpReadv, "IORING_OP_READV"},
		{uring.OpWritev, "IORING_OP_WRITEV"},
		{uring.OpFsync, "IORING_OP_FSYNC"},
		{uring.OpTimeout, "IORING_OP_TIMEOUT"},
		{uring.OpAsyncCancel, "IORING_OP_ASYNC_CANCEL"},
		{uring.OpOpenat, "IORING_OP_OPENAT"},
		{uring.OpClose, "IORING_OP_CLOSE"},
		{uring.OpStatx, "IORING_OP_STATX"},
	}
	fds := openFds(t)
	refused := func(t *testing.T) error {
		t.Helper()
		e, err := NewEvented(EventedOptions{})
		if err == nil {
			e.Close()
			t.Fatal("NewEvented succeeded")
		}
		var ue *EventedUnavailableError
		if e != nil || !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) {
			t.Fatalf("NewEvented = %v, %v; want nil and an *EventedUnavailableError", e, err)
		}
		return err
	}
	for _, r := range required {
		t.Run(r.name, func(t *testing.T) {
			playOldKernel(t, r.op)
			if err := refused(t); !strings.Contains(err.Error(), r.name) {
				t.Errorf("refusal %q does not name %s", err, r.name)
			}
		})
	}
	t.Run("several", func(t *testing.T) {
		playOldKernel(t, uring.OpOpenat, uring.OpClose, uring.OpStatx)
		err := refused(t)
		for _, name := range []string{"IORING_OP_OPENAT", "IORING_OP_CLOSE", "IORING_OP_STATX"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("refusal %q does not name %s", err, name)
			}
		}
	})
	t.Run("no probe", func(t *testing.T) { // Linux 5.5: IORING_REGISTER_PROBE is EINVAL
		old := eventedProbeHook
		eventedProbeHook = func(func(uint8) bool, error) (func(uint8) bool, error) { return nil, syscall.EINVAL }
		t.Cleanup(func() { eventedProbeHook = old })
		if err := refused(t); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("refusal %v does not wrap the probe's EINVAL", err)
		}
	})
	if now := openFds(t); now != fds {
		t.Errorf("refused NewEvented calls leaked descriptors: %d open before, %d after", fds, now)
	}

	// The default Io falls back to Threaded, saying why once.
	playOldKernel(t, uring.OpStatx)
	var logged []error
	oldLog := fallbackLog
	fallbackLog = func(err error) { logged = append(logged, err) }
	fallbackOnce = sync.Once{}
	t.Cleanup(func() { fallbackLog, fallbackOnce = oldLog, sync.Once{} })
	if _, err := New("evented"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf(`New("evented") = %v; want the refusal`, err)
	}
	for _, name := range []string{"", "auto"} {
		b, err := New(name)
		if err != nil {
			t.Fatalf("New(%q) = %v", name, err)
		}
		if b.Kind() != KindThreaded {
			t.Errorf("New(%q) without IORING_OP_STATX = %s; want threaded", name, b.Kind())
		}
		b.Close()
	}
	if len(logged) != 1 || !strings.Contains(logged[0].Error(), "IORING_OP_STATX") {
		t.Errorf("fallback logged %v; want one line naming IORING_OP_STATX", logged)
	}
}
