package rl

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// ios returns the Io implementations to loop over (Evented where the
// kernel allows it).
func ios(t *testing.T) map[string]io.Io {
	t.Helper()
	out := map[string]io.Io{"blocking": io.NewBlocking().Io()}
	th := io.NewThreaded(io.ThreadedOptions{})
	t.Cleanup(func() { th.Close() })
	out["threaded"] = th.Io()
	if ev, err := io.NewEvented(io.EventedOptions{}); err == nil {
		t.Cleanup(func() { ev.Close() })
		out["evented"] = ev.Io()
	} else {
		t.Logf("evented: %v", err)
	}
	return out
}

func testParams(n, members int, scale float64) []float32 {
	p := make([]float32, n*members)
	for i := range p {
		p[i] = float32(scale * math.Sin(float64(i)*1.7+0.3))
	}
	return p
}

// playRef plays one slot the slow way, through Policy32 and the Env.
func playRef(t *testing.T, env Env, m MLP, params []float32, block [4]uint32) (float64, int, bool, []float32) {
	spec := env.Spec()
	p, err := NewPolicy32(spec, m, params)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]float64, spec.StateDim)
	obs := make([]float64, spec.ObsDim)
	obs32 := make([]float32, spec.ObsDim)
	act32 := make([]float32, spec.ActDim)
	act := make([]float64, spec.ActDim)
	env.Reset(s, block)
	ret := 0.0
	var first []float32
	for n := 1; ; n++ {
		env.Observe(s, obs)
		for i, v := range obs {
			obs32[i] = float32(v)
		}
		if first == nil {
			first = append(first, obs32...)
		}
		p.Act(obs32, act32)
		for i, v := range act32 {
			act[i] = float64(v)
		}
		r, term := env.Step(s, act)
		ret += r
		if term || n == spec.MaxSteps {
			return ret, n, n == spec.MaxSteps, first
		}
	}
}

func TestCPUEvaluator(t *testing.T) {
	for _, name := range Envs() {
		env := mustLookup(t, name)
		spec := env.Spec()
		out := spec.Actions
		if out == 0 {
			out = spec.ActDim
		}
		m := MLP{Sizes: []int{spec.ObsDim, 8, out}, Act: Tanh}
		const members, episodes = 3, 4
		req := EvalRequest{Seed: 12345, Episode: 9, EnvBase: 100, Params: testParams(m.NumParams(), members, 1.5), Members: members, Episodes: episodes, Record: 5}
		var base *EvalResult
		for _, threads := range []int{1, 2, 5} {
			ev := NewCPUEvaluator(env, m, threads)
			for ioName, x := range ios(t) {
				res, err := ev.Evaluate(x, req)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if base == nil {
					base = res
					continue
				}
				if !reflect.DeepEqual(res, base) {
					t.Errorf("%s: results with %d threads on %s differ", name, threads, ioName)
				}
			}
			if ev.Spec() != spec || !reflect.DeepEqual(ev.Policy(), m) {
				t.Errorf("%s: Spec/Policy", name)
			}
			ev.Close()
			ev.Close()
			if _, err := ev.Evaluate(io.NewBlocking().Io(), req); !errors.Is(err, ErrInvalid) {
				t.Errorf("evaluate after close: %v", err)
			}
		}
		res := base
		np := m.NumParams()
		var steps int64
		for j := 0; j < members*episodes; j++ {
			member, k := j/episodes, j%episodes
			ret, n, trunc, first := playRef(t, env, m, req.Params[member*np:(member+1)*np], ResetBlock(req.Seed, uint32(k)+req.EnvBase, req.Episode))
			if res.Returns[j] != ret || int(res.Lengths[j]) != n || res.Truncated[j] != trunc {
				t.Errorf("%s slot %d: return %v length %d truncated %v, want %v %d %v", name, j, res.Returns[j], res.Lengths[j], res.Truncated[j], ret, n, trunc)
			}
			steps += int64(n)
			if j < req.Record {
				tr := res.Trajectory
				od := spec.ObsDim
				if !reflect.DeepEqual(tr.Obs[j*od:(j+1)*od], first) {
					t.Errorf("%s slot %d: recorded reset obs %v, want %v", name, j, tr.Obs[j*od:(j+1)*od], first)
				}
				var sum float64
				for s := 0; s < tr.T; s++ {
					i := s*tr.E + j
					if tr.Valid[i] != (s < n) {
						t.Fatalf("%s slot %d step %d: valid %v, length %d", name, j, s, tr.Valid[i], n)
					}
					if !tr.Valid[i] && (tr.Rewards[i] != 0 || tr.Terminated[i] || tr.Truncated[i]) {
						t.Fatalf("%s slot %d step %d: values after the episode", name, j, s)
					}
					if s == n-1 && (tr.Terminated[i] != (!trunc || tr.Terminated[i]) || tr.Truncated[i] != trunc) {
						t.Errorf("%s slot %d: last step flags %v %v", name, j, tr.Terminated[i], tr.Truncated[i])
					}
					if s < n-1 && (tr.Terminated[i] || tr.Truncated[i]) {
						t.Errorf("%s slot %d step %d: ended early in the recording", name, j, s)
					}
					sum += float64(tr.Rewards[i])
				}
				if math.Abs(sum-ret) > 1e-4*math.Max(1, math.Abs(ret)) {
					t.Errorf("%s slot %d: recorded rewards sum to %v, return %v", name, j, sum, ret)
				}
			}
		}
		if res.Steps != steps || res.GPU != 0 {
			t.Errorf("%s: Steps %d GPU %v, want %d, 0", name, res.Steps, res.GPU, steps)
		}
		if tr := res.Trajectory; tr.T != spec.MaxSteps || tr.E != 5 || tr.ObsDim != spec.ObsDim || tr.ActDim != spec.ActDim || tr.FinalObs != nil {
			t.Errorf("%s: trajectory shape %d %d %d %d", name, tr.T, tr.E, tr.ObsDim, tr.ActDim)
		}
	}
}

// TestCPUEvaluatorCRN checks common random numbers: members with equal
// parameters see equal episodes, and the starts follow Episode.
func TestCPUEvaluatorCRN(t *testing.T) {
	m := MLP{Sizes: []int{4, 2}}
	one := testParams(m.NumParams(), 1, 1)
	params := append(append([]float32(nil), one...), one...)
	ev := NewCPUEvaluator(CartPole{}, m, 0)
	x := io.NewBlocking().Io()
	a, err := ev.Evaluate(x, EvalRequest{Seed: 1, Episode: 0, Params: params, Members: 2, Episodes: 8})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 8; k++ {
		if a.Returns[k] != a.Returns[8+k] || a.Lengths[k] != a.Lengths[8+k] {
			t.Errorf("episode %d differs between equal members", k)
		}
	}
	b, _ := ev.Evaluate(x, EvalRequest{Seed: 1, Episode: 1, Params: params, Members: 2, Episodes: 8, Record: 1})
	c, _ := ev.Evaluate(x, EvalRequest{Seed: 1, Episode: 0, Params: params, Members: 2, Episodes: 8, Record: 1})
	if reflect.DeepEqual(b.Trajectory.Obs[:4], c.Trajectory.Obs[:4]) {
		t.Error("episode 1 starts where episode 0 does")
	}
	// Pendulum always runs to its time limit; MountainCar with a zero
	// policy never reaches the goal.
	pm := MLP{Sizes: []int{3, 1}}
	r, err := NewCPUEvaluator(Pendulum{}, pm, 2).Evaluate(x, EvalRequest{Params: make([]float32, 4), Members: 1, Episodes: 3})
	if err != nil || r.Lengths[2] != 200 || !r.Truncated[2] || r.Steps != 600 {
		t.Errorf("Pendulum: %+v %v", r, err)
	}
	mm := MLP{Sizes: []int{2, 1}}
	r, err = NewCPUEvaluator(MountainCarContinuous{}, mm, 2).Evaluate(x, EvalRequest{Params: make([]float32, 3), Members: 1, Episodes: 2})
	if err != nil || r.Lengths[0] != 999 || !r.Truncated[0] || r.Returns[0] != 0 {
		t.Errorf("MountainCar: %+v %v", r, err)
	}
}

func TestCPUEvaluatorErrors(t *testing.T) {
	x := io.NewBlocking().Io()
	m := MLP{Sizes: []int{4, 2}}
	ev := NewCPUEvaluator(CartPole{}, m, 1)
	for _, req := range []EvalRequest{
		{Params: make([]float32, 10), Members: 1, Episodes: 1},
		{Params: make([]float32, 0), Members: 0, Episodes: 1},
		{Params: make([]float32, 10), Members: 1, Episodes: 0},
		{Params: make([]float32, 10), Members: 1, Episodes: 1 << 30},
		{Params: make([]float32, 10), Members: 1, Episodes: 2, Record: 3},
		{Params: make([]float32, 10), Members: 1, Episodes: 2, Record: -1},
	} {
		if req.Members == 1 && req.Episodes >= 1 && len(req.Params) == 10 && req.Record >= 0 && req.Record <= 2 && req.Episodes < 1<<20 {
			continue
		}
		if _, err := ev.Evaluate(x, req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", req, err)
		}
	}
	if _, err := ev.Evaluate(x, EvalRequest{Params: make([]float32, 9), Members: 1, Episodes: 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("short params: %v", err)
	}
	bad := NewCPUEvaluator(Acrobot{}, m, 1)
	if _, err := bad.Evaluate(x, EvalRequest{Params: make([]float32, 10), Members: 1, Episodes: 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CartPole policy on Acrobot: %v", err)
	}
	if _, err := NewCPUEvaluator(nil, m, 1).Evaluate(x, EvalRequest{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil env: %v", err)
	}
	// Cancellation.
	cx, cancel := x.WithCancel()
	cancel()
	if _, err := ev.Evaluate(cx, EvalRequest{Params: make([]float32, 10), Members: 1, Episodes: 1}); !errors.Is(err, io.ErrCanceled) {
		t.Errorf("canceled: %v", err)
	}
}

// wrapped hides CartPole's type, so the rollout takes the generic path.
type wrapped struct{ Env }

// TestCPURollout checks the rollout against VecEnv (random actions), its
// CartPole loops against the generic one, and its results across threads.
func TestCPURollout(t *testing.T) {
	x := io.NewBlocking().Io()
	for _, name := range Envs() {
		env := mustLookup(t, name)
		for _, mode := range []AutoresetMode{NextStep, SameStep} {
			const envs, steps = 70, 1100 // two chunks, two blocks
			cfg := RolloutConfig{Env: env, Envs: envs, Steps: steps, Seed: 5, EnvBase: 3, Mode: mode, Threads: 1}
			r1, err := CPURollout(x, cfg)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := NewVecEnv(VecConfig{Env: env, N: envs, Seed: 5, EnvBase: 3, Mode: mode})
			var ended int64
			perEnv := make([]float64, envs)
			for s := 0; s < steps; s++ {
				v.StepRandom()
				for e := 0; e < envs; e++ {
					perEnv[e] += v.Rewards()[e]
					if v.Terminated()[e] || v.Truncated()[e] {
						ended++
					}
				}
			}
			// The rollout sums per environment, per chunk, then chunks.
			var want float64
			for c := 0; c < envs; c += rolloutChunk {
				sum := 0.0
				for e := c; e < min(envs, c+rolloutChunk); e++ {
					sum += perEnv[e]
				}
				want += sum
			}
			if r1.Return != want || r1.Episodes != ended || r1.Steps != envs*steps {
				t.Errorf("%s %v: rollout return %v episodes %d steps %d, VecEnv %v %d", name, mode, r1.Return, r1.Episodes, r1.Steps, want, ended)
			}
			cfg.Threads = 3
			r3, _ := CPURollout(x, cfg)
			if r3.Return != r1.Return || r3.Episodes != r1.Episodes || r3.Threads != 2 {
				t.Errorf("%s %v: 3 threads (%d used) give %v %d", name, mode, r3.Threads, r3.Return, r3.Episodes)
			}
		}
	}
	// CartPole's specialised loops equal the generic one, random and MLP.
	m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
	for _, mode := range []AutoresetMode{NextStep, SameStep} {
		for _, params := range [][]float32{nil, testParams(m.NumParams(), 3, 0.5)} {
			cfg := RolloutConfig{Env: CartPole{}, Envs: 100, Steps: 1500, Seed: 8, Mode: mode, Params: params, Threads: 2}
			if params != nil {
				cfg.MLP = m
			}
			fast, err := CPURollout(x, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Env = wrapped{CartPole{}}
			slow, err := CPURollout(x, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if fast.Return != slow.Return || fast.Episodes != slow.Episodes || fast.Episodes == 0 {
				t.Errorf("%v mlp=%v: specialised %v/%d, generic %v/%d", mode, params != nil, fast.Return, fast.Episodes, slow.Return, slow.Episodes)
			}
		}
	}
}

// TestCPURolloutMLP checks an MLP rollout against episodes played by the
// CPU evaluator: with one policy and SameStep, environment e's first
// episode is the evaluator's slot from RNG environment e, episode 0.
func TestCPURolloutMLP(t *testing.T) {
	x := io.NewBlocking().Io()
	env := Acrobot{}
	m := MLP{Sizes: []int{6, 16, 3}, Act: ReLU}
	params := testParams(m.NumParams(), 1, 0.8)
	res, err := NewCPUEvaluator(env, m, 1).Evaluate(x, EvalRequest{Seed: 4, Params: params, Members: 1, Episodes: 6})
	if err != nil {
		t.Fatal(err)
	}
	for e := 0; e < 6; e++ {
		n := int(res.Lengths[e])
		r, err := CPURollout(x, RolloutConfig{Env: env, Envs: 1, Steps: n, Seed: 4, EnvBase: uint32(e), Mode: SameStep, MLP: m, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		if r.Return != res.Returns[e] || r.Episodes != 1 {
			t.Errorf("env %d: rollout of %d steps returned %v in %d episodes, evaluator %v", e, n, r.Return, r.Episodes, res.Returns[e])
		}
	}
}

func TestCPURolloutErrors(t *testing.T) {
	x := io.NewBlocking().Io()
	m := MLP{Sizes: []int{4, 2}}
	for _, cfg := range []RolloutConfig{
		{Env: nil, Envs: 1, Steps: 1},
		{Env: CartPole{}, Envs: 0, Steps: 1},
		{Env: CartPole{}, Envs: 1, Steps: 0},
		{Env: CartPole{}, Envs: 1 << 25, Steps: 1},
		{Env: CartPole{}, Envs: 1 << 24, Steps: 1 << 30},
		{Env: CartPole{}, Envs: 1, Steps: 1, Mode: 3},
		{Env: CartPole{}, Envs: 1, Steps: 1, MLP: m, Params: make([]float32, 11)},
		{Env: CartPole{}, Envs: 1, Steps: 1, MLP: m},
		{Env: CartPole{}, Envs: 1, Steps: 1, Params: make([]float32, 10)},
		{Env: Pendulum{}, Envs: 1, Steps: 1, MLP: m, Params: make([]float32, 10)},
	} {
		if _, err := CPURollout(x, cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	// Cancellation before and during a rollout too long to finish.
	cx, cancel := x.WithCancel()
	cancel()
	if _, err := CPURollout(cx, RolloutConfig{Env: CartPole{}, Envs: 1, Steps: 1}); !errors.Is(err, io.ErrCanceled) {
		t.Errorf("canceled: %v", err)
	}
	cx, cancel = x.WithCancel()
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := CPURollout(cx, RolloutConfig{Env: CartPole{}, Envs: 1 << 20, Steps: 1 << 20, Threads: 2}); !errors.Is(err, io.ErrCanceled) {
		t.Errorf("canceled during: %v", err)
	}
}
