package rl

import (
	"errors"
	"testing"

	"github.com/vkio/vkio/io"
)

// countEnv counts steps: s = {count, id}; action 1 terminates at count 3;
// the reward is the count; id is the reset block's first uniform.
type countEnv struct{ max int }

func (c countEnv) Spec() EnvSpec {
	return EnvSpec{Name: "count", StateDim: 2, ObsDim: 2, Actions: 2, ActDim: 1, MaxSteps: c.max}
}
func (countEnv) Reset(s []float64, b [4]uint32) { s[0], s[1] = 0, Uniform(b[0]) }
func (countEnv) Step(s []float64, a []float64) (float64, bool) {
	s[0]++
	return s[0], a[0] == 1 && s[0] >= 3
}
func (countEnv) Observe(s, obs []float64) { copy(obs, s) }

type vecWant struct {
	action     float64
	count      float64
	episode    uint32 // k of the observed episode
	reward     float64
	term, trun bool
	final      float64 // SameStep: final count (-1: none)
	valid      bool
}

func runVec(t *testing.T, mode AutoresetMode, max int, steps []vecWant) {
	t.Helper()
	const seed, envBase, epBase = 77, 5, 1000
	v, err := NewVecEnv(VecConfig{Env: countEnv{max}, N: 1, Seed: seed, EnvBase: envBase, EpisodeBase: epBase, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	id := func(k uint32) float64 { return float64(float32(Uniform(ResetBlock(seed, envBase, epBase+k)[0]))) }
	if o := v.Obs(); o[0] != 0 || o[1] != id(0) {
		t.Fatalf("reset obs %v, want [0 %v]", o, id(0))
	}
	tr, err := v.Record(1, len(steps))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range steps {
		if err := v.Step([]float64{w.action}); err != nil {
			t.Fatal(err)
		}
		o := v.Obs()
		if o[0] != w.count || o[1] != id(w.episode) || v.Rewards()[0] != w.reward || v.Terminated()[0] != w.term || v.Truncated()[0] != w.trun {
			t.Errorf("%v step %d: obs %v reward %v term %v trunc %v; want count %v episode %d reward %v term %v trunc %v",
				mode, i+1, o, v.Rewards()[0], v.Terminated()[0], v.Truncated()[0], w.count, w.episode, w.reward, w.term, w.trun)
		}
		ep, _ := v.Episode(0)
		if ep != epBase+w.episode {
			t.Errorf("%v step %d: episode word %d, want %d", mode, i+1, ep, epBase+w.episode)
		}
		// The recording holds the same.
		if tr.Obs[2*(i+1)] != float32(w.count) || tr.Rewards[i] != float32(w.reward) || tr.Terminated[i] != w.term || tr.Truncated[i] != w.trun || tr.Valid[i] != w.valid {
			t.Errorf("%v step %d: recorded obs %v reward %v term %v trunc %v valid %v", mode, i+1, tr.Obs[2*(i+1)], tr.Rewards[i], tr.Terminated[i], tr.Truncated[i], tr.Valid[i])
		}
		if mode == SameStep {
			if (w.final >= 0) != (w.term || w.trun) {
				t.Fatalf("bad test row %d", i)
			}
			if w.final >= 0 && (v.FinalObs()[0] != w.final || tr.FinalObs[2*i] != float32(w.final) || tr.FinalObs[2*i+1] != float32(id(w.episode-1))) {
				t.Errorf("step %d: final obs %v (recorded %v), want count %v of episode %d", i+1, v.FinalObs(), tr.FinalObs[2*i:2*i+2], w.final, w.episode-1)
			}
			if w.final < 0 && (tr.FinalObs[2*i] != 0 || tr.FinalObs[2*i+1] != 0) {
				t.Errorf("step %d: final obs recorded %v where no episode ended", i+1, tr.FinalObs[2*i:2*i+2])
			}
		} else if v.FinalObs() != nil {
			t.Error("NextStep has final observations")
		}
	}
}

// TestVecNextStep follows Gymnasium's NEXT_STEP autoreset step by step:
// the step after an episode's end ignores the action and returns the reset
// observation with reward 0 and flags false.
func TestVecNextStep(t *testing.T) {
	runVec(t, NextStep, 4, []vecWant{
		{1, 1, 0, 1, false, false, -1, true},
		{1, 2, 0, 2, false, false, -1, true},
		{1, 3, 0, 3, true, false, -1, true},   // terminates; the terminal observation is returned
		{1, 0, 1, 0, false, false, -1, false}, // reset step: action ignored
		{0, 1, 1, 1, false, false, -1, true},
		{0, 2, 1, 2, false, false, -1, true},
		{0, 3, 1, 3, false, false, -1, true},
		{0, 4, 1, 4, false, true, -1, true}, // time limit 4: truncated
		{1, 0, 2, 0, false, false, -1, false},
		{1, 1, 2, 1, false, false, -1, true},
	})
	// Terminated and truncated on the same step (time limit 3).
	runVec(t, NextStep, 3, []vecWant{
		{1, 1, 0, 1, false, false, -1, true},
		{1, 2, 0, 2, false, false, -1, true},
		{1, 3, 0, 3, true, true, -1, true},
		{0, 0, 1, 0, false, false, -1, false},
	})
}

// TestVecSameStep follows Gymnasium's SAME_STEP autoreset: the ending step
// returns the reset observation with the terminal step's reward and flags,
// and the terminal observation beside it.
func TestVecSameStep(t *testing.T) {
	runVec(t, SameStep, 4, []vecWant{
		{1, 1, 0, 1, false, false, -1, true},
		{1, 2, 0, 2, false, false, -1, true},
		{1, 0, 1, 3, true, false, 3, true}, // terminated: reset at once
		{0, 1, 1, 1, false, false, -1, true},
		{0, 2, 1, 2, false, false, -1, true},
		{0, 3, 1, 3, false, false, -1, true},
		{0, 0, 2, 4, false, true, 4, true}, // truncated at 4
		{1, 1, 2, 1, false, false, -1, true},
	})
	runVec(t, SameStep, 3, []vecWant{
		{1, 1, 0, 1, false, false, -1, true},
		{1, 2, 0, 2, false, false, -1, true},
		{1, 0, 1, 3, true, true, 3, true},
	})
}

// TestVecStreams checks that an environment's stream does not depend on
// the number of environments beside it, and that StepRandom and
// StepPolicy draw what RandomAction and the policy say.
func TestVecStreams(t *testing.T) {
	for _, name := range Envs() {
		env := mustLookup(t, name)
		spec := env.Spec()
		for _, mode := range []AutoresetMode{NextStep, SameStep} {
			small, _ := NewVecEnv(VecConfig{Env: env, N: 3, Seed: 9, EnvBase: 10, Mode: mode})
			big, _ := NewVecEnv(VecConfig{Env: env, N: 17, Seed: 9, EnvBase: 8, Mode: mode})
			// small's env e is big's env e+2.
			steps := spec.MaxSteps + 50
			var ended int
			for s := 0; s < steps; s++ {
				small.StepRandom()
				big.StepRandom()
				for e := 0; e < 3; e++ {
					od := spec.ObsDim
					for i := 0; i < od; i++ {
						if small.Obs()[e*od+i] != big.Obs()[(e+2)*od+i] {
							t.Fatalf("%s %v step %d env %d: observations differ with the batch size", name, mode, s, e)
						}
					}
					if small.Rewards()[e] != big.Rewards()[e+2] || small.Terminated()[e] != big.Terminated()[e+2] || small.Truncated()[e] != big.Truncated()[e+2] {
						t.Fatalf("%s %v step %d env %d: results differ with the batch size", name, mode, s, e)
					}
					if small.Terminated()[e] || small.Truncated()[e] {
						ended++
					}
				}
			}
			if ended == 0 {
				t.Errorf("%s %v: no episode ended in %d steps", name, mode, steps)
			}
		}
	}
	// StepRandom = Step with RandomAction.
	env := Pendulum{}
	a, _ := NewVecEnv(VecConfig{Env: env, N: 4, Seed: 3})
	b, _ := NewVecEnv(VecConfig{Env: env, N: 4, Seed: 3})
	act := make([]float64, 4)
	for s := 0; s < 250; s++ {
		for e := range act {
			ep, el := b.Episode(e)
			RandomAction(env.Spec(), 3, uint32(e), ep, uint32(el), act[e:e+1])
			if act[e] < -2 || act[e] >= 2 || float64(float32(act[e])) != act[e] {
				t.Fatalf("random torque %v", act[e])
			}
		}
		a.StepRandom()
		if err := b.Step(act); err != nil {
			t.Fatal(err)
		}
		for i := range a.Obs() {
			if a.Obs()[i] != b.Obs()[i] {
				t.Fatalf("step %d: StepRandom differs from Step(RandomAction)", s)
			}
		}
	}
	if a.Steps() != 1000-4 {
		t.Errorf("Steps() = %d, want 996 (250 steps of 4, one reset step each)", a.Steps())
	}
}

func TestVecPolicy(t *testing.T) {
	spec := CartPole{}.Spec()
	m := MLP{Sizes: []int{4, 8, 2}, Act: Tanh}
	params := make([]float64, m.NumParams())
	for i := range params {
		params[i] = float64(i%7) - 3
	}
	p, _ := NewPolicy(spec, m, params)
	a, _ := NewVecEnv(VecConfig{Env: CartPole{}, N: 5, Seed: 1, Mode: SameStep})
	b, _ := NewVecEnv(VecConfig{Env: CartPole{}, N: 5, Seed: 1, Mode: SameStep})
	act := make([]float64, 5)
	for s := 0; s < 100; s++ {
		for e := range act {
			p.Act(b.Obs()[e*4:e*4+4], act[e:e+1])
		}
		if err := a.StepPolicy(p); err != nil {
			t.Fatal(err)
		}
		b.Step(act)
		for i := range a.Obs() {
			if a.Obs()[i] != b.Obs()[i] {
				t.Fatalf("step %d: StepPolicy differs from Step(policy's actions)", s)
			}
		}
	}
	if n := testing.AllocsPerRun(50, func() { a.StepPolicy(p); a.StepRandom() }); n != 0 {
		t.Errorf("%v allocations per step", n)
	}
	// StepPolicy32 follows the CPU evaluator: slot k of one member is
	// environment k's first episode.
	pm := MLP{Sizes: []int{3, 8, 1}, Act: Tanh}
	pp := testParams(pm.NumParams(), 1, 1)
	p32, _ := NewPolicy32(Pendulum{}.Spec(), pm, pp)
	pv, _ := NewVecEnv(VecConfig{Env: Pendulum{}, N: 3, Seed: 6, EnvBase: 2, EpisodeBase: 11})
	res, err := NewCPUEvaluator(Pendulum{}, pm, 1).Evaluate(io.NewBlocking().Io(), EvalRequest{Seed: 6, Episode: 11, EnvBase: 2, Params: pp, Members: 1, Episodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	rets := make([]float64, 3)
	for s := 0; s < 200; s++ {
		if err := pv.StepPolicy32(p32); err != nil {
			t.Fatal(err)
		}
		for e := range rets {
			rets[e] += pv.Rewards()[e]
		}
	}
	for e := range rets {
		if rets[e] != res.Returns[e] || !pv.Truncated()[e] {
			t.Errorf("Pendulum env %d: StepPolicy32 return %v, evaluator %v", e, rets[e], res.Returns[e])
		}
	}
	if n := testing.AllocsPerRun(20, func() { pv.StepPolicy32(p32) }); n != 0 {
		t.Errorf("%v allocations per StepPolicy32", n)
	}
	if err := pv.StepPolicy32(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil policy: %v", err)
	}
	other, _ := NewPolicy(Acrobot{}.Spec(), MLP{Sizes: []int{6, 3}}, make([]float64, 21))
	if err := a.StepPolicy(other); !errors.Is(err, ErrInvalid) {
		t.Errorf("Acrobot policy on CartPole: %v", err)
	}
}

func TestVecErrors(t *testing.T) {
	for _, c := range []VecConfig{{Env: nil, N: 1}, {Env: CartPole{}, N: 0}, {Env: CartPole{}, N: 1, Mode: 7}} {
		if _, err := NewVecEnv(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	v, _ := NewVecEnv(VecConfig{Env: CartPole{}, N: 2})
	if err := v.Step([]float64{1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("short actions: %v", err)
	}
	for _, c := range [][2]int{{0, 5}, {3, 5}, {1, 0}, {2, 1 << 30}} {
		if _, err := v.Record(c[0], c[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("Record(%d, %d): %v", c[0], c[1], err)
		}
	}
	if v.State(2) != nil || v.State(-1) != nil {
		t.Error("State out of range is not nil")
	}
}
