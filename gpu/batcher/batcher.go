// Package batcher shares GPU submissions between many callers: each caller
// enqueues one dispatch at a time and awaits it, and one task records every
// dispatch waiting at that moment (up to Options.MaxBatch) into one
// gpu.Batch and submits it, with at most Options.InFlight submissions
// running at once. While it waits for a submission slot, more dispatches
// queue up, so that a loaded batcher makes bigger batches and pays the
// submission's fixed cost (command buffer, fence, wake-up) once for many
// dispatches.
//
// Backpressure: the queue holds at most Options.Queue dispatches; Enqueue
// waits for room beyond that (a cancel point). Cancellation: a caller that
// cancels its future, or awaits it from a canceled task, drops its dispatch
// if it is still queued; once recorded, a dispatch's future completes only
// when the GPU has finished it, so that its buffers may then be freed.
//
// A Batcher runs as a task of the caller's Io (Run) and ends after Close,
// once every submission has completed.
package batcher

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// Options configure a Batcher. Zero fields take the defaults.
type Options struct {
	// Queue is how many dispatches may wait to be recorded; Enqueue waits
	// for room beyond (default 64).
	Queue int
	// InFlight is how many submissions may run on the GPU at once
	// (default 2).
	InFlight int
	// MaxBatch is the most dispatches recorded into one submission
	// (default 32).
	MaxBatch int
	// Recorder, if not nil, receives spans: recording and submitting,
	// waits for the GPU, and each dispatch's GPU time (from timestamps).
	Recorder *tasks.Recorder
	// Lane names the batcher's lanes in the Recorder: its dispatches' GPU
	// spans are on lane Lane and its CPU spans on Lane+" batcher" (e.g.
	// "device 1" and "device 1 batcher", one pair per device of a set).
	// Default: GPU lane "queue 0", CPU lane "gpu batcher".
	Lane string
}

// The lanes of a Batcher whose Options.Lane is empty.
const (
	// DefaultGPULane is the lane of its dispatches' GPU spans.
	DefaultGPULane = "queue 0"
	// DefaultCPULane is the lane of its record+submit and fence-wait
	// spans.
	DefaultCPULane = "gpu batcher"
)

// Dispatch is one dispatch: a kernel with its workgroup counts, push
// constants and buffers, as gpu.Batch.Dispatch takes them. The buffers must
// stay open until the dispatch's future has completed.
type Dispatch struct {
	Kernel  *gpu.Kernel
	Groups  [3]uint32
	Push    []byte
	Buffers []*gpu.Buffer
	// Name labels the dispatch's GPU span in the Recorder ("job 3 iter 0").
	Name string
	// Flow links the span to the caller's other spans in the Recorder
	// (tasks.Span.Flow and Frame); 0 for none.
	Flow uint64
}

// Done reports how a dispatch ran.
type Done struct {
	// Start and End are GPU timestamps around the dispatch, on the host
	// clock (zero where the device has no timestamps).
	Start, End time.Time
	// Batch is how many dispatches its submission held.
	Batch int
}

// Batcher records dispatches from many callers into shared submissions.
// Its methods may be called from any task.
type Batcher struct {
	d        *gpu.Device
	q        *io.Queue[*work]
	sem      *tasks.Semaphore
	maxBatch int
	rec      *tasks.Recorder
	gpuLane  string // the dispatches' GPU spans' lane
	cpuLane  string // the record+submit and fence-wait spans' lane

	submissions, dispatches atomic.Int64
}

type work struct {
	Dispatch
	state atomic.Int32 // queued, taken or dropped
	p     *io.Promise[Done]
}

const (
	queued int32 = iota
	taken
	dropped
)

// New returns a Batcher for d. It does nothing until Run runs.
func New(d *gpu.Device, opts Options) *Batcher {
	if opts.Queue <= 0 {
		opts.Queue = 64
	}
	if opts.InFlight <= 0 {
		opts.InFlight = 2
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 32
	}
	gpuLane, cpuLane := DefaultGPULane, DefaultCPULane
	if opts.Lane != "" {
		gpuLane, cpuLane = opts.Lane, opts.Lane+" batcher"
	}
	return &Batcher{
		d: d, q: io.NewQueue[*work](opts.Queue), sem: tasks.NewSemaphore("gpu submissions", int64(opts.InFlight)),
		maxBatch: opts.MaxBatch, rec: opts.Recorder, gpuLane: gpuLane, cpuLane: cpuLane,
	}
}

// Enqueue queues d and returns the future of its completion, waiting for
// room in the queue if it is full (a cancel point: it returns an error
// wrapping io.ErrCanceled when x is canceled first, and one wrapping
// io.ErrClosed after Close). Canceling the future (or awaiting it from a
// canceled task) drops d if it is still queued: the future then fails with
// an error wrapping io.ErrCanceled. Once d is recorded, the future
// completes only when the GPU has finished it.
func (b *Batcher) Enqueue(x io.Io, d Dispatch) (*io.Future[Done], error) {
	if d.Kernel == nil {
		return nil, errors.New("batcher: Enqueue: the dispatch has no kernel")
	}
	w := &work{Dispatch: d, p: io.NewPromise[Done]()}
	w.p.OnCancel(func() {
		if w.state.CompareAndSwap(queued, dropped) {
			w.p.Resolve(Done{}, fmt.Errorf("batcher: dispatch dropped from the queue: %w", io.ErrCanceled))
		}
	})
	if err := b.q.PutOne(x, w); err != nil {
		return nil, fmt.Errorf("batcher: Enqueue: %w", err)
	}
	return w.p.Future(), nil
}

// Do enqueues d and awaits it.
func (b *Batcher) Do(x io.Io, d Dispatch) (Done, error) {
	f, err := b.Enqueue(x, d)
	if err != nil {
		return Done{}, err
	}
	return f.Await(x)
}

// Close stops new dispatches (Enqueue fails with io.ErrClosed); those
// already queued are still submitted, and Run returns once every
// submission has completed.
func (b *Batcher) Close() { b.q.Close() }

// Submissions returns how many submissions the batcher has made.
func (b *Batcher) Submissions() int64 { return b.submissions.Load() }

// Dispatches returns how many dispatches it has submitted.
func (b *Batcher) Dispatches() int64 { return b.dispatches.Load() }

// InFlight returns how many submissions are being recorded or are on the
// GPU now (at most Options.InFlight).
func (b *Batcher) InFlight() int64 { return b.sem.InUse() }

// Run is the batcher's task: it records and submits until Close, then
// waits for the submissions in flight. Run it with io.Concurrent. When x is
// canceled, the dispatches not yet submitted fail with the cancellation
// and Run returns after the submissions in flight have completed.
func (b *Batcher) Run(x io.Io) error {
	var inflight io.Group
	items := make([]*work, b.maxBatch)
	var err error
	for {
		n, qerr := b.q.Get(x, items, 1)
		if n == 0 {
			if qerr != nil && !errors.Is(qerr, io.ErrClosed) {
				err = qerr
			}
			break
		}
		if aerr := b.sem.Acquire(x, 1); aerr != nil {
			for _, w := range items[:n] {
				if w.state.CompareAndSwap(queued, taken) {
					w.p.Resolve(Done{}, aerr)
				}
			}
			err = aerr
			break
		}
		// What arrived while we waited for a submission slot joins in.
		if n < len(items) {
			m, _ := b.q.Get(x, items[n:], 0)
			n += m
		}
		b.submit(x, &inflight, items[:n])
		clear(items)
	}
	if err != nil {
		// Nobody will take what is still queued: fail it.
		b.q.Close()
		for {
			n, _ := b.q.Get(x.WithoutCancel(), items, 0)
			if n == 0 {
				break
			}
			for _, w := range items[:n] {
				if w.state.CompareAndSwap(queued, taken) {
					w.p.Resolve(Done{}, err)
				}
			}
		}
	}
	return errors.Join(err, inflight.Wait(x.WithoutCancel()))
}

// submit records the live items into one batch, submits it, and starts a
// task that completes their futures when the GPU has finished.
func (b *Batcher) submit(x io.Io, inflight *io.Group, items []*work) {
	region := b.rec.Begin(tasks.CPU, b.cpuLane, "record+submit", -1)
	batch := b.d.NewBatch()
	var live []*work
	for _, w := range items {
		if !w.state.CompareAndSwap(queued, taken) {
			continue // dropped meanwhile
		}
		i := len(live)
		if err := batch.Timestamp(fmt.Sprintf("s%d", i)); err != nil {
			w.p.Resolve(Done{}, err)
			continue
		}
		if err := batch.Dispatch(w.Kernel, w.Groups, w.Push, w.Buffers...); err != nil {
			w.p.Resolve(Done{}, err)
			continue
		}
		if err := batch.Timestamp(fmt.Sprintf("e%d", i)); err != nil {
			w.p.Resolve(Done{}, err)
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		_ = batch.Close()
		b.sem.Release(1)
		region.End()
		return
	}
	fut := b.d.Submit(x, batch)
	b.submissions.Add(1)
	b.dispatches.Add(int64(len(live)))
	region.End()
	inflight.Async(x, func(x io.Io) error {
		wait := b.rec.Begin(tasks.CPU, b.cpuLane, "fence wait", -1).Waiting()
		c, err := fut.Await(x.WithoutCancel()) // the buffers are in use until the GPU is done
		wait.End()
		b.sem.Release(1)
		cerr := batch.Close()
		stamps := map[string]time.Time{}
		if c != nil {
			for _, st := range c.Stamps {
				stamps[st.Label] = st.At
			}
		}
		for i, w := range live {
			d := Done{Start: stamps[fmt.Sprintf("s%d", i)], End: stamps[fmt.Sprintf("e%d", i)], Batch: len(live)}
			if err == nil && !d.Start.IsZero() && !d.End.IsZero() && w.Name != "" {
				b.rec.Add(tasks.Span{Res: tasks.GPU, Lane: b.gpuLane, Name: w.Name,
					Start: d.Start, End: d.End, Frame: int(w.Flow), Flow: w.Flow})
			}
			w.p.Resolve(d, errors.Join(err, cerr))
		}
		return nil
	})
}
