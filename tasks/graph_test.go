package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// A diamond and a chain: under Blocking the order is exactly topological in
// the order tasks were added; under every Io each task starts after its
// dependencies finished.
func TestGraphDependencyOrder(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		g := tasks.NewGraph()
		var mu sync.Mutex
		var order []string
		finished := map[string]bool{}
		var bad []string
		mk := func(name string, deps ...*tasks.Task) *tasks.Task {
			return g.Add(name, func(x io.Io) error {
				mu.Lock()
				for _, d := range deps {
					if !finished[d.Name()] {
						bad = append(bad, fmt.Sprintf("%s started before %s finished", name, d.Name()))
					}
				}
				mu.Unlock()
				if err := x.Sleep(time.Millisecond); err != nil {
					return err
				}
				mu.Lock()
				order = append(order, name)
				finished[name] = true
				mu.Unlock()
				return nil
			}, tasks.After(deps...))
		}
		a := mk("a")
		b := mk("b", a)
		c := mk("c", a)
		d := mk("d", b, c)
		e := mk("e")
		f := mk("f", e, d)
		rep, err := g.Run(x, tasks.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			t.Fatal(bad)
		}
		if rep.Tasks != 6 || rep.Failed != 0 {
			t.Fatalf("report %+v", rep)
		}
		for _, tk := range []*tasks.Task{a, b, c, d, e, f} {
			if tk.State() != tasks.Done || tk.Err() != nil {
				t.Errorf("%s: %v %v", tk.Name(), tk.State(), tk.Err())
			}
		}
		if x.Kind() == io.KindBlocking {
			if got := fmt.Sprint(order); got != "[a e b c d f]" {
				t.Errorf("blocking order %s", got)
			}
		}
	})
}

// Tasks needing weights of shared limits never exceed them.
func TestGraphLimitsNeverExceeded(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		gpuSem := tasks.NewSemaphore("gpu", 2)
		disk := tasks.NewSemaphore("disk", 3)
		staging := tasks.NewSemaphore("staging", 100)
		var gpuN, diskN, stagingN, gpuMax, diskMax, stagingMax atomic.Int64
		enter := func(c, m *atomic.Int64, n int64) {
			v := c.Add(n)
			for {
				old := m.Load()
				if v <= old || m.CompareAndSwap(old, v) {
					break
				}
			}
		}
		g := tasks.NewGraph()
		for i := range 40 {
			w := int64(10 + 7*(i%6)) // 10..45 bytes of staging
			g.Add(fmt.Sprint("t", i), func(x io.Io) error {
				enter(&stagingN, &stagingMax, w)
				if i%2 == 0 {
					enter(&gpuN, &gpuMax, 1)
				} else {
					enter(&diskN, &diskMax, 1)
				}
				err := x.Sleep(200 * time.Microsecond)
				stagingN.Add(-w)
				if i%2 == 0 {
					gpuN.Add(-1)
				} else {
					diskN.Add(-1)
				}
				return err
			}, tasks.Needs(staging, w), func() tasks.Option {
				if i%2 == 0 {
					return tasks.Needs(gpuSem, 1)
				}
				return tasks.Needs(disk, 1)
			}())
		}
		rep, err := g.Run(x, tasks.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if gpuMax.Load() > 2 || diskMax.Load() > 3 || stagingMax.Load() > 100 {
			t.Fatalf("limits exceeded: gpu %d disk %d staging %d", gpuMax.Load(), diskMax.Load(), stagingMax.Load())
		}
		if gpuSem.Peak() > 2 || disk.Peak() > 3 || staging.Peak() > 100 || rep.Peak["staging"] > 100 {
			t.Fatalf("semaphore peaks %d %d %d", gpuSem.Peak(), disk.Peak(), staging.Peak())
		}
		if gpuSem.InUse() != 0 || disk.InUse() != 0 || staging.InUse() != 0 {
			t.Fatal("weights still held after the run")
		}
		if x.Kind() == io.KindThreaded && gpuMax.Load() < 2 {
			t.Logf("note: no overlap seen (gpu max %d)", gpuMax.Load())
		}
	})
}

// With CancelAll the first failure cancels running tasks and skips the rest;
// with CancelDependents only its dependents are skipped.
func TestGraphErrorPolicy(t *testing.T) {
	boom := errors.New("boom")
	ios(t, func(t *testing.T, x io.Io) {
		for _, pol := range []tasks.Policy{tasks.CancelAll, tasks.CancelDependents} {
			g := tasks.NewGraph()
			bad := g.Add("bad", func(x io.Io) error { return boom })
			sleep := 10 * time.Second
			if pol == tasks.CancelDependents {
				sleep = time.Millisecond
			}
			slow := g.Add("slow", func(x io.Io) error { return x.Sleep(sleep) })
			dep := g.Add("dep", func(x io.Io) error { return nil }, tasks.After(bad))
			indep := g.Add("indep", func(x io.Io) error { return nil }, tasks.After(g.Add("root", func(x io.Io) error { return x.Sleep(50 * time.Millisecond) })))
			start := time.Now()
			rep, err := g.Run(x, tasks.RunOptions{Policy: pol})
			var te *tasks.Error
			if !errors.Is(err, boom) || !errors.As(err, &te) || te.Task != "bad" {
				t.Fatalf("policy %d: err %v", pol, err)
			}
			if bad.State() != tasks.Failed || dep.State() != tasks.Skipped || !errors.Is(dep.Err(), tasks.ErrSkipped) {
				t.Fatalf("bad %v dep %v %v", bad.State(), dep.State(), dep.Err())
			}
			if rep.Failed != 1 {
				t.Errorf("report %+v", rep)
			}
			switch pol {
			case tasks.CancelAll:
				if time.Since(start) > 5*time.Second {
					t.Fatal("the slow task was not canceled")
				}
				// Under Blocking "slow" never started; otherwise it was canceled.
				if (slow.State() != tasks.Canceled && slow.State() != tasks.Skipped) || indep.State() != tasks.Skipped {
					t.Errorf("slow %v indep %v", slow.State(), indep.State())
				}
			case tasks.CancelDependents:
				if slow.State() != tasks.Done || indep.State() != tasks.Done {
					t.Errorf("slow %v indep %v", slow.State(), indep.State())
				}
			}
		}
	})
}

// Canceling the caller (through a context) stops the run promptly; the error
// matches context.Canceled; nothing leaks.
func TestGraphCancel(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	ctx, cancel := context.WithCancel(context.Background())
	x, stop := th.Io().WithContext(ctx)
	defer stop()
	g := tasks.NewGraph()
	started := make(chan struct{})
	var once sync.Once
	for i := range 8 {
		g.Add(fmt.Sprint("sleeper", i), func(x io.Io) error {
			once.Do(func() { close(started) })
			return x.Sleep(time.Minute)
		})
	}
	go func() { <-started; cancel() }()
	t0 := time.Now()
	rep, err := g.Run(x, tasks.RunOptions{})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("err %v", err)
	}
	if time.Since(t0) > 10*time.Second || rep.Tasks != 0 || rep.Canceled != 8 {
		t.Fatalf("took %v, report %+v", time.Since(t0), rep)
	}
}

func TestGraphPanicAndCycle(t *testing.T) {
	x := io.NewBlocking().Io()
	g := tasks.NewGraph()
	g.Add("ok", func(io.Io) error { return nil })
	p := g.Add("panics", func(io.Io) error { panic("oops") })
	after := g.Add("after", func(io.Io) error { return nil }, tasks.After(p))
	_, err := g.Run(x, tasks.RunOptions{})
	var pe *tasks.PanicError
	if !errors.Is(err, tasks.ErrPanic) || !errors.As(err, &pe) || pe.Value != "oops" || len(pe.Stack) == 0 {
		t.Fatalf("err %v", err)
	}
	if after.State() != tasks.Skipped {
		t.Fatalf("after: %v", after.State())
	}
	if _, err := g.Run(x, tasks.RunOptions{}); !errors.Is(err, tasks.ErrInvalid) {
		t.Fatalf("second run: %v", err)
	}

	g = tasks.NewGraph()
	var a, b *tasks.Task
	a = g.Add("a", func(io.Io) error { return nil }, func(t *tasks.Task) {})
	b = g.Add("b", func(io.Io) error { return nil }, tasks.After(a))
	// Close the cycle a -> b -> a through an option applied late.
	tasks.After(b)(a)
	if _, err := g.Run(x, tasks.RunOptions{}); !errors.Is(err, tasks.ErrCycle) {
		t.Fatalf("cycle: %v", err)
	}
	other := tasks.NewGraph().Add("other", func(io.Io) error { return nil })
	g = tasks.NewGraph()
	g.Add("x", func(io.Io) error { return nil }, tasks.After(other))
	if _, err := g.Run(x, tasks.RunOptions{}); !errors.Is(err, tasks.ErrCycle) {
		t.Fatalf("foreign dependency: %v", err)
	}
	g = tasks.NewGraph()
	g.Add("big", func(io.Io) error { return nil }, tasks.Needs(tasks.NewSemaphore("s", 2), 3))
	if _, err := g.Run(x, tasks.RunOptions{}); !errors.Is(err, tasks.ErrLimit) {
		t.Fatalf("over limit: %v", err)
	}
}

func TestSemaphore(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	s := tasks.NewSemaphore("s", 4)
	if err := s.Acquire(x, 5); !errors.Is(err, tasks.ErrLimit) {
		t.Fatalf("over capacity: %v", err)
	}
	if err := s.Acquire(x, 3); err != nil {
		t.Fatal(err)
	}
	if s.TryAcquire(2) {
		t.Fatal("TryAcquire beyond capacity")
	}
	// A waiter for 2 parks; a canceled waiter for 4 queued behind gives up
	// without holding anything.
	got := io.Async(x, func(x io.Io) (int, error) { return 0, s.Acquire(x, 2) })
	time.Sleep(5 * time.Millisecond)
	if got.Done() {
		t.Fatal("Acquire(2) did not wait")
	}
	cx, cancel := x.WithCancel()
	big := io.Async(cx, func(x io.Io) (int, error) { return 0, s.Acquire(x, 4) })
	time.Sleep(2 * time.Millisecond)
	cancel()
	if _, err := big.Await(x); !errors.Is(err, io.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled acquire: %v", err)
	}
	s.Release(3)
	if _, err := got.Await(x); err != nil {
		t.Fatal(err)
	}
	if s.InUse() != 2 || s.Peak() != 3 {
		t.Fatalf("in use %d peak %d", s.InUse(), s.Peak())
	}
	s.Release(2)
	// Many tasks hammering it never exceed the capacity.
	var cur, peak atomic.Int64
	var g io.Group
	for i := range 64 {
		g.Async(x, func(x io.Io) error {
			n := int64(1 + i%4)
			if err := s.Acquire(x, n); err != nil {
				return err
			}
			v := cur.Add(n)
			for o := peak.Load(); v > o && !peak.CompareAndSwap(o, v); o = peak.Load() {
			}
			x.Sleep(50 * time.Microsecond)
			cur.Add(-n)
			s.Release(n)
			return nil
		})
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	if peak.Load() > 4 || s.Peak() > 4 || s.InUse() != 0 {
		t.Fatalf("peak %d/%d in use %d", peak.Load(), s.Peak(), s.InUse())
	}
}
