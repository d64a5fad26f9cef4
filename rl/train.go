package rl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// TrainConfig is a training job: evolution strategies on one environment,
// for one or many seeds at once. Its JSON form is the config.json of an
// output folder and part of every checkpoint.
type TrainConfig struct {
	// Env is the environment's name (Gymnasium's id); the evaluator's
	// Spec().Name must be the same.
	Env string `json:"env"`
	// Policy is the MLP being trained; the evaluator's Policy() must be
	// the same.
	Policy MLP `json:"policy"`
	// ES is the optimizer.
	ES ESConfig `json:"es"`
	// InputScale, empty or one power of two per observation component,
	// scales the search space of the first layer's weights: ES perturbs
	// and steps the weights of input i in units of InputScale[i] (see
	// NewES's scale), so that inputs of very different ranges (position
	// and velocity) get weights of useful sizes. The policy parameters
	// (Checkpoint.Theta) are the network's own.
	InputScale []float64 `json:"input_scale,omitempty"`
	// Seed is the first run's seed; run k of Seeds has seed Seed+k. A
	// run's outputs depend on its own seed only, not on how many run at
	// once.
	Seed  uint64 `json:"seed"`
	Seeds int    `json:"seeds"`
	// Episodes is the number of episodes each member plays per
	// generation (every member sees the same start states).
	Episodes int `json:"episodes"`
	// Generations bounds a run's generations.
	Generations int `json:"generations"`
	// Target is the return that solves the environment. With
	// StopAtTarget, a run stops once its center θ's mean return over
	// EvalEpisodes episodes reaches it (checked every EvalEvery
	// generations); the final evaluation says whether it is solved.
	Target       float64 `json:"target"`
	StopAtTarget bool    `json:"stop_at_target"`
	// StopMargin raises the bar of StopAtTarget to Target+StopMargin, so
	// that a center that just passed the check on its episodes passes the
	// final evaluation on fresh ones too.
	StopMargin float64 `json:"stop_margin,omitempty"`
	// EvalEvery is how often (in generations) the center θ is evaluated
	// during training, over EvalEpisodes fresh episodes (0: never).
	EvalEvery    int `json:"eval_every"`
	EvalEpisodes int `json:"eval_episodes"`
	// EvalGate skips the center's evaluation in generations whose best
	// member's fitness is below Target (it saves the evaluations of a
	// center that cannot have solved the environment yet, in practice).
	EvalGate bool `json:"eval_gate,omitempty"`
	// KeepBest keeps the center θ of the run's best check (EvalEvery):
	// the final evaluation plays it rather than the last θ, and
	// Checkpoint.Best holds it (ES's θ can drift down after its best).
	KeepBest bool `json:"keep_best,omitempty"`
	// FinalEpisodes is the size of the final evaluation of the center θ
	// (Gymnasium's convention for "solved": 100).
	FinalEpisodes int `json:"final_episodes"`
	// CheckpointEvery is how often (in generations) a run saves its
	// checkpoint (0: only at the end and on cancellation).
	CheckpointEvery int `json:"checkpoint_every"`
	// RecordSlots slots (from slot 0: member 0's episodes first) record
	// their trajectories every RecordEvery generations (0: never), and the
	// first RecordSlots episodes of the final evaluation too.
	RecordSlots int `json:"record_slots"`
	RecordEvery int `json:"record_every"`
	// LogEpisodes writes every episode's summary to episodes.jsonl.
	LogEpisodes bool `json:"log_episodes"`
}

// Caps of a TrainConfig.
const (
	MaxSeeds       = 1 << 16
	MaxEpisodes    = 1 << 16
	MaxGenerations = 1<<31 - 1
)

// Caps of a whole job, whose runs all hold their buffers at once (Check).
const (
	// MaxJobParams bounds Seeds × Population × the policy's parameters:
	// the perturbed parameters of every run (8 bytes each in the
	// optimizer: ES.Ask's float32 copy and half the noise in float64; the
	// evaluator holds another copy). 2^28 is 2 GiB in the optimizers.
	MaxJobParams = 1 << 28
	// MaxJobSlots bounds Seeds × Population × Episodes, the episodes of a
	// generation of every run (a return, a length and a flag each).
	MaxJobSlots = 1 << 26
	// MaxJobEpisodeLines bounds the same with LogEpisodes: each episode
	// is a line of episodes.jsonl (about 100 bytes) in a write batch, and
	// each run has up to TrainOptions.MaxWrites batches in flight.
	MaxJobEpisodeLines = 1 << 21
)

// Episode words of evaluation requests (EvalRequest.Episode): training
// generation g uses g (below 2^31), the center's evaluation after
// generation g uses EvalEpisodeBase|g, and the final evaluation
// FinalEpisode.
const (
	EvalEpisodeBase = 0x80000000
	FinalEpisode    = 0xFFFFFFFF
)

// Check reports the first thing wrong with c (ErrInvalid): a bound of a
// field, two fields that contradict each other, or the optimizer's
// configuration (ES defaults applied to a copy). Train, Resume and
// ParseConfig check their configuration with it; a command line can call
// it before it creates anything.
func (c *TrainConfig) Check() error {
	if err := c.Policy.checkShape(); err != nil {
		return err
	}
	switch {
	case c.Env == "" || len(c.Env) > 64:
		return errorf("train", "environment name %q: want 1 to 64 bytes", c.Env)
	case c.Seeds < 1 || c.Seeds > MaxSeeds:
		return errorf("train", "%d seeds: want 1 to %d", c.Seeds, MaxSeeds)
	case c.Seed+uint64(c.Seeds-1) < c.Seed:
		return errorf("train", "seeds %d to %d+%d overflow 64 bits", c.Seed, c.Seed, c.Seeds-1)
	case c.Episodes < 1 || c.Episodes > MaxEpisodes:
		return errorf("train", "%d episodes per member: want 1 to %d", c.Episodes, MaxEpisodes)
	case c.Generations < 1 || c.Generations > MaxGenerations:
		return errorf("train", "%d generations: want 1 to %d", c.Generations, MaxGenerations)
	case math.IsNaN(c.Target) || math.IsInf(c.Target, 0):
		return errorf("train", "target %v: want a finite return", c.Target)
	case !(c.StopMargin >= 0) || math.IsInf(c.StopMargin, 0):
		return errorf("train", "stop margin %v: want a finite value ≥ 0", c.StopMargin)
	case c.EvalEvery < 0 || c.EvalEvery > MaxGenerations:
		return errorf("train", "eval every %d generations: want 0 to %d", c.EvalEvery, MaxGenerations)
	case c.EvalEvery > 0 && (c.EvalEpisodes < 1 || c.EvalEpisodes > MaxEpisodes):
		return errorf("train", "%d evaluation episodes: want 1 to %d", c.EvalEpisodes, MaxEpisodes)
	case c.EvalEpisodes < 0 || c.EvalEpisodes > MaxEpisodes:
		return errorf("train", "%d evaluation episodes: want 0 to %d", c.EvalEpisodes, MaxEpisodes)
	case c.KeepBest && c.EvalEvery == 0:
		return errorf("train", "keeping the best θ needs center evaluations (eval every > 0)")
	case c.StopAtTarget && c.EvalEvery == 0:
		return errorf("train", "stopping at the target needs center evaluations (eval every > 0)")
	case c.FinalEpisodes < 0 || c.FinalEpisodes > MaxEpisodes:
		return errorf("train", "%d final episodes: want 0 to %d", c.FinalEpisodes, MaxEpisodes)
	case c.CheckpointEvery < 0 || c.CheckpointEvery > MaxGenerations:
		return errorf("train", "checkpoint every %d generations: want 0 to %d", c.CheckpointEvery, MaxGenerations)
	case c.RecordEvery < 0 || c.RecordEvery > MaxGenerations:
		return errorf("train", "record every %d generations: want 0 to %d", c.RecordEvery, MaxGenerations)
	case c.RecordSlots < 0 || c.RecordSlots > c.ES.Population*c.Episodes:
		return errorf("train", "%d recorded slots: want 0 to population × episodes = %d", c.RecordSlots, c.ES.Population*c.Episodes)
	case c.Episodes*c.ES.Population > 1<<24:
		return errorf("train", "population %d × %d episodes: more than %d slots", c.ES.Population, c.Episodes, 1<<24)
	}
	if len(c.InputScale) != 0 && len(c.InputScale) != c.Policy.Sizes[0] {
		return errorf("train", "%d input scales for %d inputs", len(c.InputScale), c.Policy.Sizes[0])
	}
	for i, v := range c.InputScale {
		if !isPow2(v) {
			return errorf("train", "input scale %d = %v: want a power of two from 2^-16 to 2^16", i, v)
		}
	}
	es := c.ES
	es.defaults()
	if err := es.check(c.Policy.NumParams()); err != nil {
		return err
	}
	// The job's memory: every run at once. The factors are bounded above
	// (seeds 2^16, population × episodes 2^24, population × parameters
	// 2^26): the products fit an int64.
	seeds, pop := int64(c.Seeds), int64(c.ES.Population)
	params := seeds * pop * int64(c.Policy.NumParams())
	slots := seeds * pop * int64(c.Episodes)
	switch {
	case params > MaxJobParams:
		return errorf("train", "%d seeds × population %d × %d policy parameters = %d parameters at once, more than %d (%d GiB): lower the seeds, the population or the hidden layers",
			c.Seeds, c.ES.Population, c.Policy.NumParams(), params, MaxJobParams, MaxJobParams*8>>30)
	case slots > MaxJobSlots:
		return errorf("train", "%d seeds × population %d × %d episodes = %d episodes per generation, more than %d: lower the seeds, the population or the episodes",
			c.Seeds, c.ES.Population, c.Episodes, slots, MaxJobSlots)
	case c.LogEpisodes && slots > MaxJobEpisodeLines:
		return errorf("train", "%d seeds × population %d × %d episodes = %d lines of episodes.jsonl per generation, more than %d: lower the seeds, the population or the episodes, or log no episodes",
			c.Seeds, c.ES.Population, c.Episodes, slots, MaxJobEpisodeLines)
	}
	return nil
}

// paramScale returns the per-parameter scale of c.InputScale (nil when
// empty): InputScale[i] for the first layer's weights of input i, 1 for
// everything else.
func (c *TrainConfig) paramScale() []float64 {
	if len(c.InputScale) == 0 {
		return nil
	}
	d := make([]float64, c.Policy.NumParams())
	for j := range d {
		d[j] = 1
	}
	n, m := c.Policy.Sizes[0], c.Policy.Sizes[1]
	for o := range m {
		copy(d[o*n:(o+1)*n], c.InputScale)
	}
	return d
}

// checkShape bounds an MLP's sizes (before NumParams can overflow): every
// size from 1 to MaxHidden, at most MaxLayers hidden layers, and a known
// activation.
func (m MLP) checkShape() error {
	if len(m.Sizes) < 2 || len(m.Sizes) > MaxLayers+2 {
		return errorf("train", "policy sizes %v: want an input, up to %d hidden layers and an output", m.Sizes, MaxLayers)
	}
	for _, s := range m.Sizes {
		if s < 1 || s > MaxHidden {
			return errorf("train", "policy sizes %v: each from 1 to %d", m.Sizes, MaxHidden)
		}
	}
	if m.Act != Tanh && m.Act != ReLU {
		return errorf("train", "policy activation %d: want tanh (0) or relu (1)", int(m.Act))
	}
	return nil
}

// DefaultConfig returns the tuned training configuration of env (see
// TrainEnvs): policy size, population, σ, learning rate, episodes per
// member and input scales, with Target the return that solves env, center
// checks over 100 episodes (300 for Pendulum-v1; EvalGate: once a member
// reached the target), stopping at Target+StopMargin, and a final
// evaluation over 100 fresh episodes. Seed 0, one seed. Measured on
// lavapipe (GPU evaluator, 2 shared cores), runs one at a time:
// CartPole-v1 20/20 seeds solved (median 0.11 s from the first dispatch),
// Acrobot-v1 20/20 (0.21 s), MountainCarContinuous-v0 20/20 (0.20 s).
// Pendulum-v1 20/20 (seeds 0-19: final means -192 to -145, median 15 s,
// 1.8 to 29 s, 50 to 660 generations, under a load of ~2 from other jobs;
// with 4 episodes per member and 100-episode checks it was 8/10, 5.4 s).
func DefaultConfig(env string) (TrainConfig, error) {
	c := TrainConfig{
		Env: env, Seeds: 1, Episodes: 1,
		ES: ESConfig{
			Population: 32, Sigma: Schedule{Init: 0.1}, LR: Schedule{Init: 0.05},
			WeightDecay: 0.005,
		},
		StopAtTarget: true, EvalEvery: 1, EvalEpisodes: 100, FinalEpisodes: 100,
		CheckpointEvery: 10, LogEpisodes: true,
	}
	switch env {
	case "CartPole-v1":
		c.Policy = MLP{Sizes: []int{4, 8, 2}, Act: Tanh}
		c.Target, c.StopMargin = 475, 15
		c.Generations = 200
		c.ES.LR.Init = 0.1
		c.EvalGate = true
	case "Acrobot-v1":
		c.Policy = MLP{Sizes: []int{6, 16, 3}, Act: Tanh}
		c.Target, c.StopMargin = -100, 10
		c.Generations = 300
		c.ES.Population = 64
		c.Episodes = 2
		c.EvalEvery, c.EvalGate = 5, true
	case "MountainCarContinuous-v0":
		// The velocity's range is 0.07, the position's 1.8: its weights
		// are searched in units of 16.
		c.Policy = MLP{Sizes: []int{2, 16, 1}, Act: Tanh}
		c.InputScale = []float64{1, 16}
		c.Target, c.StopMargin = 90, 2
		c.Generations = 300
		c.ES.Population = 64
		c.ES.Sigma = Schedule{Init: 0.5, Decay: 0.99, Min: 0.05}
		c.ES.LR.Init = 0.1
		c.EvalEvery, c.EvalGate = 5, true
	case "Pendulum-v1":
		c.Policy = MLP{Sizes: []int{3, 32, 1}, Act: Tanh}
		c.Target, c.StopMargin = -200, 20
		c.Generations = 1000 // slow seeds: 0 ran 500, 10 660
		c.ES.Population = 128
		c.ES.LR.Init = 0.2
		// Its returns are heavy-tailed (a policy that fails to swing up
		// from a few start states loses ~1000 there): 8 episodes per
		// member make such policies lose their rank, and checks over 300
		// episodes keep a lucky check from stopping the run or being
		// kept as the best.
		c.Episodes = 8
		c.EvalEvery, c.EvalEpisodes, c.EvalGate, c.KeepBest = 10, 300, true, true
	default:
		return TrainConfig{}, errorf("train", "no default configuration for environment %q (have %s)", env, strings.Join(TrainEnvs(), ", "))
	}
	c.ES.defaults()
	return c, nil
}

// TrainEnvs lists the environments DefaultConfig knows.
func TrainEnvs() []string {
	return []string{"CartPole-v1", "Acrobot-v1", "MountainCarContinuous-v0", "Pendulum-v1"}
}

// TrainOptions are a training job's ways out: none of them changes what a
// run computes.
type TrainOptions struct {
	// Out is the output folder (it must exist); nil writes no files. See
	// Train for its layout.
	Out *io.Dir
	// Recorder, if not nil, records the trace: per run a CPU lane
	// ("seed N": ask, the wait for the evaluation, update), the
	// evaluations on the GPU, and the writes on the disk lanes ("seed N").
	Recorder *tasks.Recorder
	// Observer, if not nil, is called after each generation of each run,
	// from that run's task: concurrently for runs at once. It must be
	// quick (a progress bar, a socket's queue).
	Observer func(GenStats)
	// Resume continues each run from its checkpoint in Out (a run without
	// one starts over); see Resume.
	Resume bool
	// MaxWrites bounds each run's write batches in flight (0: 2): the
	// run waits for the oldest before starting another.
	MaxWrites int
	// NoCurves skips curve.svg and curve.png (drawing the PNG costs tens
	// of milliseconds).
	NoCurves bool
}

// TrainResult is what a training job did.
type TrainResult struct {
	Runs []RunResult
	// Wall is the time from the first evaluation's dispatch to the end of
	// the last run (final evaluations and writes included).
	Wall time.Duration
	// GPUBusy is the device's busy time: the sum of the evaluations'
	// EvalResult.GPU (one queue runs one submission at a time), at most
	// Wall; on the CPU evaluator, which reports none, the time at least one
	// evaluation was in progress. GPUIdle is 1 − GPUBusy/Wall.
	GPUBusy time.Duration
	GPUIdle float64
	// EvalIdle is the fraction of Wall during which no evaluation at all
	// was in progress: the scheduler's share of GPUIdle (the rest is each
	// evaluation's own host work: uploads, submission, read-back).
	EvalIdle float64
	// Report is the Recorder's overlap report (zero without one).
	Report tasks.Report
}

// RunResult is one run (one seed).
type RunResult struct {
	Seed uint64
	// Generations is the number of generations trained (resumed ones
	// included).
	Generations int
	// Reached says the center's check reached the target during training,
	// at generation ReachedGen, ReachedWall after this run's first
	// dispatch.
	Reached     bool
	ReachedGen  int
	ReachedWall time.Duration
	// Final is the final evaluation of the center θ (N = 0 if none ran),
	// or of the best one (TrainConfig.KeepBest: BestGen > 0 is the
	// generation it was checked after); Solved says its mean reached the
	// target.
	Final   Summary
	Solved  bool
	BestGen int
	// Steps is the environment steps the run played (this invocation's
	// and, resumed, those before).
	Steps int64
	// Wall is the time from the run's first dispatch to its end.
	Wall time.Duration
	// Err is how the run failed, or nil.
	Err error
}

// Train runs cfg.Seeds evolution-strategies runs of cfg at once on ev,
// each run a task of x: while one run's population is evaluated, others
// update their θ and write their outputs. Outputs go to opts.Out:
//
//	config.json                 cfg
//	summary.json                per run: generations, final evaluation, solved, walls
//	curve.svg, curve.png        mean population return per generation, one line per seed
//	seed-N/stats.jsonl          one line per generation (see GenStats): deterministic
//	seed-N/timing.jsonl         its wall-clock measures
//	seed-N/episodes.jsonl       one line per episode played (cfg.LogEpisodes)
//	seed-N/final.json           the final evaluation: deterministic
//	seed-N/checkpoint.ckpt      the latest checkpoint (see Checkpoint)
//	seed-N/traj/gen-GGGGGG/     recorded trajectories (see WriteTrajectory), and traj/final/
//
// A fresh job (not Resume) first removes what an earlier job left in the
// seed-N folders of its seeds (the files above; a file of another name
// stays), so that no older checkpoint or output mixes with its own.
//
// Every file but the JSON Lines appears whole (a temporary file renamed
// over it), and the JSON Lines grow by whole lines written at their
// offsets. Checkpoints, final.json, summary.json, config.json and the
// final trajectories are made durable too (io.Dir.CreateAtomic: fsync,
// rename, fsync of the folder; the JSON Lines a checkpoint covers are
// synced before it); the streamed trajectories are not synced, as two
// fsyncs per file would make the disk the run's limit. A generation's
// writes run as a task that overlaps the next generations, at most
// opts.MaxWrites per run in flight; a run waits for all of its writes
// before its final evaluation.
//
// Canceling x (Ctrl-C) stops every run at its next cancel point: its
// pending writes finish, its checkpoint is saved at the start of the
// generation it was in, and Train returns an error matching io.ErrCanceled
// with the result so far. With the same configuration, a run's
// deterministic outputs (stats.jsonl, episodes.jsonl, final.json, the
// trajectories and checkpoint.ckpt) are the same bytes whatever the Io,
// however many runs at once, and whether or not it was interrupted and
// resumed.
func Train(x io.Io, ev Evaluator, cfg TrainConfig, opts TrainOptions) (*TrainResult, error) {
	cfg.ES.defaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	spec, pol := ev.Spec(), ev.Policy()
	if spec.Name != cfg.Env {
		return nil, errorf("train", "the configuration is for %s, the evaluator plays %s", cfg.Env, spec.Name)
	}
	if err := cfg.Policy.Check(spec); err != nil {
		return nil, err
	}
	if !slices.Equal(pol.Sizes, cfg.Policy.Sizes) || pol.Act != cfg.Policy.Act {
		return nil, errorf("train", "the configuration's policy is %v %s, the evaluator's %v %s", cfg.Policy.Sizes, cfg.Policy.Act, pol.Sizes, pol.Act)
	}
	if opts.MaxWrites <= 0 {
		opts.MaxWrites = 2
	}
	if opts.Resume && opts.Out == nil {
		return nil, errorf("train", "resume needs an output folder")
	}
	t := &trainer{ev: ev, cfg: cfg, opts: opts, rec: opts.Recorder}
	if opts.Out != nil {
		if !opts.Resume {
			if err := removeOldRuns(x.WithoutCancel(), *opts.Out, &cfg); err != nil {
				return nil, err
			}
		}
		if err := t.writeConfig(x); err != nil {
			return nil, err
		}
	}
	runs := make([]*run, cfg.Seeds)
	for k := range runs {
		runs[k] = newRun(t, cfg.Seed+uint64(k))
	}
	var g io.Group
	for _, r := range runs {
		fn := func(x io.Io) error { return r.main(x) }
		if err := g.Concurrent(x, fn); err != nil {
			g.Async(x, fn)
		}
	}
	err := g.Wait(x)
	res := t.result(runs)
	if opts.Out != nil {
		// The summary and the curve, whatever happened: a canceled job
		// keeps every finished output complete.
		xw := x.WithoutCancel()
		if werr := t.writeSummary(xw, res); werr != nil && err == nil {
			err = werr
		}
		if opts.NoCurves {
			// nothing
		} else if werr := WriteCurves(xw, *opts.Out, cfg); werr != nil && err == nil {
			err = werr
		}
	}
	return res, err
}

// Resume continues the training job whose outputs are in out: it reads
// out/config.json and each run's checkpoint, truncates each run's JSON
// Lines to what its checkpoint covers, and trains on. The runs' outputs
// end up the same bytes as those of a job that was never interrupted.
func Resume(x io.Io, ev Evaluator, out io.Dir, opts TrainOptions) (*TrainResult, error) {
	cfg, err := ReadConfig(x, out, "config.json")
	if err != nil {
		return nil, err
	}
	opts.Out, opts.Resume = &out, true
	return Train(x, ev, cfg, opts)
}

// ReadConfig reads a TrainConfig from the JSON file at p in dir (at most
// MaxConfigJSON bytes, no unknown fields) and checks it.
func ReadConfig(x io.Io, dir io.Dir, p string) (TrainConfig, error) {
	data, err := readCapped(x, dir, p, MaxConfigJSON)
	if err != nil {
		return TrainConfig{}, err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", p, err)
	}
	return cfg, nil
}

// ParseConfig parses and checks a TrainConfig in JSON (at most
// MaxConfigJSON bytes, no unknown fields, nothing after the object).
func ParseConfig(data []byte) (TrainConfig, error) {
	var cfg TrainConfig
	if len(data) > MaxConfigJSON {
		return cfg, errorf("config", "%d bytes, more than %d", len(data), MaxConfigJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return TrainConfig{}, errorf("config", "%v", err)
	}
	if dec.More() {
		return TrainConfig{}, errorf("config", "data after the JSON object")
	}
	if err := cfg.Check(); err != nil {
		return TrainConfig{}, err
	}
	return cfg, nil
}

// readCapped reads the file at p, refusing one larger than limit before
// reading it.
func readCapped(x io.Io, dir io.Dir, p string, limit int64) ([]byte, error) {
	f, err := dir.OpenFile(x, p, io.ReadOnly)
	if err != nil {
		return nil, err
	}
	defer f.Close(x.WithoutCancel())
	fi, err := f.Stat(x)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &Error{Op: "read", Msg: fmt.Sprintf("%s: a folder, not a file", f.Name()), Err: ErrInvalid}
	}
	if fi.Size > limit {
		return nil, &Error{Op: "read", Msg: fmt.Sprintf("%s: %d bytes, more than %d", f.Name(), fi.Size, limit), Err: ErrInvalid}
	}
	buf := make([]byte, fi.Size+1)
	n := 0
	for n < len(buf) {
		m, err := f.Read(x, buf[n:])
		n += m
		if err != nil || m == 0 {
			if err != nil && !errors.Is(err, stdio.EOF) {
				return nil, err
			}
			break
		}
	}
	if int64(n) > limit {
		return nil, &Error{Op: "read", Msg: fmt.Sprintf("%s: more than %d bytes", f.Name(), limit), Err: ErrInvalid}
	}
	return buf[:n], nil
}

// ReadCheckpoint reads and parses the checkpoint file at p in dir.
func ReadCheckpoint(x io.Io, dir io.Dir, p string) (*Checkpoint, error) {
	data, err := readCapped(x, dir, p, 16+MaxCheckpoint+32)
	if err != nil {
		return nil, err
	}
	c, err := LoadCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return c, nil
}

// EvaluateCenter plays episodes episodes of θ (rounded to float32) on ev
// from the start states of episode word episode, and returns their summary
// and the evaluator's result (recording the first record slots).
func EvaluateCenter(x io.Io, ev Evaluator, seed uint64, theta []float64, episodes int, episode uint32, record int) (Summary, *EvalResult, error) {
	if n := ev.Policy().NumParams(); len(theta) != n {
		return Summary{}, nil, errorf("evaluate", "%d parameters for a policy of %d", len(theta), n)
	}
	p := make([]float32, len(theta))
	for j, v := range theta {
		p[j] = float32(v)
	}
	res, err := ev.Evaluate(x, EvalRequest{Seed: seed, Episode: episode, Params: p, Members: 1, Episodes: episodes, Record: min(record, episodes)})
	if err != nil {
		return Summary{}, nil, err
	}
	return Summarize(res.Returns), res, nil
}

// trainer is what a job's runs share.
type trainer struct {
	ev   Evaluator
	cfg  TrainConfig
	opts TrainOptions
	rec  *tasks.Recorder

	mu       sync.Mutex
	first    time.Time     // the first dispatch
	last     time.Time     // the last run's end
	device   time.Duration // the sum of the evaluations' EvalResult.GPU
	inFlight int           // evaluations in progress
	since    time.Time     // when inFlight last rose from 0
	covered  time.Duration // time with at least one evaluation in progress
}

// evalStart and evalEnd bracket every evaluation: they keep the union of
// the evaluations' intervals (covered) and the device's time.
func (t *trainer) evalStart(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first.IsZero() {
		t.first = now
	}
	if t.inFlight == 0 {
		t.since = now
	}
	t.inFlight++
}

func (t *trainer) evalEnd(now time.Time, gpu time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.device += gpu
	if t.inFlight--; t.inFlight == 0 {
		t.covered += now.Sub(t.since)
	}
}

func (t *trainer) noteEnd(end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if end.After(t.last) {
		t.last = end
	}
}

func (t *trainer) result(runs []*run) *TrainResult {
	res := &TrainResult{Runs: make([]RunResult, len(runs))}
	for k, r := range runs {
		res.Runs[k] = r.res
	}
	t.mu.Lock()
	if !t.first.IsZero() && t.last.After(t.first) {
		res.Wall = t.last.Sub(t.first)
	}
	covered := t.covered
	res.GPUBusy = t.device
	if res.GPUBusy == 0 { // the CPU evaluator: no device
		res.GPUBusy = covered
	}
	t.mu.Unlock()
	if res.Wall > 0 {
		res.GPUBusy = min(res.GPUBusy, res.Wall)
		res.GPUIdle = 1 - float64(res.GPUBusy)/float64(res.Wall)
		res.EvalIdle = max(0, 1-float64(covered)/float64(res.Wall))
	}
	if t.rec != nil {
		res.Report = t.rec.Report()
	}
	return res
}
