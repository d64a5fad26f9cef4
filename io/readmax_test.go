//go:build unix

package io

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// opLog records the operations an Io reports, and runs a hook on each.
type opLog struct {
	mu   sync.Mutex
	ops  []string
	hook func(Op)
}

func (l *opLog) ObserveOp(op Op) {
	l.mu.Lock()
	l.ops = append(l.ops, op.Name)
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		hook(op)
	}
}

// TestReadFileMax: a regular file within the limit is read whole, through
// the Io's observed operations; over the limit, it is refused with the
// size and the limit named.
func TestReadFileMax(t *testing.T) {
	eachKind(t, func(t *testing.T, x Io) {
		dir := t.TempDir()
		want := bytes.Repeat([]byte("0123456789"), 1000)
		if err := os.WriteFile(filepath.Join(dir, "f"), want, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := Cwd().OpenDir(x, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(x)
		log := &opLog{}
		got, err := d.ReadFileMax(x.WithObserver(log), "f", int64(len(want)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadFileMax(limit = size) = %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
		if ops := strings.Join(log.ops, ","); !strings.Contains(ops, "stat") || !strings.Contains(ops, "open") || !strings.Contains(ops, "read") || !strings.Contains(ops, "close") {
			t.Errorf("operations observed: %s; want stat, open, read and close", ops)
		}
		empty := filepath.Join(dir, "empty")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := d.ReadFileMax(x, "empty", 0); err != nil || len(got) != 0 {
			t.Fatalf("empty file: %q, %v", got, err)
		}
		_, err = d.ReadFileMax(x, "f", int64(len(want))-1)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "10000 bytes") || !strings.Contains(err.Error(), "limit of 9999 bytes") || !strings.Contains(err.Error(), filepath.Join(dir, "f")) {
			t.Fatalf("over the limit: %v; want ErrTooLarge naming the path, size and limit", err)
		}
		if _, err := d.ReadFileMax(x, "f", -1); !errors.Is(err, ErrInvalid) {
			t.Fatalf("negative limit: %v, want ErrInvalid", err)
		}
		if _, err := d.ReadFileMax(x, "missing", 10); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("missing file: %v, want ErrNotExist", err)
		}
	})
}

// TestReadFileMaxSpecial: devices, FIFOs, sockets and directories are
// refused without a read (a FIFO nobody writes to would block; /dev/zero
// never ends), with the path and its type named.
func TestReadFileMaxSpecial(t *testing.T) {
	eachKind(t, func(t *testing.T, x Io) {
		dir := t.TempDir()
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(dir, "sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		for _, c := range []struct{ path, kind string }{
			{"/dev/zero", "character device"},
			{"/dev/null", "character device"},
			{fifo, "FIFO"},
			{sock, "socket"},
			{dir, "directory"},
		} {
			log := &opLog{}
			_, err := Cwd().ReadFileMax(x.WithObserver(log), c.path, 1<<20)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), "is a "+c.kind+", not a regular file") {
				t.Errorf("%s: %v; want ErrInvalid naming it a %s", c.path, err, c.kind)
			}
			if strings.Contains(strings.Join(log.ops, ","), "read") {
				t.Errorf("%s: read although refused: %v", c.path, log.ops)
			}
		}
		if _, err := Cwd().ReadFileMax(x, dir, 1<<20); !errors.Is(err, syscall.EISDIR) {
			t.Errorf("directory: %v, want EISDIR too", err)
		}
	})
}

// TestReadFileMaxSparse: a 5 GiB sparse file is refused from its size,
// before a byte is read or allocated.
func TestReadFileMaxSparse(t *testing.T) {
	x := NewBlocking().Io()
	p := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5 << 30); err != nil {
		f.Close()
		t.Skip("no sparse files here:", err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = Cwd().ReadFileMax(x, p, 1<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "5368709120 bytes") {
		t.Fatalf("5 GiB file: %v, want ErrTooLarge naming its size", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("refusing a 5 GiB file allocated %d bytes", n)
	}
}

// TestReadFileMaxGrows: a file that grows past the limit after the stat
// (here: while it is read) is refused after reading at most limit+1 bytes.
func TestReadFileMaxGrows(t *testing.T) {
	eachKind(t, func(t *testing.T, x Io) {
		p := filepath.Join(t.TempDir(), "grows")
		if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		log := &opLog{hook: func(op Op) {
			if op.Name == "read" {
				once.Do(func() {
					f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
					if err == nil {
						f.Write(make([]byte, 1<<20))
						f.Close()
					}
				})
			}
		}}
		got, err := Cwd().ReadFileMax(x.WithObserver(log), p, 1000)
		if !errors.Is(err, ErrTooLarge) || got != nil {
			t.Fatalf("file grown past the limit while read: %d bytes, %v; want ErrTooLarge", len(got), err)
		}
		// Grown before the open: the second check (of the open file) sees it.
		if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		once = sync.Once{}
		log.hook = func(op Op) {
			if op.Name == "open" {
				once.Do(func() { os.WriteFile(p, make([]byte, 5000), 0o644) })
			}
		}
		if _, err := Cwd().ReadFileMax(x.WithObserver(log), p, 1000); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "5000 bytes") {
			t.Fatalf("file grown between stat and open: %v; want ErrTooLarge naming 5000 bytes", err)
		}
	})
}

// TestReadFileMaxCanceled: the reads are cancel points of the Io.
func TestReadFileMaxCanceled(t *testing.T) {
	b := NewThreaded(ThreadedOptions{})
	defer b.Close()
	root := b.Io()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	cx, cancel := root.WithCancel()
	cancel()
	if _, err := Cwd().ReadFileMax(cx, p, 100); !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled: %v, want ErrCanceled", err)
	}
}
