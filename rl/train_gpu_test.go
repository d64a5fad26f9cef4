package rl

import (
	"github.com/vkio/vkio/tasks"
	stdio "io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
)

// TestTrainTune trains an environment with its DefaultConfig on the GPU
// evaluator and logs the figures: VKIO_RL_TUNE=env[,seeds[,concurrent]]
// (SEED0=k starts at seed k; see tuneOverrides for the other knobs).
func TestTrainTune(t *testing.T) {
	spec := os.Getenv("VKIO_RL_TUNE")
	if spec == "" {
		t.Skip("VKIO_RL_TUNE not set")
	}
	env, seeds, together := spec, 4, false
	if i := indexComma(env); i >= 0 {
		env, spec = env[:i], env[i+1:]
		if j := indexComma(spec); j >= 0 {
			together = spec[j+1:] == "1"
			spec = spec[:j]
		}
		seeds, _ = strconv.Atoi(spec)
	}
	d := gputest.Open(t, gpu.Options{})
	cfg, err := DefaultConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	tuneOverrides(&cfg)
	var ev Evaluator
	if os.Getenv("DEVICE") == "cpu" {
		e, err := Lookup(env)
		if err != nil {
			t.Fatal(err)
		}
		ev = NewCPUEvaluator(e, cfg.Policy, 0)
	} else if ev, err = NewGPUEvaluator(d, env, cfg.Policy, nil); err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	b := io.NewThreaded(io.ThreadedOptions{})
	x := b.Io()
	var walls []time.Duration
	solved := 0
	start := time.Now()
	run := func(c TrainConfig) {
		var opts TrainOptions
		if os.Getenv("VERBOSE") != "" {
			opts.Observer = func(s GenStats) {
				if s.Gen%10 == 0 {
					t.Logf("seed %d gen %d mean %.2f max %.2f min %.2f center %v %.2f sigma %.3f |θ| %.2f", s.Seed, s.Gen, s.Mean, s.Max, s.Min, s.HasCenter, s.Center, s.Sigma, s.ThetaNorm)
				}
			}
		}
		var rec *tasks.Recorder
		if out := os.Getenv("OUT"); out != "" {
			// Every output, trajectories of 4 slots every generation, and
			// the trace.
			os.MkdirAll(out, 0o755)
			dir, err := io.Cwd().OpenDir(x, out)
			if err != nil {
				t.Fatal(err)
			}
			defer dir.Close(x)
			opts.Out = &dir
			c.RecordSlots, c.RecordEvery = 4, 1
			if v, err := strconv.Atoi(os.Getenv("RECEVERY")); err == nil {
				c.RecordEvery = v
			}
			rec = tasks.NewRecorder()
			opts.Recorder = rec
		}
		xo := x
		if rec != nil && os.Getenv("OBSERVE") != "" {
			xo = x.WithObserver(rec) // every file operation in the trace too
		}
		res, err := Train(xo, ev, c, opts)
		if err != nil {
			t.Fatal(err)
		}
		if rec != nil {
			for name, w := range map[string]func(stdio.Writer) error{"trace.json": rec.WriteTrace, "timeline.svg": rec.WriteTimelineSVG} {
				f, err := os.Create(filepath.Join(os.Getenv("OUT"), name))
				if err != nil {
					t.Fatal(err)
				}
				if err := w(f); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			t.Logf("report: wall %v busy %v gpu idle %v", res.Report.Wall, res.Report.Busy, res.Report.GPUIdle)
		}
		for _, r := range res.Runs {
			t.Logf("seed %d: gens %d reached %v@%d final %.1f±%.1f solved %v wall %v steps %d", r.Seed, r.Generations, r.Reached, r.ReachedGen, r.Final.Mean, r.Final.Std, r.Solved, r.Wall.Round(time.Millisecond), r.Steps)
			walls = append(walls, r.Wall)
			if r.Solved {
				solved++
			}
		}
		t.Logf("job wall %v gpu idle %.3f (no evaluation in flight %.3f)", res.Wall.Round(time.Millisecond), res.GPUIdle, res.EvalIdle)
	}
	if together {
		cfg.Seeds = seeds
		run(cfg)
	} else {
		for k := range seeds {
			c := cfg
			c.Seed += uint64(k)
			run(c)
		}
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	t.Logf("%s: %d/%d solved, median wall %v, total %v", env, solved, seeds, walls[len(walls)/2].Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

func indexComma(s string) int {
	for i := range s {
		if s[i] == ',' {
			return i
		}
	}
	return -1
}

func tuneOverrides(c *TrainConfig) {
	f := func(k string) (float64, bool) {
		v := os.Getenv(k)
		if v == "" {
			return 0, false
		}
		x, err := strconv.ParseFloat(v, 64)
		return x, err == nil
	}
	if v, ok := f("POP"); ok {
		c.ES.Population = int(v)
	}
	if v, ok := f("SIGMA"); ok {
		c.ES.Sigma.Init = v
	}
	if v, ok := f("LR"); ok {
		c.ES.LR.Init = v
	}
	if v, ok := f("EPS"); ok {
		c.Episodes = int(v)
	}
	if v, ok := f("HID"); ok {
		c.Policy.Sizes[1] = int(v)
	}
	if v, ok := f("GENS"); ok {
		c.Generations = int(v)
	}
	if v, ok := f("EVALEVERY"); ok {
		c.EvalEvery = int(v)
	}
	if v, ok := f("EVALEPS"); ok {
		c.EvalEpisodes = int(v)
	}
	if v, ok := f("WD"); ok {
		c.ES.WeightDecay = v
	}
	if v, ok := f("SDECAY"); ok {
		c.ES.Sigma.Decay = v
	}
	if v, ok := f("LRDECAY"); ok {
		c.ES.LR.Decay = v
	}
	if v, ok := f("LRMIN"); ok {
		c.ES.LR.Min = v
	}
	if v, ok := f("SMIN"); ok {
		c.ES.Sigma.Min = v
	}
	if v := os.Getenv("SCALE"); v != "" {
		c.InputScale = nil
		for _, f := range strings.Split(v, ":") {
			x, _ := strconv.ParseFloat(f, 64)
			c.InputScale = append(c.InputScale, x)
		}
	}
	if v, ok := f("MARGIN"); ok {
		c.StopMargin = v
	}
	if v, ok := f("STOP"); ok {
		c.StopAtTarget = v != 0
	}
	if v, ok := f("GATE"); ok {
		c.EvalGate = v != 0
	}
	if v, ok := f("SEED0"); ok {
		c.Seed = uint64(v) // the first seed
	}
	if v, ok := f("INIT"); ok {
		c.ES.InitStd = v
	}
}
