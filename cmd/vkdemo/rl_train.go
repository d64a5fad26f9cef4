package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
	"github.com/vkio/vkio/tasks"
)

// rlTrainFlags are the command line of `vkdemo rl train` as given.
type rlTrainFlags struct {
	env             string
	seeds           int
	seed            uint64
	population      int
	sigma, lr       float64
	sigmaDecay      float64
	weightDecay     float64
	generations     int
	target          float64
	noStop          bool
	episodes        int
	evalEpisodes    int
	evalEvery       int
	evalGate        bool
	finalEpisodes   int
	hidden          string
	activation      string
	out             string
	resume          string
	checkpointEvery int
	trajectories    int
	recordEvery     int
	noEpisodes      bool
	stream          string
	trace           string
	timeline        string
	asJSON          bool
	workgroup       int
	perDispatch     int
	devs            devicesFlag
}

// rlTrainRun is a parsed `rl train`: the configuration (nil when resuming,
// where the output folder holds it) and where things go.
type rlTrainRun struct {
	cfg       *rl.TrainConfig
	out       string
	resume    bool
	stream    string
	trace     string
	timeline  string
	asJSON    bool
	workgroup int
	perDisp   int
	devs      *devicesFlag // --devices
}

// configFlags are the flags that make a training configuration: with
// --resume the folder's config.json decides them.
var configFlags = []string{"env", "seeds", "seed", "population", "sigma", "sigma-decay", "lr", "weight-decay",
	"generations", "target", "no-stop", "episodes", "eval-episodes", "eval-every", "eval-gate", "final-episodes", "hidden",
	"activation", "checkpoint-every", "trajectories", "record-every", "no-episodes"}

func newRLTrainCmd(a *app) *cobra.Command {
	var f rlTrainFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train MLP policies with evolution strategies, many seeds at once, on the GPU",
		Long: `train runs OpenAI-style evolution strategies (antithetic sampling,
centered-rank fitness shaping, Adam, weight decay, a σ schedule; package rl)
on one environment, for --seeds independent runs at once (seeds --seed,
--seed+1, ...): while the GPU evaluates one run's population (one dispatch
of whole episodes for all its members), the others update their policy on
the CPU and write their outputs — each run a task of the Io.

Every setting starts from the environment's tuned default (rl.DefaultConfig)
and the flags change it. A run stops at --generations, or once its policy's
mean return over --eval-episodes episodes reaches --target (the
environment's threshold by default: CartPole 475, Acrobot −100,
MountainCarContinuous 90, Pendulum −200); --no-stop trains every
generation. Each run's final policy is evaluated over --final-episodes
episodes: solved when the mean reaches the target.

Outputs in --out (written through the Io while the next generations run;
every file but the JSON Lines replaced atomically, the JSON Lines grown by
whole lines):
  config.json              the configuration (what --resume continues)
  evaluator.json           what evaluated it: {"kind": "cpu"} or {"kind": "gpu",
                           "device": NAME}; --resume needs the same
  summary.json             per run: generations, final evaluation, solved, walls
  curve.svg, curve.png     the learning curves, one line per seed
  seed-N/stats.jsonl       one line per generation: gen, seed, mean, max, min,
                           std of the population's returns, center (the
                           policy's mean return, when evaluated), sigma, lr,
                           theta_norm, steps, total_steps
  seed-N/timing.jsonl      the wall-clock side: gpu_ms, eval_ms, update_ms, wall_ms
  seed-N/episodes.jsonl    one line per episode played (off with --no-episodes)
  seed-N/final.json        the final evaluation
  seed-N/checkpoint.ckpt   the latest checkpoint (every --checkpoint-every
                           generations, at the end, and on Ctrl-C)
  seed-N/traj/gen-GGGGGG/  with --trajectories K: the first K slots' steps as
                           .npy files (obs, actions, rewards, terminated,
                           truncated, valid), every --record-every generations,
                           and traj/final/
With --trace FILE, the Perfetto / chrome://tracing trace of the job: each
run's CPU lane (ask, wait, update), the evaluations on the GPU, the writes;
--timeline FILE draws the same as an SVG picture.

--stream ADDR serves the statistics while training: every generation's line,
as JSON Lines over HTTP (curl -N http://ADDR/), to any number of clients.

Ctrl-C stops every run at its next generation: pending writes finish, each
run's checkpoint is saved, every output written is complete, and the exit
status is 130. --resume OUT (or OUT/seed-N/checkpoint.ckpt) continues the
job in OUT from its checkpoints: its outputs end up byte for byte those of
an uninterrupted run. The statistics, episodes, trajectories and
checkpoints of a seed are the same bytes on every Io, device workgroup size
and steps per dispatch.

--device cpu trains on the Go reference's evaluator on all cores instead of
the GPU. --devices spreads the evaluations over several GPUs (or logical
devices: "0,0"): each goes to the least-loaded one, and runs again on
another if its device is lost; the outputs are the same bytes as on one
device of the kind (evaluator.json names the set: --resume needs the same).`,
		Example: `  vkdemo rl train --env cartpole --seeds 20 --out runs/cartpole
  vkdemo rl train --env acrobot --hidden 32,32 --population 128 --trajectories 4 --out runs/acro
  vkdemo rl train --env cartpole --generations 50 --no-stop --stream 127.0.0.1:7070 --out runs/cp &
  curl -N http://127.0.0.1:7070/
  vkdemo rl train --resume runs/cp`,
		RunE: func(cmd *cobra.Command, args []string) error {
			run, err := f.parse(cmd.Flags())
			if err != nil {
				return err
			}
			return a.rlTrain(run)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.env, "env", "CartPole-v1", "environment: "+rlEnvList()+" (or cartpole, acrobot, pendulum, mountaincar)")
	fs.IntVar(&f.seeds, "seeds", 1, "independent runs trained at once")
	fs.Uint64Var(&f.seed, "seed", 0, "the first run's seed (run k has seed SEED+k)")
	fs.IntVar(&f.population, "population", 0, "perturbed policies per generation, even (default: the environment's)")
	fs.Float64Var(&f.sigma, "sigma", 0, "initial perturbation standard deviation σ (default: the environment's)")
	fs.Float64Var(&f.sigmaDecay, "sigma-decay", 0, "σ's decay per generation, 0 to 1 (default: the environment's)")
	fs.Float64Var(&f.lr, "lr", 0, "Adam's learning rate (default: the environment's)")
	fs.Float64Var(&f.weightDecay, "weight-decay", 0, "L2 weight decay (default: the environment's)")
	fs.IntVar(&f.generations, "generations", 0, "at most this many generations per run (default: the environment's)")
	fs.Float64Var(&f.target, "target", 0, "the return that solves the environment (default: its threshold)")
	fs.BoolVar(&f.noStop, "no-stop", false, "train every generation, even after reaching the target")
	fs.IntVar(&f.episodes, "episodes", 0, "episodes per member per generation (default: the environment's)")
	fs.IntVar(&f.evalEpisodes, "eval-episodes", 0, "episodes of the policy's checks against the target (default 100)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "check the policy against the target every N generations (default: the environment's)")
	fs.BoolVar(&f.evalGate, "eval-gate", false, "check the policy only in generations where a member reached the target (--eval-gate=false: every --eval-every generations; default: the environment's)")
	fs.IntVar(&f.finalEpisodes, "final-episodes", 100, "episodes of each run's final evaluation (0: none)")
	fs.StringVar(&f.hidden, "hidden", "", "hidden layer widths, e.g. 32 or 32,32 ('none' for a linear policy; default: the environment's)")
	fs.StringVar(&f.activation, "activation", "tanh", "hidden-layer activation: tanh or relu")
	fs.StringVarP(&f.out, "out", "o", filepath.Join(defaultOut, "rl-train"), "output folder (created if missing)")
	fs.StringVar(&f.resume, "resume", "", "continue the job in this output folder (or from OUT/seed-N/checkpoint.ckpt)")
	fs.IntVar(&f.checkpointEvery, "checkpoint-every", 10, "save each run's checkpoint every N generations (0: only at the end and on Ctrl-C)")
	fs.IntVar(&f.trajectories, "trajectories", 0, "record the trajectories of this many environment slots (.npy)")
	fs.IntVar(&f.recordEvery, "record-every", 0, "with --trajectories: record every N generations (default: --checkpoint-every, else 10)")
	fs.BoolVar(&f.noEpisodes, "no-episodes", false, "do not write episodes.jsonl")
	fs.StringVar(&f.stream, "stream", "", "serve the statistics as JSON Lines over HTTP on this address (HOST:PORT; port 0 picks one)")
	fs.StringVar(&f.trace, "trace", "", "write the job's Perfetto / chrome://tracing trace here")
	fs.StringVar(&f.timeline, "timeline", "", "write the trace as a timeline picture (SVG) here")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON on stdout (no progress output)")
	fs.IntVar(&f.workgroup, "workgroup", 0, "the GPU evaluator's workgroup size (0: its default; results do not depend on it)")
	fs.IntVar(&f.perDispatch, "steps-per-dispatch", 0, "split each evaluation into dispatches of N steps (0: whole episodes; results do not depend on it)")
	f.devs.add(cmd)
	return cmd
}

// parse checks the flags and builds the configuration. Bad values are
// usage errors naming the flag.
func (f *rlTrainFlags) parse(fs *pflag.FlagSet) (rlTrainRun, error) {
	run := rlTrainRun{out: f.out, stream: f.stream, trace: f.trace, timeline: f.timeline, asJSON: f.asJSON, workgroup: f.workgroup, perDisp: f.perDispatch, devs: &f.devs}
	if f.workgroup < 0 || f.workgroup > 1024 {
		return run, usageErrorf("--workgroup %d: want 1 to 1024, or 0 for the default", f.workgroup)
	}
	if f.perDispatch < 0 || f.perDispatch > 1<<20 {
		return run, usageErrorf("--steps-per-dispatch %d: want 0 to %d", f.perDispatch, 1<<20)
	}
	if f.resume != "" {
		for _, name := range configFlags {
			if fs.Changed(name) {
				return run, usageErrorf("--resume continues the job's own configuration (its config.json): --%s cannot change it", name)
			}
		}
		if fs.Changed("out") {
			return run, usageErrorf("--resume %s: the job's outputs stay in its folder; drop --out", f.resume)
		}
		run.out, run.resume = resumeFolder(f.resume), true
		return run, nil
	}
	if run.out == "" {
		return run, usageErrorf("--out: want a folder")
	}
	env, err := parseRLEnv("--env", f.env)
	if err != nil {
		return run, err
	}
	cfg, err := rl.DefaultConfig(env)
	if err != nil {
		return run, usageErrorf("--env %s: %v", env, err)
	}
	if err := checkCount("seeds", f.seeds, 1, rl.MaxSeeds); err != nil {
		return run, err
	}
	if f.seed+uint64(f.seeds-1) < f.seed {
		return run, usageErrorf("--seed %d with --seeds %d: the seeds overflow 64 bits", f.seed, f.seeds)
	}
	cfg.Seed, cfg.Seeds = f.seed, f.seeds
	if fs.Changed("population") {
		if f.population < 2 || f.population%2 != 0 || f.population > rl.MaxPopulation {
			return run, usageErrorf("--population %d: want an even number from 2 to %d", f.population, rl.MaxPopulation)
		}
		cfg.ES.Population = f.population
	}
	for _, p := range []struct {
		name string
		v    float64
		dst  *float64
		lo   float64
		hi   float64
		open bool // lo excluded
	}{
		{"sigma", f.sigma, &cfg.ES.Sigma.Init, 0, 100, true},
		{"sigma-decay", f.sigmaDecay, &cfg.ES.Sigma.Decay, 0, 1, false},
		{"lr", f.lr, &cfg.ES.LR.Init, 0, 100, true},
		{"weight-decay", f.weightDecay, &cfg.ES.WeightDecay, 0, 100, false},
	} {
		if !fs.Changed(p.name) {
			continue
		}
		if math.IsNaN(p.v) || p.v < p.lo || p.v > p.hi || (p.open && p.v == p.lo) {
			lo := "from"
			if p.open {
				lo = "above"
			}
			return run, usageErrorf("--%s %v: want a value %s %v to %v", p.name, p.v, lo, p.lo, p.hi)
		}
		*p.dst = p.v
	}
	if cfg.ES.Sigma.Min > cfg.ES.Sigma.Init {
		cfg.ES.Sigma.Min = cfg.ES.Sigma.Init
	}
	if fs.Changed("generations") {
		if err := checkCount("generations", f.generations, 1, 1<<30); err != nil {
			return run, err
		}
		cfg.Generations = f.generations
	}
	if fs.Changed("target") {
		if math.IsNaN(f.target) || math.IsInf(f.target, 0) {
			return run, usageErrorf("--target %v: want a finite return", f.target)
		}
		cfg.Target = f.target
	}
	if f.noStop {
		cfg.StopAtTarget = false
	}
	if fs.Changed("episodes") {
		if err := checkCount("episodes", f.episodes, 1, rl.MaxEpisodes); err != nil {
			return run, err
		}
		cfg.Episodes = f.episodes
	}
	if fs.Changed("eval-episodes") {
		if err := checkCount("eval-episodes", f.evalEpisodes, 1, rl.MaxEpisodes); err != nil {
			return run, err
		}
		cfg.EvalEpisodes = f.evalEpisodes
	}
	if fs.Changed("eval-every") {
		if err := checkCount("eval-every", f.evalEvery, 0, 1<<30); err != nil {
			return run, err
		}
		cfg.EvalEvery = f.evalEvery
		if f.evalEvery == 0 {
			// No center checks: nothing to stop at, keep or gate.
			cfg.StopAtTarget, cfg.KeepBest, cfg.EvalGate = false, false, false
		}
	}
	if fs.Changed("eval-gate") {
		cfg.EvalGate = f.evalGate
	}
	if err := checkCount("final-episodes", f.finalEpisodes, 0, rl.MaxEpisodes); err != nil {
		return run, err
	}
	cfg.FinalEpisodes = f.finalEpisodes
	envRef, err := rl.Lookup(env)
	if err != nil {
		return run, usageErrorf("--env %s: %v", env, err)
	}
	spec := envRef.Spec()
	if fs.Changed("hidden") {
		hidden, err := parseHidden(f.hidden)
		if err != nil {
			return run, err
		}
		out := spec.Actions
		if out == 0 {
			out = spec.ActDim
		}
		cfg.Policy.Sizes = append(append([]int{spec.ObsDim}, hidden...), out)
	}
	if fs.Changed("activation") {
		if cfg.Policy.Act, err = parseActivation(f.activation); err != nil {
			return run, err
		}
	}
	if err := cfg.Policy.Check(spec); err != nil {
		return run, usageErrorf("--hidden %q: %v", f.hidden, err)
	}
	if err := checkCount("checkpoint-every", f.checkpointEvery, 0, 1<<30); err != nil {
		return run, err
	}
	cfg.CheckpointEvery = f.checkpointEvery
	slots := cfg.ES.Population * cfg.Episodes
	if err := checkCount("trajectories", f.trajectories, 0, slots); err != nil {
		return run, usageErrorf("--trajectories %d: want 0 to %d (population %d × %d episodes)", f.trajectories, slots, cfg.ES.Population, cfg.Episodes)
	}
	if err := checkCount("record-every", f.recordEvery, 0, 1<<30); err != nil {
		return run, err
	}
	cfg.RecordSlots = f.trajectories
	if f.trajectories > 0 {
		cfg.RecordEvery = f.recordEvery
		if cfg.RecordEvery == 0 {
			cfg.RecordEvery = cmp0(cfg.CheckpointEvery, 10)
		}
	} else if fs.Changed("record-every") {
		return run, usageErrorf("--record-every needs --trajectories")
	}
	cfg.LogEpisodes = !f.noEpisodes
	// What the flags cannot see one by one (population × episodes, the
	// population × the policy's parameters, ...): refused here, before
	// --out or the device is touched.
	if err := cfg.Check(); err != nil {
		return run, usageErrorf("the configuration of these flags: %v", err)
	}
	run.cfg = &cfg
	return run, nil
}

// cmp0 returns v, or def when v is 0.
func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// resumeFolder maps --resume to the job's output folder: the folder
// itself, or OUT for OUT/seed-N/checkpoint.ckpt.
func resumeFolder(p string) string {
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return filepath.Dir(filepath.Dir(p))
	}
	return p
}

// rlTrainReport is the JSON form of `rl train --json`. Field names are
// stable.
type rlTrainReport struct {
	Env         string          `json:"env"`
	Device      string          `json:"device"`
	Io          string          `json:"io"`
	Seeds       int             `json:"seeds"`
	Solved      int             `json:"solved"`
	Target      float64         `json:"target"`
	WallMS      float64         `json:"wall_ms"`
	GPUBusyMS   float64         `json:"gpu_busy_ms"`
	GPUIdle     float64         `json:"gpu_idle"`
	EvalIdle    float64         `json:"eval_idle"`
	Steps       int64           `json:"steps"`
	StepsPerSec float64         `json:"steps_per_s"`
	Out         string          `json:"out"`
	Trace       string          `json:"trace,omitempty"`
	Timeline    string          `json:"timeline,omitempty"`
	Stream      string          `json:"stream,omitempty"`
	Runs        []rlTrainRunRow `json:"runs"`
}

// rlTrainRunRow is one run of the report.
type rlTrainRunRow struct {
	Seed          uint64      `json:"seed"`
	Generations   int         `json:"generations"`
	Reached       bool        `json:"reached"`
	ReachedGen    int         `json:"reached_gen,omitempty"`
	ReachedWallMS float64     `json:"reached_wall_ms,omitempty"`
	Final         summaryJSON `json:"final"`
	Solved        bool        `json:"solved"`
	Steps         int64       `json:"steps"`
	WallMS        float64     `json:"wall_ms"`
	Error         string      `json:"error,omitempty"`
}

// rlTrain runs `rl train`.
func (a *app) rlTrain(run rlTrainRun) (err error) {
	x, err := a.Io()
	if err != nil {
		return err
	}
	for _, o := range []struct{ flag, path string }{{"--trace", run.trace}, {"--timeline", run.timeline}} {
		if err := checkOutputFile(x, o.flag, o.path, run.out); err != nil {
			return err
		}
	}
	var dir io.Dir
	if run.resume {
		fi, serr := io.Cwd().Stat(x, run.out)
		if serr != nil || !fi.IsDir() {
			return usageErrorf("--resume %s: not an output folder of rl train", run.out)
		}
		if dir, err = io.Cwd().OpenDir(x, run.out); err != nil {
			return fmt.Errorf("--resume %s: %w", run.out, err)
		}
		cfg, cerr := rl.ReadConfig(x, dir, "config.json")
		if cerr != nil {
			dir.Close(x.WithoutCancel())
			if errors.Is(cerr, os.ErrNotExist) {
				return usageErrorf("--resume %s: no config.json there: not an output folder of rl train", run.out)
			}
			return usageErrorf("--resume %s: %v", run.out, cerr)
		}
		run.cfg = &cfg
	} else if dir, err = openOutDir(x, "--out", run.out); err != nil {
		return err
	}
	defer dir.Close(x.WithoutCancel())
	// Down to OUT/seed-N/traj/gen-GGGGGG and traj/final (the trajectories'
	// .part files are the trainer's to remove).
	if n, err := dir.RemoveStaleTemps(x, 3); n > 0 || err != nil {
		a.stderrf("vkdemo rl train: removed %d stale temporary file(s) of killed runs in %s%s\n", n, run.out, errSuffix(err))
	}
	cfg := *run.cfg
	var trained *rlEvaluatorRecord
	if run.resume {
		if trained, err = readEvaluatorRecord(x, dir, run.out); err != nil {
			return err
		}
		if err := trained.matchKind(a.onCPU(), run.out); err != nil {
			return err
		}
	}
	var ev rl.Evaluator
	var where string
	if run.devs.given() {
		ev, where, err = a.rlSetEvaluator(run.devs, cfg.Env, cfg.Policy, run.workgroup, run.perDisp)
	} else if err = run.devs.alone(); err == nil {
		ev, where, err = a.rlEvaluator(cfg.Env, cfg.Policy, run.workgroup, run.perDisp)
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ev.Close()) }()
	mine := rlEvaluatorRecord{Kind: "gpu", Device: where}
	if a.onCPU() {
		mine = rlEvaluatorRecord{Kind: "cpu"}
	}
	if trained != nil {
		if trained.Kind == "gpu" && trained.Device != mine.Device {
			return usageErrorf("--resume %s: the job was trained on the GPU %q, this is %q: its generations would differ in the last bits; resume it with --device naming that GPU", run.out, trained.Device, mine.Device)
		}
	} else if err := writeEvaluatorRecord(x, dir, mine); err != nil {
		return fmt.Errorf("--out %s: %w", run.out, err)
	}

	var rec *tasks.Recorder
	if run.trace != "" || run.timeline != "" {
		rec = tasks.NewRecorder()
		rec.SetMeta("title", fmt.Sprintf("vkdemo rl train: %s, %d seeds, population %d, io %s, %s", cfg.Env, cfg.Seeds, cfg.ES.Population, x, where))
		rec.SetMeta("io", x.String())
		rec.SetMeta("device", where)
	}
	w := a.stdout
	var stream *statsStream
	if run.stream != "" {
		if stream, err = startStatsStream(x, run.stream, cfg); err != nil {
			return err
		}
		defer stream.close()
	}
	verb := "training"
	if run.resume {
		verb = "resuming"
	}
	if !run.asJSON {
		fmt.Fprintf(w, "vkdemo rl train: %s %d seed(s) of %s on %s, io %s: population %d, policy %v %s, σ %g, lr %g, up to %d generations, target %g\n",
			verb, cfg.Seeds, cfg.Env, where, x, cfg.ES.Population, cfg.Policy.Sizes, cfg.Policy.Act, cfg.ES.Sigma.Init, cfg.ES.LR.Init, cfg.Generations, cfg.Target)
		if stream != nil {
			fmt.Fprintf(w, "streaming statistics on http://%s/ (curl -N)\n", stream.addr())
		}
	}
	prog := newTrainProgress(w, cfg, !run.asJSON)
	opts := rl.TrainOptions{Recorder: rec, Observer: func(s rl.GenStats) {
		prog.gen(s)
		if stream != nil {
			stream.publish(s)
		}
	}}
	var res *rl.TrainResult
	if run.resume {
		res, err = rl.Resume(x, ev, dir, opts)
	} else {
		opts.Out = &dir
		res, err = rl.Train(x, ev, cfg, opts)
	}
	prog.finish()
	if err == nil {
		err = a.gate.take()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && !run.asJSON && res != nil {
			again := "vkdemo rl train --resume " + run.out
			if a.onCPU() {
				again = "vkdemo --device cpu rl train --resume " + run.out
			}
			fmt.Fprintf(w, "stopped: every run's checkpoint saved in %s/seed-N/checkpoint.ckpt, every output complete; continue with: %s\n", run.out, again)
		}
		return err
	}
	if rec != nil {
		rec.SetReport(res.Report)
		for _, o := range []struct {
			flag, path string
			write      func(stdio.Writer) error
		}{{"--trace", run.trace, rec.WriteTrace}, {"--timeline", run.timeline, rec.WriteTimelineSVG}} {
			if o.path == "" {
				continue
			}
			if _, werr := streamResult(x, o.path, o.write); werr != nil {
				return fmt.Errorf("%s %s: %w", o.flag, o.path, werr)
			}
		}
	}
	rep := trainReport(cfg, res, where, x.String(), run)
	if stream != nil {
		rep.Stream = "http://" + stream.addr() + "/"
	}
	if run.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printTrainReport(w, rep)
	for _, r := range res.Runs {
		if r.Err != nil {
			return fmt.Errorf("seed %d: %w", r.Seed, r.Err)
		}
	}
	return nil
}

// trainReport builds the report of a finished job.
func trainReport(cfg rl.TrainConfig, res *rl.TrainResult, where, ioName string, run rlTrainRun) rlTrainReport {
	rep := rlTrainReport{Env: cfg.Env, Device: where, Io: ioName, Seeds: len(res.Runs), Target: cfg.Target,
		WallMS: msOf(res.Wall), GPUBusyMS: msOf(res.GPUBusy), GPUIdle: res.GPUIdle, EvalIdle: res.EvalIdle, Out: run.out, Trace: run.trace, Timeline: run.timeline,
		Runs: []rlTrainRunRow{}}
	for _, r := range res.Runs {
		row := rlTrainRunRow{Seed: r.Seed, Generations: r.Generations, Reached: r.Reached, Final: summaryOf(r.Final),
			Solved: r.Solved, Steps: r.Steps, WallMS: msOf(r.Wall)}
		if r.Reached {
			row.ReachedGen, row.ReachedWallMS = r.ReachedGen, msOf(r.ReachedWall)
		}
		if r.Err != nil {
			row.Error = r.Err.Error()
		}
		if r.Solved {
			rep.Solved++
		}
		rep.Steps += r.Steps
		rep.Runs = append(rep.Runs, row)
	}
	if res.Wall > 0 {
		rep.StepsPerSec = float64(rep.Steps) / res.Wall.Seconds()
	}
	return rep
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// maxTrainRows bounds the per-seed rows printed; summary.json has them all.
const maxTrainRows = 24

// printTrainReport prints the table of runs and the job's totals.
func printTrainReport(w stdio.Writer, rep rlTrainReport) {
	fmt.Fprintf(w, "done: %d of %d seed(s) solved %s (final mean return ≥ %g) in %s; %.3g steps/s; GPU busy %s, idle %.0f%% of wall (no evaluation in flight %.0f%%)\n",
		rep.Solved, rep.Seeds, rep.Env, rep.Target, fmtSec(time.Duration(rep.WallMS*1e6)), rep.StepsPerSec,
		fmtSec(time.Duration(rep.GPUBusyMS*1e6)), 100*rep.GPUIdle, 100*rep.EvalIdle)
	fmt.Fprintf(w, "  %6s %6s %10s %10s %22s %9s %s\n", "seed", "gens", "target at", "wall", "final return", "steps", "")
	for i, r := range rep.Runs {
		if i == maxTrainRows {
			fmt.Fprintf(w, "  ... %d more in %s\n", len(rep.Runs)-i, filepath.Join(rep.Out, "summary.json"))
			break
		}
		at := "-"
		if r.Reached {
			at = fmt.Sprintf("gen %d", r.ReachedGen)
		}
		final := "-"
		if r.Final.N > 0 {
			final = fmt.Sprintf("%.1f ± %.1f (n %d)", r.Final.Mean, r.Final.Std, r.Final.N)
		}
		note := ""
		switch {
		case r.Error != "":
			note = "error: " + r.Error
		case r.Solved:
			note = "solved"
		}
		fmt.Fprintf(w, "  %6d %6d %10s %10s %22s %9d %s\n", r.Seed, r.Generations, at, fmtSec(time.Duration(r.WallMS*1e6)), final, r.Steps, note)
	}
	var walls []float64
	for _, r := range rep.Runs {
		if r.Reached {
			walls = append(walls, r.ReachedWallMS)
		}
	}
	if len(walls) > 0 {
		sort.Float64s(walls)
		med := (walls[(len(walls)-1)/2] + walls[len(walls)/2]) / 2
		fmt.Fprintf(w, "  target reached by %d run(s): median %s after the run's first dispatch, slowest %s\n",
			len(walls), fmtSec(time.Duration(med*1e6)), fmtSec(time.Duration(walls[len(walls)-1]*1e6)))
	}
	fmt.Fprintf(w, "outputs   %s (config.json, summary.json, curve.svg, curve.png, seed-N/stats.jsonl, checkpoint.ckpt, ...)\n", rep.Out)
	if rep.Trace != "" {
		fmt.Fprintf(w, "trace     %s (open in https://ui.perfetto.dev or chrome://tracing)\n", rep.Trace)
	}
	if rep.Timeline != "" {
		fmt.Fprintf(w, "timeline  %s (open in a browser)\n", rep.Timeline)
	}
}

// trainProgress shows the generations as runs finish them: a bar on a
// terminal (one tick per generation of any run), otherwise a line every
// tenth of the job's generations. Runs that stop at the target leave the
// bar short; finish removes it.
type trainProgress struct {
	mu    sync.Mutex
	w     stdio.Writer
	bar   *progressbar.ProgressBar
	on    bool
	total int
	every int
	done  int
	best  map[uint64]float64 // each run's last population mean
	start time.Time
}

func newTrainProgress(w stdio.Writer, cfg rl.TrainConfig, on bool) *trainProgress {
	total := cfg.Seeds * cfg.Generations
	p := &trainProgress{w: w, on: on, total: total, every: max(1, total/10), best: map[uint64]float64{}, start: time.Now()}
	if on && isTerminal(w) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("training"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("gens"),
			progressbar.OptionThrottle(50*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// gen is the trainer's Observer (called concurrently by the runs).
func (p *trainProgress) gen(s rl.GenStats) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.best[s.Seed] = s.Mean
	if p.bar != nil {
		p.bar.Add(1)
		return
	}
	if p.done%p.every == 0 {
		center := ""
		if s.HasCenter {
			center = fmt.Sprintf(", policy %.1f", s.Center)
		}
		fmt.Fprintf(p.w, "generation %d of seed %d: population mean %.1f%s (%d generations of %d runs done at %s)\n",
			s.Gen, s.Seed, s.Mean, center, p.done, len(p.best), fmtSec(time.Since(p.start)))
	}
}

func (p *trainProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Exit()
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// rlEvaluatorFile is the file in a job's output folder that says what
// evaluated its generations: a resume must use the same, or float64 CPU
// generations would mix with float32 GPU ones (or one GPU's with
// another's). A job without one (an older vkdemo) resumes on anything, and
// gets one.
const rlEvaluatorFile = "evaluator.json"

// rlEvaluatorRecord is the content of rlEvaluatorFile.
type rlEvaluatorRecord struct {
	Kind   string `json:"kind"`             // "cpu" (the Go reference) or "gpu"
	Device string `json:"device,omitempty"` // the GPU's name
}

// readEvaluatorRecord reads rlEvaluatorFile in the job's folder dir (out
// on the command line): nil if there is none.
func readEvaluatorRecord(x io.Io, dir io.Dir, out string) (*rlEvaluatorRecord, error) {
	data, err := dir.ReadFileMax(x, rlEvaluatorFile, 4096)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, usageErrorf("--resume %s: %s: %v", out, rlEvaluatorFile, err)
	}
	var r rlEvaluatorRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || r.Kind != "cpu" && r.Kind != "gpu" {
		return nil, usageErrorf("--resume %s: %s: want {\"kind\": \"cpu\"} or {\"kind\": \"gpu\", \"device\": NAME} (%v)", out, rlEvaluatorFile, err)
	}
	return &r, nil
}

// matchKind refuses to resume a job on the other kind of evaluator.
func (r *rlEvaluatorRecord) matchKind(onCPU bool, out string) error {
	switch {
	case r == nil:
	case r.Kind == "cpu" && !onCPU:
		return usageErrorf("--resume %s: the job was trained on the CPU (the Go reference, float64): resume it with --device cpu", out)
	case r.Kind == "gpu" && onCPU:
		return usageErrorf("--resume %s: the job was trained on the GPU %q (float32): resume it without --device cpu (or VKIO_DEVICE=cpu)", out, r.Device)
	}
	return nil
}

// writeEvaluatorRecord writes r as the job's rlEvaluatorFile.
func writeEvaluatorRecord(x io.Io, dir io.Dir, r rlEvaluatorRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return dir.WriteFile(x, rlEvaluatorFile, append(b, '\n'), 0o644)
}
