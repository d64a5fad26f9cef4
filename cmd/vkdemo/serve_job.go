package main

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
	"github.com/vkio/vkio/job/runner"
	"github.com/vkio/vkio/shaders"
	"github.com/vkio/vkio/tasks"
)

// jobSpec is the JSON description of a job (see `vkdemo serve --help`).
type jobSpec = job.JSON

// Caps of a job description, checked before anything of their size is
// allocated (see also caps.go and --max-request).
const (
	// maxIterations bounds a job's iterations.
	maxIterations = job.MaxIterations
	// maxJobJSON bounds the job JSON (the body, or the "job" part): data
	// goes in bindingN parts, and a job's fields take a few hundred bytes.
	maxJobJSON = job.MaxJSON
	// maxJSONDepth bounds the nesting of the job JSON (a job needs 2).
	maxJSONDepth = job.MaxJSONDepth
	// maxParts bounds a multipart job's parts: job, spirv and one per
	// binding.
	maxParts = 2 + maxBindings
)

// serveLimitsHelp is the part of serve --help on the caps of a request and
// the server's memory.
const serveLimitsHelp = `Caps (each checked before anything of its size is allocated; over a cap:
400, or 413 for sizes):
  - headers 64 KiB; body --max-request; the job JSON 64 KiB, nested at most
    8 deep, no key twice in an object; at most 66 multipart parts (job,
    spirv, bindingN), each with headers of at most 8 KiB, none twice (also
    not binding1 and binding01); a part is taken as it is in the body, not
    copied.
  - bind, types, outputs and save: 64 entries; spec: 256 constants; push:
    4096 bytes; iterations: 10000; no two bindings saved to one path; the
    job's buffers together: --max-request.
  - a spirv part: at most 1 MiB; reflected, then validated with
    SPIRV-Tools for the device's Vulkan version (400 naming the
    validator's message), and run in a worker process (see above).
  - a .npy part: version 1.0 to 3.0, a header of at most 64 KiB, a
    little-endian dtype, at most 32 dimensions, C order (or Fortran order
    where it is the same), its shape exactly its data.
  - the device's limits (workgroup counts, local size, push constants,
    buffer ranges) are checked before the job starts: 400, not a stream
    that ends in an error.
  - error messages quote at most 64 bytes of an input and show no absolute
    path of the server's.

Memory: a job's body is read only when the body budget, 2 x --max-jobs x
--max-request bytes (running jobs' bodies and as many parsed ones), has
room for it; until then the request waits in the queue holding its headers
alone (a client that sends its body slowly holds its share of the budget
for at most --read-timeout). Parsing takes memory in proportion to the
body. So under any flood of requests the server's memory stays near

  peak = base + 7 x --max-jobs x --max-request

(per running job its data, GPU buffers and streamed snapshots; per parsed
job its body; the Go heap's share may double before it is collected): with
the defaults base + 896 MiB (measured: 983 MiB with a base of 101 MiB on
lavapipe).`

// frameHeader is the JSON line before each output in a stream.
type frameHeader struct {
	Iter    int    `json:"iter"`
	Binding uint32 `json:"binding"`
	Type    string `json:"type"`
	Count   int    `json:"count"`
	Bytes   int    `json:"bytes"`
}

// jobDone is the last line of a successful stream.
type jobDone struct {
	Done       bool      `json:"done"`
	Job        uint64    `json:"job"`
	Kernel     string    `json:"kernel"`
	Iterations int       `json:"iterations"`
	Groups     [3]uint32 `json:"groups"`
	GPUUs      float64   `json:"gpu_us"`
	BatchSizes []int     `json:"batch_sizes"`
	WaitMs     float64   `json:"queue_ms"`
	ElapsedMs  float64   `json:"elapsed_ms"`
	Saved      []string  `json:"saved,omitempty"`
}

// jobError is the last line of a failed stream.
type jobError struct {
	Error string `json:"error"`
}

// parsedJob is a request turned into a job and a program, ready to run.
type parsedJob struct {
	spec jobSpec
	name string
	job  *job.Job          // the typed job; its messages name the JSON's fields
	prog *program          // a built-in's is shared by its jobs: read only
	key  string            // moduleKey of prog.spirv, for the kernel cache
	save map[uint32]string // binding → path under --out
}

// shader is what package job needs of the job's shader.
func (j *parsedJob) shader() *job.Shader {
	return (&runner.Program{Name: j.name, Refl: j.prog.refl, Types: j.prog.types}).Shader()
}

// moduleSet is a bounded set of module keys (moduleKey), safe for
// concurrent use; a nil set holds nothing. When full it starts again empty:
// a module forgotten is only validated once more.
type moduleSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// maxValidModules bounds the modules a server remembers as valid.
const maxValidModules = 256

func (v *moduleSet) has(key string) bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.m[key]
	return ok
}

func (v *moduleSet) add(key string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxValidModules {
		v.m = make(map[string]struct{}, maxValidModules)
	}
	v.m[key] = struct{}{}
}

// targetEnv is the environment uploaded modules are validated for: the
// device's (a parser without a device, in tests, uses Vulkan 1.1, the
// lowest vkio's devices need).
func (s *server) targetEnv() gpu.TargetEnv {
	if s.dev == nil {
		return gpu.Vulkan11
	}
	return s.dev.TargetEnv()
}

// parseJob parses a job request whose body readBody has read into a
// parsedJob, or an error to answer with 400 (or 413). Its memory is bounded
// by the body's: the parts are slices of the body, the job JSON is at most
// maxJobJSON bytes, and every count and size in it is capped before
// anything of that size is made. Checks that need the device's limits
// (workgroup counts, buffer ranges) are made here too, so that a job the
// device cannot run gets a 400 instead of a started stream.
func (s *server) parseJob(r *request) (*parsedJob, *httpError) {
	var specJSON []byte
	var spirv []byte
	parts := map[uint32][]byte{}
	ct, params, _ := mime.ParseMediaType(r.req.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		fps, err := splitMultipart(r.body, params["boundary"], maxParts)
		if err != nil {
			return nil, httpErrorf(400, "malformed multipart body: %v", err)
		}
		seen := map[string]bool{}
		for _, p := range fps {
			if seen[p.name] {
				return nil, httpErrorf(400, "part %s given twice", q(p.name))
			}
			seen[p.name] = true
			switch {
			case p.name == "job":
				specJSON = p.data
			case p.name == "spirv":
				spirv = p.data
			case strings.HasPrefix(p.name, "binding"):
				b, err := strconv.ParseUint(strings.TrimPrefix(p.name, "binding"), 10, 32)
				if err != nil {
					return nil, httpErrorf(400, "part %s: want bindingN, N a binding number", q(p.name))
				}
				if _, dup := parts[uint32(b)]; dup {
					return nil, httpErrorf(400, "part %s: binding %d given twice", q(p.name), b)
				}
				if len(p.data) > maxBindingBytes {
					return nil, httpErrorf(413, "part %s: %d bytes, more than a binding holds", q(p.name), len(p.data))
				}
				parts[uint32(b)] = p.data
			default:
				return nil, httpErrorf(400, "unknown part %s: the parts are job, spirv and bindingN", q(p.name))
			}
		}
		if specJSON == nil {
			specJSON = []byte("{}")
		}
	} else {
		// Any other Content-Type (curl -d sends a form type) is the job JSON.
		specJSON = r.body
	}
	spec, herr := decodeJob(specJSON)
	if herr != nil {
		return nil, herr
	}
	j := &parsedJob{spec: spec, save: map[uint32]string{}}
	switch {
	case spirv != nil && spec.Kernel != "":
		return nil, httpErrorf(400, "job names kernel %s and sends a spirv part: one or the other", q(spec.Kernel))
	case spirv != nil:
		j.name = "uploaded SPIR-V"
		if len(spirv) > gpu.MaxModuleSize {
			return nil, httpErrorf(413, "%s of %d bytes: the largest module is %d bytes", j.name, len(spirv), gpu.MaxModuleSize)
		}
		refl, err := gpu.Reflect(spirv)
		if err != nil {
			return nil, httpErrorf(400, "%s: %v", j.name, err)
		}
		j.key = moduleKey(spirv)
		// Vulkan-invalid modules are a 400 here, before admission, not a
		// failure in the worker. The validator's work is bounded (module
		// size and type-tree caps: well under a second), and done once per
		// module: clients send the same one again and again.
		if !s.uploadsChecked && !s.valid.has(j.key) {
			if err := gpu.ValidateSPIRV(spirv, s.targetEnv()); err != nil {
				return nil, httpErrorf(400, "%s: %v", j.name, err)
			}
			s.valid.add(j.key)
		}
		j.prog = &program{spirv: spirv, refl: refl, types: elementTypes(refl)}
	case spec.Kernel == "":
		return nil, httpErrorf(400, "job has no kernel: name a built-in (%s) or send a spirv part", builtinNames())
	default:
		bk := builtinKernels()[spec.Kernel]
		if bk == nil {
			return nil, httpErrorf(400, "no built-in kernel %s (have %s); send your own as a spirv part", q(spec.Kernel), builtinNames())
		}
		j.name = spec.Kernel
		if bk.err != nil {
			return nil, httpErrorf(400, "%s: %v", j.name, bk.err)
		}
		// Shared by every job of this kernel: read only.
		j.prog, j.key = bk.prog, bk.key
	}
	jb, err := job.FromJSON(spec, job.JSONNames)
	if err != nil {
		return nil, httpErrorf(400, "%s", err)
	}
	jb.Kernel = j.name
	for _, b := range sortedKeys(jb.Bind) {
		bs := jb.Bind[b]
		if bs.Kind == job.File {
			return nil, httpErrorf(400, "bind %d=%s: file sources are not read on the server; send the data as a part named binding%d", b, bs.Text, b)
		}
		if _, ok := parts[b]; ok {
			return nil, httpErrorf(400, "binding %d is given both by bind and by a part", b)
		}
	}
	for _, b := range sortedKeys(parts) {
		t := f32
		if tt, ok := j.prog.types[b]; ok {
			t = tt
		}
		if tt, ok := jb.Types[b]; ok {
			t = tt
		}
		name := fmt.Sprintf("part binding%d", b)
		data, err := job.DecodeUpload(name, b, t, parts[b], job.JSONNames)
		if err != nil {
			return nil, httpErrorf(400, "%s", err)
		}
		// The size also serves as the default size of bindings given
		// without one, as a --bind SIZE does.
		jb.Bind[b] = job.DataSource(name, data)
	}
	j.spec.Iterations = jb.Iterations
	for _, b := range sortedKeys(jb.Saves) {
		p := jb.Saves[b].Path
		if s.out == nil && !s.savesElsewhere {
			return nil, httpErrorf(400, "save: this server saves nothing (started without --out)")
		}
		if err := checkSavePath(p); err != nil {
			return nil, httpErrorf(400, "save %d=%s: %v", b, q(p), err)
		}
		j.save[b] = p
	}
	// The server streams and saves; it writes no --out-dir.
	jb.SaveDir = ""
	j.job = jb
	// Bound the job's buffers before generating anything, and check them
	// and the dispatch against the device.
	sizes, herr := s.jobSizes(j)
	if herr != nil {
		return nil, herr
	}
	if herr := s.checkDevice(j, sizes); herr != nil {
		return nil, herr
	}
	return j, nil
}

// decodeJob decodes the job JSON: at most maxJobJSON bytes, nested at most
// maxJSONDepth deep, no key twice in an object, no unknown field, one
// value; maps of at most maxBindings (maxSpecConstants for spec) entries.
func decodeJob(data []byte) (jobSpec, *httpError) {
	if len(data) > maxJobJSON {
		return jobSpec{}, httpErrorf(413, "job JSON of %d bytes is larger than %d bytes: send data as bindingN parts", len(data), maxJobJSON)
	}
	spec, err := job.DecodeJSON(data)
	if err != nil {
		return spec, httpErrorf(400, "%s", err)
	}
	return spec, nil
}

// jobSizes works out the size of each of the job's bindings, as they
// will be made, and checks that they fit --max-request together (413
// otherwise).
func (s *server) jobSizes(j *parsedJob) ([]job.BindingSize, *httpError) {
	sizes := j.job.Sizes(j.shader())
	total := int64(0)
	for _, b := range sizes {
		total += b.Bytes
	}
	if total > s.cfg.maxRequest {
		return nil, httpErrorf(413, "the job's buffers would take %s, more than the server's --max-request (%s)", job.FormatBytes(total), job.FormatBytes(s.cfg.maxRequest))
	}
	return sizes, nil
}

// deviceLimits returns the limits of the server's device; ok is false for
// a server without one (parser tests).
func (s *server) deviceLimits() (lim gpu.Limits, ok bool) {
	if s.dev == nil {
		return lim, false
	}
	if s.set != nil {
		return setLimits(s.set), true // a job may run on any member
	}
	return s.dev.Info().Limits, true
}

// checkDevice checks the job against the device's limits before anything
// runs: push constants, the local size its spec constants give, buffer
// ranges and the workgroup counts of its dispatch (400 if over), which the
// GPU scheduler would otherwise report only after the stream started.
func (s *server) checkDevice(j *parsedJob, sizes []job.BindingSize) *httpError {
	lim, ok := s.deviceLimits()
	if !ok {
		return nil
	}
	refl := j.prog.refl
	if uint64(refl.PushSize) > uint64(lim.MaxPushConstantsSize) {
		return httpErrorf(400, "%s: push constants of %d bytes exceed the device's %d", j.name, refl.PushSize, lim.MaxPushConstantsSize)
	}
	local, err := j.job.LocalSize(j.shader(), job.JSONNames)
	if err != nil {
		return httpErrorf(400, "%s", err)
	}
	inv := uint64(1)
	for i, n := range local {
		if n == 0 || n > lim.MaxWorkGroupSize[i] {
			return httpErrorf(400, "%s: local size %v: dimension %d outside [1, %d], the device's limit", j.name, local, i, lim.MaxWorkGroupSize[i])
		}
		inv *= uint64(n)
	}
	if inv > uint64(lim.MaxWorkGroupInvocations) {
		return httpErrorf(400, "%s: local size %v has %d invocations; the device allows %d", j.name, local, inv, lim.MaxWorkGroupInvocations)
	}
	counts := make([]job.Count, len(sizes))
	for i, b := range sizes {
		maxRange, kind := lim.MaxStorageBufferRange, gpu.StorageBuffer
		if b.Info.Uniform {
			maxRange, kind = lim.MaxUniformBufferRange, gpu.UniformBuffer
		}
		if b.Bytes > int64(maxRange) {
			return httpErrorf(400, "binding %d: %s of %s, more than the device's range of %s for a %s", b.Info.Binding, job.FormatBytes(b.Bytes), b.Type, job.FormatBytes(int64(maxRange)), kind)
		}
		counts[i] = job.Count{Binding: b.Info.Binding, Elems: b.Bytes / int64(b.Type.Size())}
	}
	groups, how := j.job.Workgroups(local, counts, job.JSONNames)
	for i, g := range groups {
		if g > lim.MaxWorkGroupCount[i] {
			return httpErrorf(400, "%d×%d×%d workgroups (%s): dimension %d exceeds the device's %d; use a larger local size (spec), fewer elements, or groups/grid", groups[0], groups[1], groups[2], how, i, lim.MaxWorkGroupCount[i])
		}
	}
	return nil
}

// publicErrorText is a job's error as its client sees it: in the job's
// terms (bind, not --bind), save paths relative to --out as the client
// gave them, no absolute path of the server's, bounded.
func (s *server) publicErrorText(err error) string {
	msg := errorText(err)
	if s.out != nil {
		msg = trimPrefixDir(msg, s.out.name)
	}
	return publicMessage(msg)
}

// jobErrorText says why a started job stopped.
func (s *server) jobErrorText(ctx context.Context, x io.Io, err error) string {
	switch {
	case errors.Is(err, io.ErrCanceled) && ctx.Err() == context.DeadlineExceeded:
		return fmt.Sprintf("job canceled after --job-timeout (%s)", s.cfg.jobTimeout)
	case errors.Is(err, io.ErrCanceled) && x.Canceled():
		return "job canceled: server shutting down"
	}
	return s.publicErrorText(err)
}

// runJob runs an admitted job (runner.Run): buffers, kernel (from the
// cache), iterations dispatched through the GPU scheduler and streamed as
// they complete, saves under --out, the last line.
func (s *server) runJob(x io.Io, rw jobStream, j *parsedJob, id uint64, queueWait time.Duration) error {
	return s.runJobOn(x, rw, &streamSink{rw: rw}, &serveLane{dev: s.dev, gpu: s.gpu, kern: s.kern}, j, id, queueWait)
}

// runJobOn is runJob on one of the server's devices (lane), streaming
// through sink.
func (s *server) runJobOn(x io.Io, rw jobStream, sink *streamSink, lane *serveLane, j *parsedJob, id uint64, queueWait time.Duration) error {
	start := time.Now()
	prog := &runner.Program{Name: j.name, SPIRV: j.prog.spirv, Refl: j.prog.refl, Types: j.prog.types}
	to, _ := rw.(streamSaver)
	res, err := runner.Run(x, lane.dev, j.job, prog, runner.Options{
		Names: job.JSONNames,
		Kernel: func(opts *gpu.KernelOptions) (*gpu.Kernel, func() error, error) {
			k, owned, err := lane.kern.get(j.prog.spirv, j.key, opts)
			if err != nil || !owned {
				return k, nil, err
			}
			return k, k.Close, nil
		},
		Dispatcher: schedDispatcher{s: s, gpu: lane.gpu, job: id},
		Sink:       sink,
		Saver:      serveSaver{s: s, job: id, to: to},
	})
	if err != nil {
		return err
	}
	done := jobDone{Done: true, Job: id, Kernel: j.name, Iterations: j.job.Iterations, Groups: res.Groups, WaitMs: ms(queueWait),
		GPUUs: float64(res.GPUTime) / 1e3, BatchSizes: res.Batches, Saved: res.Saved, ElapsedMs: ms(time.Since(start))}
	return rw.end(done)
}

// streamSink streams a job's iterations to its client: the headers before
// the first dispatch (the client knows it was admitted, and errors from
// there on end the stream), then a frame per output per iteration. A job
// run again on another device (serve --devices) starts the stream once.
type streamSink struct {
	rw      jobStream
	started bool
	frames  int // frames sent
}

func (k *streamSink) Start(*runner.Result) error {
	if k.started {
		return nil
	}
	k.started = true
	return k.rw.startStream()
}

func (k *streamSink) Frame(iter int, b *job.Binding, data []byte) error {
	hdr := frameHeader{Iter: iter, Binding: b.Info.Binding, Type: b.Type.String(), Count: len(data) / b.Type.Size(), Bytes: len(data)}
	k.frames++
	return k.rw.frame(hdr, data)
}

func (k *streamSink) Finish(*runner.Result) error { return nil }

// schedDispatcher submits a job's dispatches to the GPU scheduler of the
// job's device, batched with other jobs'.
type schedDispatcher struct {
	s   *server
	gpu *batcher.Batcher
	job uint64
}

func (d schedDispatcher) Submit(x io.Io, w runner.Dispatch) (runner.Pending, error) {
	fut, err := d.gpu.Enqueue(x, batcher.Dispatch{Kernel: w.Kernel, Groups: w.Groups, Push: w.Push, Buffers: w.Buffers,
		Name: fmt.Sprintf("job %d iter %d", d.job, w.Iter), Flow: d.job})
	if err != nil {
		return nil, err
	}
	return schedPending{s: d.s, fut: fut}, nil
}

// schedPending is a dispatch queued on the GPU scheduler.
type schedPending struct {
	s   *server
	fut *io.Future[batcher.Done]
}

func (p schedPending) Await(x io.Io) (runner.Done, error) {
	d, err := p.fut.Await(x)
	if err == nil {
		p.s.metrics.addGPUTime(d.End.Sub(d.Start))
	}
	return runner.Done{GPUTime: d.End.Sub(d.Start), Batch: d.Batch}, err
}

// Cancel drops the dispatch if still queued; waits for it if not.
func (p schedPending) Cancel(x io.Io) { _, _ = p.fut.Cancel(x) }

// serveSaver saves a job's bindings under --out, confined to it, or
// through the job's stream when it keeps saves itself (to).
type serveSaver struct {
	s   *server
	job uint64
	to  streamSaver // nil: under --out
}

func (v serveSaver) Save(x io.Io, b uint32, sv job.Save, t job.DType, data []byte) error {
	region := v.s.rec.Begin(tasks.Disk, "", "save "+sv.Path, int(v.job)).Flow(v.job)
	var err error
	if v.to != nil {
		err = v.to.saveOutput(x, sv.Path, t, data)
	} else {
		err = v.s.out.save(x, sv.Path, t, data)
	}
	region.End()
	if err != nil {
		return fmt.Errorf("save %d=%s: %w", b, sv.Path, err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// builtinNames lists the built-in kernels.
func builtinNames() string {
	return strings.Join(shaders.Names(), ", ")
}

// isNpyPath reports whether p names a .npy file.
func isNpyPath(p string) bool { return strings.EqualFold(filepath.Ext(p), ".npy") }
