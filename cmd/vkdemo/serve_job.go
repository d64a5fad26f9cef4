package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
	"github.com/vkio/vkio/tasks"
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

// Caps of a job description, checked before anything of their size is
// allocated (see also caps.go and --max-request).
const (
	// maxIterations bounds a job's iterations.
	maxIterations = 10000
	// maxJobJSON bounds the job JSON (the body, or the "job" part): data
	// goes in bindingN parts, and a job's fields take a few hundred bytes.
	maxJobJSON = 64 << 10
	// maxJSONDepth bounds the nesting of the job JSON (a job needs 2).
	maxJSONDepth = 8
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
	if err := json.Unmarshal(b, &a); err != nil || len(a) == 0 || len(a) > 3 {
		return fmt.Errorf("want \"X,Y,Z\", [X,Y,Z] or X, got %s", q(string(b)))
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
		// Vulkan-invalid modules are a 400 here, before admission, not a
		// failure in the worker. The validator's work is bounded (module
		// size and type-tree caps: well under a second).
		if err := gpu.ValidateSPIRV(spirv, s.targetEnv()); err != nil {
			return nil, httpErrorf(400, "%s: %v", j.name, err)
		}
		j.prog = &program{spirv: spirv, refl: refl, types: elementTypes(refl)}
		j.key = moduleKey(spirv)
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
		v, err := specJSONValue(spec.Spec[k])
		if err != nil {
			return nil, httpErrorf(400, "spec %s: %v", q(k), err)
		}
		f.spec = append(f.spec, k+"="+v)
	}
	if spec.Push != "" {
		f.push = []string{spec.Push}
	}
	plan, err := f.parse(j.name)
	if err != nil {
		return nil, httpErrorf(400, "%s", flagNames.Replace(err.Error()))
	}
	for _, b := range sortedKeys(plan.binds) {
		bs := plan.binds[b]
		if bs.kind == bindFile {
			return nil, httpErrorf(400, "bind %d=%s: file sources are not read on the server; send the data as a part named binding%d", b, bs.text, b)
		}
		if _, ok := parts[b]; ok {
			return nil, httpErrorf(400, "binding %d is given both by bind and by a part", b)
		}
	}
	for _, b := range sortedKeys(parts) {
		data := parts[b]
		t := f32
		if tt, ok := j.prog.types[b]; ok {
			t = tt
		}
		if tt, ok := plan.types[b]; ok {
			t = tt
		}
		if bytes.HasPrefix(data, []byte(npyMagic)) {
			a, err := parseNpy(data)
			if err != nil {
				return nil, httpErrorf(400, "part binding%d: %v", b, err)
			}
			if a.typ != t {
				return nil, httpErrorf(400, "part binding%d holds %s values, but binding %d holds %s (%s); set \"types\"", b, a.descr, b, t, t.npyDescr())
			}
			data = a.body
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
	savedTo := map[string]string{}
	for _, k := range sortedStrings(spec.Save) {
		p := spec.Save[k]
		b, err := strconv.ParseUint(k, 10, 32)
		if err != nil {
			return nil, httpErrorf(400, "save %s: the key is a binding number", q(k))
		}
		if s.out == nil {
			return nil, httpErrorf(400, "save: this server saves nothing (started without --out)")
		}
		if err := checkSavePath(p); err != nil {
			return nil, httpErrorf(400, "save %s=%s: %v", k, q(p), err)
		}
		if _, dup := j.save[uint32(b)]; dup {
			return nil, httpErrorf(400, "save: binding %d given twice", b)
		}
		if other, dup := savedTo[p]; dup {
			return nil, httpErrorf(400, "save: bindings %s and %s both go to %s: one would overwrite the other", other, k, q(p))
		}
		savedTo[p] = k
		j.save[uint32(b)] = p
	}
	// Bound the job's buffers before generating anything, and check them
	// and the dispatch against the device.
	sizes, herr := s.jobSizes(j, plan)
	if herr != nil {
		return nil, herr
	}
	if herr := s.checkDevice(j, plan, sizes); herr != nil {
		return nil, herr
	}
	j.plan = plan
	return j, nil
}

// decodeJob decodes the job JSON: at most maxJobJSON bytes, nested at most
// maxJSONDepth deep, no key twice in an object, no unknown field, one
// value; maps of at most maxBindings (maxSpecConstants for spec) entries.
func decodeJob(data []byte) (jobSpec, *httpError) {
	var spec jobSpec
	if len(data) > maxJobJSON {
		return spec, httpErrorf(413, "job JSON of %d bytes is larger than %d bytes: send data as bindingN parts", len(data), maxJobJSON)
	}
	if err := checkJSON(data, maxJSONDepth); err != nil {
		return spec, httpErrorf(400, "bad job JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&spec); err != nil {
		return spec, httpErrorf(400, "bad job JSON: %s", clipJSONError(err))
	}
	if dec.More() {
		return spec, httpErrorf(400, "bad job JSON: more than one value")
	}
	for _, m := range []struct {
		name   string
		n, max int
	}{
		{"bind", len(spec.Bind), maxBindings}, {"types", len(spec.Types), maxBindings},
		{"outputs", len(spec.Outputs), maxBindings}, {"save", len(spec.Save), maxBindings},
		{"spec", len(spec.Spec), maxSpecConstants},
	} {
		if m.n > m.max {
			return spec, httpErrorf(400, "%s: %d entries, more than the %d a job may have", m.name, m.n, m.max)
		}
	}
	return spec, nil
}

// clipJSONError is a JSON decoding error, with the input it quotes (an
// unknown field's name) cut to maxQuote bytes.
func clipJSONError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if n, err := strconv.Unquote(name); err == nil {
			return "json: unknown field " + q(n)
		}
	}
	return clip(msg)
}

// checkJSON checks, token by token (no value is built), that data nests
// objects and arrays at most depth deep and has no key twice in an object
// (encoding/json would keep the last silently). Syntax errors are left
// to the decoder.
func checkJSON(data []byte, depth int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type level struct {
		keys     map[string]bool // nil for an array
		wantsKey bool
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or a syntax error the decoder reports
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if len(stack) == depth {
					return fmt.Errorf("nested more than %d deep", depth)
				}
				if top >= 0 && stack[top].keys != nil {
					stack[top].wantsKey = true // this value ends a member
				}
				l := level{}
				if d == '{' {
					l = level{keys: map[string]bool{}, wantsKey: true}
				}
				stack = append(stack, l)
			default:
				stack = stack[:top]
			}
			continue
		}
		if top < 0 || stack[top].keys == nil {
			continue // an element of an array, or the top value
		}
		if stack[top].wantsKey {
			k, _ := tok.(string)
			if stack[top].keys[k] {
				return fmt.Errorf("key %s given twice", q(k))
			}
			stack[top].keys[k] = true
			stack[top].wantsKey = false
		} else {
			stack[top].wantsKey = true
		}
	}
}

// specJSONValue is a spec value of the job JSON in --spec syntax: a
// number (as written), a bool, or a string "[TYPE:]VALUE".
func specJSONValue(v any) (string, error) {
	switch v := v.(type) {
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case string:
		if v == "" || strings.ContainsAny(v, ",=") {
			return "", fmt.Errorf("%s: want a number, a bool or \"[TYPE:]VALUE\"", q(v))
		}
		return v, nil
	}
	return "", fmt.Errorf("want a number, a bool or \"[TYPE:]VALUE\", not %T", v)
}

// bindingSize is the size of one binding of a job, known before its data
// is made.
type bindingSize struct {
	info  gpu.BindingInfo
	typ   dtype
	bytes int64
}

// jobSizes works out the size of each of the job's bindings, as resolve
// will make them, and checks that they fit --max-request together
// (413 otherwise).
func (s *server) jobSizes(j *parsedJob, plan *runPlan) ([]bindingSize, *httpError) {
	var def *sizeSpec = plan.size
	if def == nil {
		for _, k := range sortedKeys(plan.binds) {
			if sz := plan.binds[k].size; sz != nil {
				def = sz
				break
			}
		}
	}
	var out []bindingSize
	total := int64(0)
	for _, bi := range j.prog.refl.Bindings {
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
			n = sz.n // at most 1 TiB (parseSize): no overflow below
			if !sz.inBytes {
				n *= int64(t.size())
			}
		}
		total += n
		out = append(out, bindingSize{info: bi, typ: t, bytes: n})
	}
	if total > s.cfg.maxRequest {
		return nil, httpErrorf(413, "the job's buffers would take %s, more than the server's --max-request (%s)", formatBytes(total), formatBytes(s.cfg.maxRequest))
	}
	return out, nil
}

// deviceLimits returns the limits of the server's device; ok is false for
// a server without one (parser tests).
func (s *server) deviceLimits() (lim gpu.Limits, ok bool) {
	if s.dev == nil {
		return lim, false
	}
	return s.dev.Info().Limits, true
}

// checkDevice checks the job against the device's limits before anything
// runs: push constants, the local size its spec constants give, buffer
// ranges and the workgroup counts of its dispatch (400 if over), which the
// GPU scheduler would otherwise report only after the stream started.
func (s *server) checkDevice(j *parsedJob, plan *runPlan, sizes []bindingSize) *httpError {
	lim, ok := s.deviceLimits()
	if !ok {
		return nil
	}
	refl := j.prog.refl
	if uint64(refl.PushSize) > uint64(lim.MaxPushConstantsSize) {
		return httpErrorf(400, "%s: push constants of %d bytes exceed the device's %d", j.name, refl.PushSize, lim.MaxPushConstantsSize)
	}
	local := refl.LocalSize
	for dim, sid := range refl.LocalSizeSpec {
		if sid < 0 {
			continue
		}
		sa, given := plan.spec[uint32(sid)]
		if !given {
			continue
		}
		for _, si := range refl.Spec {
			if si.ID != uint32(sid) {
				continue
			}
			v, err := specValue(si, sa)
			if err != nil {
				return httpErrorf(400, "spec %d=%s: %v", sid, clip(sa.value), err)
			}
			switch v := v.(type) {
			case uint32:
				local[dim] = v
			case int32:
				local[dim] = uint32(v)
			}
		}
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
	counts := make([]bindingCount, len(sizes))
	for i, b := range sizes {
		maxRange := lim.MaxStorageBufferRange
		if b.info.Kind == gpu.UniformBuffer {
			maxRange = lim.MaxUniformBufferRange
		}
		if b.bytes > int64(maxRange) {
			return httpErrorf(400, "binding %d: %s of %s, more than the device's range of %s for a %s", b.info.Binding, formatBytes(b.bytes), b.typ, formatBytes(int64(maxRange)), b.info.Kind)
		}
		counts[i] = bindingCount{binding: b.info.Binding, elems: b.bytes / int64(b.typ.size())}
	}
	groups, how := dispatchSize(plan, local, counts)
	for i, g := range groups {
		if g > lim.MaxWorkGroupCount[i] {
			return httpErrorf(400, "%d×%d×%d workgroups (%s): dimension %d exceeds the device's %d; use a larger local size (spec), fewer elements, or groups/grid", groups[0], groups[1], groups[2], flagNames.Replace(how), i, lim.MaxWorkGroupCount[i])
		}
	}
	return nil
}

// publicErrorText is a job's error as its client sees it: in the job's
// terms (bind, not --bind), save paths relative to --out as the client
// gave them, no absolute path of the server's, bounded.
func (s *server) publicErrorText(err error) string {
	msg := flagNames.Replace(errorText(err))
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
		fut, err := s.gpu.Enqueue(x, batcher.Dispatch{Kernel: k, Groups: groups, Push: push, Buffers: bufs, Name: fmt.Sprintf("job %d iter %d", id, iter), Flow: id})
		if err != nil {
			return err
		}
		var serr error
		if iter > 0 {
			serr = send(iter - 1) // the previous iteration goes out while this one computes
		}
		var d batcher.Done
		if serr != nil {
			_, _ = fut.Cancel(x) // drop it if still queued; wait for it if not
			return serr
		}
		d, err = fut.Await(x)
		if err != nil {
			return err
		}
		gpuTime += d.End.Sub(d.Start)
		done.BatchSizes = append(done.BatchSizes, d.Batch)
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
	for n := range shaders.All() {
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
