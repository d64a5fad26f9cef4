package batcher_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

func TestMain(m *testing.M) { gputest.Main(m) }

// saxpyJob is one caller's data: y = a*x + y on n floats.
type saxpyJob struct {
	x, y *gpu.Buffer
	a    float32
	n    int
}

func newSaxpyJob(t testing.TB, x io.Io, d *gpu.Device, a float32, n int) *saxpyJob {
	t.Helper()
	xs := make([]float32, n)
	ys := make([]float32, n)
	for i := range xs {
		xs[i], ys[i] = float32(i), 1
	}
	bx, err := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, xs)
	if err != nil {
		t.Fatal(err)
	}
	by, err := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, ys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bx.Close(); by.Close() })
	return &saxpyJob{x: bx, y: by, a: a, n: n}
}

func (j *saxpyJob) dispatch(k *gpu.Kernel) batcher.Dispatch {
	return batcher.Dispatch{Kernel: k, Groups: k.Groups(j.n), Push: gpu.Push(j.a, uint32(j.n)), Buffers: []*gpu.Buffer{j.x, j.y}}
}

// check checks y after times runs of the dispatch.
func (j *saxpyJob) check(t testing.TB, x io.Io, times int) {
	t.Helper()
	out := make([]float32, j.n)
	if err := gpu.Download(x, j.y, 0, out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if want := 1 + float32(times)*j.a*float32(i); v != want {
			t.Fatalf("a=%v: y[%d] = %v, want %v", j.a, i, v, want)
		}
	}
}

func setup(t *testing.T) (io.Io, *gpu.Device, *gpu.Kernel) {
	b := io.NewThreaded(io.ThreadedOptions{})
	t.Cleanup(func() { b.Close() })
	d := gputest.Open(t, gpu.Options{})
	k, err := d.NewKernel(shaders.SAXPY(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return b.Io(), d, k
}

// start runs bt and returns the function that closes it and checks Run's result.
func start(t *testing.T, x io.Io, bt *batcher.Batcher) func() {
	f, err := io.Concurrent(x, func(x io.Io) (struct{}, error) { return struct{}{}, bt.Run(x) })
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		bt.Close()
		if _, err := f.Await(x); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

// Many callers at once, each awaiting its own dispatches: every result is
// right, whatever batches they shared.
func TestBatcherManyCallers(t *testing.T) {
	x, d, k := setup(t)
	bt := batcher.New(d, batcher.Options{Queue: 4, InFlight: 2, MaxBatch: 8})
	stop := start(t, x, bt)
	const callers, rounds = 12, 3
	jobs := make([]*saxpyJob, callers)
	for i := range jobs {
		jobs[i] = newSaxpyJob(t, x, d, float32(i+1), 1000+i)
	}
	var g io.Group
	for _, j := range jobs {
		if err := g.Concurrent(x, func(x io.Io) error {
			for range rounds {
				done, err := bt.Do(x, j.dispatch(k))
				if err != nil {
					return err
				}
				if done.Batch < 1 || done.Batch > 8 {
					return fmt.Errorf("batch of %d", done.Batch)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Wait(x); err != nil {
		t.Fatal(err)
	}
	stop()
	for _, j := range jobs {
		j.check(t, x, rounds)
	}
	if got := bt.Dispatches(); got != callers*rounds {
		t.Fatalf("Dispatches = %d, want %d", got, callers*rounds)
	}
	t.Logf("%d dispatches in %d submissions", bt.Dispatches(), bt.Submissions())
}

// Dispatches queued before Run starts are recorded MaxBatch at a time.
func TestBatcherBatches(t *testing.T) {
	x, d, k := setup(t)
	bt := batcher.New(d, batcher.Options{Queue: 10, InFlight: 1, MaxBatch: 4})
	j := newSaxpyJob(t, x, d, 2, 256)
	var futs []*io.Future[batcher.Done]
	for range 10 {
		f, err := bt.Enqueue(x, j.dispatch(k))
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	stop := start(t, x, bt)
	var sizes []int
	for _, f := range futs {
		done, err := f.Await(x)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, done.Batch)
	}
	stop()
	if want := []int{4, 4, 4, 4, 4, 4, 4, 4, 2, 2}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Fatalf("batch sizes %v, want %v", sizes, want)
	}
	if bt.Submissions() != 3 || bt.Dispatches() != 10 {
		t.Fatalf("%d submissions, %d dispatches; want 3, 10", bt.Submissions(), bt.Dispatches())
	}
	j.check(t, x, 10)
}

// A full queue holds Enqueue back until there is room; a canceled future
// drops its queued dispatch, which never runs.
func TestBatcherBackpressureAndCancel(t *testing.T) {
	x, d, k := setup(t)
	bt := batcher.New(d, batcher.Options{Queue: 1, InFlight: 1, MaxBatch: 4})
	j := newSaxpyJob(t, x, d, 3, 64)
	f, err := bt.Enqueue(x, j.dispatch(k))
	if err != nil {
		t.Fatal(err)
	}
	// The queue is full and nobody takes from it: Enqueue waits until canceled.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	cx, stopCx := x.WithContext(ctx)
	_, err = bt.Enqueue(cx, j.dispatch(k))
	stopCx()
	if !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("Enqueue on a full queue = %v, want ErrCanceled", err)
	}
	// Canceling the queued dispatch drops it.
	if _, err := f.Cancel(x); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled dispatch = %v, want ErrCanceled", err)
	}
	stop := start(t, x, bt)
	stop()
	if bt.Dispatches() != 0 {
		t.Fatalf("a dropped dispatch ran: %d dispatches", bt.Dispatches())
	}
	j.check(t, x, 0)
	// After Close, Enqueue fails.
	if _, err := bt.Enqueue(x, j.dispatch(k)); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("Enqueue after Close = %v, want ErrClosed", err)
	}
}

// A canceled Run fails what is queued and returns the cancellation.
func TestBatcherRunCanceled(t *testing.T) {
	x, d, k := setup(t)
	bt := batcher.New(d, batcher.Options{})
	j := newSaxpyJob(t, x, d, 3, 64)
	cx, cancel := x.WithCancel()
	cancel()
	f, err := bt.Enqueue(x, j.dispatch(k))
	if err != nil {
		t.Fatal(err)
	}
	if err := bt.Run(cx); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled Run = %v", err)
	}
	if _, err := f.Await(x); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("dispatch queued in a canceled Run = %v", err)
	}
	if _, err := bt.Enqueue(x, batcher.Dispatch{}); err == nil {
		t.Fatal("Enqueue of a dispatch without a kernel succeeded")
	}
}

// benchCallers is how many callers run dispatches at once in the benchmarks.
const benchCallers = 16

// runCallers runs benchCallers callers that share b.N small dispatches,
// each awaited by its caller before the next, through submit.
func runCallers(b *testing.B, x io.Io, d *gpu.Device, submit func(x io.Io, dsp batcher.Dispatch) error) {
	k, err := d.NewKernel(shaders.SAXPY(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	jobs := make([]*saxpyJob, benchCallers)
	for i := range jobs {
		jobs[i] = newSaxpyJob(b, x, d, 1, 1024)
	}
	var mu sync.Mutex
	left := b.N
	b.ResetTimer()
	var g io.Group
	for _, j := range jobs {
		if err := g.Concurrent(x, func(x io.Io) error {
			for {
				mu.Lock()
				if left == 0 {
					mu.Unlock()
					return nil
				}
				left--
				mu.Unlock()
				if err := submit(x, j.dispatch(k)); err != nil {
					return err
				}
			}
		}); err != nil {
			b.Fatal(err)
		}
	}
	if err := g.Wait(x); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

func benchDevice(b *testing.B) (io.Io, *gpu.Device) {
	tb := io.NewThreaded(io.ThreadedOptions{})
	b.Cleanup(func() { tb.Close() })
	return tb.Io(), gputest.Open(b, gpu.Options{})
}

// BenchmarkBatcher: 16 callers' dispatches through a Batcher (defaults).
func BenchmarkBatcher(b *testing.B) {
	x, d := benchDevice(b)
	bt := batcher.New(d, batcher.Options{})
	f, err := io.Concurrent(x, func(x io.Io) (struct{}, error) { return struct{}{}, bt.Run(x) })
	if err != nil {
		b.Fatal(err)
	}
	runCallers(b, x, d, func(x io.Io, dsp batcher.Dispatch) error {
		_, err := bt.Do(x, dsp)
		return err
	})
	bt.Close()
	if _, err := f.Await(x); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bt.Dispatches())/float64(max(bt.Submissions(), 1)), "dispatches/submission")
}

// BenchmarkOnePerJob: the same dispatches, one submission each.
func BenchmarkOnePerJob(b *testing.B) {
	x, d := benchDevice(b)
	runCallers(b, x, d, func(x io.Io, dsp batcher.Dispatch) error {
		bat := d.NewBatch()
		defer bat.Close()
		if err := bat.Dispatch(dsp.Kernel, dsp.Groups, dsp.Push, dsp.Buffers...); err != nil {
			return err
		}
		_, err := d.Submit(x, bat).Await(x)
		return err
	})
}
