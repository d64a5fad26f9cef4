package rl

import (
	"testing"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
)

// smallCartPole is a short CartPole job that exercises every output.
func smallCartPole() TrainConfig {
	cfg, _ := DefaultConfig("CartPole-v1")
	cfg.Seed, cfg.Seeds = 7, 2
	cfg.ES.Population, cfg.Episodes, cfg.Generations = 8, 2, 4
	cfg.EvalEvery, cfg.EvalGate, cfg.EvalEpisodes, cfg.FinalEpisodes = 2, false, 3, 3
	cfg.CheckpointEvery, cfg.RecordSlots, cfg.RecordEvery = 2, 2, 2
	return cfg
}

// TestTrainGPUDeterminism: on the GPU evaluator, a job's outputs are the
// same bytes on every Io and for other workgroup sizes and steps per
// dispatch.
func TestTrainGPUDeterminism(t *testing.T) {
	d := gputest.Open(t, gpu.Options{})
	cfg := smallCartPole()
	var want map[string]string
	for _, o := range []*GPUEvalOptions{nil, {StepsPerDispatch: 10, WorkgroupSize: 32}} {
		ev, err := NewGPUEvaluator(d, cfg.Env, cfg.Policy, o)
		if err != nil {
			t.Fatal(err)
		}
		eachIo(t, func(t *testing.T, x io.Io) {
			dir := t.TempDir()
			out := openOut(t, x, dir)
			if _, err := Train(x, ev, cfg, TrainOptions{NoCurves: true, Out: &out}); err != nil {
				t.Fatal(err)
			}
			got := hashRuns(t, dir)
			if want == nil {
				want = got
				if _, ok := want["seed-8/traj/gen-000002/obs.npy"]; !ok || len(want) < 20 {
					t.Fatalf("outputs: %v", want)
				}
				return
			}
			sameHashes(t, x.String(), got, want)
		})
		ev.Close()
	}
}

// TestTrainCPUCartPole: the CPU evaluator's CartPole runs solve it with
// the default configuration (final mean ≥ 475 over 100 episodes).
func TestTrainCPUCartPole(t *testing.T) {
	if testing.Short() {
		t.Skip("training run")
	}
	cfg, _ := DefaultConfig("CartPole-v1")
	cfg.Seeds = 2
	env, _ := Lookup(cfg.Env)
	ev := NewCPUEvaluator(env, cfg.Policy, 0)
	defer ev.Close()
	b := io.NewThreaded(io.ThreadedOptions{})
	res, err := Train(b.Io(), ev, cfg, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Runs {
		if !r.Solved || r.Final.N != 100 || r.Final.Mean < 475 {
			t.Errorf("seed %d: %d generations, final %+v, solved %v", r.Seed, r.Generations, r.Final, r.Solved)
		}
	}
}
