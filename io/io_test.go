package io_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

func TestFailingFailsEveryOperation(t *testing.T) {
	x := io.Failing()
	if x.Kind() != io.KindFailing {
		t.Fatalf("Kind = %s", x.Kind())
	}
	checks := map[string]error{}
	checks["sleep"] = x.Sleep(time.Millisecond)
	_, checks["create"] = io.Cwd().CreateFile(x, t.TempDir()+"/f", io.CreateOptions{})
	_, checks["open"] = io.Cwd().OpenFile(x, "/dev/null", io.ReadOnly)
	_, checks["stat"] = io.Cwd().Stat(x, "/")
	_, checks["lstat"] = io.Cwd().Lstat(x, "/")
	checks["mkdir"] = io.Cwd().MakeDir(x, t.TempDir()+"/d", 0o755)
	checks["remove"] = io.Cwd().Remove(x, "/nonexistent")
	_, checks["listen"] = io.Listen(x, "tcp", "127.0.0.1:0")
	_, checks["dial"] = io.Dial(x, "tcp", "127.0.0.1:1")
	_, checks["atomic"] = io.Cwd().CreateAtomic(x, t.TempDir()+"/a", 0)
	for op, err := range checks {
		if !errors.Is(err, io.ErrUnsupported) {
			t.Errorf("%s on Failing = %v, want ErrUnsupported", op, err)
		}
	}
	if _, err := io.Concurrent(x, func(io.Io) (int, error) { return 0, nil }); !errors.Is(err, io.ErrConcurrencyUnavailable) {
		t.Errorf("Concurrent on Failing = %v", err)
	}
	// Async is a call, not an operation: it runs inline.
	v, err := io.Async(x, func(io.Io) (int, error) { return 7, nil }).Await(x)
	if v != 7 || err != nil {
		t.Errorf("Async on Failing = %d, %v", v, err)
	}
}

func TestNewByName(t *testing.T) {
	for _, name := range []string{"blocking", "threaded", "auto", "", " Threaded "} {
		b, err := io.New(name)
		if err != nil {
			t.Fatalf("New(%q) = %v", name, err)
		}
		b.Close()
	}
	_, err := io.New("fibers")
	if !errors.Is(err, io.ErrInvalid) || !strings.Contains(err.Error(), `"fibers"`) || !strings.Contains(err.Error(), "blocking") {
		t.Fatalf("New(fibers) = %v; want ErrInvalid naming the bad value and the valid ones", err)
	}
}

func TestPromise(t *testing.T) {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	p := io.NewPromise[string]()
	f := p.Future()
	if f.Done() {
		t.Fatal("unresolved promise's future is done")
	}
	go func() { time.Sleep(5 * time.Millisecond); p.Resolve("fence signaled", nil) }()
	v, err := f.Await(x)
	if v != "fence signaled" || err != nil {
		t.Fatalf("Await = %q, %v", v, err)
	}
	if p.Resolve("again", nil) {
		t.Fatal("second Resolve took effect")
	}
	// Cancel: the producer's hook resolves promptly with ErrCanceled.
	p2 := io.NewPromise[int]()
	p2.OnCancel(func() { p2.Resolve(0, io.ErrCanceled) })
	start := time.Now()
	_, err = p2.Future().Cancel(x)
	if !errors.Is(err, io.ErrCanceled) || !p2.Canceled() || time.Since(start) > time.Second {
		t.Fatalf("Cancel = %v after %v", err, time.Since(start))
	}
	// An awaiter canceled through its context passes the cancel on.
	p3 := io.NewPromise[int]()
	p3.OnCancel(func() { p3.Resolve(0, io.ErrCanceled) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	y, stop := x.WithContext(ctx)
	defer stop()
	if _, err := p3.Future().Await(y); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await under a canceled task = %v", err)
	}
	// Every OnCancel callback runs once, in order, however many there are;
	// one registered after the cancellation runs at once.
	p4 := io.NewPromise[int]()
	var calls []int
	p4.OnCancel(func() { calls = append(calls, 1) })
	p4.OnCancel(func() { calls = append(calls, 2) })
	p4.OnCancel(func() { calls = append(calls, 3); p4.Resolve(0, io.ErrCanceled) })
	p4.Future().Cancel(x)
	p4.Future().Cancel(x)
	p4.OnCancel(func() { calls = append(calls, 4) })
	if fmt.Sprint(calls) != "[1 2 3 4]" {
		t.Fatalf("OnCancel callbacks ran as %v, want [1 2 3 4]", calls)
	}
}

func TestErrorFormat(t *testing.T) {
	x := io.NewBlocking().Io()
	_, err := io.Cwd().OpenFile(x, "/no/such/file", io.ReadOnly)
	if got := err.Error(); got != "io: open /no/such/file: no such file or directory" {
		t.Fatalf("error text = %q", got)
	}
	if io.ErrCanceled.Error() != "io: canceled" || !errors.Is(io.ErrCanceled, context.Canceled) {
		t.Fatal("ErrCanceled does not match context.Canceled")
	}
}

func TestCancelable(t *testing.T) {
	for _, be := range []io.Backend{io.NewBlocking(), io.NewThreaded(io.ThreadedOptions{})} {
		x := be.Io()
		if x.Cancelable() {
			t.Errorf("%s: the root Io reports Cancelable", be.Kind())
		}
		y, cancel := x.WithCancel()
		if !y.Cancelable() {
			t.Errorf("%s: a WithCancel task reports not Cancelable", be.Kind())
		}
		cancel()
		inner, _ := io.Async(x, func(z io.Io) (bool, error) { return z.Cancelable(), nil }).Await(x)
		if !inner {
			t.Errorf("%s: an Async task reports not Cancelable", be.Kind())
		}
	}
}

// Contexts derived from a task's Context (WithCancel, AfterFunc) register
// with the task instead of starting a goroutine each to watch Done, and they
// are canceled with it, also when derived after the cancellation.
func TestContextDerived(t *testing.T) {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	y, cancel := x.WithCancel()
	before := runtime.NumGoroutine()
	var kids []context.Context
	for range 100 {
		k, stop := context.WithCancel(y.Context())
		defer stop()
		kids = append(kids, k)
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Fatalf("100 derived contexts started %d goroutines", n)
	}
	fired := make(chan struct{})
	context.AfterFunc(y.Context(), func() { close(fired) })
	cancel()
	for _, k := range kids {
		<-k.Done()
	}
	<-fired
	late, stop := context.WithCancel(y.Context())
	defer stop()
	<-late.Done()
	if !errors.Is(late.Err(), context.Canceled) {
		t.Fatalf("context derived after the cancel: %v", late.Err())
	}
}

// The zero Io is reported, not crashed on: every operation fails with
// ErrZeroIo, whose message says where a real one comes from.
func TestZeroIoFailsClearly(t *testing.T) {
	var x io.Io
	if x.Kind() != io.KindFailing {
		t.Fatalf("Kind = %s", x.Kind())
	}
	checks := map[string]error{}
	checks["sleep"] = x.Sleep(time.Millisecond)
	_, checks["create"] = io.Cwd().CreateFile(x, t.TempDir()+"/f", io.CreateOptions{})
	_, checks["open"] = io.Cwd().OpenFile(x, "/dev/null", io.ReadOnly)
	_, checks["stat"] = io.Cwd().Stat(x, "/")
	_, checks["read"] = io.Cwd().ReadFile(x, "/dev/null")
	_, checks["listen"] = io.Listen(x, "tcp", "127.0.0.1:0")
	_, checks["dial"] = io.Dial(x, "tcp", "127.0.0.1:1")
	_, checks["atomic"] = io.Cwd().CreateAtomic(x, t.TempDir()+"/a", 0)
	_, checks["concurrent"] = io.Concurrent(x, func(io.Io) (int, error) { return 0, nil })
	for op, err := range checks {
		if op == "concurrent" {
			if !errors.Is(err, io.ErrConcurrencyUnavailable) {
				t.Errorf("Concurrent on the zero Io = %v", err)
			}
			continue
		}
		if !errors.Is(err, io.ErrZeroIo) || !errors.Is(err, io.ErrInvalid) || !strings.Contains(err.Error(), "NewBlocking") {
			t.Errorf("%s on the zero Io = %v; want ErrZeroIo saying where an Io comes from", op, err)
		}
	}
	// A task started through it runs inline, and its Io is as unusable.
	v, err := io.Async(x, func(x io.Io) (int, error) { return 7, x.Sleep(0) }).Await(x)
	if v != 7 || !errors.Is(err, io.ErrZeroIo) {
		t.Errorf("Async on the zero Io = %d, %v", v, err)
	}
	var g io.Group
	g.Async(x, func(io.Io) error { return nil })
	if err := g.Wait(x); err != nil {
		t.Errorf("Group on the zero Io: %v", err)
	}
}

// A queue's capacity is a bound, not an allocation.
func TestQueueHugeCapacityAllocatesLazily(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	q := io.NewQueue[int64](1 << 40)
	x := io.NewBlocking().Io()
	if _, err := q.Put(x, make([]int64, 1000), 1000); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("NewQueue(1<<40) with 1000 items allocated %d bytes", grew)
	}
	if q.Len() != 1000 || q.Cap() != 1<<40 {
		t.Fatalf("Len, Cap = %d, %d", q.Len(), q.Cap())
	}
}
