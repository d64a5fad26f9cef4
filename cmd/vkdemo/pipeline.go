package main

// The pipeline command: vkdemo's main demo, and what `vkdemo` runs with no
// command.
//
// # Progress bar: schollz/progressbar
//
// The bar is github.com/schollz/progressbar/v3 rather than
// vbauerster/mpb: the demo draws a single bar, which progressbar does in one
// call per frame with no container or decorator setup, it is thread-safe, and
// its dependencies are small (x/term, uniseg, colorstring). It is drawn only
// when stdout is a terminal (golang.org/x/term); otherwise the command prints
// a plain line every few frames, and nothing but the summary with --json.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	stdio "io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
	"github.com/vkio/vkio/tasks"
)

func init() { register(newPipelineCmd) }

// Defaults of the pipeline and bench commands.
const (
	defaultFrames  = 24
	defaultSize    = "512"
	defaultSaves   = 4
	defaultGPUSubs = 2
	defaultIter    = 400
	defaultOut     = "vkdemo-out"
	framePattern   = "frame-%04d.png" // the PNG frames' names (see demoConfig.pattern)
	traceName      = "trace.json"
	timelineName   = "timeline.svg"
	maxFrameSide   = 8192
	maxDemoFrames  = 1_000_000
	maxDemoIter    = 100_000
	maxDemoDepth   = 1024
	maxDemoStages  = 1024
	// defaultBudgetMax caps the default --inflight-bytes: a sixteenth of
	// the machine's memory, at most this much (and 256 MiB where the total
	// is unknown).
	defaultBudgetMax     = 1 << 30
	defaultBudgetUnknown = 256 << 20
)

// demoConfig is the work of one pipeline run: which frames, how large, how
// many in flight. The pipeline and bench commands share it, and the tests
// use the same parameters (demo.JuliaZoom) for their CPU reference.
type demoConfig struct {
	frames        int
	width, height int
	depth         int // frames in flight (slots): from the byte budget, capped by --depth
	maxIter       uint32
	budget        int64 // --inflight-bytes: the bytes all frames in flight may hold
	encoders      int   // concurrent PNG encodes
	saves         int   // concurrent file saves
	gpuSubs       int   // GPU submissions in flight
	pngLevel      png.CompressionLevel
	fastPNG       bool   // --png-level fast: demo.FastPNGEncoder
	format        string // --format: png, raw or npy
	stageCPU      bool   // --stage-cpu: measure the stages' thread CPU time
	encodeNice    int    // --encode-nice: -1 for the device's default (cpuEncodeNice on a CPU device, else 0)
	// outMem is the memory the frames render into: DeviceLocal with
	// --transfer-queue or --force-staging (never host-mapped: read back
	// by staging copies), else HostVisible (the zero value).
	outMem gpu.Memory
	// depthBy names the flag that set depth: "--depth", "--inflight-bytes"
	// (the budget held fewer frames than the stages use) or "--frames";
	// "" when depth is the stages' sum (see config).
	depthBy string
}

// frameFormats are the --format names (see demoConfig.encoder).
var frameFormats = map[string]bool{"png": true, "raw": true, "npy": true}

// pattern is the frames' file name, with one %d verb for the frame:
// frame-0000.png, frame-0000.npy, and for raw frames, which carry no header,
// the size in the name: frame-0000.512x512.rgba.
func (c demoConfig) pattern() string {
	switch c.format {
	case "raw":
		return fmt.Sprintf("frame-%%04d.%dx%d.rgba", c.width, c.height)
	case "npy":
		return "frame-%04d.npy"
	}
	return framePattern
}

// glob is the frames' file names as a shell pattern: frame-*.png.
func (c demoConfig) glob() string { return strings.Replace(c.pattern(), "%04d", "*", 1) }

// encoder is the pipeline's CPU stage for c.format; nil for raw, which
// saves the read-back as it is (no copy).
func (c demoConfig) encoder() tasks.Encoder {
	switch c.format {
	case "raw":
		return nil
	case "npy":
		return &demo.NPYEncoder{Width: c.width, Height: c.height}
	}
	// --png-level, default fast: a fixed row filter and zlib's fastest
	// level, 3-4x faster than image/png's BestSpeed for files 5 % smaller
	// on the demo's frames (see BenchmarkFrameFormats in internal/demo).
	if c.fastPNG {
		return &demo.FastPNGEncoder{Width: c.width, Height: c.height}
	}
	return &demo.PNGEncoder{Width: c.width, Height: c.height, Level: c.pngLevel}
}

// frameBytes is what one frame in flight holds at most: its GPU output
// buffer, its read-back and its encode buffer (a PNG of RGBA8 pixels is
// at most a little over the raw size: counted as the raw size again).
func (c demoConfig) frameBytes() int64 { return 3 * 4 * int64(c.width) * int64(c.height) }

// params returns the shader parameters of frame k.
func (c demoConfig) params(k int) demo.JuliaParams {
	return demo.JuliaZoom(c.width, c.height, k, c.maxIter)
}

// demoFlags are the flags the pipeline and bench commands share.
type demoFlags struct {
	frames   int
	size     string
	depth    int
	iter     int
	inflight string
	encoders int
	saves    int
	gpuSubs  int
	pngLevel string
	format   string
	stageCPU bool
	nice     int
}

func (f *demoFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVarP(&f.frames, "frames", "n", defaultFrames, "number of frames to render")
	fs.StringVarP(&f.size, "size", "s", defaultSize, "frame size: WxH (e.g. 640x360) or N for NxN")
	fs.IntVar(&f.depth, "depth", 0, "at most this many frames in flight (0: as many as --inflight-bytes holds and the stages use)")
	fs.StringVar(&f.inflight, "inflight-bytes", "", "bytes all frames in flight may hold (GPU output, read-back, PNG), e.g. 256MiB (default: 1/16 of memory, at most 1GiB)")
	fs.IntVar(&f.encoders, "encoders", 0, "PNG encodes at once (0: one per CPU core)")
	fs.IntVar(&f.saves, "saves", defaultSaves, "file saves at once")
	fs.IntVar(&f.gpuSubs, "gpu-submits", defaultGPUSubs, "GPU submissions in flight (enough to keep the queue fed)")
	fs.StringVar(&f.pngLevel, "png-level", "fast", "PNG compression: fast (zlib level 1, one fixed row filter), speed (image/png's level 1, a filter chosen per row), default (level 6), best (level 9) or none (stored)")
	fs.StringVar(&f.format, "format", "png", "frame files: png, raw (the RGBA8 pixels, rows top to bottom, named frame-N.WxH.rgba) or npy (a uint8 array of shape (H, W, 4))")
	fs.BoolVar(&f.stageCPU, "stage-cpu", false, "measure each stage's CPU time (the thread CPU clock around submit, read back and encode spans): in the report and as cpu_ms on the trace's spans")
	fs.IntVar(&f.nice, "encode-nice", -1, "raise the encoders' OS nice value by this much, 0 to 19 (-1: 10 on a CPU device such as lavapipe, whose GPU threads share the cores, else 0)")
	fs.IntVar(&f.iter, "iter", defaultIter, "iterations per pixel (the GPU cost of a frame)")
}

// config checks the flags and returns the work they describe. Bad values
// are usage errors.
func (f *demoFlags) config() (demoConfig, error) {
	if f.frames <= 0 || f.frames > maxDemoFrames {
		return demoConfig{}, usageErrorf("--frames %d: want 1 to %d frames", f.frames, maxDemoFrames)
	}
	w, h, err := parseFrameSize(f.size)
	if err != nil {
		return demoConfig{}, usageErrorf("--size %q: %v", f.size, err)
	}
	if f.depth < 0 || f.depth > maxDemoDepth {
		return demoConfig{}, usageErrorf("--depth %d: want 1 to %d frames in flight, or 0 for the default", f.depth, maxDemoDepth)
	}
	if f.iter < 1 || f.iter > maxDemoIter {
		return demoConfig{}, usageErrorf("--iter %d: want 1 to %d iterations", f.iter, maxDemoIter)
	}
	cfg := demoConfig{frames: f.frames, width: w, height: h, maxIter: uint32(f.iter),
		encoders: f.encoders, saves: f.saves, gpuSubs: f.gpuSubs}
	if cfg.encoders == 0 {
		cfg.encoders = runtime.NumCPU()
	}
	for _, s := range []struct {
		flag string
		n    int
	}{{"--encoders", f.encoders}, {"--saves", f.saves}, {"--gpu-submits", f.gpuSubs}} {
		if s.n < 0 || s.n > maxDemoStages || (s.n == 0 && s.flag != "--encoders") {
			return demoConfig{}, usageErrorf("%s %d: want 1 to %d", s.flag, s.n, maxDemoStages)
		}
	}
	if f.pngLevel == "" {
		f.pngLevel = "fast"
	}
	lvl, ok := pngLevels[f.pngLevel]
	if !ok && f.pngLevel != "fast" {
		return demoConfig{}, usageErrorf("--png-level %q: want fast, speed, default, best or none", f.pngLevel)
	}
	cfg.pngLevel, cfg.fastPNG = lvl, f.pngLevel == "fast"
	if f.format == "" {
		f.format = "png"
	}
	if !frameFormats[f.format] {
		return demoConfig{}, usageErrorf("--format %q: want png, raw or npy", f.format)
	}
	cfg.format = f.format
	cfg.stageCPU = f.stageCPU
	if f.nice < -1 || f.nice > 19 {
		return demoConfig{}, usageErrorf("--encode-nice %d: want 0 to 19, or -1 for the device's default", f.nice)
	}
	cfg.encodeNice = f.nice
	cfg.budget = defaultInflightBytes()
	if f.inflight != "" {
		sz, err := parseSize(f.inflight)
		if err != nil {
			return demoConfig{}, usageErrorf("--inflight-bytes: %v", err)
		}
		cfg.budget = sz.n
	}
	// Frames in flight: as many as the budget holds, but no more than the
	// stages can use at once (every GPU submission, encoder and save busy,
	// and one frame waiting for each stage), nor than --depth or --frames.
	want := cfg.gpuSubs + cfg.encoders + cfg.saves + 1
	if f.depth > 0 {
		want = f.depth
	}
	capDepth := min(want, f.frames, maxDemoDepth)
	depth, err := tasks.DepthForBudget(cfg.budget, cfg.frameBytes(), capDepth)
	if err != nil && f.inflight == "" {
		// The default budget never refuses a run: one frame is always
		// allowed in flight, however large.
		depth, err = 1, nil
	}
	if err != nil {
		return demoConfig{}, usageErrorf("--inflight-bytes %s: a %dx%d frame in flight needs %s", job.FormatBytes(cfg.budget), w, h, job.FormatBytes(cfg.frameBytes()))
	}
	cfg.depth = depth
	switch {
	case depth < capDepth:
		cfg.depthBy = "--inflight-bytes"
	case depth == f.frames:
		cfg.depthBy = "--frames"
	case f.depth > 0:
		cfg.depthBy = "--depth"
	}
	return cfg, nil
}

// pngLevels are the --png-level names.
var pngLevels = map[string]png.CompressionLevel{
	"speed":   png.BestSpeed,
	"default": png.DefaultCompression,
	"best":    png.BestCompression,
	"none":    png.NoCompression,
}

// defaultInflightBytes is the default --inflight-bytes: a sixteenth of the
// machine's memory, at most defaultBudgetMax.
func defaultInflightBytes() int64 {
	total := totalMemory()
	if total <= 0 {
		return defaultBudgetUnknown
	}
	return min(total/16, defaultBudgetMax)
}

// totalMemory returns the machine's memory in bytes from /proc/meminfo, or 0
// where that is not known.
func totalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb > 0 && kb < 1<<44 {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// parseFrameSize parses "WxH" (also "W×H") or "N" (N×N).
func parseFrameSize(s string) (w, h int, err error) {
	s = strings.TrimSpace(strings.ToLower(s))
	ws, hs, two := strings.Cut(strings.ReplaceAll(s, "×", "x"), "x")
	if !two {
		hs = ws
	}
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if errW != nil || errH != nil {
		return 0, 0, errors.New("want WxH (e.g. 640x360) or N for NxN pixels")
	}
	if w < 1 || h < 1 || w > maxFrameSide || h > maxFrameSide {
		return 0, 0, fmt.Errorf("each side must be 1 to %d pixels", maxFrameSide)
	}
	return w, h, nil
}

// pipelineReport is the JSON form of `vkdemo pipeline --json`. Field names
// are stable; "report" is tasks.Report's JSON (durations in milliseconds).
type pipelineReport struct {
	Io       string       `json:"io"`
	Device   string       `json:"device"`
	Frames   int          `json:"frames"`
	Width    int          `json:"width"`
	Height   int          `json:"height"`
	Depth    int          `json:"depth"`
	MaxIter  uint32       `json:"max_iter"`
	Out      string       `json:"out"`
	Format   string       `json:"format"` // --format: png, raw or npy
	Images   []string     `json:"images"` // paths of the frame files saved, in frame order
	Trace    string       `json:"trace,omitempty"`
	Timeline string       `json:"timeline,omitempty"`
	Report   tasks.Report `json:"report"`
	// Devices are the members of the --devices set, by member index
	// (absent without --devices).
	Devices []string `json:"devices,omitempty"`
}

func newPipelineCmd(a *app) *cobra.Command {
	var (
		df              demoFlags
		out             string
		tracePath, svg  string
		asJSON, noTrace bool
		devs            devicesFlag
		staging         stagingFlags
	)
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Render a GPU Julia-set zoom and save it as PNGs (or raw, npy) while the next frame computes (the default)",
		Long: `Render --frames frames of a Julia-set zoom with a compute shader on the
Vulkan device (Mesa's lavapipe where there is no GPU), encode each as PNG and
save it atomically in --out (frame-0000.png, ...) while the next frames
compute: a tasks.Pipeline, every wait (GPU fences, file writes) going
through the Io chosen with --io.

Frames in flight are limited by memory: as many as --inflight-bytes holds
(each frame counts its GPU output, its read-back and its PNG: 3 × 4 × W × H
bytes; default a sixteenth of the machine's memory, at most 1 GiB) and the
stages can use, at most --depth. Each stage has its own bound: --encoders
PNG encodes at once (default one per core), --saves file saves, --gpu-submits
GPU submissions in flight. On a CPU device (lavapipe), whose "GPU" is
threads on the same cores, encodes run at a lower OS priority (nice +10) so
that the GPU queue never waits for a core (--encode-nice), and GOMAXPROCS
is the cores + 2 unless the GOMAXPROCS variable sets it. --png-level trades file size for
encoding time (fast, the default, is zlib level 1 with one fixed row
filter: 3-4× faster than speed, image/png's level 1, which chooses a filter for every row, and
its files are 5 % smaller on these frames; speed is about 2× faster than
default and 13× faster than best for 23-34 % larger files; none is 7×
faster than speed and writes files 19× larger).

--format picks the files: png (the default, what a viewer opens), raw or
npy. raw saves the read-back as it is, with no encode stage: W × H × 4 bytes,
RGBA8, rows top to bottom, no header; the size is in the name,
frame-0000.512x512.rgba (ffmpeg -f rawvideo -pix_fmt rgba -s 512x512, or
magick -size 512x512 -depth 8 rgba:FILE out.png). npy writes a NumPy file
of dtype uint8 and shape (H, W, 4), the same bytes behind a 128-byte header
(numpy.load). Every format is saved atomically.

A progress bar is drawn when stdout is a terminal; otherwise a line is printed
every few frames. At the end it prints the overlap report — wall time, how
long each resource (cpu, gpu, disk) was busy, how long the GPU sat idle, and
the bound (the computed lower bound on wall time: the largest resource limit,
process CPU time over cores, GPU busy time, disk, frames in flight over
--depth, each stage's time over its --gpu-submits, --encoders or --saves),
the binding resource, and the efficiency (wall / bound; 1.0 is perfect);
on Linux the cpu limit counts the host's CPU time (every process's, from
/proc/stat) where other processes kept the cores busy: the machine then had
no room, whatever this run used;
where a flag, not the machine, bound the run, a hint names the flag to
raise; the time each stage took (the sum of its spans over the frames),
and with --stage-cpu its CPU time and CPU / wall, from the thread CPU clock
(also on the trace's spans as cpu_ms; it costs a few microseconds a span)
— and where the images, the trace and the timeline went. On a CPU
device (lavapipe) the GPU's work is CPU work: the CPU limit covers it.

The trace (--trace, default OUT/trace.json) is Chrome trace-event JSON: open
it in https://ui.perfetto.dev or chrome://tracing. The timeline (--timeline,
default OUT/timeline.svg) is the same spans as a picture. --trace '' and
--timeline '' turn them off.

Ctrl-C stops promptly: the frames already reported saved are complete, no
partial or temporary file is left, and the exit status is 130.

--devices spreads the frames over several devices: each frame's GPU work
runs on the least-loaded one, its GPU lane in the trace is "device N" (N
the place in the list), and a device lost mid-run is taken out (a line on
stderr) while its frames run again on the others; frames already saved
are kept. --gpu-submits counts the submissions over all the devices
(default 2 per device).
"--devices 0,0" opens two logical devices on device 0.
` + stagingHelp + `

This is what vkdemo runs when it is given no command.`,
		Example: `  vkdemo                                   # 24 frames of 512x512 in ./vkdemo-out
  vkdemo pipeline --frames 100 --size 1280x720 --out zoom
  vkdemo --io blocking pipeline --trace blocking.json   # compare with the default Io
  vkdemo pipeline --json --frames 8 | jq .report.overlap_efficiency
  vkdemo pipeline --devices all --gpu-submits 8   # every GPU of the machine`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := df.config()
			if err != nil {
				return err
			}
			if out == "" {
				return usageErrorf("--out: want a folder")
			}
			if !flagChanged(cmd.Flags(), "trace") {
				tracePath = filepath.Join(out, traceName)
			}
			if !flagChanged(cmd.Flags(), "timeline") {
				svg = filepath.Join(out, timelineName)
			}
			if noTrace {
				tracePath, svg = "", ""
			}
			cfg.outMem = staging.outMemory()
			a.staging = staging
			// With --devices and no --gpu-submits: the default per
			// device, so that every device has work queued.
			devs.reconfig = func(members int) (demoConfig, error) {
				if flagChanged(cmd.Flags(), "gpu-submits") {
					return cfg, nil
				}
				per := df
				per.gpuSubs = defaultGPUSubs * members
				c, err := per.config()
				c.outMem = cfg.outMem
				return c, err
			}
			return a.pipeline(cfg, out, tracePath, svg, asJSON, &devs)
		},
	}
	df.add(cmd)
	devs.add(cmd)
	staging.add(cmd)
	fs := cmd.Flags()
	fs.StringVarP(&out, "out", "o", defaultOut, "output folder for the frames (created if missing)")
	fs.StringVar(&tracePath, "trace", "", "write the Perfetto / chrome://tracing JSON trace here (default OUT/"+traceName+"; '' for none)")
	fs.StringVar(&svg, "timeline", "", "write the timeline picture (SVG) here (default OUT/"+timelineName+"; '' for none)")
	fs.BoolVar(&noTrace, "no-trace", false, "write neither the trace nor the timeline")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON on stdout (no progress output)")
	return cmd
}

// pipeline runs the pipeline command.
func (a *app) pipeline(cfg demoConfig, out, tracePath, svgPath string, asJSON bool, devs *devicesFlag) error {
	x, err := a.Io()
	if err != nil {
		return err
	}
	for _, f := range []struct{ flag, path string }{{"--trace", tracePath}, {"--timeline", svgPath}} {
		if err := checkOutputFile(x, f.flag, f.path, out); err != nil {
			return err
		}
	}
	dir, err := openOutDir(x, "--out", out)
	if err != nil {
		return err
	}
	defer dir.Close(x.WithoutCancel())
	// A run killed (SIGKILL, a crash) in the middle of a save left its
	// temporary file; remove those whose writer is gone.
	if n, err := dir.RemoveStaleTemps(x, 0); n > 0 || err != nil {
		a.stderrf("vkdemo pipeline: removed %d stale temporary file(s) of killed runs in %s%s\n", n, out, errSuffix(err))
	}
	// One device (--device), or a set of them (--devices): the frames
	// then spread over the set, each frame's GPU work on one member.
	var set *devset.Set
	var d *gpu.Device
	onName := ""
	if devs.given() {
		if set, err = a.openSet(devs); err != nil {
			return err
		}
		defer set.Close()
		d, onName = set.Members()[0].Device(), setNames(set)
		if devs.reconfig != nil {
			if cfg, err = devs.reconfig(set.Len()); err != nil {
				return err
			}
		}
	} else {
		if err := devs.alone(); err != nil {
			return err
		}
		if d, err = a.Device(); err != nil {
			return err
		}
		onName = d.Info().Name
	}
	w := a.stdout
	if !asJSON {
		fmt.Fprintf(w, "vkdemo pipeline: %d frames of a %dx%d Julia zoom (%d iterations) on %s, io %s, %d in flight\n",
			cfg.frames, cfg.width, cfg.height, cfg.maxIter, onName, x, cfg.depth)
	}
	prog := newProgress(w, cfg.frames, !asJSON, out, cfg.pattern())
	// Spans are recorded only for a trace or a timeline: without them the
	// run's memory does not grow with --frames (the report's statistics
	// are streaming); with them it grows by the Recorder's bytes per frame.
	var rec *tasks.Recorder
	if tracePath != "" || svgPath != "" {
		rec = tasks.NewRecorder()
		rec.SetMeta("title", fmt.Sprintf("vkdemo pipeline: %d frames %dx%d, io %s, depth %d, %s", cfg.frames, cfg.width, cfg.height, x, cfg.depth, onName))
		rec.SetMeta("io", x.String())
		rec.SetMeta("device", onName)
		if rb := readBackMeta(d, cfg); rb != "" {
			rec.SetMeta("read_back", rb)
		}
	}
	rep, saved, err := runDemoOn(x, d, set, cfg, dir, rec, prog.frame)
	prog.finish()
	if err == nil {
		err = a.gate.take()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && !asJSON {
			fmt.Fprintf(w, "stopped: %d of %d frames saved in %s, each complete\n", saved.count(), cfg.frames, out)
		}
		return demoError(err, out, cfg.pattern())
	}
	rec.SetReport(rep) // the timeline's caption is the report printed below
	// The trace and the timeline, each streamed to its file and committed
	// atomically: no copy of either is held in memory.
	wrote := map[string]string{}
	for _, f := range []struct {
		flag, path string
		write      func(stdio.Writer) error
	}{{"--trace", tracePath, rec.WriteTrace}, {"--timeline", svgPath, rec.WriteTimelineSVG}} {
		if f.path == "" {
			continue
		}
		n, err := streamResult(x, f.path, f.write)
		if err != nil {
			return fmt.Errorf("%s %s: %w", f.flag, f.path, err)
		}
		wrote[f.path] = job.FormatBytes(n)
	}
	if asJSON {
		// The list of images is the one part of the output that grows
		// with --frames (about 30 bytes a frame).
		images := make([]string, 0, saved.count())
		saved.each(func(k int) { images = append(images, filepath.Join(out, fmt.Sprintf(cfg.pattern(), k))) })
		var members []string
		if set != nil {
			for _, m := range set.Members() {
				members = append(members, m.Info().String())
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(pipelineReport{Io: x.String(), Device: d.Info().Name, Frames: cfg.frames, Width: cfg.width, Height: cfg.height,
			Depth: cfg.depth, MaxIter: cfg.maxIter, Out: out, Format: cfg.format, Images: images, Trace: tracePath, Timeline: svgPath, Report: rep,
			Devices: members})
	}
	printReport(w, rep, cfg)
	what := "PNGs"
	if cfg.format != "png" {
		what = cfg.format + " files"
	}
	fmt.Fprintf(w, "images    %s (%d %s, %s)\n", filepath.Join(out, cfg.glob()), saved.count(), what, job.FormatBytes(rep.Bytes))
	if tracePath != "" {
		fmt.Fprintf(w, "trace     %s (%s; open in https://ui.perfetto.dev or chrome://tracing)\n", tracePath, wrote[tracePath])
	}
	if svgPath != "" {
		fmt.Fprintf(w, "timeline  %s (%s; open in a browser)\n", svgPath, wrote[svgPath])
	}
	return nil
}

// frameSet is a set of frame numbers below a bound, one bit each: the
// frames saved, in bounded memory (maxDemoFrames/8 bytes at most).
type frameSet struct {
	bits []uint64
	n    int
}

func newFrameSet(frames int) *frameSet { return &frameSet{bits: make([]uint64, (frames+63)/64)} }

func (s *frameSet) add(k int) {
	if k < 0 || k/64 >= len(s.bits) || s.bits[k/64]&(1<<(k%64)) != 0 {
		return
	}
	s.bits[k/64] |= 1 << (k % 64)
	s.n++
}

func (s *frameSet) count() int {
	if s == nil {
		return 0
	}
	return s.n
}

// each calls fn for every frame in the set, in order.
func (s *frameSet) each(fn func(k int)) {
	if s == nil {
		return
	}
	for i, w := range s.bits {
		for b := 0; w != 0; b++ {
			if w&1 != 0 {
				fn(64*i + b)
			}
			w >>= 1
		}
	}
}

// runDemo runs cfg's pipeline on d through x, saving frame k as
// cfg.pattern() in dir, and returns the report and the frames saved.
// onFrame, if set, sees every finished frame.
func runDemo(x io.Io, d *gpu.Device, cfg demoConfig, dir io.Dir, rec *tasks.Recorder, onFrame func(tasks.FrameEvent)) (rep tasks.Report, saved *frameSet, err error) {
	return runDemoOn(x, d, nil, cfg, dir, rec, onFrame)
}

// runDemoOn is runDemo on d, or, when set is not nil, spread over set's
// members (d is then one of them, for its device type).
func runDemoOn(x io.Io, d *gpu.Device, set *devset.Set, cfg demoConfig, dir io.Dir, rec *tasks.Recorder, onFrame func(tasks.FrameEvent)) (rep tasks.Report, saved *frameSet, err error) {
	var disp interface {
		tasks.Dispatcher
		FrameBytes() int
		Close() error
	}
	if set != nil {
		disp, err = newSetDispatcher(set, cfg.depth, cfg.outMem, cfg.params)
	} else {
		disp, err = demo.NewJuliaDispatcherIn(d, cfg.depth, cfg.outMem, cfg.params)
	}
	if err != nil {
		return tasks.Report{}, nil, err
	}
	defer func() { err = errors.Join(err, disp.Close()) }()
	saved = newFrameSet(cfg.frames)
	cpuDev := d.Info().Type == gpu.CPU
	encodeNice := cfg.encodeNice
	if cpuDev {
		defer cpuDeviceProcs()()
	}
	if encodeNice < 0 {
		encodeNice = 0
		if cpuDev {
			encodeNice = cpuEncodeNice
		}
	}
	p := &tasks.Pipeline{
		Frames:     cfg.frames,
		Depth:      cfg.depth,
		Dispatcher: disp,
		FrameBytes: disp.FrameBytes(),
		Encoder:    cfg.encoder(),
		Sinks:      []tasks.Sink{&tasks.DirSink{Dir: dir, Pattern: cfg.pattern()}},
		// Stage parallelism apart from depth: the slots hold frames
		// between stages; these bound each stage.
		Limits:   tasks.Limits{GPU: cfg.gpuSubs, Encoders: cfg.encoders, Writes: cfg.saves},
		Recorder: rec,
		StageCPU: cfg.stageCPU,
		// On a CPU device the GPU's threads share the cores with the
		// encoders: encoding at a lower priority keeps the GPU queue fed
		// and fills what the GPU leaves (see cpuEncodeNice).
		EncodeNice: encodeNice,
		OnFrame: func(ev tasks.FrameEvent) {
			if ev.Err == nil && !ev.Canceled {
				saved.add(ev.Frame) // OnFrame calls come one at a time
			}
			if onFrame != nil {
				onFrame(ev)
			}
		},
	}
	rep, err = p.Run(x)
	if cpuDev {
		rep.ShareGPU() // the "GPU" is CPU work, already in the process CPU time
	}
	return rep, saved, err
}

// cpuEncodeNice is tasks.Pipeline.EncodeNice on a CPU device (lavapipe),
// where the "GPU" is threads on the same cores as the encoders. Measured on
// a 2-core VM (vkdemo --io threaded pipeline --frames 200): with encoders at
// the GPU's priority the GPU queue ran dry for 0.5 s of a 2.1 s run, each
// time a submission's completion or the next submission waited behind an
// encode for a core, and the process kept 1.70 of 2 cores busy.
const cpuEncodeNice = 10

// cpuDeviceProcs raises GOMAXPROCS to the cores + 2 for a pipeline on a CPU
// device, unless the GOMAXPROCS variable sets it, and returns what restores
// it. The encoders hold a P each while they run (one per core by
// default); the spare Ps let the goroutines that complete a submission
// and make the next one run at once, the OS scheduler deciding between
// their threads and the encoders' (which run at a lower priority, see
// cpuEncodeNice) instead of the Go scheduler queueing them behind an
// encode.
func cpuDeviceProcs() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(runtime.NumCPU() + 2)
	return func() { runtime.GOMAXPROCS(prev) }
}

// demoError rewords a pipeline failure for the one-line report.
func demoError(err error, out, pattern string) error {
	var te *tasks.Error
	if errors.Is(err, context.Canceled) || !errors.As(err, &te) {
		return err
	}
	if te.Frame >= 0 && te.Op == "save" {
		return fmt.Errorf("saving %s: %w", filepath.Join(out, fmt.Sprintf(pattern, te.Frame)), te.Err)
	}
	return err
}

// errSuffix is "" or "; " and err's text, for a note that an error does not
// stop.
func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return "; " + errorText(err)
}

// openOutDir creates the folder p (and its parents) and opens it.
func openOutDir(x io.Io, flag, p string) (io.Dir, error) {
	if err := io.Cwd().MakePath(x, p, 0o755); err != nil {
		return io.Dir{}, fmt.Errorf("%s %s: cannot create the folder: %w", flag, p, err)
	}
	dir, err := io.Cwd().OpenDir(x, p)
	if err != nil {
		return io.Dir{}, fmt.Errorf("%s %s: cannot open the folder: %w", flag, p, err)
	}
	return dir, nil
}

// checkOutputFile checks, before any GPU work, that the file p can be
// created: its folder exists (or is the output folder, created later) and p
// is not a folder.
func checkOutputFile(x io.Io, flag, p, outDir string) error {
	if p == "" {
		return nil
	}
	if fi, err := io.Cwd().Stat(x, p); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s: is a folder", flag, p)
	}
	return checkOutputParent(x, flag+" "+p, p, outDir)
}

// checkOutputParent checks that the folder of the output file p exists (or
// is the output folder outDir, created later). what names p in errors, e.g.
// "--trace t.json".
func checkOutputParent(x io.Io, what, p, outDir string) error {
	parent := filepath.Dir(p)
	if filepath.Clean(parent) == filepath.Clean(outDir) {
		return nil
	}
	fi, err := io.Cwd().Stat(x, parent)
	if err != nil {
		return fmt.Errorf("%s: folder %s: %w", what, parent, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %s is not a folder", what, parent)
	}
	return nil
}

// writeResult writes data to the file p: atomically for regular files (a
// reader sees the old file or the whole new one), in place for devices and
// pipes (/dev/stdout, /dev/full), which cannot be replaced by a rename (see
// io.Dir.CreateAtomic).
func writeResult(x io.Io, p string, data []byte) error {
	return io.Cwd().WriteFile(x, p, data, 0o644)
}

// streamResult writes what write produces to the file p as it comes, through
// a buffer: atomically for a regular file, in place for a device or pipe (see
// writeResult). It returns the bytes written.
func streamResult(x io.Io, p string, write func(stdio.Writer) error) (int64, error) {
	a, err := io.Cwd().CreateAtomic(x, p, 0o644)
	if err != nil {
		return 0, err
	}
	defer a.Close(x)
	cw := &countingWriter{w: a.Writer(x, make([]byte, 64<<10))}
	if err := write(cw); err != nil {
		return 0, err
	}
	if err := cw.w.Flush(); err != nil {
		return 0, err
	}
	return cw.n, a.Commit(x)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w *io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// printReport prints the overlap report of a run.
func printReport(w stdio.Writer, rep tasks.Report, cfg demoConfig) {
	wall := rep.Wall.Seconds()
	fmt.Fprintf(w, "done: %d frames in %s, %.1f frames/s, %.1f MB/s of %s\n", rep.Frames, fmtSec(rep.Wall), float64(rep.Frames)/wall, float64(rep.Bytes)/1e6/wall, strings.ToUpper(cfg.format))
	var busy []string
	for _, res := range []string{"gpu", "cpu", "disk", "net"} {
		if b, ok := rep.Busy[res]; ok {
			busy = append(busy, fmt.Sprintf("%s %s (%.0f%%)", res, fmtSec(b), 100*b.Seconds()/wall))
		}
	}
	fmt.Fprintf(w, "  wall        %s\n", fmtSec(rep.Wall))
	fmt.Fprintf(w, "  busy        %s\n", strings.Join(busy, ", "))
	fmt.Fprintf(w, "  gpu idle    %s (%.0f%% of wall)\n", fmtSec(rep.GPUIdle), 100*rep.GPUIdle.Seconds()/wall)
	if rep.CPUTime > 0 {
		host := ""
		if rep.HostCPUTime > rep.CPUTime+rep.CPUTime/10 {
			// Other processes used the cores too: the cpu limit counts them.
			host = fmt.Sprintf("; the host's %.2f, all processes", rep.HostCPUTime.Seconds()/wall)
		}
		fmt.Fprintf(w, "  cpu         %.2f of %d cores busy (process CPU time %s / wall%s)\n", rep.CPUTime.Seconds()/wall, rep.Cores, fmtSec(rep.CPUTime), host)
	}
	if st := stagesText(rep); st != "" {
		fmt.Fprintf(w, "  stages      %s\n", st)
	}
	if ct := copiesText(rep); ct != "" {
		fmt.Fprintf(w, "  copies      %s\n", ct)
	}
	fmt.Fprintf(w, "  bound       %s, bound by %s (limits: %s)\n", fmtSec(rep.Bound), rep.Binding, limitsText(rep))
	fmt.Fprintf(w, "  efficiency  %.2f (wall / bound; 1.00 is perfect, a sequential run of 3 equal stages scores about 3)\n", rep.Efficiency)
	if hint := boundHint(rep, cfg); hint != "" {
		fmt.Fprintf(w, "  hint        %s\n", hint)
	}
}

// stagesText lists the time each pipeline stage took (the sum of its
// spans), with its CPU time and CPU / wall where --stage-cpu measured it.
func stagesText(rep tasks.Report) string {
	var l []string
	for _, name := range []string{"submit", "wait", "read", "encode", "save"} {
		st, ok := rep.Stages[name]
		if !ok {
			continue
		}
		s := name + " " + fmtSec(st.Time)
		if st.Measured {
			s += fmt.Sprintf(" (cpu %s, %.2f)", fmtSec(st.CPU), st.CPUShare())
		}
		l = append(l, s)
	}
	return strings.Join(l, ", ")
}

// limitsText lists each resource's limit, and says where the GPU shares
// the CPU.
func limitsText(rep tasks.Report) string {
	var l []string
	for _, lim := range rep.Limits {
		l = append(l, fmt.Sprintf("%s %s", lim.Resource, fmtSec(lim.Time)))
	}
	if rep.SharedGPU {
		l = append(l, "gpu runs on the cpu")
	}
	return strings.Join(l, ", ")
}

// boundHint names the flag to change when the configuration, not the
// machine, bound the run: the configuration limit that binds (the frames in
// flight, or the stage whose permits the frames waited for), mapped to the
// flag that set it, and any other configuration limit within 10 % of it. A
// disk kept busy all the run by --saves writes at a time may take more at
// once: that hint is a maybe.
func boundHint(rep tasks.Report, cfg demoConfig) string {
	lim, ok := rep.BindingLimit()
	if !ok {
		return ""
	}
	if !lim.Config {
		if w, ok := rep.Limit(tasks.LimitWrites); ok && lim.Resource == "disk" && float64(w.Time) >= 0.9*float64(lim.Time) {
			return fmt.Sprintf("the disk was busy all the run with --saves %d at a time: if it takes more writes at once, raise --saves", cfg.saves)
		}
		return ""
	}
	what, flag := configFlag(lim.Resource, cfg)
	hint := fmt.Sprintf("%s bound the run while the machine had room: raise %s", what, flag)
	for _, l := range rep.Limits {
		if l.Config && l.Resource != lim.Resource && float64(l.Time) >= 0.9*float64(lim.Time) {
			_, f := configFlag(l.Resource, cfg)
			if f != flag {
				hint += " (and " + f + ", near its limit too)"
			}
		}
	}
	return hint
}

// configFlag says what a configuration limit (tasks.Limit.Resource) is in
// the demo and which flag raises it.
func configFlag(res string, cfg demoConfig) (what, flag string) {
	switch res {
	case tasks.LimitSlots:
		switch cfg.depthBy {
		case "--inflight-bytes":
			return fmt.Sprintf("the frames in flight (%d, all that --inflight-bytes %s holds)", cfg.depth, job.FormatBytes(cfg.budget)), "--inflight-bytes"
		case "--frames":
			return fmt.Sprintf("the frames in flight (all %d at once)", cfg.depth), "--frames"
		}
		return fmt.Sprintf("the frames in flight (--depth %d)", cfg.depth), "--depth"
	case tasks.LimitSubmits:
		return fmt.Sprintf("the GPU submissions in flight (--gpu-submits %d)", cfg.gpuSubs), "--gpu-submits"
	case tasks.LimitEncoders:
		return fmt.Sprintf("the %s encodes at once (--encoders %d)", strings.ToUpper(cfg.format), cfg.encoders), "--encoders"
	case tasks.LimitWrites:
		return fmt.Sprintf("the file saves at once (--saves %d)", cfg.saves), "--saves"
	}
	// Staging and sends: limits the demo does not set; the budget holds
	// the read-backs.
	return "the " + res + " limit", "--inflight-bytes"
}

// fmtSec formats d in seconds or milliseconds, three significant digits.
func fmtSec(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/1e6)
}

// progress shows the frames as they are saved: a bar on a terminal, a line
// every few frames otherwise, nothing when off.
type progress struct {
	w       stdio.Writer
	bar     *progressbar.ProgressBar
	every   int
	out     string
	pattern string // the frames' file names (demoConfig.pattern)
	on      bool
}

func newProgress(w stdio.Writer, frames int, on bool, out, pattern string) *progress {
	p := &progress{w: w, on: on, out: out, pattern: pattern, every: max(1, (frames+7)/8)}
	if on && isTerminal(w) {
		p.bar = progressbar.NewOptions(frames,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("rendering"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("frames"),
			progressbar.OptionThrottle(50*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// frame is the pipeline's OnFrame hook (called one at a time).
func (p *progress) frame(ev tasks.FrameEvent) {
	switch {
	case !p.on || ev.Err != nil:
	case p.bar != nil:
		p.bar.Add(1)
	case ev.Done%p.every == 0 || ev.Done == ev.Total:
		fmt.Fprintf(p.w, "saved %*d/%d frames (last %s) at %s\n", len(strconv.Itoa(ev.Total)), ev.Done, ev.Total,
			filepath.Join(p.out, fmt.Sprintf(p.pattern, ev.Frame)), fmtSec(ev.Elapsed))
	}
}

// finish removes the bar.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Exit()
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w stdio.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
