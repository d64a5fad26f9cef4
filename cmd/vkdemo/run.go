package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	stdio "io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
	"github.com/vkio/vkio/job/runner"
)

func init() { register(newRunCmd) }

// runFlags are the raw flags of `vkdemo run`.
type runFlags struct {
	binds, outs, types, spec, push, defines []string
	outDir, groups, grid, size, targetEnv   string
	seed                                    uint64
	show                                    int
	watch                                   bool
	timeout                                 time.Duration
}

// runPlan is the parsed command line: the job, and what only run has.
type runPlan struct {
	job       *job.Job
	shader    string
	show      int
	defines   []string
	targetEnv string
}

const runLong = `Run a compute shader once (or on every save, with --watch) and report
what it wrote.

SHADER is GLSL (.comp, compiled with glslc, which must be installed) or
SPIR-V (.spv): a regular file of at most 64 MiB. Its bindings,
push-constant size, local size and specialization constants are read
from the SPIR-V. Every binding is a
buffer filled as --bind says; after the dispatch, the writable bindings
(not 'readonly' in GLSL) are summarised — first values, min/max/mean —
and written where --out / --out-dir say, each file created atomically
(no partial file is ever left under the final name).

` + bindHelp + `

--push TYPE:VALUE,... packs push constants in order, little-endian, with no
implicit padding (mind std430 offsets); TYPE is one of
` + typeList + `.
Their total size must match the shader's push-constant block.

--spec ID=[TYPE:]VALUE sets specialization constant ID (its type comes from
the shader; a given TYPE must match it). A local size set by a constant
(local_size_x_id) follows it.

Workgroups: --groups X[,Y[,Z]] sets the counts; --grid X[,Y[,Z]] sets the
invocations (counts = ceil(grid / local size)); by default the grid is 1-D,
one invocation per element of the largest binding.

--out B=PATH writes binding B to PATH: a .npy file (numpy's np.load reads it,
with the element type and shape; add :DIMS for a shape, e.g. img.npy:512x512)
or raw bytes for any other name; a read-only binding's file holds its input,
as generated. --out-dir DIR writes every writable binding as
DIR/bindingB.npy. A path that is a device, not a file (/dev/stdout), is
written in place.

Exit status: 0 ok; 1 the shader does not compile, bad SPIR-V, a size that
does not fit the shader, an output that cannot be written, a device failure
or a validation message; 2 a bad flag or value, or a flag naming a binding,
constant or push-constant size that the shader does not have.
With --watch, Ctrl-C ends the run with status 0.

--timeout D cancels the run when D passes (status 1, naming the timeout).
A dispatch the GPU has started cannot be taken back: on Ctrl-C or at the
timeout, vkdemo says which dispatch it is waiting for and waits up to 5s
more for it; then it exits without waiting (the driver stops the work when
the process exits). A second Ctrl-C exits at once.`

const runExample = `  # SAXPY on a million floats: y = 2*x + y, with x random and y = 0, 1, 2, ...
  vkdemo run shaders/saxpy.comp --bind 0=rand:1M --bind 1=iota --push f32:2,u32:1048576 --out 1=y.npy

  # The same from SPIR-V, workgroup size 64 by specialization, inputs from files
  vkdemo run shaders/saxpy.spv --spec 0=64 --bind 0=file:x.bin --bind 1=file:y.npy --push f32:0.5,u32:4096

  # A 512x512 Julia image (16x16 local size) as a 2-D .npy array
  vkdemo run shaders/julia.comp --bind 0=zeros:262144 --grid 512,512 \
    --push u32:512,u32:512,f32:-2,f32:-2,f32:0.0078125,f32:0.0078125,f32:-0.8,f32:0.156,u32:256,u32:1 \
    --out 0=julia.npy:512x512

  # Edit a shader and see the result on every save (Ctrl-C to stop)
  vkdemo run my.comp --bind 0=iota:1024 --watch`

func newRunCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:     "run SHADER [flags]",
		Short:   "Run a compute shader with generated or file inputs and report its outputs",
		Long:    runLong,
		Example: runExample,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return errors.New("missing SHADER (a .comp or .spv file)")
			case len(args) > 1:
				return fmt.Errorf("one SHADER only, got %d arguments: %s", len(args), strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := f.parse(args[0])
			if err != nil {
				return err
			}
			if f.timeout < 0 {
				return usageErrorf("--timeout %s: must not be negative", f.timeout)
			}
			if f.watch {
				if f.timeout > 0 {
					return usageErrorf("--timeout bounds one run; with --watch, stop with Ctrl-C")
				}
				return a.watch(plan)
			}
			return a.runOnce(plan, f.timeout)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.binds, "bind", nil, "fill binding B: B=SOURCE (zeros|ones|iota|rand|fill:V)[:SIZE] or file:PATH; repeatable")
	fl.StringArrayVar(&f.outs, "out", nil, "write binding B to a file: B=PATH (.npy, or raw bytes); repeatable")
	fl.StringVarP(&f.outDir, "out-dir", "o", "", "write every writable binding to DIR/bindingB.npy")
	fl.StringArrayVar(&f.types, "type", nil, "element type of binding B: B=TYPE (default: from the shader)")
	fl.StringArrayVar(&f.spec, "spec", nil, "specialization constant: ID=[TYPE:]VALUE[,...]; repeatable")
	fl.StringArrayVar(&f.push, "push", nil, "push constants, in order: TYPE:VALUE[,TYPE:VALUE...]")
	fl.StringVar(&f.groups, "groups", "", "workgroup counts X[,Y[,Z]]")
	fl.StringVar(&f.grid, "grid", "", "invocations X[,Y[,Z]]; workgroups = ceil(grid/local size)")
	fl.StringVar(&f.size, "size", "", "size of bindings given without one (elements or bytes, see above)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the rand source")
	fl.IntVar(&f.show, "show", 8, "values to print per output binding")
	fl.StringArrayVarP(&f.defines, "define", "D", nil, "glslc macro NAME[=VALUE] for .comp shaders; repeatable")
	fl.StringVar(&f.targetEnv, "target-env", "vulkan1.1", "glslc --target-env for .comp shaders")
	fl.BoolVarP(&f.watch, "watch", "w", false, "re-run on every save of SHADER until Ctrl-C")
	fl.DurationVar(&f.timeout, "timeout", 0, "cancel the run when this much time has passed (e.g. 30s; 0: no limit)")
	return cmd
}

// parse checks every flag that can be checked without the shader.
func (f *runFlags) parse(shader string) (*runPlan, error) {
	if shader == "" {
		return nil, usageErrorf("run: empty SHADER path")
	}
	j, err := job.FromFlags(job.Flags{Kernel: shader, Binds: f.binds, Types: f.types, Spec: f.spec, Push: f.push,
		Outs: f.outs, OutDir: f.outDir, Groups: f.groups, Grid: f.grid, Size: f.size, Seed: f.seed}, job.FlagNames)
	if err != nil {
		return nil, cliError(err)
	}
	if f.show < 0 || f.show > maxShow {
		return nil, usageErrorf("--show %d: want 0 to %d", f.show, maxShow)
	}
	return &runPlan{job: j, shader: shader, show: f.show, defines: f.defines, targetEnv: f.targetEnv}, nil
}

// program is a loaded shader: its SPIR-V and what was reflected from it.
type program struct {
	spirv    []byte
	refl     *gpu.Reflection
	types    map[uint32]dtype // element types of the set-0 bindings, from gpu.Reflect
	compiled time.Duration    // glslc time, 0 for .spv
	loadedAt time.Time
}

// loadShader reads (and for GLSL compiles) the shader and reflects it.
func loadShader(x io.Io, p *runPlan) (*program, error) {
	start := time.Now()
	var spirv []byte
	var took time.Duration
	if isGLSL(p.shader) {
		var err error
		spirv, err = compileGLSL(x, p)
		if err != nil {
			return nil, err
		}
		took = time.Since(start)
	} else {
		data, err := io.Cwd().ReadFileMax(x, p.shader, maxShaderFile)
		if err != nil {
			return nil, fmt.Errorf("reading shader: %w", err)
		}
		if !bytes.HasPrefix(data, []byte{0x03, 0x02, 0x23, 0x07}) && !strings.EqualFold(filepath.Ext(p.shader), ".spv") {
			return nil, usageErrorf("%s: not SPIR-V (no SPIR-V magic number) and not GLSL (.comp, .glsl)", p.shader)
		}
		spirv = data
	}
	refl, err := gpu.Reflect(spirv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.shader, err)
	}
	return &program{spirv: spirv, refl: refl, types: elementTypes(refl), compiled: took, loadedAt: time.Now()}, nil
}

// isGLSL reports whether path names GLSL source, by its extension.
func isGLSL(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".comp", ".glsl":
		return true
	}
	return false
}

// compileError is a shader that does not compile: glslc's messages.
type compileError struct {
	shader string
	msgs   string
}

func (e *compileError) Error() string {
	lines := strings.Split(strings.TrimSpace(e.msgs), "\n")
	var kept []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasSuffix(l, "generated.") {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return fmt.Sprintf("%s does not compile (glslc gave no message)", e.shader)
	}
	return fmt.Sprintf("%s does not compile: %s", e.shader, strings.Join(kept, "\n"))
}

// compileGLSL runs glslc on the shader, returning the SPIR-V.
func compileGLSL(x io.Io, p *runPlan) ([]byte, error) {
	// glslc reads the file itself: check first, by reading it as vkdemo
	// reads a .spv, that it is a regular file of at most maxShaderFile
	// bytes (not /dev/zero, which glslc would read until memory ran out,
	// not a FIFO, which would block it).
	if _, err := io.Cwd().ReadFileMax(x, p.shader, maxShaderFile); err != nil {
		return nil, fmt.Errorf("reading shader: %w", err)
	}
	glslc, err := exec.LookPath("glslc")
	if err != nil {
		return nil, fmt.Errorf("glslc is not installed (not found in PATH), so %s cannot be compiled: install it (Debian: apt-get install glslc, or 'make deps') or pass a .spv file", p.shader)
	}
	// glslc writes the SPIR-V to a file of a temporary folder and its
	// messages to a pipe: one stream to read, which needs no second task
	// (the Blocking Io has none) and cannot fill up while another is read.
	tmp, err := os.MkdirTemp("", "vkdemo-glslc-")
	if err != nil {
		return nil, fmt.Errorf("running glslc: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "shader.spv")
	args := []string{"glslc", "--target-env=" + p.targetEnv, "-o", out}
	if strings.ToLower(filepath.Ext(p.shader)) != ".comp" {
		args = append(args, "-fshader-stage=compute")
	}
	for _, d := range p.defines {
		args = append(args, "-D"+d)
	}
	args = append(args, p.shader)
	// Through the Io: a cancel (Ctrl-C, --timeout) interrupts the read of
	// the messages and makes Wait end glslc (SIGTERM, then SIGKILL).
	proc, err := io.Spawn(x, io.Command{Path: glslc, Args: args, Stdin: io.StdioNull, Stdout: io.StdioNull, Stderr: io.StdioPipe})
	if err != nil {
		if cerr := x.CheckCancel(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("running glslc: %w", err)
	}
	msgs, rerr := readCapped(x, proc.Stderr, maxCompileMessages)
	st, werr := proc.Wait(x)
	if cerr := x.CheckCancel(); cerr != nil {
		return nil, cerr
	}
	if err := errors.Join(rerr, werr); err != nil {
		return nil, fmt.Errorf("running glslc: %w", err)
	}
	if !st.Success() {
		if st.Code < 0 {
			msgs = append(msgs, "glslc: "+st.String()...)
		}
		return nil, &compileError{shader: p.shader, msgs: string(msgs)}
	}
	spirv, err := io.Cwd().ReadFileMax(x, out, maxCompiledShader)
	if err != nil {
		return nil, fmt.Errorf("reading glslc's output: %w", err)
	}
	return spirv, nil
}

// maxCompileMessages bounds the messages of glslc that a failed compile
// reports; beyond it they are read and dropped. maxCompiledShader bounds the
// SPIR-V read back.
const (
	maxCompileMessages = 1 << 20
	maxCompiledShader  = 4 * maxShaderFile
)

// readCapped reads f to its end, keeping the first max bytes.
func readCapped(x io.Io, f *io.File, max int) ([]byte, error) {
	var kept []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(x, buf)
		if room := max - len(kept); room > 0 {
			kept = append(kept, buf[:min(n, room)]...)
		}
		if err == stdio.EOF {
			return kept, nil
		}
		if err != nil {
			return kept, err
		}
	}
}

// binding is one buffer of a run, resolved against the shader.
type binding struct {
	info   gpu.BindingInfo
	typ    dtype
	source string // how it was filled, for the summary
	data   []byte
	out    *job.Save
}

// runOnce loads the shader and runs it once, within timeout when it is
// not 0.
func (a *app) runOnce(p *runPlan, timeout time.Duration) (err error) {
	x, err := a.Io()
	if err != nil {
		return err
	}
	if timeout > 0 {
		tctx, cancel := context.WithTimeout(x.Context(), timeout)
		defer cancel()
		var cancelX context.CancelFunc
		x, cancelX = x.WithContext(tctx)
		defer cancelX()
		a.timeout, a.timeoutCtx = timeout, tctx
		defer func() {
			if err != nil && tctx.Err() == context.DeadlineExceeded && errors.Is(err, io.ErrCanceled) && a.ctx.Err() == nil {
				err = &timeoutError{timeout: timeout, err: err}
			}
		}()
	}
	if err := checkOutputs(x, p); err != nil {
		return err
	}
	prog, err := loadShader(x, p)
	if err != nil {
		return err
	}
	d, err := a.Device()
	if err != nil {
		return err
	}
	return a.execute(x, d, p, prog)
}

// checkOutputs checks, before any GPU work, that the output folders exist
// (creating --out-dir) so that a bad path fails fast. (An --out that is a
// folder is reported when it is written.)
func checkOutputs(x io.Io, p *runPlan) error {
	if p.job.SaveDir != "" {
		if err := io.Cwd().MakePath(x, p.job.SaveDir, 0o755); err != nil {
			return fmt.Errorf("--out-dir %s: cannot create the folder: %w", p.job.SaveDir, err)
		}
	}
	for _, b := range sortedKeys(p.job.Saves) {
		o := p.job.Saves[b]
		if err := checkOutputParent(x, fmt.Sprintf("--out %d=%s", b, o.Path), o.Path, p.job.SaveDir); err != nil {
			return err
		}
	}
	return nil
}

// execute runs prog once on d (runner.Run) and reports the results.
//
// Its GPU waits (uploads, the dispatch, downloads) are not cancel points:
// a canceled wait would leave the buffers, kernel and batch in use by GPU
// work when they are closed (ErrBusy on top of the interruption), and the
// device waits for that work anyway. Cancellation is checked after each.
// A dispatch abandoned to the GPU (waitDispatch) still uses the kernel,
// buffers and batch: they are left for the process exit to free.
func (a *app) execute(x io.Io, d *gpu.Device, p *runPlan, prog *program) error {
	abandoned := func() bool { return a.gpuAbandoned }
	var wall time.Duration
	sink := &summarySink{a: a, p: p, prog: prog, d: d, wall: &wall}
	saver := &fileSaver{}
	_, err := runner.Run(x, d, p.job, &runner.Program{Name: p.shader, SPIRV: prog.spirv, Refl: prog.refl, Types: prog.types}, runner.Options{
		Names:       job.FlagNames,
		Read:        fileReader(x),
		DeviceLocal: true,
		Dispatcher: runner.Direct{Device: d, Abandoned: abandoned,
			Wait: func(x io.Io, b *gpu.Batch, what string) (*gpu.Completion, error) {
				start := time.Now()
				c, err := a.waitDispatch(x, d, b, what)
				wall = time.Since(start)
				return c, err
			}},
		Sink:      sink,
		Saver:     saver,
		Abandoned: abandoned,
	})
	if err != nil {
		if errors.Is(err, gpu.ErrLimit) && strings.HasPrefix(err.Error(), "dispatch ") {
			err = fmt.Errorf("%w (fewer elements, a larger local size with --spec, or --groups/--grid)", err)
		}
		return cliError(err)
	}
	for _, w := range saver.wrote {
		fmt.Fprintf(a.stdout, "wrote     %s (%s, %s)\n", w.path, job.FormatBytes(w.n), w.desc)
	}
	return nil
}

// summarySink prints the summary of a run once it is done.
type summarySink struct {
	a    *app
	p    *runPlan
	prog *program
	d    *gpu.Device
	wall *time.Duration
}

func (k *summarySink) Start(*runner.Result) error            { return nil }
func (k *summarySink) Frame(int, *job.Binding, []byte) error { return nil }
func (k *summarySink) Finish(r *runner.Result) error {
	if err := k.a.gate.take(); err != nil {
		return err
	}
	var wall time.Duration
	if k.wall != nil {
		wall = *k.wall
	}
	bs := make([]*binding, len(r.Bindings))
	infos := map[uint32]gpu.BindingInfo{}
	for _, bi := range k.prog.refl.Bindings {
		if bi.Set == 0 {
			infos[bi.Binding] = bi
		}
	}
	for i, b := range r.Bindings {
		bs[i] = &binding{info: infos[b.Info.Binding], typ: b.Type, source: b.Source, data: b.Data, out: b.Save}
	}
	printSummary(k.a, k.p, k.prog, k.d, r.LocalSize, r.Groups, r.How, bs, r.GPUTime, wall)
	return nil
}

// fileSaver writes run's --out and --out-dir files, each atomically.
type fileSaver struct {
	mu    sync.Mutex
	wrote []wrote
}

// wrote is one file written, for the summary.
type wrote struct {
	binding uint32
	path    string
	n       int64
	desc    string
}

func (f *fileSaver) Save(x io.Io, b uint32, sv job.Save, t job.DType, data []byte) error {
	n, desc, err := writeOutput(x, &binding{typ: t, data: data, out: &sv})
	if err != nil {
		return fmt.Errorf("--out %d=%s: %w", b, sv.Path, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := sort.Search(len(f.wrote), func(i int) bool { return f.wrote[i].binding > b })
	f.wrote = slices.Insert(f.wrote, i, wrote{b, sv.Path, n, desc})
	return nil
}

// printSummary prints what ran and what it produced.
func printSummary(a *app, p *runPlan, prog *program, d *gpu.Device, local, groups [3]uint32, how string, bs []*binding, gpuTime, wall time.Duration) {
	w := a.stdout
	src := "SPIR-V"
	if prog.compiled > 0 {
		src = fmt.Sprintf("GLSL, glslc %s", prog.compiled.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "shader    %s (%s): local size %dx%dx%d, %d bytes of push constants\n", p.shader, src, local[0], local[1], local[2], prog.refl.PushSize)
	fmt.Fprintf(w, "device    %s, io %s\n", d.Info(), a.x)
	fmt.Fprintf(w, "dispatch  %dx%dx%d workgroups (%s)\n", groups[0], groups[1], groups[2], how)
	for _, b := range bs {
		role := "in/out"
		if b.info.ReadOnly {
			role = "in"
		}
		fmt.Fprintf(w, "binding %d %-6s %s[%d] (%s) from %s\n", b.info.Binding, role, b.typ, len(b.data)/b.typ.Size(), job.FormatBytes(int64(len(b.data))), b.source)
	}
	fmt.Fprintf(w, "gpu time  %s (timestamps), submit to completion %s\n", fmtDur(gpuTime), fmtDur(wall))
	for _, b := range bs {
		if b.info.ReadOnly {
			continue
		}
		n := len(b.data) / b.typ.Size()
		lo, hi, sum, nan := math.Inf(1), math.Inf(-1), 0.0, 0
		for i := range n {
			v := elemAt(b.typ, b.data, i)
			if math.IsNaN(v) {
				nan++
				continue
			}
			lo, hi, sum = min(lo, v), max(hi, v), sum+v
		}
		mean := sum / float64(max(n-nan, 1))
		fmt.Fprintf(w, "output %d  %s[%d]: min %s max %s mean %s", b.info.Binding, b.typ, n, fmtNum(lo), fmtNum(hi), fmtNum(mean))
		if nan > 0 {
			fmt.Fprintf(w, " (%d NaN)", nan)
		}
		fmt.Fprintln(w)
		if p.show > 0 {
			var first []string
			for i := range min(n, p.show) {
				first = append(first, formatElem(b.typ, b.data, i))
			}
			more := ""
			if n > p.show {
				more = " ..."
			}
			fmt.Fprintf(w, "          [%s%s]\n", strings.Join(first, " "), more)
		}
	}
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 7, 64) }

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "n/a"
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	}
	return fmt.Sprintf("%.3f ms", float64(d)/1e6)
}

// writeOutput writes one binding's file: atomically for regular files, in
// place for devices and pipes (/dev/stdout, /dev/full), which cannot be
// replaced by a rename.
func writeOutput(x io.Io, b *binding) (int64, string, error) {
	o := b.out
	n := int64(len(b.data) / b.typ.Size())
	var head []byte
	desc := "raw " + b.typ.String()
	if strings.EqualFold(filepath.Ext(o.Path), ".npy") {
		shape := []int64{n}
		if o.Shape != nil {
			prod := int64(1)
			for _, d := range o.Shape {
				prod *= d
			}
			if prod != n {
				return 0, "", usageErrorf("shape %v holds %d elements, but the binding has %d", o.Shape, prod, n)
			}
			shape = o.Shape
		}
		head = npyHeader(b.typ, shape)
		dims := fmt.Sprint(shape)
		dims = strings.ReplaceAll(dims[1:len(dims)-1], " ", ", ")
		if len(shape) == 1 {
			dims += ","
		}
		desc = fmt.Sprintf("npy %s (%s)", b.typ.NpyDescr(), dims)
	}
	total := int64(len(head) + len(b.data))
	f, err := io.Cwd().CreateAtomic(x, o.Path, 0o644) // in place for devices such as /dev/full
	if errors.Is(err, syscall.EISDIR) {
		return 0, "", fmt.Errorf("%s is a folder", o.Path)
	}
	if err != nil {
		return 0, "", err
	}
	defer f.Close(x)
	if _, err := f.WriteVec(x, [][]byte{head, b.data}, 1); err != nil {
		return 0, "", err
	}
	return total, desc, f.Commit(x)
}

// stderrf prints a line to stderr.
func (a *app) stderrf(format string, args ...any) {
	fmt.Fprintf(a.stderr, format, args...)
}

// interruptWait bounds how long a run that was interrupted (Ctrl-C,
// --timeout) waits for a dispatch the GPU is running.
const interruptWait = 5 * time.Second

// waitDispatch runs batch on d and waits for it. The GPU cannot be stopped
// once it runs a dispatch, so canceling x does not end the wait at once:
// it says what it waits for on stderr and waits up to interruptWait more.
// Past that, it gives the dispatch up (a.gpuAbandoned: nothing it uses may
// be closed, the device included; the process exit ends the GPU work) and
// returns an *abandonedError.
func (a *app) waitDispatch(x io.Io, d *gpu.Device, batch *gpu.Batch, what string) (*gpu.Completion, error) {
	type result struct {
		c   *gpu.Completion
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := d.Run(x.WithoutCancel(), batch)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-x.Context().Done():
	}
	why := "interrupted"
	if a.timeoutCtx != nil && a.timeoutCtx.Err() == context.DeadlineExceeded && a.ctx.Err() == nil {
		why = fmt.Sprintf("--timeout %s passed", a.timeout)
	}
	fmt.Fprintf(a.stderr, "vkdemo: %s: waiting for the GPU to finish %s (up to %s); Ctrl-C again to exit now\n", why, what, interruptWait)
	t := time.NewTimer(interruptWait)
	defer t.Stop()
	select {
	case r := <-done:
		return r.c, r.err
	case <-t.C:
	}
	a.gpuAbandoned = true
	return nil, &abandonedError{what: what, waited: interruptWait, err: x.CheckCancel()}
}

// abandonedError is a dispatch the GPU did not finish within interruptWait
// after the run was canceled.
type abandonedError struct {
	what   string
	waited time.Duration
	err    error // the cancellation
}

func (e *abandonedError) Error() string {
	return fmt.Sprintf("the GPU did not finish %s within %s; exiting without waiting for it", e.what, e.waited)
}

func (e *abandonedError) Unwrap() error { return e.err }

// timeoutError is a run canceled by --timeout: exit status 1, not 130.
type timeoutError struct {
	timeout time.Duration
	err     error
}

func (e *timeoutError) Error() string {
	var ae *abandonedError
	if errors.As(e.err, &ae) {
		return fmt.Sprintf("run: --timeout %s passed; %v", e.timeout, ae)
	}
	return fmt.Sprintf("run: --timeout %s passed; the run was canceled", e.timeout)
}
