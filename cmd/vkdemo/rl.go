package main

// The rl command group: reinforcement learning on the GPU (package rl).
//
//	vkdemo rl train    evolution strategies, many seeds at once, outputs through the Io
//	vkdemo rl eval     a checkpoint's policy over N episodes
//	vkdemo rl bench    environment steps/s: GPU against the Go reference
//	vkdemo rl render   a grid of environments drawn by a compute shader: PNGs, a window
//
// Each subcommand lives in its own file (rl_train.go, rl_eval.go,
// rl_bench.go, rl_render.go); this file holds the group and what they share:
// environment names, policy shapes, and where the environments run (the
// GPU, or the Go reference on the CPU with --device cpu).

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/rl"
)

func init() { register(newRLCmd) }

func newRLCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rl",
		Short: "Reinforcement learning on the GPU: train, eval, bench and render classic-control environments",
		Long: `rl runs Gymnasium's classic-control environments — CartPole-v1, Acrobot-v1,
Pendulum-v1, MountainCarContinuous-v0 — vectorized in compute shaders, with
MLP policies evaluated on the GPU for a whole population at once and
evolution strategies updating them on the CPU (package rl). Every wait goes
through the Io chosen with --io.

Environments are named by their Gymnasium id or a short name, any case:
cartpole, acrobot, pendulum, mountaincar.

--device picks the Vulkan device as for every command; in the rl commands
--device cpu (or VKIO_DEVICE=cpu) runs the environments on the Go
reference implementation on all cores instead (the CPU baseline).`,
		Example: `  vkdemo rl train --env cartpole --seeds 20 --out runs/cartpole
  vkdemo rl eval --checkpoint runs/cartpole/seed-0/checkpoint.ckpt
  vkdemo rl bench --json
  vkdemo rl render --env acrobot --envs 16 --frames 200 --out frames`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return errors.New(msg) // usageArgs names the command and its help
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.SuggestionsMinimumDistance = 2
	for _, newSub := range []func(*app) *cobra.Command{newRLTrainCmd, newRLEvalCmd, newRLBenchCmd, newRLRenderCmd} {
		c := newSub(a)
		c.SilenceErrors, c.SilenceUsage = true, true
		if c.Args == nil {
			c.Args = cobra.NoArgs
		}
		c.Args = usageArgs(c.Args)
		cmd.AddCommand(c)
	}
	return cmd
}

// rlEnvNames are the environments by Gymnasium id, with their short names.
var rlEnvNames = []struct{ id, short string }{
	{"CartPole-v1", "cartpole"},
	{"Acrobot-v1", "acrobot"},
	{"Pendulum-v1", "pendulum"},
	{"MountainCarContinuous-v0", "mountaincar"},
}

// rlEnvList is the environments' ids, for help and error texts.
func rlEnvList() string {
	var s []string
	for _, e := range rlEnvNames {
		s = append(s, e.id)
	}
	return strings.Join(s, ", ")
}

// parseRLEnv returns the Gymnasium id of name: an id or a short name, any
// case (also "mountaincarcontinuous"). An unknown name is a usage error
// naming flag.
func parseRLEnv(flag, name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, e := range rlEnvNames {
		if n == strings.ToLower(e.id) || n == e.short || n == strings.ToLower(strings.SplitN(e.id, "-", 2)[0]) {
			return e.id, nil
		}
	}
	return "", usageErrorf("%s %q: unknown environment (want one of: %s; or cartpole, acrobot, pendulum, mountaincar)", flag, name, rlEnvList())
}

// parseHidden parses --hidden: hidden layer widths, comma-separated ("32",
// "32,32"), or "" / "none" for a linear policy.
func parseHidden(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > rl.MaxLayers {
		return nil, usageErrorf("--hidden %q: at most %d hidden layers", s, rl.MaxLayers)
	}
	var out []int
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > rl.MaxHidden {
			return nil, usageErrorf("--hidden %q: want widths from 1 to %d, comma-separated (e.g. 32 or 32,32)", s, rl.MaxHidden)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseActivation parses --activation.
func parseActivation(s string) (rl.Activation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tanh":
		return rl.Tanh, nil
	case "relu":
		return rl.ReLU, nil
	}
	return 0, usageErrorf("--activation %q: want tanh or relu", s)
}

// parseAutoreset parses --autoreset.
func parseAutoreset(s string) (rl.AutoresetMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "next-step", "next", "nextstep":
		return rl.NextStep, nil
	case "same-step", "same", "samestep":
		return rl.SameStep, nil
	}
	return 0, usageErrorf("--autoreset %q: want next-step or same-step", s)
}

// onCPU reports whether the rl commands run on the Go reference: --device
// cpu, or VKIO_DEVICE=cpu without --device.
func (a *app) onCPU() bool { return strings.EqualFold(strings.TrimSpace(a.deviceSpecOrEnv()), "cpu") }

// checkCount checks an integer flag's range: a usage error naming the flag
// otherwise.
func checkCount(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return usageErrorf("--%s %d: want %d to %d", flag, v, lo, hi)
	}
	return nil
}

// rlEvaluator returns the evaluator of env under policy: the GPU's, on the
// device of --device (workgroup and perDispatch are its knobs, 0 for the
// defaults), or with --device cpu the Go reference's on all cores. where
// names it for reports.
func (a *app) rlEvaluator(env string, policy rl.MLP, workgroup, perDispatch int) (ev rl.Evaluator, where string, err error) {
	if a.onCPU() {
		ref, err := rl.Lookup(env)
		if err != nil {
			return nil, "", usageErrorf("%s: %v", env, err)
		}
		threads := runtime.GOMAXPROCS(0)
		return rl.NewCPUEvaluator(ref, policy, threads), fmt.Sprintf("the CPU (Go reference, %d threads)", threads), nil
	}
	d, err := a.Device()
	if err != nil {
		return nil, "", err
	}
	ev, err = rl.NewGPUEvaluator(d, env, policy, &rl.GPUEvalOptions{WorkgroupSize: workgroup, StepsPerDispatch: perDispatch})
	if err != nil {
		if errors.Is(err, rl.ErrInvalid) {
			return nil, "", usageErrorf("%v", err)
		}
		return nil, "", err
	}
	return ev, d.Info().Name, nil
}

// summaryJSON is an rl.Summary in the reports' JSON (as summary.json and
// final.json write it).
type summaryJSON struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

func summaryOf(s rl.Summary) summaryJSON {
	return summaryJSON{N: s.N, Mean: s.Mean, Std: s.Std, Min: s.Min, Max: s.Max}
}
