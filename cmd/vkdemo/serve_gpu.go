package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
	"github.com/vkio/vkio/tasks"
)

// gpuWork is one dispatch of a job, queued for the GPU scheduler.
type gpuWork struct {
	k      *gpu.Kernel
	groups [3]uint32
	push   []byte
	bufs   []*gpu.Buffer
	job    uint64
	iter   int

	state atomic.Int32 // workQueued, workTaken or workDropped
	p     *io.Promise[gpuDone]
}

const (
	workQueued int32 = iota
	workTaken
	workDropped
)

// gpuDone reports when a dispatch ran.
type gpuDone struct {
	start, end time.Time // GPU timestamps around the dispatch
	batch      int       // dispatches in its submission
}

// gpuSched is the server's GPU scheduler: jobs queue dispatches, one task
// records every dispatch waiting at that moment (up to maxBatch) into one
// batch and submits it, with at most inflight submissions running (a
// tasks.Semaphore). While it waits for a submission slot, more dispatches
// queue up, so a loaded server makes bigger batches.
type gpuSched struct {
	d        *gpu.Device
	q        *io.Queue[*gpuWork]
	sem      *tasks.Semaphore
	maxBatch int
	rec      *tasks.Recorder

	batches, dispatches atomic.Int64
}

func newGPUSched(d *gpu.Device, queue, inflight, maxBatch int, rec *tasks.Recorder) *gpuSched {
	return &gpuSched{
		d: d, q: io.NewQueue[*gpuWork](queue), sem: tasks.NewSemaphore("gpu submissions", int64(inflight)),
		maxBatch: maxBatch, rec: rec,
	}
}

// enqueue queues w and returns the future of its completion. Canceling the
// future (or awaiting it from a canceled task) drops w if it is still
// queued; once it is in a submission, the future completes only when the GPU
// has finished it, so that its buffers can be freed safely.
func (g *gpuSched) enqueue(x io.Io, w *gpuWork) (*io.Future[gpuDone], error) {
	w.p = io.NewPromise[gpuDone]()
	w.p.OnCancel(func() {
		if w.state.CompareAndSwap(workQueued, workDropped) {
			w.p.Resolve(gpuDone{}, fmt.Errorf("dropped from the GPU queue: %w", io.ErrCanceled))
		}
	})
	if err := g.q.PutOne(x, w); err != nil {
		return nil, err
	}
	return w.p.Future(), nil
}

// run is the scheduler's task: it ends when the queue is closed and every
// submission has completed.
func (g *gpuSched) run(x io.Io) error {
	var inflight io.Group
	items := make([]*gpuWork, g.maxBatch)
	var err error
	for {
		n, qerr := g.q.Get(x, items, 1)
		if n == 0 {
			if qerr != nil && !errors.Is(qerr, io.ErrClosed) {
				err = qerr
			}
			break
		}
		if aerr := g.sem.Acquire(x, 1); aerr != nil {
			for _, w := range items[:n] {
				if w.state.CompareAndSwap(workQueued, workTaken) {
					w.p.Resolve(gpuDone{}, aerr)
				}
			}
			err = aerr
			break
		}
		// What arrived while we waited for a submission slot joins in.
		if n < len(items) {
			m, _ := g.q.Get(x, items[n:], 0)
			n += m
		}
		g.submit(x, &inflight, items[:n])
		clear(items)
	}
	return errors.Join(err, inflight.Wait(x.WithoutCancel()))
}

// submit records the live items into one batch, submits it, and starts a
// task that completes their futures when the GPU has finished.
func (g *gpuSched) submit(x io.Io, inflight *io.Group, items []*gpuWork) {
	region := g.rec.Begin(tasks.CPU, "gpu scheduler", "record+submit", -1)
	b := g.d.NewBatch()
	var live []*gpuWork
	for _, w := range items {
		if !w.state.CompareAndSwap(workQueued, workTaken) {
			continue // dropped meanwhile
		}
		i := len(live)
		if err := b.Timestamp(fmt.Sprintf("s%d", i)); err != nil {
			w.p.Resolve(gpuDone{}, err)
			continue
		}
		if err := b.Dispatch(w.k, w.groups, w.push, w.bufs...); err != nil {
			w.p.Resolve(gpuDone{}, err)
			continue
		}
		if err := b.Timestamp(fmt.Sprintf("e%d", i)); err != nil {
			w.p.Resolve(gpuDone{}, err)
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		_ = b.Close()
		g.sem.Release(1)
		region.End()
		return
	}
	fut := g.d.Submit(x, b)
	g.batches.Add(1)
	g.dispatches.Add(int64(len(live)))
	region.End()
	inflight.Async(x, func(x io.Io) error {
		wait := g.rec.Begin(tasks.CPU, "gpu scheduler", "fence wait", -1).Waiting()
		c, err := fut.Await(x.WithoutCancel()) // the buffers are in use until the GPU is done
		wait.End()
		g.sem.Release(1)
		cerr := b.Close()
		stamps := map[string]time.Time{}
		if c != nil {
			for _, st := range c.Stamps {
				stamps[st.Label] = st.At
			}
		}
		for i, w := range live {
			d := gpuDone{start: stamps[fmt.Sprintf("s%d", i)], end: stamps[fmt.Sprintf("e%d", i)], batch: len(live)}
			if err == nil && !d.start.IsZero() && !d.end.IsZero() {
				g.rec.Add(tasks.Span{Res: tasks.GPU, Lane: "queue 0", Name: fmt.Sprintf("job %d iter %d", w.job, w.iter),
					Start: d.start, End: d.end, Frame: int(w.job), Flow: w.job})
			}
			w.p.Resolve(d, errors.Join(err, cerr))
		}
		return nil
	})
}

// kernelCache keeps built kernels by module and specialization, so that
// jobs of the same kind share a pipeline. It holds at most max kernels;
// beyond that, jobs build their own and close them when done.
type kernelCache struct {
	mu  sync.Mutex
	d   *gpu.Device
	m   map[string]*gpu.Kernel
	max int
}

func newKernelCache(d *gpu.Device, max int) *kernelCache {
	return &kernelCache{d: d, m: map[string]*gpu.Kernel{}, max: max}
}

// moduleKey is the part of a kernel cache key that names a SPIR-V module:
// the hex SHA-256 of its bytes. parseJob computes it once per job (once
// per process for the built-in kernels).
func moduleKey(spirv []byte) string {
	sum := sha256.Sum256(spirv)
	return hex.EncodeToString(sum[:])
}

// get returns the kernel of spirv, whose moduleKey is modKey, with opts;
// owned reports a kernel that is not cached, which the caller must close
// once its work is done.
func (kc *kernelCache) get(spirv []byte, modKey string, opts *gpu.KernelOptions) (k *gpu.Kernel, owned bool, err error) {
	key := modKey
	if len(opts.Spec) > 0 {
		ids := make([]uint32, 0, len(opts.Spec))
		for id := range opts.Spec {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var b strings.Builder
		b.WriteString(modKey)
		for _, id := range ids {
			fmt.Fprintf(&b, ",%d=%T:%v", id, opts.Spec[id], opts.Spec[id])
		}
		key = b.String()
	}
	kc.mu.Lock()
	k = kc.m[key]
	kc.mu.Unlock()
	if k != nil {
		return k, false, nil
	}
	k, err = kc.d.NewKernel(spirv, opts)
	if err != nil {
		return nil, false, err
	}
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if old := kc.m[key]; old != nil {
		_ = k.Close() // another job built it meanwhile; nothing used ours
		return old, false, nil
	}
	if len(kc.m) >= kc.max {
		return k, true, nil
	}
	kc.m[key] = k
	return k, false, nil
}

// close closes the cached kernels (after every batch is closed).
func (kc *kernelCache) close() error {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	var errs []error
	for key, k := range kc.m {
		errs = append(errs, k.Close())
		delete(kc.m, key)
	}
	return errors.Join(errs...)
}

// builtinKernel is a built-in kernel as jobs use it: reflected, with its
// element types and kernel cache key, or the error of its reflection.
type builtinKernel struct {
	prog *program
	key  string // moduleKey of prog.spirv
	err  error  // from gpu.Reflect; prog and key are unset then
}

// builtinKernels is the table of the built-in kernels, built once: jobs and
// GET /kernels only read it.
var builtinKernels = sync.OnceValue(func() map[string]*builtinKernel {
	out := make(map[string]*builtinKernel, len(shaders.All()))
	for name, spirv := range shaders.All() {
		r, err := gpu.Reflect(spirv)
		if err != nil {
			out[name] = &builtinKernel{err: err}
			continue
		}
		out[name] = &builtinKernel{prog: &program{spirv: spirv, refl: r, types: elementTypes(r)}, key: moduleKey(spirv)}
	}
	return out
})

// builtinKernelsJSON describes the built-in kernels for GET /kernels; it is
// built once, and only read afterwards.
var builtinKernelsJSON = sync.OnceValue(func() map[string]any {
	out := map[string]any{}
	for name, bk := range builtinKernels() {
		if bk.err != nil {
			continue
		}
		r, types := bk.prog.refl, bk.prog.types
		var bs []map[string]any
		for _, b := range r.Bindings {
			t := f32
			if tt, ok := types[b.Binding]; ok {
				t = tt
			}
			bs = append(bs, map[string]any{"binding": b.Binding, "type": t.String(), "readonly": b.ReadOnly, "runtime_array": b.RuntimeArray, "min_bytes": b.MinSize})
		}
		var spec []map[string]any
		for _, sp := range r.Spec {
			spec = append(spec, map[string]any{"id": sp.ID, "type": sp.Type.String(), "default": sp.Default})
		}
		out[name] = map[string]any{"local_size": r.LocalSize, "push_bytes": r.PushSize, "bindings": bs, "spec": spec}
	}
	return out
})
