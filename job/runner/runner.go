// Package runner is the room where a resolved job meets the GPU: it makes
// a job's kernel and buffers on a gpu.Device, dispatches it for its
// iterations through the caller's Dispatcher (one submission per dispatch,
// or a shared batcher), reports each iteration's outputs to a Sink as it
// completes, and saves bindings through the caller's Saver. vkdemo run,
// serve's in-process jobs and serve's worker processes all run jobs with
// Run.
//
// Package job (cgo-free) describes and checks jobs; this package is the
// part that needs the GPU.
package runner

import (
	"errors"
	"fmt"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
)

// Program is a job's shader: its name (for messages), SPIR-V and
// reflection, and the element types of its bindings (nil: from Elem).
type Program struct {
	Name  string
	SPIRV []byte
	Refl  *gpu.Reflection
	Types map[uint32]job.DType
}

// Shader is what package job needs of p.
func (p *Program) Shader() *job.Shader {
	types := p.Types
	if types == nil {
		types = ElementTypes(p.Refl)
	}
	sh := &job.Shader{Name: p.Name, PushSize: p.Refl.PushSize, LocalSize: p.Refl.LocalSize, LocalSizeSpec: p.Refl.LocalSizeSpec}
	for _, b := range p.Refl.Bindings {
		if b.Set != 0 {
			continue
		}
		t, ok := types[b.Binding]
		sh.Bindings = append(sh.Bindings, job.BindingInfo{Binding: b.Binding, Uniform: b.Kind == gpu.UniformBuffer,
			ReadOnly: b.ReadOnly, MinSize: b.MinSize, RuntimeArray: b.RuntimeArray, Elem: t, HasElem: ok})
	}
	for _, s := range p.Refl.Spec {
		sh.Spec = append(sh.Spec, job.SpecConst{ID: s.ID, Type: job.SpecType(s.Type)})
	}
	return sh
}

// ElementTypes maps each binding of set 0 to the element type of its data,
// as gpu.Reflect reports it (BindingInfo.Elem). Bindings whose element type
// has none in package job (float16, unknown) are missing.
func ElementTypes(r *gpu.Reflection) map[uint32]job.DType {
	out := map[uint32]job.DType{}
	for _, b := range r.Bindings {
		if b.Set != 0 {
			continue
		}
		if t, ok := scalarTypes[b.Elem]; ok {
			out[b.Binding] = t
		}
	}
	return out
}

var scalarTypes = map[gpu.Scalar]job.DType{
	gpu.Float32: job.F32, gpu.Float64: job.F64,
	gpu.Int8: job.I8, gpu.Uint8: job.U8, gpu.Int16: job.I16, gpu.Uint16: job.U16,
	gpu.Int32: job.I32, gpu.Uint32: job.U32, gpu.Int64: job.I64, gpu.Uint64: job.U64,
}

// Dispatch is one dispatch of a job.
type Dispatch struct {
	Kernel  *gpu.Kernel
	Groups  [3]uint32
	Push    []byte
	Buffers []*gpu.Buffer
	Iter    int
}

// Done is a completed dispatch: its GPU time (0 when unknown) and the
// number of dispatches its submission carried.
type Done struct {
	GPUTime time.Duration
	Batch   int
}

// Pending is a submitted dispatch.
type Pending interface {
	// Await waits for the dispatch.
	Await(x io.Io) (Done, error)
	// Cancel drops the dispatch if it has not started, else waits for it.
	Cancel(x io.Io)
}

// Dispatcher submits dispatches: Direct (one submission each), or a
// batcher shared by many jobs.
type Dispatcher interface {
	Submit(x io.Io, d Dispatch) (Pending, error)
}

// Sink receives a running job's reports.
type Sink interface {
	// Start is called once the job is ready, before its first dispatch.
	Start(r *Result) error
	// Frame reports binding b's contents after iteration iter. data is
	// valid until Frame returns.
	Frame(iter int, b *job.Binding, data []byte) error
	// Finish is called after the last iteration, before the saves, with
	// the bindings' final contents in r.
	Finish(r *Result) error
}

// Saver writes binding's contents, of type t, where s says.
type Saver interface {
	Save(x io.Io, binding uint32, s job.Save, t job.DType, data []byte) error
}

// Options are the parts of a run the caller chooses.
type Options struct {
	// Names words messages (default job.JSONNames).
	Names job.Namer
	// Read reads file sources (nil: they are refused).
	Read job.ReadFunc
	// Kernel makes the job's kernel (default: Device.NewKernel, closed
	// after the run). release, when not nil, is called when the run is
	// done with it.
	Kernel func(opts *gpu.KernelOptions) (k *gpu.Kernel, release func() error, err error)
	// Dispatcher submits the dispatches (default Direct).
	Dispatcher Dispatcher
	// DeviceLocal puts the buffers in the GPU's own memory, copied in and
	// out (vkdemo run), instead of host-visible memory read in place.
	DeviceLocal bool
	// Sink receives the run's reports (nil: none).
	Sink Sink
	// Saver writes the job's saves (nil: a job with saves fails).
	Saver Saver
	// Abandoned, when it returns true after the run, leaves the kernel and
	// buffers open: the GPU may still use them (a dispatch given up after
	// a cancellation); the process exit frees them.
	Abandoned func() bool
}

// Result is what a run did.
type Result struct {
	Job       *job.Job
	Program   *Program
	LocalSize [3]uint32
	Groups    [3]uint32
	// How says how Groups was chosen, worded by Options.Names.
	How string
	// Bindings are the job's bindings; after Finish, with their final
	// contents (the writable ones read back).
	Bindings []*job.Binding
	// Streamed are the bindings reported after each iteration.
	Streamed []*job.Binding
	// GPUTime sums the dispatches' GPU times; Batches are the sizes of
	// their submissions.
	GPUTime time.Duration
	Batches []int
	// Saved lists the paths saved, in binding order.
	Saved []string
}

// Run runs j, whose shader is prog, on d.
//
// Its uploads and downloads are not cancel points (a canceled copy would
// leave buffers in use by the GPU when closed); cancellation is checked
// after each, and the Dispatcher decides how its waits end.
func Run(x io.Io, d *gpu.Device, j *job.Job, prog *Program, o Options) (res *Result, err error) {
	names := o.Names
	if names == nil {
		names = job.JSONNames
	}
	abandoned := func() bool { return o.Abandoned != nil && o.Abandoned() }
	if o.Sink == nil {
		o.Sink = nopSink{}
	}
	wx := x.WithoutCancel()
	r, err := j.Resolve(prog.Shader(), o.Read, names)
	if err != nil {
		return nil, err
	}
	// Outputs and saves name bindings the shader has.
	have := map[uint32]*job.Binding{}
	for _, b := range r.Bindings {
		have[b.Info.Binding] = b
	}
	var streamed []*job.Binding
	if j.Outputs == nil {
		for _, b := range r.Bindings {
			if !b.Info.ReadOnly {
				streamed = append(streamed, b)
			}
		}
	} else {
		seen := map[uint32]bool{}
		for _, o := range j.Outputs {
			b := have[o]
			if b == nil {
				return nil, &job.Error{Field: job.FieldOutputs, Usage: true, Msg: fmt.Sprintf("%s: %s has no binding %d", names(job.FieldOutputs), prog.Name, o)}
			}
			if !seen[o] {
				seen[o] = true
				streamed = append(streamed, b)
			}
		}
	}
	kopts := &gpu.KernelOptions{Spec: r.Spec}
	var k *gpu.Kernel
	var release func() error
	if o.Kernel != nil {
		k, release, err = o.Kernel(kopts)
	} else {
		k, err = d.NewKernel(prog.SPIRV, kopts)
		if err == nil {
			release = k.Close
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prog.Name, err)
	}
	defer func() {
		if release != nil && !abandoned() {
			err = errors.Join(err, release())
		}
	}()
	mem := gpu.HostVisible
	if o.DeviceLocal {
		mem = gpu.DeviceLocal
	}
	bufs := make([]*gpu.Buffer, len(r.Bindings))
	for i, b := range r.Bindings {
		buf, err := d.NewBuffer(len(b.Data), mem)
		if err != nil {
			return nil, fmt.Errorf("binding %d: %w", b.Info.Binding, err)
		}
		bufs[i] = buf
		defer func() {
			if !abandoned() {
				err = errors.Join(err, buf.Close())
			}
		}()
		if err := put(wx, buf, b.Data, o.DeviceLocal); err != nil {
			return nil, fmt.Errorf("binding %d: %w", b.Info.Binding, err)
		}
		if err := x.CheckCancel(); err != nil {
			return nil, err
		}
	}
	bufOf := map[*job.Binding]*gpu.Buffer{}
	for i, b := range r.Bindings {
		bufOf[b] = bufs[i]
	}
	res = &Result{Job: j, Program: prog, LocalSize: k.LocalSize(), Bindings: r.Bindings, Streamed: streamed}
	res.Groups, res.How = j.Workgroups(res.LocalSize, job.Counts(r.Bindings), names)
	// What to read back after each iteration: the streamed bindings and
	// the saved ones (snapshots, so that a frame goes out while the next
	// iteration computes).
	type kept struct {
		b    *job.Binding
		buf  *gpu.Buffer
		snap []byte
	}
	var keep []*kept
	isStreamed := map[*job.Binding]bool{}
	for _, b := range streamed {
		isStreamed[b] = true
	}
	for _, b := range r.Bindings {
		if isStreamed[b] || b.Save != nil {
			keep = append(keep, &kept{b: b, buf: bufOf[b], snap: make([]byte, len(b.Data))})
		}
	}
	if err := o.Sink.Start(res); err != nil {
		return nil, err
	}
	send := func(iter int) error {
		for _, kp := range keep {
			if isStreamed[kp.b] {
				if err := o.Sink.Frame(iter, kp.b, kp.snap); err != nil {
					return err
				}
			}
		}
		return nil
	}
	dispatcher := o.Dispatcher
	if dispatcher == nil {
		dispatcher = Direct{Device: d}
	}
	iters := max(j.Iterations, 1)
	for iter := range iters {
		p, err := dispatcher.Submit(x, Dispatch{Kernel: k, Groups: res.Groups, Push: r.Push, Buffers: bufs, Iter: iter})
		if err != nil {
			return nil, err
		}
		if iter > 0 {
			if err := send(iter - 1); err != nil { // the previous iteration goes out while this one computes
				p.Cancel(x)
				return nil, err
			}
		}
		done, err := p.Await(x)
		if err != nil {
			return nil, err
		}
		res.GPUTime += done.GPUTime
		res.Batches = append(res.Batches, done.Batch)
		if err := x.CheckCancel(); err != nil {
			return nil, err
		}
		for _, kp := range keep {
			if err := get(wx, kp.buf, kp.snap, o.DeviceLocal); err != nil {
				return nil, fmt.Errorf("binding %d: %w", kp.b.Info.Binding, err)
			}
			if err := x.CheckCancel(); err != nil {
				return nil, err
			}
		}
	}
	if err := send(iters - 1); err != nil {
		return nil, err
	}
	for _, kp := range keep {
		kp.b.Data = kp.snap
	}
	if err := o.Sink.Finish(res); err != nil {
		return nil, err
	}
	return res, save(x, o, res)
}

// save writes the saved bindings, concurrently where the Io allows.
func save(x io.Io, o Options, res *Result) error {
	var g io.Group
	saved := make([]string, len(res.Bindings))
	for i, b := range res.Bindings {
		if b.Save == nil {
			continue
		}
		if o.Saver == nil {
			return fmt.Errorf("binding %d: this runner saves nothing", b.Info.Binding)
		}
		g.Async(x, func(x io.Io) error {
			if err := o.Saver.Save(x, b.Info.Binding, *b.Save, b.Type, b.Data); err != nil {
				return err
			}
			saved[i] = b.Save.Path
			return nil
		})
	}
	err := g.Wait(x)
	for _, p := range saved {
		if p != "" {
			res.Saved = append(res.Saved, p)
		}
	}
	return err
}

// nopSink drops every report.
type nopSink struct{}

func (nopSink) Start(*Result) error                   { return nil }
func (nopSink) Frame(int, *job.Binding, []byte) error { return nil }
func (nopSink) Finish(*Result) error                  { return nil }

// put copies data into buf.
func put(x io.Io, buf *gpu.Buffer, data []byte, staged bool) error {
	if staged {
		return gpu.Upload(x, buf, 0, data)
	}
	mem, err := buf.Bytes()
	if err != nil {
		return err
	}
	copy(mem, data)
	return nil
}

// get copies buf into data.
func get(x io.Io, buf *gpu.Buffer, data []byte, staged bool) error {
	if staged {
		return gpu.Download(x, buf, 0, data)
	}
	mem, err := buf.Bytes()
	if err != nil {
		return err
	}
	copy(data, mem)
	return nil
}

// Direct is the Dispatcher that submits each dispatch on its own, with
// timestamps around it, and waits for it in Submit.
type Direct struct {
	Device *gpu.Device
	// Wait runs the batch and waits for it (default: Device.Run). what
	// names the dispatch for messages.
	Wait func(x io.Io, b *gpu.Batch, what string) (*gpu.Completion, error)
	// Abandoned, when it returns true, leaves the batch open (see
	// Options.Abandoned).
	Abandoned func() bool
}

// Submit records, runs and waits for d.
func (dd Direct) Submit(x io.Io, d Dispatch) (Pending, error) {
	batch := dd.Device.NewBatch()
	done, err := dd.run(x, batch, d)
	if dd.Abandoned == nil || !dd.Abandoned() {
		err = errors.Join(err, batch.Close())
	}
	if err != nil {
		return nil, err
	}
	return donePending(done), nil
}

func (dd Direct) run(x io.Io, batch *gpu.Batch, d Dispatch) (Done, error) {
	if err := batch.Timestamp("start"); err != nil {
		return Done{}, err
	}
	g := d.Groups
	if err := batch.Dispatch(d.Kernel, g, d.Push, d.Buffers...); err != nil {
		return Done{}, fmt.Errorf("dispatch %dx%dx%d workgroups: %w", g[0], g[1], g[2], err)
	}
	if err := batch.Timestamp("end"); err != nil {
		return Done{}, err
	}
	what := fmt.Sprintf("dispatch %d (%dx%dx%d workgroups)", d.Iter+1, g[0], g[1], g[2])
	var c *gpu.Completion
	var err error
	if dd.Wait != nil {
		c, err = dd.Wait(x, batch, what)
	} else {
		c, err = dd.Device.Run(x, batch)
	}
	if err != nil {
		return Done{}, err
	}
	t, _ := c.Span("start", "end")
	return Done{GPUTime: t, Batch: 1}, nil
}

// donePending is a dispatch already done.
type donePending Done

func (p donePending) Await(io.Io) (Done, error) { return Done(p), nil }
func (p donePending) Cancel(io.Io)              {}
