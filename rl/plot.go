package rl

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	stdio "io"
	"io/fs"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/vkio/vkio/io"
)

// Curve is one run's learning curve: the population's mean return per
// generation, and the center's return where it was evaluated.
type Curve struct {
	Seed   uint64
	Gen    []int
	Mean   []float64
	Center []float64 // NaN where not evaluated
}

// maxStatsLine bounds a stats.jsonl line that ReadCurve accepts.
const maxStatsLine = 4096

// ReadCurve reads a run's learning curve from its stats.jsonl at p in dir.
// Lines are read one at a time (each at most 4096 bytes); a line that is not
// a stats object is an error naming its number.
func ReadCurve(x io.Io, dir io.Dir, p string) (Curve, error) {
	var c Curve
	f, err := dir.OpenFile(x, p, io.ReadOnly)
	if err != nil {
		return c, err
	}
	defer f.Close(x.WithoutCancel())
	r := f.Reader(x, make([]byte, 64<<10))
	for line := 1; ; line++ {
		b, err := r.ReadSlice('\n')
		if len(b) > 0 && (err == nil || errors.Is(err, stdio.EOF)) {
			gen, seed, mean, center, perr := parseStatsLine(b)
			if perr != nil {
				return c, errorf("curve", "%s line %d: %v", f.Name(), line, perr)
			}
			c.Seed = seed
			c.Gen = append(c.Gen, gen)
			c.Mean = append(c.Mean, mean)
			c.Center = append(c.Center, center)
		}
		switch {
		case errors.Is(err, stdio.EOF):
			return c, nil
		case errors.Is(err, io.ErrBufferFull):
			return c, errorf("curve", "%s line %d: longer than the 64 KiB buffer", f.Name(), line)
		case err != nil:
			return c, err
		}
	}
}

var nan = math.NaN()

// parseStatsLine reads the generation, seed, mean and center (NaN where
// absent or null) of a stats.jsonl line of at most maxStatsLine bytes.
func parseStatsLine(b []byte) (gen int, seed uint64, mean, center float64, err error) {
	if len(b) > maxStatsLine {
		return 0, 0, nan, nan, fmt.Errorf("%d bytes, more than %d", len(b), maxStatsLine)
	}
	var s struct {
		Gen    *int     `json:"gen"`
		Seed   uint64   `json:"seed"`
		Mean   *float64 `json:"mean"`
		Center *float64 `json:"center"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, 0, nan, nan, fmt.Errorf("not a stats line: %v", err)
	}
	if s.Gen == nil || *s.Gen < 0 {
		return 0, 0, nan, nan, fmt.Errorf("not a stats line: no generation")
	}
	mean, center = nan, nan
	if s.Mean != nil {
		mean = *s.Mean
	}
	if s.Center != nil {
		center = *s.Center
	}
	return *s.Gen, s.Seed, mean, center, nil
}

// WriteCurves reads the stats.jsonl of every run of cfg in out and draws
// their learning curves (mean population return against generation, one
// line per seed, the target dashed) as out/curve.svg and out/curve.png,
// each replaced atomically. Runs without stats are left out.
func WriteCurves(x io.Io, out io.Dir, cfg TrainConfig) error {
	var curves []Curve
	for k := range cfg.Seeds {
		seed := cfg.Seed + uint64(k)
		c, err := ReadCurve(x, out, "seed-"+strconv.FormatUint(seed, 10)+"/stats.jsonl")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		c.Seed = seed
		curves = append(curves, c)
	}
	for _, format := range []string{"svg", "png"} {
		if err := writePlot(x, out, "curve."+format, format, cfg, curves); err != nil {
			return err
		}
	}
	return nil
}

// PlotCurves draws curves as a learning-curve picture in format ("svg",
// "png", "pdf", "eps" or "jpg"), 6×4 inches, to w.
func PlotCurves(w stdio.Writer, format string, cfg TrainConfig, curves []Curve) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: evolution strategies, population %d, %d seed(s)", cfg.Env, cfg.ES.Population, len(curves))
	p.X.Label.Text = "generation"
	p.Y.Label.Text = "mean population return"
	p.Add(plotter.NewGrid())
	for i, c := range curves {
		pts := make(plotter.XYs, 0, len(c.Gen))
		for j, g := range c.Gen {
			if c.Mean[j] == c.Mean[j] { // not NaN
				pts = append(pts, plotter.XY{X: float64(g), Y: c.Mean[j]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1)
		p.Add(l)
		if len(curves) <= 8 {
			p.Legend.Add("seed "+strconv.FormatUint(c.Seed, 10), l)
		}
	}
	target := plotter.NewFunction(func(float64) float64 { return cfg.Target })
	target.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	target.Color = color.Black
	p.Add(target)
	p.Legend.Add(fmt.Sprintf("target %g", cfg.Target), target)
	p.Legend.Top = false
	p.Legend.Left = false
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, format)
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

func writePlot(x io.Io, out io.Dir, p, format string, cfg TrainConfig, curves []Curve) error {
	f, err := out.CreateAtomic(x, p, 0o644)
	if err != nil {
		return err
	}
	defer f.Close(x)
	w := f.Writer(x, make([]byte, 64<<10))
	if err := PlotCurves(w, format, cfg, curves); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Commit(x)
}
