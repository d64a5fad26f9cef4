package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"mime"
	"mime/multipart"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"vkio/gpu"
	"vkio/io"
	"vkio/shaders"
	"vkio/tasks"
)

// jobSpec is the JSON description of a job (see `vkdemo serve --help`).
type jobSpec struct {
	Kernel     string            `json:"kernel"`
	Bind       map[string]string `json:"bind"`
	Types      map[string]string `json:"types"`
	Push       string            `json:"push"`
	Spec       map[string]any    `json:"spec"`
	Groups     dimsJSON          `json:"groups"`
	Grid       dimsJSON          `json:"grid"`
	Size       string            `json:"size"`
	Seed       *uint64           `json:"seed"`
	Iterations int               `json:"iterations"`
	Outputs    []uint32          `json:"outputs"`
	Save       map[string]string `json:"save"`
}

// maxIterations bounds a job's iterations.
const maxIterations = 10000

// dimsJSON is workgroup or grid dimensions: "X,Y,Z", [X,Y,Z] or X.
type dimsJSON string

func (d *dimsJSON) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*d = dimsJSON(s)
		return nil
	}
	var n uint32
	if json.Unmarshal(b, &n) == nil {
		*d = dimsJSON(strconv.FormatUint(uint64(n), 10))
		return nil
	}
	var a []uint32
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("want \"X,Y,Z\", [X,Y,Z] or X, got %s", b)
	}
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.FormatUint(uint64(v), 10)
	}
	*d = dimsJSON(strings.Join(parts, ","))
	return nil
}

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

// parsedJob is a request turned into a runPlan and a program, ready to run.
type parsedJob struct {
	spec jobSpec
	name string
	plan *runPlan
	prog *program          // a built-in's is shared by its jobs: read only
	key  string            // moduleKey of prog.spirv, for the kernel cache
	save map[uint32]string // binding → path under --out
}

// flagNames rewrites run's flag names in its messages as job fields.
var flagNames = strings.NewReplacer("--bind", "bind", "--push", "push", "--spec", "spec", "--groups", "groups",
	"--grid", "grid", "--size", "size", "--type", "types", "TYPE:VALUE,...", "\"TYPE:VALUE,...\"")

// parseJob parses a job request into a parsedJob, or an error to answer
// with 400 (or 413).
func (s *server) parseJob(r *request) (*parsedJob, *httpError) {
	var specJSON []byte
	var spirv []byte
	parts := map[uint32][]byte{}
	ct, params, _ := mime.ParseMediaType(r.req.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == stdio.EOF {
				break
			}
			if err != nil {
				return nil, httpErrorf(400, "malformed multipart body: %v", err)
			}
			data, err := stdio.ReadAll(p)
			if err != nil {
				return nil, httpErrorf(400, "malformed multipart body: part %q: %v", p.FormName(), err)
			}
			name := p.FormName()
			switch {
			case name == "job":
				specJSON = data
			case name == "spirv":
				spirv = data
			case strings.HasPrefix(name, "binding"):
				b, err := strconv.ParseUint(strings.TrimPrefix(name, "binding"), 10, 32)
				if err != nil {
					return nil, httpErrorf(400, "part %q: want bindingN, N a binding number", name)
				}
				parts[uint32(b)] = data
			default:
				return nil, httpErrorf(400, "unknown part %q: the parts are job, spirv and bindingN", name)
			}
		}
		if specJSON == nil {
			specJSON = []byte("{}")
		}
	} else {
		// Any other Content-Type (curl -d sends a form type) is the job JSON.
		specJSON = r.body
	}
	var spec jobSpec
	dec := json.NewDecoder(bytes.NewReader(specJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, httpErrorf(400, "bad job JSON: %v", err)
	}
	if dec.More() {
		return nil, httpErrorf(400, "bad job JSON: more than one value")
	}
	j := &parsedJob{spec: spec, save: map[uint32]string{}}
	switch {
	case spirv != nil && spec.Kernel != "":
		return nil, httpErrorf(400, "job names kernel %q and sends a spirv part: one or the other", spec.Kernel)
	case spirv != nil:
		j.name = "uploaded SPIR-V"
		refl, err := gpu.Reflect(spirv)
		if err != nil {
			return nil, httpErrorf(400, "%s: %v", j.name, err)
		}
		j.prog = &program{spirv: spirv, refl: refl, types: elementTypes(refl)}
		j.key = moduleKey(spirv)
	case spec.Kernel == "":
		return nil, httpErrorf(400, "job has no kernel: name a built-in (%s) or send a spirv part", builtinNames())
	default:
		bk := builtinKernels()[spec.Kernel]
		if bk == nil {
			return nil, httpErrorf(400, "no built-in kernel %q (have %s); send your own as a spirv part", spec.Kernel, builtinNames())
		}
		j.name = spec.Kernel
		if bk.err != nil {
			return nil, httpErrorf(400, "%s: %v", j.name, bk.err)
		}
		// Shared by every job of this kernel: read only.
		j.prog, j.key = bk.prog, bk.key
	}
	refl := j.prog.refl

	f := runFlags{size: spec.Size, groups: string(spec.Groups), grid: string(spec.Grid), seed: 1}
	if spec.Seed != nil {
		f.seed = *spec.Seed
	}
	for _, k := range sortedStrings(spec.Bind) {
		f.binds = append(f.binds, k+"="+spec.Bind[k])
	}
	for _, k := range sortedStrings(spec.Types) {
		f.types = append(f.types, k+"="+spec.Types[k])
	}
	for _, k := range sortedStrings(spec.Spec) {
		f.spec = append(f.spec, fmt.Sprintf("%s=%v", k, spec.Spec[k]))
	}
	if spec.Push != "" {
		f.push = []string{spec.Push}
	}
	plan, err := f.parse(j.name)
	if err != nil {
		return nil, httpErrorf(400, "%s", flagNames.Replace(err.Error()))
	}
	for b, bs := range plan.binds {
		if bs.kind == bindFile {
			return nil, httpErrorf(400, "bind %d=%s: file sources are not read on the server; send the data as a part named binding%d", b, bs.text, b)
		}
		if _, ok := parts[b]; ok {
			return nil, httpErrorf(400, "binding %d is given both by bind and by a part", b)
		}
	}
	for b, data := range parts {
		t := f32
		if tt, ok := j.prog.types[b]; ok {
			t = tt
		}
		if tt, ok := plan.types[b]; ok {
			t = tt
		}
		if bytes.HasPrefix(data, []byte(npyMagic)) {
			descr, body, err := parseNpy(data)
			if err != nil {
				return nil, httpErrorf(400, "part binding%d: %v", b, err)
			}
			if descr != t.npyDescr() {
				return nil, httpErrorf(400, "part binding%d holds %s values, but binding %d holds %s (%s); set \"types\"", b, descr, b, t, t.npyDescr())
			}
			data = body
		}
		// The size also serves as the default size of bindings given
		// without one, as a --bind SIZE does.
		plan.binds[b] = bindSpec{text: fmt.Sprintf("part binding%d", b), kind: bindData, data: data, size: &sizeSpec{n: int64(len(data)), inBytes: true}}
	}
	switch {
	case spec.Iterations < 0 || spec.Iterations > maxIterations:
		return nil, httpErrorf(400, "iterations %d: want 1 to %d", spec.Iterations, maxIterations)
	case spec.Iterations == 0:
		j.spec.Iterations = 1
	}
	for k, p := range spec.Save {
		b, err := strconv.ParseUint(k, 10, 32)
		if err != nil {
			return nil, httpErrorf(400, "save %q: the key is a binding number", k)
		}
		if s.out == nil {
			return nil, httpErrorf(400, "save: this server saves nothing (started without --out)")
		}
		if err := checkSavePath(p); err != nil {
			return nil, httpErrorf(400, "save %s=%q: %v", k, p, err)
		}
		j.save[uint32(b)] = p
	}
	// Bound the job's buffers before generating anything.
	total := int64(0)
	var def *sizeSpec = plan.size
	if def == nil {
		for _, k := range sortedKeys(plan.binds) {
			if sz := plan.binds[k].size; sz != nil {
				def = sz
				break
			}
		}
	}
	for _, bi := range refl.Bindings {
		t := f32
		if tt, ok := j.prog.types[bi.Binding]; ok {
			t = tt
		}
		if tt, ok := plan.types[bi.Binding]; ok {
			t = tt
		}
		sz := def
		if bs, ok := plan.binds[bi.Binding]; ok && bs.size != nil {
			sz = bs.size
		}
		n := int64(bi.MinSize)
		if sz != nil {
			n = sz.n
			if !sz.inBytes {
				n *= int64(t.size())
			}
		}
		total += n
	}
	if total > s.cfg.maxRequest {
		return nil, httpErrorf(413, "the job's buffers would take %s, more than the server's --max-request (%s)", formatBytes(total), formatBytes(s.cfg.maxRequest))
	}
	j.plan = plan
	return j, nil
}

// serveJob admits, runs and answers one job; it returns the status sent.
func (s *server) serveJob(x io.Io, c *io.Conn, rw *respWriter, r *request, id uint64) int {
	j, herr := s.parseJob(r)
	if herr != nil {
		s.rejected.Add(1)
		rw.errorResponse(herr.status, herr.msg)
		return herr.status
	}
	// Admission: wait for a slot, unless too many wait already.
	if s.draining.Load() {
		s.rejected.Add(1)
		rw.errorResponse(503, "server shutting down")
		return 503
	}
	if s.waiting.Add(1)+s.running.Load() > int64(s.cfg.maxJobs+s.cfg.maxQueue) {
		s.waiting.Add(-1)
		s.rejected.Add(1)
		rw.errorResponse(503, fmt.Sprintf("server busy: %d jobs running, %d waiting (--max-jobs %d, --max-queue %d); retry later", s.running.Load(), s.waiting.Load(), s.cfg.maxJobs, s.cfg.maxQueue))
		return 503
	}
	queued := time.Now()
	ax, cancelAx := x.WithContext(s.drainCtx)
	wait := s.rec.Begin(tasks.CPU, "", "wait for a job slot", int(id)).Waiting().Flow(id)
	err := s.jobs.Acquire(ax, 1)
	wait.End()
	cancelAx()
	s.waiting.Add(-1)
	if err != nil {
		s.rejected.Add(1)
		if s.draining.Load() {
			rw.errorResponse(503, "server shutting down")
			return 503
		}
		return 0 // the connection's task was canceled: the client left
	}
	defer s.jobs.Release(1)
	s.running.Add(1)
	defer s.running.Add(-1)
	queueWait := time.Since(queued)

	// The job's Io: canceled after --job-timeout, or when the client leaves.
	ctx, cancelCtx := context.WithTimeout(x.Context(), s.cfg.jobTimeout)
	defer cancelCtx()
	jx, cancelJx := x.WithContext(ctx)
	defer cancelJx()
	watcher, werr := io.Concurrent(x, func(wx io.Io) (struct{}, error) {
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(wx, buf); err != nil {
				if !errors.Is(err, io.ErrCanceled) {
					cancelJx() // EOF or reset: nobody is there to read the results
				}
				return struct{}{}, nil
			}
		}
	})
	if werr == nil {
		defer watcher.Cancel(x)
	}

	err = s.execJob(jx, rw, r, j, id, queueWait)
	// The last words go out even when the job was canceled, bounded by
	// --write-timeout alone.
	rw.x = x.WithoutCancel()
	switch {
	case err == nil:
		s.jobsDone.Add(1)
		return 200
	case rw.started:
		s.jobsFailed.Add(1)
		if rw.chunks != nil && rw.w.Err() == nil {
			_ = rw.end(jobError{Error: s.jobErrorText(ctx, x, err)})
		}
		return 200
	default:
		s.jobsFailed.Add(1)
		status := 400
		msg := flagNames.Replace(errorText(err))
		var he *httpError
		switch {
		case errors.As(err, &he): // from a worker (worker.go)
			status, msg = he.status, he.msg
		case errors.Is(err, io.ErrCanceled) && ctx.Err() == context.DeadlineExceeded:
			status, msg = 504, fmt.Sprintf("job canceled after --job-timeout (%s)", s.cfg.jobTimeout)
		case errors.Is(err, io.ErrCanceled):
			status, msg = 503, "job canceled: server shutting down"
		case errors.Is(err, gpu.ErrOutOfMemory), errors.Is(err, gpu.ErrDeviceLost):
			status = 500
		}
		if rw.w.Err() == nil {
			rw.errorResponse(status, msg)
		}
		return status
	}
}

// jobErrorText says why a started job stopped.
func (s *server) jobErrorText(ctx context.Context, x io.Io, err error) string {
	switch {
	case errors.Is(err, io.ErrCanceled) && ctx.Err() == context.DeadlineExceeded:
		return fmt.Sprintf("job canceled after --job-timeout (%s)", s.cfg.jobTimeout)
	case errors.Is(err, io.ErrCanceled) && x.Canceled():
		return "job canceled: server shutting down"
	}
	return flagNames.Replace(errorText(err))
}

// runJob runs an admitted job: buffers, kernel, iterations streamed as they
// complete, saves, the last line.
func (s *server) runJob(x io.Io, rw jobStream, j *parsedJob, id uint64, queueWait time.Duration) (err error) {
	start := time.Now()
	prep := s.rec.Begin(tasks.CPU, "", "prepare job", int(id)).Flow(id)
	opts, bs, push, err := resolve(x, j.plan, j.prog)
	if err != nil {
		prep.End()
		return err
	}
	k, owned, err := s.kern.get(j.prog.spirv, j.key, opts)
	if err != nil {
		prep.End()
		return fmt.Errorf("%s: %w", j.name, err)
	}
	// Every future is resolved before the buffers and an owned kernel are
	// closed (in reverse order of these defers).
	if owned {
		defer func() { err = errors.Join(err, k.Close()) }()
	}
	bufs := make([]*gpu.Buffer, len(bs))
	for i, b := range bs {
		buf, err := s.dev.NewBuffer(len(b.data), gpu.HostVisible)
		if err != nil {
			prep.End()
			return fmt.Errorf("binding %d: %w", b.info.Binding, err)
		}
		defer func() { err = errors.Join(err, buf.Close()) }()
		mem, err := buf.Bytes()
		if err != nil {
			prep.End()
			return err
		}
		copy(mem, b.data)
		bufs[i] = buf
	}
	groups, _ := workgroups(j.plan, k.LocalSize(), bs)
	// What to stream and keep: the outputs asked for (default: the writable
	// bindings) and the saved ones.
	stream := map[uint32]bool{}
	have := map[uint32]bool{}
	for _, b := range bs {
		have[b.info.Binding] = true
		if j.spec.Outputs == nil && !b.info.ReadOnly {
			stream[b.info.Binding] = true
		}
	}
	for _, o := range j.spec.Outputs {
		if !have[o] {
			prep.End()
			return fmt.Errorf("outputs: %s has no binding %d", j.name, o)
		}
		stream[o] = true
	}
	for b := range j.save {
		if !have[b] {
			prep.End()
			return fmt.Errorf("save: %s has no binding %d", j.name, b)
		}
	}
	type kept struct {
		b    *binding
		buf  *gpu.Buffer
		snap []byte
	}
	var keep []*kept
	for i, b := range bs {
		if stream[b.info.Binding] || j.save[b.info.Binding] != "" {
			keep = append(keep, &kept{b: b, buf: bufs[i], snap: make([]byte, len(b.data))})
		}
	}
	prep.End()

	// Headers go out before the first dispatch: the client knows it was
	// admitted, and errors from here on end the stream.
	if err := rw.startStream(); err != nil {
		return err
	}
	done := jobDone{Done: true, Job: id, Kernel: j.name, Iterations: j.spec.Iterations, Groups: groups, WaitMs: ms(queueWait)}
	send := func(iter int) error {
		for _, kp := range keep {
			if !stream[kp.b.info.Binding] {
				continue
			}
			hdr := frameHeader{Iter: iter, Binding: kp.b.info.Binding, Type: kp.b.typ.String(), Count: len(kp.snap) / kp.b.typ.size(), Bytes: len(kp.snap)}
			if err := rw.frame(hdr, kp.snap); err != nil {
				return err
			}
		}
		return nil
	}
	var gpuTime time.Duration
	for iter := 0; iter < j.spec.Iterations; iter++ {
		fut, err := s.gpu.enqueue(x, &gpuWork{k: k, groups: groups, push: push, bufs: bufs, job: id, iter: iter})
		if err != nil {
			return err
		}
		var serr error
		if iter > 0 {
			serr = send(iter - 1) // the previous iteration goes out while this one computes
		}
		var d gpuDone
		if serr != nil {
			_, _ = fut.Cancel(x) // drop it if still queued; wait for it if not
			return serr
		}
		d, err = fut.Await(x)
		if err != nil {
			return err
		}
		gpuTime += d.end.Sub(d.start)
		done.BatchSizes = append(done.BatchSizes, d.batch)
		for _, kp := range keep {
			mem, err := kp.buf.Bytes()
			if err != nil {
				return err
			}
			copy(kp.snap, mem)
		}
	}
	if err := send(j.spec.Iterations - 1); err != nil {
		return err
	}
	for _, kp := range keep {
		p := j.save[kp.b.info.Binding]
		if p == "" {
			continue
		}
		region := s.rec.Begin(tasks.Disk, "", "save "+p, int(id)).Flow(id)
		err := s.out.save(x, p, kp.b.typ, kp.snap)
		region.End()
		if err != nil {
			return fmt.Errorf("save %d=%s: %w", kp.b.info.Binding, p, err)
		}
		done.Saved = append(done.Saved, p)
	}
	done.GPUUs = float64(gpuTime) / 1e3
	done.ElapsedMs = ms(time.Since(start))
	return rw.end(done)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// builtinNames lists the built-in kernels.
func builtinNames() string {
	var ns []string
	for n := range shaders.All {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

// sortedStrings returns m's keys in order.
func sortedStrings[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// isNpyPath reports whether p names a .npy file.
func isNpyPath(p string) bool { return strings.EqualFold(filepath.Ext(p), ".npy") }
