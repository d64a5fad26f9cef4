package main

import (
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
)

// rlBenchConfig is the parsed command line of `vkdemo rl bench`.
type rlBenchConfig struct {
	envs     []string // Gymnasium ids
	n        int      // environments
	steps    int      // steps of each per run
	minTime  time.Duration
	hidden   []int
	cores    int
	noMLP    bool
	noRandom bool
	seed     uint64
	asJSON   bool
}

// rlBenchReport is the JSON form of `rl bench --json`. Field names are
// stable.
type rlBenchReport struct {
	Device  string       `json:"device"`
	Io      string       `json:"io"`
	Envs    int          `json:"envs"`
	Steps   int          `json:"steps"`
	Cores   int          `json:"cores"`
	MinTime float64      `json:"min_time_s"`
	Rows    []rlBenchRow `json:"rows"`
}

// rlBenchRow is one environment under one policy.
type rlBenchRow struct {
	Env    string `json:"env"`
	Policy string `json:"policy"` // "random" or "mlp 4-32-2"
	// GPU is environment steps per second over the runs' wall time
	// (submission and wait included); GPUBusy over the device's busy time.
	GPU     float64 `json:"gpu_steps_per_s"`
	GPUBusy float64 `json:"gpu_busy_steps_per_s"`
	// CPU1 and CPUAll are the Go reference's (rl.CPURollout, the tuned
	// loop) on one goroutine and on Cores.
	CPU1   float64 `json:"cpu1_steps_per_s"`
	CPUAll float64 `json:"cpu_all_steps_per_s"`
	// Ratios of the GPU's steps/s to the Go reference's.
	Vs1   float64 `json:"gpu_vs_cpu1"`
	VsAll float64 `json:"gpu_vs_cpu_all"`
}

func newRLBenchCmd(a *app) *cobra.Command {
	var (
		c       rlBenchConfig
		envs    []string
		hidden  string
		minTime time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Environment steps/s on the GPU against the Go reference on 1 core and on all cores",
		Long: `bench steps --envs environments --steps times each (autoresetting as
episodes end), with random actions and with an MLP policy (--hidden, tanh;
CartPole's 4-32-2 by default), on the GPU — one dispatch per run, every
environment one invocation, the whole run inside the shader
(rl.GPUVecEnv) — and on the Go reference (rl.CPURollout: the tuned CPU loop,
environment-major, allocation-free, one Philox block per four random
actions, the float32 MLP) on one goroutine and on --cores goroutines. Each
measure repeats its run until --min-time has passed (after one warm-up
run) and divides the steps by the time.

It prints a table of steps/s and the ratios GPU / Go reference, or with
--json the same as JSON. --io is used for the GPU's waits; --device cpu is
not for bench (the Go reference is in every row).`,
		Example: `  vkdemo rl bench
  vkdemo rl bench --env cartpole --envs 65536 --steps 1000
  vkdemo rl bench --json | jq '.rows[] | {env, policy, gpu_vs_cpu_all}'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(envs) == 0 {
				envs = []string{"all"}
			}
			for _, e := range envs {
				if strings.EqualFold(e, "all") {
					for _, n := range rlEnvNames {
						c.envs = append(c.envs, n.id)
					}
					continue
				}
				id, err := parseRLEnv("--env", e)
				if err != nil {
					return err
				}
				c.envs = append(c.envs, id)
			}
			if err := checkCount("envs", c.n, 1, 1<<22); err != nil {
				return err
			}
			if err := checkCount("steps", c.steps, 1, 1<<20); err != nil {
				return err
			}
			if minTime < 0 || minTime > time.Hour {
				return usageErrorf("--min-time %s: want 0 to 1h", minTime)
			}
			c.minTime = minTime
			h, err := parseHidden(hidden)
			if err != nil {
				return err
			}
			if len(h) == 0 && !c.noMLP {
				return usageErrorf("--hidden %q: the MLP rows need a hidden layer (or --no-mlp)", hidden)
			}
			c.hidden = h
			if c.cores == 0 {
				c.cores = runtime.NumCPU()
			}
			if err := checkCount("cores", c.cores, 1, 4096); err != nil {
				return err
			}
			if c.noMLP && c.noRandom {
				return usageErrorf("--no-mlp and --no-random: nothing to measure")
			}
			if a.onCPU() {
				return usageErrorf("bench compares the GPU with the Go reference: --device cpu is not for it")
			}
			return a.rlBench(c)
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&envs, "env", nil, "environments, comma-separated or repeated (default: all four)")
	fs.IntVarP(&c.n, "envs", "N", 8192, "environments stepped at once")
	fs.IntVar(&c.steps, "steps", 500, "steps of each environment per run")
	fs.DurationVar(&minTime, "min-time", 500*time.Millisecond, "repeat each measure's run until this much time has passed")
	fs.StringVar(&hidden, "hidden", "32", "the MLP rows' hidden layers (tanh), e.g. 32 or 64,64")
	fs.IntVar(&c.cores, "cores", 0, "goroutines of the all-cores Go reference (0: the CPU count)")
	fs.BoolVar(&c.noMLP, "no-mlp", false, "measure random actions only")
	fs.BoolVar(&c.noRandom, "no-random", false, "measure the MLP policy only")
	fs.Uint64Var(&c.seed, "seed", 0, "RNG seed (start states, random actions, the MLP's parameters)")
	fs.BoolVar(&c.asJSON, "json", false, "print the results as JSON")
	return cmd
}

// rlBench runs `rl bench`.
func (a *app) rlBench(c rlBenchConfig) error {
	x, err := a.Io()
	if err != nil {
		return err
	}
	d, err := a.Device()
	if err != nil {
		return err
	}
	rep := rlBenchReport{Device: d.Info().Name, Io: x.String(), Envs: c.n, Steps: c.steps, Cores: c.cores, MinTime: c.minTime.Seconds(), Rows: []rlBenchRow{}}
	w := a.stdout
	if !c.asJSON {
		fmt.Fprintf(w, "vkdemo rl bench: %d environments × %d steps per run on %s, against the Go reference on 1 and %d goroutines (%d CPUs), io %s\n",
			c.n, c.steps, rep.Device, c.cores, runtime.NumCPU(), x)
	}
	for _, env := range c.envs {
		ref, err := rl.Lookup(env)
		if err != nil {
			return err
		}
		spec := ref.Spec()
		var policies []rl.MLP
		if !c.noRandom {
			policies = append(policies, rl.MLP{})
		}
		if !c.noMLP {
			out := spec.Actions
			if out == 0 {
				out = spec.ActDim
			}
			policies = append(policies, rl.MLP{Sizes: append(append([]int{spec.ObsDim}, c.hidden...), out), Act: rl.Tanh})
		}
		for _, m := range policies {
			row, err := measureRLRow(x, d, c, ref, m)
			if err == nil {
				err = a.gate.take()
			}
			if err != nil {
				return fmt.Errorf("%s, %s: %w", env, row.Policy, err)
			}
			rep.Rows = append(rep.Rows, row)
			if !c.asJSON && isTerminal(w) {
				fmt.Fprintf(w, "  %s %s: GPU %.3g steps/s\n", env, row.Policy, row.GPU)
			}
		}
	}
	if c.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printRLBenchTable(w, rep)
	return nil
}

// policyName is "random" or "mlp 4-32-2".
func policyName(m rl.MLP) string {
	if len(m.Sizes) == 0 {
		return "random"
	}
	s := make([]string, len(m.Sizes))
	for i, n := range m.Sizes {
		s[i] = fmt.Sprint(n)
	}
	return "mlp " + strings.Join(s, "-")
}

// benchParams returns m's parameters: seeded normals of standard deviation
// 0.5 (a policy that acts, not a trained one: the cost is the same).
func benchParams(m rl.MLP, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	p := make([]float32, m.NumParams())
	for i := range p {
		p[i] = float32(0.5 * r.NormFloat64())
	}
	return p
}

// measureRLRow measures one environment under one policy (random when m has
// no sizes) on the GPU and on the Go reference.
func measureRLRow(x io.Io, d *gpu.Device, c rlBenchConfig, ref rl.Env, m rl.MLP) (row rlBenchRow, err error) {
	spec := ref.Spec()
	row = rlBenchRow{Env: spec.Name, Policy: policyName(m)}
	var params []float32
	opts := &rl.GPUVecOptions{Seed: c.seed, Policy: rl.RandomPolicy}
	if len(m.Sizes) > 0 {
		params = benchParams(m, c.seed)
		opts.Policy, opts.MLP, opts.Params, opts.Members = rl.MLPPolicy, m, params, 1
	}
	v, err := rl.NewGPUVecEnv(x, d, spec.Name, c.n, opts)
	if err != nil {
		return row, err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	var steps int64
	var wall, busy time.Duration
	err = measure(x, c.minTime, func() error {
		g0, s0 := v.GPUTime(), v.Steps()
		start := time.Now()
		if err := v.Run(x, c.steps, c.steps); err != nil {
			return err
		}
		wall += time.Since(start)
		busy += v.GPUTime() - g0
		steps += (v.Steps() - s0) * int64(c.n)
		return nil
	}, func() { steps, wall, busy = 0, 0, 0 })
	if err != nil {
		return row, err
	}
	row.GPU = perSec(steps, wall)
	row.GPUBusy = perSec(steps, busy)
	for _, threads := range []int{1, c.cores} {
		var cs int64
		var cw time.Duration
		err := measure(x, c.minTime, func() error {
			r, err := rl.CPURollout(x, rl.RolloutConfig{Env: ref, Envs: c.n, Steps: c.steps, Seed: c.seed, MLP: m, Params: params, Threads: threads})
			if err != nil {
				return err
			}
			cs += r.Steps
			cw += r.Wall
			return nil
		}, func() { cs, cw = 0, 0 })
		if err != nil {
			return row, err
		}
		if threads == 1 {
			row.CPU1 = perSec(cs, cw)
		} else {
			row.CPUAll = perSec(cs, cw)
		}
	}
	if c.cores == 1 {
		row.CPUAll = row.CPU1
	}
	if row.CPU1 > 0 {
		row.Vs1 = row.GPU / row.CPU1
	}
	if row.CPUAll > 0 {
		row.VsAll = row.GPU / row.CPUAll
	}
	return row, nil
}

// measure runs one warm-up call of run, then reset, then run until
// minTime has passed (at least once).
func measure(x io.Io, minTime time.Duration, run func() error, reset func()) error {
	if err := run(); err != nil {
		return err
	}
	reset()
	start := time.Now()
	for {
		if err := x.CheckCancel(); err != nil {
			return err
		}
		if err := run(); err != nil {
			return err
		}
		if time.Since(start) >= minTime {
			return nil
		}
	}
}

func perSec(steps int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(steps) / d.Seconds()
}

// printRLBenchTable prints the rows as a table.
func printRLBenchTable(w stdio.Writer, rep rlBenchReport) {
	all := fmt.Sprintf("Go %d cores", rep.Cores)
	ratio := fmt.Sprintf("GPU/%d cores", rep.Cores)
	fmt.Fprintf(w, "%-25s %-12s %12s %12s %12s %12s %10s %12s\n", "env", "policy", "GPU steps/s", "(GPU busy)", "Go 1 core", all, "GPU/1 core", ratio)
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "%-25s %-12s %12.3g %12.3g %12.3g %12.3g %9.2f× %11.2f×\n", r.Env, r.Policy, r.GPU, r.GPUBusy, r.CPU1, r.CPUAll, r.Vs1, r.VsAll)
	}
}
