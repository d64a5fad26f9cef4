package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/rl"
)

// rlEvalConfig is the parsed command line of `vkdemo rl eval`.
type rlEvalConfig struct {
	checkpoint   string
	episodes     int
	seed         uint64
	seedSet      bool
	episode      uint32
	trajectories int
	out          string
	asJSON       bool
	workgroup    int
	perDispatch  int
}

// rlEvalReport is the JSON form of `rl eval --json`. Field names are stable.
type rlEvalReport struct {
	Checkpoint string      `json:"checkpoint"`
	Env        string      `json:"env"`
	Policy     []int       `json:"policy"`
	Activation string      `json:"activation"`
	Generation uint32      `json:"generation"`
	Device     string      `json:"device"`
	Seed       uint64      `json:"seed"`
	Episode    uint32      `json:"episode"`
	Episodes   int         `json:"episodes"`
	Return     summaryJSON `json:"return"`
	MeanLength float64     `json:"mean_length"`
	Truncated  int         `json:"truncated"`
	Target     float64     `json:"target"`
	Solved     bool        `json:"solved"`
	Steps      int64       `json:"steps"`
	Trajectory string      `json:"trajectory,omitempty"`
}

func newRLEvalCmd(a *app) *cobra.Command {
	var c rlEvalConfig
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a checkpoint's policy over N episodes: mean, std, min and max return",
		Long: `eval plays --episodes episodes of the policy saved in an 'rl train'
checkpoint (its center θ, in float32 as the GPU runs it), one environment
slot per episode, and prints the mean, standard deviation, minimum and
maximum return, the mean episode length, and whether the mean reaches the
job's target.

The episodes start from the RNG's start states of --seed (default: the
checkpoint's run seed) and episode word --episode (default 4294967295, the
word of the training's final evaluation: with the same number of episodes
the result is the run's final.json). --trajectories K records the first K
episodes as .npy files in --out (obs, actions, rewards, terminated,
truncated, valid; see the README's layout).

--device cpu plays them on the Go reference.`,
		Example: `  vkdemo rl eval --checkpoint runs/cartpole/seed-0/checkpoint.ckpt
  vkdemo rl eval --checkpoint ck.ckpt --episodes 1000 --seed 7 --json
  vkdemo --device cpu rl eval --checkpoint ck.ckpt --trajectories 4 --out traj`,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if c.checkpoint == "" {
				return usageErrorf("--checkpoint: want a checkpoint file (OUT/seed-N/checkpoint.ckpt of rl train)")
			}
			if err := checkCount("episodes", c.episodes, 1, rl.MaxEpisodes); err != nil {
				return err
			}
			if err := checkCount("trajectories", c.trajectories, 0, c.episodes); err != nil {
				return err
			}
			if c.trajectories > 0 && c.out == "" {
				return usageErrorf("--trajectories %d: want --out, the folder for the .npy files", c.trajectories)
			}
			if c.workgroup < 0 || c.workgroup > 1024 {
				return usageErrorf("--workgroup %d: want 1 to 1024, or 0 for the default", c.workgroup)
			}
			if c.perDispatch < 0 || c.perDispatch > 1<<20 {
				return usageErrorf("--steps-per-dispatch %d: want 0 to %d", c.perDispatch, 1<<20)
			}
			c.seedSet = fs.Changed("seed")
			return a.rlEval(c)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&c.checkpoint, "checkpoint", "c", "", "the checkpoint file (OUT/seed-N/checkpoint.ckpt of rl train)")
	fs.IntVarP(&c.episodes, "episodes", "n", 100, "episodes to play")
	fs.Uint64Var(&c.seed, "seed", 0, "RNG seed of the start states (default: the checkpoint's run seed)")
	fs.Uint32Var(&c.episode, "episode", rl.FinalEpisode, "the RNG episode word of the start states")
	fs.IntVar(&c.trajectories, "trajectories", 0, "record the first K episodes as .npy files in --out")
	fs.StringVarP(&c.out, "out", "o", "", "folder for --trajectories")
	fs.BoolVar(&c.asJSON, "json", false, "print the result as JSON")
	fs.IntVar(&c.workgroup, "workgroup", 0, "the GPU evaluator's workgroup size (0: its default)")
	fs.IntVar(&c.perDispatch, "steps-per-dispatch", 0, "split the episodes into dispatches of N steps (0: whole episodes)")
	return cmd
}

// rlEval runs `rl eval`.
func (a *app) rlEval(c rlEvalConfig) (err error) {
	x, err := a.Io()
	if err != nil {
		return err
	}
	pol, err := loadRLPolicy(x, c.checkpoint)
	if err != nil {
		return err
	}
	seed := pol.ckpt.Seed
	if c.seedSet {
		seed = c.seed
	}
	ev, where, err := a.rlEvaluator(pol.env, pol.mlp, c.workgroup, c.perDispatch)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ev.Close()) }()
	sum, res, err := rl.EvaluateCenter(x, ev, seed, pol.theta, c.episodes, c.episode, c.trajectories)
	if err == nil {
		err = a.gate.take()
	}
	if err != nil {
		return err
	}
	rep := rlEvalReport{Checkpoint: c.checkpoint, Env: pol.env, Policy: pol.mlp.Sizes, Activation: pol.mlp.Act.String(),
		Generation: pol.ckpt.Gen, Device: where, Seed: seed, Episode: c.episode, Episodes: c.episodes, Return: summaryOf(sum),
		Target: pol.ckpt.Config.Target, Solved: sum.Mean >= pol.ckpt.Config.Target, Steps: res.Steps}
	var length int64
	for i, l := range res.Lengths {
		length += int64(l)
		if res.Truncated[i] {
			rep.Truncated++
		}
	}
	rep.MeanLength = float64(length) / float64(len(res.Lengths))
	if c.trajectories > 0 && res.Trajectory != nil {
		dir, err := openOutDir(x, "--out", c.out)
		if err != nil {
			return err
		}
		defer dir.Close(x.WithoutCancel())
		if err := rl.WriteTrajectory(x, dir, "traj", res.Trajectory); err != nil {
			return fmt.Errorf("--out %s: %w", c.out, err)
		}
		rep.Trajectory = filepath.Join(c.out, "traj")
	}
	w := a.stdout
	if c.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	verdict := "not solved"
	if rep.Solved {
		verdict = "solved"
	}
	fmt.Fprintf(w, "%s policy %v %s of %s (seed %d, generation %d), %d episodes on %s:\n",
		rep.Env, rep.Policy, rep.Activation, c.checkpoint, pol.ckpt.Seed, rep.Generation, rep.Episodes, where)
	fmt.Fprintf(w, "  return  mean %.2f ± %.2f (std), min %.2f, max %.2f: %s (target %g)\n", sum.Mean, sum.Std, sum.Min, sum.Max, verdict, rep.Target)
	fmt.Fprintf(w, "  length  mean %.1f steps, %d of %d truncated by the time limit\n", rep.MeanLength, rep.Truncated, rep.Episodes)
	if rep.Trajectory != "" {
		fmt.Fprintf(w, "  trajectories of %d episodes in %s (obs.npy, actions.npy, rewards.npy, terminated.npy, truncated.npy, valid.npy)\n", c.trajectories, rep.Trajectory)
	}
	return nil
}
