package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	stdio "io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

func init() { register(newBenchCmd) }

// benchOrder is the order the Io implementations run in: Blocking first,
// the baseline of every speedup.
var benchOrder = []io.Kind{io.KindBlocking, io.KindThreaded, io.KindEvented}

// benchReport is the JSON form of `vkdemo bench --json`. Field names are
// stable.
type benchReport struct {
	Device   string     `json:"device"`
	Frames   int        `json:"frames"`
	Width    int        `json:"width"`
	Height   int        `json:"height"`
	Depth    int        `json:"depth"`
	MaxIter  uint32     `json:"max_iter"`
	Runs     int        `json:"runs"` // runs per Io; each row is the run of median wall time
	Out      string     `json:"out"`
	Timeline string     `json:"timeline,omitempty"`
	Rows     []benchRow `json:"rows"` // one per Io implementation asked for, in benchOrder
}

// benchRow is one Io implementation's result.
type benchRow struct {
	Io string `json:"io"`
	// Skipped says why the Io did not run (io_uring refused); the other
	// fields are then zero.
	Skipped      string        `json:"skipped,omitempty"`
	WallMS       float64       `json:"wall_ms"`
	Speedup      float64       `json:"speedup"`            // blocking wall / this wall; 0 without a blocking run
	Efficiency   float64       `json:"overlap_efficiency"` // wall / bound
	BoundMS      float64       `json:"bound_ms"`           // the computed lower bound on wall (tasks.ComputeBound)
	Binding      string        `json:"binding,omitempty"`  // the resource whose limit binds: cpu, gpu, disk, net or slots
	FramesPerSec float64       `json:"frames_per_s"`
	PNGMBPerSec  float64       `json:"png_mb_per_s"` // PNG bytes saved per second (1 MB = 10^6 bytes)
	RawMBPerSec  float64       `json:"raw_mb_per_s"` // RGBA pixels computed, encoded and saved per second
	Report       *tasks.Report `json:"report,omitempty"`
}

func newBenchCmd(a *app) *cobra.Command {
	var (
		df     demoFlags
		out    string
		svg    string
		ios    []string
		runs   int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the pipeline demo on every Io implementation and compare them",
		Long: `Run the pipeline demo's work — the same frames, size and depth — on each Io
implementation in turn (blocking, then threaded, then evented), on one device,
saving the PNGs under --out/IO/, and print a table: wall time, speedup over
blocking, the bound (the computed lower bound on wall time: the largest of
the resources' limits, process CPU time over cores, GPU busy time, disk,
and the frames in flight over --depth) and the binding resource, overlap
efficiency (wall / bound; 1.00 is perfect),
GPU busy and idle time, and throughput in frames/s and MB/s (of PNG written,
and of raw RGBA pixels).

Evented needs io_uring: where the kernel or a seccomp profile refuses it, its
row says so and the others still run. A short warm-up (3 frames, not
measured) runs first. With --runs N each Io runs N times, interleaved, and
its row is the run of median wall time.

It also writes a timeline picture (--timeline, default OUT/bench-timeline.svg):
the wall times on one scale, then one band per Io with its CPU, GPU and disk
lanes. --io is not used: bench chooses the Io itself (see --ios).`,
		Example: `  vkdemo bench
  vkdemo bench --frames 48 --size 256 --runs 3
  vkdemo bench --ios blocking,threaded --json | jq '.rows[] | {io, speedup}'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := df.config()
			if err != nil {
				return err
			}
			if runs < 1 || runs > 100 {
				return usageErrorf("--runs %d: want 1 to 100", runs)
			}
			kinds, err := benchKinds(ios)
			if err != nil {
				return err
			}
			if a.ioName != "" {
				return usageErrorf("bench runs every Io implementation: use --ios, not --io")
			}
			if out == "" {
				return usageErrorf("--out: want a folder")
			}
			if !flagChanged(cmd.Flags(), "timeline") {
				svg = filepath.Join(out, "bench-timeline.svg")
			}
			return a.bench(cfg, kinds, runs, out, svg, asJSON)
		},
	}
	df.add(cmd)
	fs := cmd.Flags()
	fs.StringVarP(&out, "out", "o", filepath.Join(defaultOut, "bench"), "output folder: the PNGs go to OUT/IO/")
	fs.StringVar(&svg, "timeline", "", "write the comparison timeline (SVG) here (default OUT/bench-timeline.svg; '' for none)")
	fs.StringSliceVar(&ios, "ios", nil, "Io implementations to compare, comma-separated (default: "+kindList(benchOrder)+")")
	fs.IntVar(&runs, "runs", 1, "runs per Io; the row shows the run of median wall time")
	fs.BoolVar(&asJSON, "json", false, "print the results as JSON on stdout")
	return cmd
}

// benchKinds checks --ios and returns the kinds to run, in benchOrder.
func benchKinds(names []string) ([]io.Kind, error) {
	if len(names) == 0 {
		return benchOrder, nil
	}
	want := map[io.Kind]bool{}
	for _, n := range names {
		k := io.Kind(strings.ToLower(strings.TrimSpace(n)))
		if !slices.Contains(benchOrder, k) {
			return nil, usageErrorf("--ios %q: unknown Io implementation (want some of: %s)", n, kindList(benchOrder))
		}
		want[k] = true
	}
	var ks []io.Kind
	for _, k := range benchOrder {
		if want[k] {
			ks = append(ks, k)
		}
	}
	return ks, nil
}

func kindList(ks []io.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// benchIo is one Io implementation under test.
type benchIo struct {
	kind    io.Kind
	skipped string
	backend io.Backend
	x       io.Io
	cancel  func()
	dir     io.Dir
	runs    []benchRun
}

type benchRun struct {
	rep tasks.Report
	rec *tasks.Recorder
}

// bench runs the bench command.
func (a *app) bench(cfg demoConfig, kinds []io.Kind, runs int, out, svgPath string, asJSON bool) (err error) {
	// The command's own Io (the default one) does the bookkeeping: the
	// folders and the timeline.
	x, err := a.Io()
	if err != nil {
		return err
	}
	if err := checkOutputFile(x, "--timeline", svgPath, out); err != nil {
		return err
	}
	root, err := openOutDir(x, "--out", out)
	if err != nil {
		return err
	}
	defer root.Close(x.WithoutCancel())
	var ios []*benchIo
	defer func() {
		for _, b := range ios {
			if b.backend == nil {
				continue
			}
			b.dir.Close(b.x.WithoutCancel())
			b.cancel()
			err = errors.Join(err, b.backend.Close())
		}
	}()
	for _, k := range kinds {
		b := &benchIo{kind: k}
		ios = append(ios, b)
		be, err := io.New(string(k))
		if err != nil {
			if errors.Is(err, io.ErrUnsupported) {
				b.skipped = err.Error()
				continue
			}
			return fmt.Errorf("--ios %s: %w", k, err)
		}
		b.backend = be
		b.x, b.cancel = be.Io().WithContext(a.ctx)
		if b.dir, err = openOutDir(b.x, "--out", filepath.Join(out, string(k))); err != nil {
			return err
		}
	}
	d, err := a.Device()
	if err != nil {
		return err
	}
	w := a.stdout
	if !asJSON {
		fmt.Fprintf(w, "vkdemo bench: %d frames of a %dx%d Julia zoom (%d iterations) on %s, %d in flight, %d run(s) per Io\n",
			cfg.frames, cfg.width, cfg.height, cfg.maxIter, d.Info().Name, cfg.depth, runs)
	}
	// Warm-up: the first frames pay for page faults and driver caches.
	for _, b := range ios {
		if b.backend != nil {
			warm := cfg
			warm.frames = min(cfg.frames, 3)
			if _, _, err := runDemo(b.x, d, warm, b.dir, nil, nil); err != nil {
				return demoError(err, filepath.Join(out, string(b.kind)), cfg.pattern())
			}
			break
		}
	}
	for r := range runs {
		for _, b := range ios {
			if b.backend == nil {
				continue
			}
			rec := tasks.NewRecorder()
			rep, _, err := runDemo(b.x, d, cfg, b.dir, rec, nil)
			if err != nil {
				return demoError(err, filepath.Join(out, string(b.kind)), cfg.pattern())
			}
			b.runs = append(b.runs, benchRun{rep, rec})
			if !asJSON {
				fmt.Fprintf(w, "  %-9s run %d/%d: %d frames in %s\n", b.kind, r+1, runs, rep.Frames, fmtSec(rep.Wall))
			}
		}
	}
	if err := a.gate.take(); err != nil {
		return err
	}
	res := benchReport{Device: d.Info().Name, Frames: cfg.frames, Width: cfg.width, Height: cfg.height, Depth: cfg.depth,
		MaxIter: cfg.maxIter, Runs: runs, Out: out, Timeline: svgPath}
	var blocking *tasks.Report
	var bands []timelineBand
	for _, b := range ios {
		row := benchRow{Io: string(b.kind), Skipped: b.skipped}
		if b.backend != nil {
			slices.SortStableFunc(b.runs, func(p, q benchRun) int { return cmp.Compare(p.rep.Wall, q.rep.Wall) })
			med := b.runs[(len(b.runs)-1)/2]
			rep := med.rep
			if b.kind == io.KindBlocking {
				blocking = &rep
			}
			if blocking != nil {
				rep.CompareTo(*blocking)
			}
			wall := rep.Wall.Seconds()
			row.WallMS = float64(rep.Wall) / 1e6
			row.Speedup = rep.Speedup
			row.Efficiency = rep.Efficiency
			row.BoundMS = float64(rep.Bound) / 1e6
			row.Binding = rep.Binding
			row.FramesPerSec = float64(rep.Frames) / wall
			row.PNGMBPerSec = float64(rep.Bytes) / 1e6 / wall
			row.RawMBPerSec = float64(rep.Frames) * float64(4*cfg.width*cfg.height) / 1e6 / wall
			row.Report = &rep
			med.rec.SetReport(rep)
			med.rec.SetMeta("title", fmt.Sprintf("%s: %s, speedup %s, bound %s (%s), overlap efficiency %.2f", b.kind, fmtSec(rep.Wall), fmtSpeedup(rep.Speedup),
				fmtSec(rep.Bound), rep.Binding, rep.Efficiency))
			bands = append(bands, timelineBand{label: string(b.kind), wall: rep.Wall, rec: med.rec})
		}
		res.Rows = append(res.Rows, row)
	}
	if svgPath != "" {
		var buf bytes.Buffer
		title := fmt.Sprintf("vkdemo bench: %d frames %dx%d on %s, depth %d", cfg.frames, cfg.width, cfg.height, d.Info().Name, cfg.depth)
		if err := writeBenchTimeline(&buf, title, bands); err != nil {
			return err
		}
		if err := writeResult(x, svgPath, buf.Bytes()); err != nil {
			return fmt.Errorf("--timeline %s: %w", svgPath, err)
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printBenchTable(w, res, d, cfg)
	if svgPath != "" {
		fmt.Fprintf(w, "timeline  %s (one band per Io; open in a browser)\n", svgPath)
	}
	fmt.Fprintf(w, "images    %s\n", filepath.Join(out, "IO", "frame-*.png"))
	return nil
}

// printBenchTable prints the comparison table.
func printBenchTable(w stdio.Writer, res benchReport, d *gpu.Device, cfg demoConfig) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "io\twall\tspeedup\tbound\tbinding\toverlap eff.\tgpu busy\tgpu idle\tframes/s\tPNG MB/s\traw MB/s\t")
	for _, r := range res.Rows {
		if r.Skipped != "" {
			fmt.Fprintf(tw, "%s\tskipped: %s\t\t\t\t\t\t\t\t\t\t\n", r.Io, r.Skipped)
			continue
		}
		rep := r.Report
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%.1f\t%.2f\t%.1f\t\n", r.Io, fmtSec(rep.Wall), fmtSpeedup(r.Speedup),
			fmtSec(rep.Bound), r.Binding, r.Efficiency,
			fmtSec(rep.Busy["gpu"]), fmtSec(rep.GPUIdle), r.FramesPerSec, r.PNGMBPerSec, r.RawMBPerSec)
	}
	tw.Flush()
	fmt.Fprintln(w, "speedup: blocking wall / wall; bound: the largest resource limit (cpu time / cores, gpu, disk, frames in flight / depth); overlap eff.: wall / bound (1.00 is perfect)")
	for _, r := range res.Rows {
		if r.Report != nil {
			if hint := boundHint(*r.Report, cfg); hint != "" {
				fmt.Fprintf(w, "%s: %s\n", r.Io, hint)
			}
		}
	}
}

func fmtSpeedup(s float64) string {
	if s <= 0 {
		return "n/a"
	}
	return strconv.FormatFloat(s, 'f', 2, 64) + "x"
}

// timelineBand is one run in the comparison picture.
type timelineBand struct {
	label string
	wall  time.Duration
	rec   *tasks.Recorder
}

var svgSize = regexp.MustCompile(`^<svg [^>]*?width="(\d+)" height="(\d+)"`)

// writeBenchTimeline draws the comparison picture: a bar per run with the
// wall times on one scale, then each run's own timeline (tasks'
// Recorder.WriteTimelineSVG, unchanged) as a band below, nested as an
// <svg> element with its ids made unique.
func writeBenchTimeline(w stdio.Writer, title string, bands []timelineBand) error {
	const (
		width = 1400
		pad   = 10
		barH  = 18
		label = 170
	)
	type inner struct {
		svg  []byte
		w, h int
	}
	var parts []inner
	for i, b := range bands {
		var buf bytes.Buffer
		if err := b.rec.WriteTimelineSVG(&buf); err != nil {
			return err
		}
		m := svgSize.FindSubmatch(buf.Bytes())
		if m == nil {
			return fmt.Errorf("timeline of %s: unexpected SVG header", b.label)
		}
		iw, _ := strconv.Atoi(string(m[1]))
		ih, _ := strconv.Atoi(string(m[2]))
		s := buf.Bytes()
		id := fmt.Sprintf("arrow-%d", i)
		s = bytes.ReplaceAll(s, []byte(`id="arrow"`), []byte(`id="`+id+`"`))
		s = bytes.ReplaceAll(s, []byte(`url(#arrow)`), []byte(`url(#`+id+`)`))
		s = bytes.Replace(s, []byte("<svg "), []byte("<svg x=\"0\" y=\"%Y%\" "), 1)
		parts = append(parts, inner{s, iw, ih})
	}
	headH := 40 + (barH+6)*len(bands) + 20
	height := headH
	for _, p := range parts {
		height += p.h + pad
	}
	var longest time.Duration
	for _, b := range bands {
		longest = max(longest, b.wall)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&out, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&out, `<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", pad, html.EscapeString(title))
	colors := map[string]string{"blocking": "#e15759", "threaded": "#4e79a7", "evented": "#59a14f"}
	plotW := float64(width - label - 2*pad - 80)
	for i, b := range bands {
		y := 36 + i*(barH+6)
		bw := 0.0
		if longest > 0 {
			bw = plotW * float64(b.wall) / float64(longest)
		}
		c, ok := colors[b.label]
		if !ok {
			c = "#888"
		}
		fmt.Fprintf(&out, `<text x="%d" y="%d">%s wall</text>`, pad, y+13, html.EscapeString(b.label))
		fmt.Fprintf(&out, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, label+pad, y, max(bw, 1), barH, c)
		fmt.Fprintf(&out, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(label+pad)+bw+6, y+13, fmtSec(b.wall))
	}
	y := headH
	for _, p := range parts {
		fmt.Fprintf(&out, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#999"/>`+"\n", y-pad/2, width, y-pad/2)
		out.Write(bytes.Replace(p.svg, []byte("%Y%"), []byte(strconv.Itoa(y)), 1))
		y += p.h + pad
	}
	fmt.Fprintf(&out, "</svg>\n")
	_, err := w.Write(out.Bytes())
	return err
}
