package iotest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

type opLog struct {
	mu  sync.Mutex
	ops []io.Op
}

func (l *opLog) ObserveOp(op io.Op) { l.mu.Lock(); l.ops = append(l.ops, op); l.mu.Unlock() }

func (l *opLog) find(class, name string) (io.Op, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.IndexFunc(l.ops, func(op io.Op) bool { return op.Class == class && op.Name == name })
	if i < 0 {
		return io.Op{}, false
	}
	return l.ops[i], true
}

var _ = register("Observer", func(t *testing.T, x io.Io) {
	log := &opLog{}
	y := x.WithObserver(log)
	if y.Observer() != log || x.Observer() != nil {
		t.Fatal("WithObserver changed the wrong Io")
	}
	d, _ := tempDir(t, x)
	// Operations of a child task are observed too.
	f := io.Async(y, func(x io.Io) (int, error) {
		if err := x.Sleep(time.Millisecond); err != nil {
			return 0, err
		}
		file, err := d.CreateFile(x, "obs", io.CreateOptions{})
		if err != nil {
			return 0, err
		}
		defer file.Close(x)
		w := file.Writer(x, make([]byte, 16))
		w.Write(make([]byte, 100)) // larger than the buffer: drains
		if err := w.Flush(); err != nil {
			return 0, err
		}
		if err := file.Sync(x); err != nil {
			return 0, err
		}
		if _, err := d.Stat(x, "obs"); err != nil {
			return 0, err
		}
		if err := d.MakeDir(x, "sub", 0o755); err != nil {
			return 0, err
		}
		if err := d.Rename(x, "obs", d, "sub/obs"); err != nil {
			return 0, err
		}
		if err := d.Remove(x, "sub/obs"); err != nil {
			return 0, err
		}
		return 100, d.RemoveDir(x, "sub")
	})
	if _, err := f.Await(x); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]string{{"time", "sleep"}, {"file", "create"}, {"file", "write"}, {"file", "sync"},
		{"file", "stat"}, {"file", "mkdir"}, {"file", "rename"}, {"file", "remove"}, {"file", "remove dir"}, {"file", "close"}} {
		op, ok := log.find(want[0], want[1])
		if !ok {
			t.Fatalf("no %s %s operation observed; saw %d ops", want[0], want[1], len(log.ops))
		}
		if op.End.Before(op.Start) || op.Start.IsZero() {
			t.Fatalf("%s %s: bad times %v..%v", want[0], want[1], op.Start, op.End)
		}
	}
	if op, _ := log.find("file", "write"); op.Bytes != 100 {
		t.Fatalf("observed write of %d bytes, want 100", op.Bytes)
	}
	// The unobserved Io reports nothing.
	before := len(log.ops)
	if err := x.Sleep(time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if len(log.ops) != before {
		t.Fatal("an Io without the observer reported an operation")
	}
})
