package rl

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// gpuIos are the three Io implementations every determinism test loops
// over.
func gpuIos(t *testing.T) map[string]io.Io {
	t.Helper()
	th := io.NewThreaded(io.ThreadedOptions{})
	t.Cleanup(func() { th.Close() })
	ev, err := io.NewEvented(io.EventedOptions{})
	if err != nil {
		t.Fatalf("NewEvented: %v", err)
	}
	t.Cleanup(func() { ev.Close() })
	return map[string]io.Io{"blocking": io.NewBlocking().Io(), "threaded": th.Io(), "evented": ev.Io()}
}

// TestGPUPhiloxKAT: the shader's Philox4x32-10 gives Random123's known
// answers and agrees with the Go Philox on random counters and keys.
func TestGPUPhiloxKAT(t *testing.T) {
	x := io.NewBlocking().Io()
	d := gputest.Open(t, gpu.Options{})
	type kcase struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}
	var cases []kcase
	for _, k := range philoxKnownAnswers {
		cases = append(cases, kcase{k[0], [2]uint32{k[1][0], k[1][1]}, k[2]})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		c := [4]uint32{r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()}
		k := [2]uint32{r.Uint32(), r.Uint32()}
		cases = append(cases, kcase{c, k, Philox4x32(c, k)})
	}
	in := make([]uint32, 0, 8*len(cases))
	for _, c := range cases {
		in = append(in, c.ctr[0], c.ctr[1], c.ctr[2], c.ctr[3], c.key[0], c.key[1], 0, 0)
	}
	bin, err := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, in)
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	bout, err := d.NewBuffer(16*len(cases), gpu.DeviceLocal)
	if err != nil {
		t.Fatal(err)
	}
	defer bout.Close()
	k, err := d.NewKernel(shaders.RLPhiloxKAT(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	b := d.NewBatch()
	defer b.Close()
	if err := b.Dispatch(k, k.Groups(len(cases)), gpu.Push(uint32(len(cases))), bin, bout); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(x, b); err != nil {
		t.Fatal(err)
	}
	out := make([]uint32, 4*len(cases))
	if err := gpu.Download(x, bout, 0, out); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		got := [4]uint32(out[4*i : 4*i+4])
		if got != c.want {
			t.Fatalf("case %d: philox(%08x, %08x) = %08x, want %08x", i, c.ctr, c.key, got, c.want)
		}
	}
}

// setSlots writes states (4 floats per slot) into v's slots as started
// episodes at step t[i] of episode 0, with no other history.
func setSlots(t *testing.T, x io.Io, v *GPUVecEnv, states []float32, steps []uint32) {
	t.Helper()
	w := make([]uint32, v.n*slotWords)
	for i := 0; i < v.n; i++ {
		s := w[i*slotWords:]
		for j := 0; j < 4; j++ {
			s[j] = math.Float32bits(states[4*i+j])
		}
		s[wT] = steps[i]
		s[wFlags] = fStarted
	}
	if err := gpu.Upload(x, v.set.bufs[bSlots], 0, w); err != nil {
		t.Fatal(err)
	}
}

// stepCase draws a random state and action for one-step tests: over the
// states an episode reaches and a little beyond (to cross termination
// thresholds and clipping).
type stepCase struct {
	name       string
	state      func(r *rand.Rand) [4]float64
	action     func(r *rand.Rand) float64
	near       func(s []float64) bool // within 1e-6 of a termination threshold
	tolerance  float64                // per observation component
	rewardTolR float64                // relative reward tolerance
}

func uni(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

var stepCases = []stepCase{
	{
		name: "CartPole-v1",
		state: func(r *rand.Rand) [4]float64 {
			return [4]float64{uni(r, -2.5, 2.5), uni(r, -3, 3), uni(r, -0.25, 0.25), uni(r, -3.5, 3.5)}
		},
		action: func(r *rand.Rand) float64 { return float64(r.IntN(2)) },
		near: func(s []float64) bool {
			return math.Abs(math.Abs(s[0])-cpXLimit) < 1e-6 || math.Abs(math.Abs(s[2])-cpThetaLimit) < 1e-6
		},
		tolerance: 1e-6, rewardTolR: 0,
	},
	{
		name: "Acrobot-v1",
		state: func(r *rand.Rand) [4]float64 {
			return [4]float64{uni(r, -math.Pi, math.Pi), uni(r, -math.Pi, math.Pi), uni(r, -4*math.Pi, 4*math.Pi), uni(r, -9*math.Pi, 9*math.Pi)}
		},
		action: func(r *rand.Rand) float64 { return float64(r.IntN(3)) },
		near: func(s []float64) bool {
			return math.Abs(-math.Cos(s[0])-math.Cos(s[1]+s[0])-1) < 1e-6
		},
		// NOT 1e-6: one RK4 step of 0.2 s over the whole state box is
		// ill-conditioned for float32. The float64 reference itself moves by
		// up to 8.5e-4 in dtheta2 when its inputs are perturbed by float32's
		// relative rounding (6e-8), and by more than 1e-6 for about half of
		// the uniformly drawn states; the shader's float32 error measured
		// here is 2.7e-3 at most (the half-ulp of 28.27 alone is 9.5e-7).
		// The bound below is that measured figure rounded up, not a goal.
		tolerance: 5e-3, rewardTolR: 0,
	},
	{
		name: "Pendulum-v1",
		state: func(r *rand.Rand) [4]float64 {
			return [4]float64{uni(r, -2*math.Pi, 2*math.Pi), uni(r, -8, 8)}
		},
		action: func(r *rand.Rand) float64 { return uni(r, -2.5, 2.5) },
		near:   func(s []float64) bool { return false },
		// The reward (a cost up to 16.3) has float32's relative precision.
		tolerance: 1e-6, rewardTolR: 1e-6,
	},
	{
		name: "MountainCarContinuous-v0",
		state: func(r *rand.Rand) [4]float64 {
			return [4]float64{uni(r, -1.2, 0.6), uni(r, -0.07, 0.07)}
		},
		action: func(r *rand.Rand) float64 { return uni(r, -1.5, 1.5) },
		near: func(s []float64) bool {
			return math.Abs(s[0]-0.45) < 1e-6 || math.Abs(s[1]) < 1e-6
		},
		tolerance: 1e-6, rewardTolR: 1e-6,
	},
}

// TestGPUOneStep: one step from 100k random states per environment, the
// shader's float32 against the Go float64 reference from the same
// (float32) state and action: every observation component within the
// environment's tolerance, rewards alike, termination and truncation
// flags equal except within 1e-6 of a threshold.
func TestGPUOneStep(t *testing.T) {
	x := io.NewBlocking().Io()
	d := gputest.Open(t, gpu.Options{})
	const n = 100_000
	for _, c := range stepCases {
		t.Run(c.name, func(t *testing.T) {
			env, err := Lookup(c.name)
			if err != nil {
				t.Fatal(err)
			}
			spec := env.Spec()
			v, err := NewGPUVecEnv(x, d, c.name, n, &GPUVecOptions{Policy: ExternalPolicy})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			r := rand.New(rand.NewPCG(16, uint64(len(c.name))))
			states := make([]float32, 4*n)
			steps := make([]uint32, n)
			actions := make([]float32, n)
			for i := 0; i < n; i++ {
				s := c.state(r)
				for j := 0; j < spec.StateDim; j++ {
					states[4*i+j] = float32(s[j])
				}
				steps[i] = uint32(r.IntN(spec.MaxSteps))
				if i%7 == 0 {
					steps[i] = uint32(spec.MaxSteps - 1)
				}
				actions[i] = float32(c.action(r))
			}
			setSlots(t, x, v, states, steps)
			if err := v.Step(x, actions); err != nil {
				t.Fatal(err)
			}
			st, err := v.State(x)
			if err != nil {
				t.Fatal(err)
			}
			s := make([]float64, spec.StateDim)
			obs := make([]float64, spec.ObsDim)
			var maxErr, maxRewErr float64
			worst, above := -1, 0
			nearCount, terms := 0, 0
			for i := 0; i < n; i++ {
				for j := range s {
					s[j] = float64(states[4*i+j])
				}
				rew, term := env.Step(s, []float64{float64(actions[i])})
				env.Observe(s, obs)
				for j := range obs {
					e := math.Abs(float64(st.Obs[i*spec.ObsDim+j]) - obs[j])
					if e > maxErr || math.IsNaN(e) {
						maxErr, worst = e, i
					}
					if !(e <= 1e-6) {
						above++
					}
				}
				re := math.Abs(float64(st.Rewards[i]) - rew)
				if c.rewardTolR > 0 {
					re /= math.Max(1, math.Abs(rew))
				}
				maxRewErr = math.Max(maxRewErr, re)
				if term {
					terms++
				}
				if st.Terminated[i] != term {
					if !c.near(s) {
						t.Errorf("slot %d: terminated %v, reference %v, state %v -> %v (not within 1e-6 of a threshold)", i, st.Terminated[i], term, states[4*i:4*i+4], s)
					}
					nearCount++
				}
				if want := steps[i]+1 >= uint32(spec.MaxSteps); st.Truncated[i] != want {
					t.Errorf("slot %d: truncated %v at step %d", i, st.Truncated[i], steps[i]+1)
				}
			}
			if worst >= 0 && maxErr > c.tolerance {
				for j := range s {
					s[j] = float64(states[4*worst+j])
				}
				s0 := append([]float64(nil), s...)
				env.Step(s, []float64{float64(actions[worst])})
				env.Observe(s, obs)
				t.Logf("worst: state %v action %v -> ref state %v obs %v, gpu obs %v state %v", s0, actions[worst], s, obs, st.Obs[worst*spec.ObsDim:(worst+1)*spec.ObsDim], st.State[4*worst:4*worst+4])
			}
			t.Logf("%s: %d states, max |obs error| %.3g (slot %d), %d of %d components above 1e-6, max reward error %.3g, %d terminated, %d flag differences within 1e-6 of a threshold",
				c.name, n, maxErr, worst, above, n*spec.ObsDim, maxRewErr, terms, nearCount)
			if !(maxErr <= c.tolerance) {
				t.Errorf("max observation error %.3g > %.3g", maxErr, c.tolerance)
			}
			if !(maxRewErr <= math.Max(c.rewardTolR, 1e-6)) {
				t.Errorf("max reward error %.3g", maxRewErr)
			}
		})
	}
}

// TestGPUAutoreset: both autoreset modes step for step against the Go
// VecEnv (random actions, 600 steps of 64 CartPoles and Pendulums, one
// step per dispatch). Before each step the Go VecEnv is set to the GPU's
// float32 state, so the comparison is of one step and its autoreset
// semantics: observations within 1e-6, rewards, flags, terminal
// observations, episode numbers and step counts equal.
func TestGPUAutoreset(t *testing.T) {
	x := io.NewBlocking().Io()
	d := gputest.Open(t, gpu.Options{})
	for _, name := range []string{"CartPole-v1", "Pendulum-v1"} {
		for _, mode := range []AutoresetMode{NextStep, SameStep} {
			t.Run(fmt.Sprintf("%s/%v", name, mode), func(t *testing.T) {
				const n, steps = 64, 600
				const seed = 0x5eed_0016
				env, _ := Lookup(name)
				spec := env.Spec()
				ref, err := NewVecEnv(VecConfig{Env: env, N: n, Seed: seed, EnvBase: 3, EpisodeBase: 7, Mode: mode})
				if err != nil {
					t.Fatal(err)
				}
				v, err := NewGPUVecEnv(x, d, name, n, &GPUVecOptions{Seed: seed, EnvBase: 3, EpisodeBase: 7, Autoreset: mode,
					Record: 5, RecordSteps: steps})
				if err != nil {
					t.Fatal(err)
				}
				defer v.Close()
				rec, err := ref.Record(5, steps)
				if err != nil {
					t.Fatal(err)
				}
				od := spec.ObsDim
				resets := 0
				for step := 0; step <= steps; step++ {
					st, err := v.State(x)
					if err != nil {
						t.Fatal(err)
					}
					for e := 0; e < n; e++ {
						for j := 0; j < od; j++ {
							if g, w := float64(st.Obs[e*od+j]), ref.Obs()[e*od+j]; math.Abs(g-w) > 1e-6 {
								t.Fatalf("step %d env %d: obs[%d] %v, Go %v", step, e, j, g, w)
							}
						}
						if step == 0 {
							continue
						}
						if st.Terminated[e] != ref.Terminated()[e] || st.Truncated[e] != ref.Truncated()[e] {
							t.Fatalf("step %d env %d: flags %v/%v, Go %v/%v", step, e, st.Terminated[e], st.Truncated[e], ref.Terminated()[e], ref.Truncated()[e])
						}
						if g, w := float64(st.Rewards[e]), ref.Rewards()[e]; math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
							t.Fatalf("step %d env %d: reward %v, Go %v", step, e, g, w)
						}
						ep, el := ref.Episode(e)
						if st.Episode[e]+7 != ep || int(st.Step[e]) != el {
							t.Fatalf("step %d env %d: episode %d step %d, Go %d %d", step, e, st.Episode[e]+7, st.Step[e], ep, el)
						}
						if mode == SameStep && (st.Terminated[e] || st.Truncated[e]) {
							resets++
							for j := 0; j < od; j++ {
								if g, w := float64(st.Final[e*od+j]), ref.FinalObs()[e*od+j]; math.Abs(g-w) > 1e-6 {
									t.Fatalf("step %d env %d: final obs[%d] %v, Go %v", step, e, j, g, w)
								}
							}
						}
						if mode == NextStep && st.Step[e] == 0 && step > 0 && !st.Terminated[e] {
							resets++
						}
					}
					if step == steps {
						break
					}
					// Teacher forcing: the Go reference steps from the GPU's state.
					for e := 0; e < n; e++ {
						s := ref.State(e)
						for j := range s {
							s[j] = float64(st.State[4*e+j])
						}
					}
					ref.StepRandom()
					if err := v.Step(x, nil); err != nil {
						t.Fatal(err)
					}
				}
				if resets == 0 {
					t.Fatalf("no episode ended in %d steps", steps)
				}
				got, err := v.Trajectory(x)
				if err != nil {
					t.Fatal(err)
				}
				compareTrajectories(t, got, rec, 1e-6)
				t.Logf("%d resets compared", resets)
			})
		}
	}
}

// compareTrajectories checks two recordings of the same steps: flags,
// validity and actions equal, observations and rewards within tol.
func compareTrajectories(t *testing.T, got, want *Trajectory, tol float64) {
	t.Helper()
	if got.T != want.T || got.E != want.E || got.ObsDim != want.ObsDim || (got.FinalObs == nil) != (want.FinalObs == nil) {
		t.Fatalf("trajectory %dx%dx%d (final %v), want %dx%dx%d (final %v)", got.T, got.E, got.ObsDim, got.FinalObs != nil, want.T, want.E, want.ObsDim, want.FinalObs != nil)
	}
	near := func(what string, i int, a, b float32) {
		if math.Abs(float64(a)-float64(b)) > tol*math.Max(1, math.Abs(float64(b))) {
			t.Fatalf("trajectory %s[%d] = %v, want %v", what, i, a, b)
		}
	}
	for i := range want.Obs {
		near("obs", i, got.Obs[i], want.Obs[i])
	}
	for i := range want.FinalObs {
		near("final obs", i, got.FinalObs[i], want.FinalObs[i])
	}
	for i := range want.Rewards {
		near("reward", i, got.Rewards[i], want.Rewards[i])
		if got.Actions[i] != want.Actions[i] || got.Terminated[i] != want.Terminated[i] || got.Truncated[i] != want.Truncated[i] || got.Valid[i] != want.Valid[i] {
			t.Fatalf("trajectory step %d slot %d: action %v term %v trunc %v valid %v, want %v %v %v %v", i/got.E, i%got.E,
				got.Actions[i], got.Terminated[i], got.Truncated[i], got.Valid[i], want.Actions[i], want.Terminated[i], want.Truncated[i], want.Valid[i])
		}
	}
}

// hashGPUVec hashes everything a GPUVecEnv exposes: slot buffer bytes,
// episode summaries and the trajectory.
func hashGPUVec(t *testing.T, x io.Io, v *GPUVecEnv) [32]byte {
	t.Helper()
	h := sha256.New()
	w := make([]uint32, v.n*slotWords)
	if err := gpu.Download(x, v.set.bufs[bSlots], 0, w); err != nil {
		t.Fatal(err)
	}
	binary.Write(h, binary.LittleEndian, w)
	eps, err := v.Episodes(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) == 0 {
		t.Fatal("no episode finished")
	}
	fmt.Fprintf(h, "%v", eps)
	tr, err := v.Trajectory(x)
	if err != nil {
		t.Fatal(err)
	}
	hashTrajectory(h, tr)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func hashTrajectory(h interface{ Write([]byte) (int, error) }, tr *Trajectory) {
	if tr == nil {
		return
	}
	fmt.Fprintf(h, "%d %d %d %d", tr.T, tr.E, tr.ObsDim, tr.ActDim)
	for _, s := range [][]float32{tr.Obs, tr.Actions, tr.Rewards, tr.FinalObs} {
		binary.Write(h, binary.LittleEndian, s)
	}
	for _, s := range [][]bool{tr.Terminated, tr.Truncated, tr.Valid} {
		binary.Write(h, binary.LittleEndian, s)
	}
}

func gpuTestParams(m MLP, members int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	p := make([]float32, members*m.NumParams())
	for i := range p {
		p[i] = float32(r.NormFloat64())
	}
	return p
}

// TestGPUDeterminism: the same seed gives byte-identical slot state,
// episode summaries and trajectories (sha256) under Blocking, Threaded and
// Evented, with 1, 10 and 500 steps per dispatch and workgroup sizes 32,
// 64 and 256 (64 only for 1 step per dispatch); for the vector env (MLP policy, both autoreset modes) and
// for the Evaluator.
func TestGPUDeterminism(t *testing.T) {
	d := gputest.Open(t, gpu.Options{})
	ios := gpuIos(t)
	// 8 hidden units: the same register path as 4-32-2 (units past the
	// width are compiled out), at a tenth of its pipeline compile time —
	// this test makes 60 pipelines. 4-32-2 runs in TestGPUEpisodes and
	// the benchmarks.
	m := MLP{Sizes: []int{4, 8, 2}, Act: Tanh}
	params := gpuTestParams(m, 8, 1)
	for _, mode := range []AutoresetMode{NextStep, SameStep} {
		hashes := map[[32]byte][]string{}
		for ioName, x := range ios {
			for _, k := range []int{1, 10, 500} {
				for _, wg := range []int{32, 64, 256} {
					if k == 1 && wg != 64 {
						continue // 500 dispatches each: one workgroup size is enough
					}
					v, err := NewGPUVecEnv(x, d, "CartPole-v1", 8*96, &GPUVecOptions{Seed: 42, Autoreset: mode, Policy: MLPPolicy,
						MLP: m, Params: params, Members: 8, WorkgroupSize: wg, Summaries: 4, Record: 8, RecordSteps: 300})
					if err != nil {
						t.Fatal(err)
					}
					if err := v.Run(x, 500, k); err != nil {
						t.Fatal(err)
					}
					h := hashGPUVec(t, x, v)
					if err := v.Close(); err != nil {
						t.Fatal(err)
					}
					hashes[h] = append(hashes[h], fmt.Sprintf("%s/k=%d/wg=%d", ioName, k, wg))
				}
			}
		}
		if len(hashes) != 1 {
			t.Errorf("%v: %d different results: %v", mode, len(hashes), hashes)
		}
	}

	// The Evaluator.
	hashes := map[[32]byte][]string{}
	req := EvalRequest{Seed: 7, Episode: 3, EnvBase: 100, Params: params, Members: 8, Episodes: 16, Record: 5}
	for ioName, x := range ios {
		for _, k := range []int{1, 10, 0} {
			for _, wg := range []int{32, 256} {
				ev, err := NewGPUEvaluator(d, "CartPole-v1", m, &GPUEvalOptions{WorkgroupSize: wg, StepsPerDispatch: k})
				if err != nil {
					t.Fatal(err)
				}
				res, err := ev.Evaluate(x, req)
				if err != nil {
					t.Fatal(err)
				}
				if err := ev.Close(); err != nil {
					t.Fatal(err)
				}
				h := sha256.New()
				binary.Write(h, binary.LittleEndian, res.Returns)
				binary.Write(h, binary.LittleEndian, res.Lengths)
				binary.Write(h, binary.LittleEndian, res.Truncated)
				fmt.Fprint(h, res.Steps)
				hashTrajectory(h, res.Trajectory)
				var sum [32]byte
				h.Sum(sum[:0])
				hashes[sum] = append(hashes[sum], fmt.Sprintf("%s/k=%d/wg=%d", ioName, k, wg))
			}
		}
	}
	if len(hashes) != 1 {
		t.Errorf("evaluator: %d different results: %v", len(hashes), hashes)
	}
}

// goEpisode plays one episode of env from the reset block under act (the
// float64 reference) and returns its return, length and truncation.
func goEpisode(env Env, block [4]uint32, act func(obs []float64, t int) float64) (float64, int, bool) {
	spec := env.Spec()
	s := make([]float64, spec.StateDim)
	obs := make([]float64, spec.ObsDim)
	env.Reset(s, block)
	ret := 0.0
	for t := 0; ; t++ {
		env.Observe(s, obs)
		for i := range obs {
			obs[i] = float64(float32(obs[i]))
		}
		r, term := env.Step(s, []float64{act(obs, t)})
		ret += r
		if term || t+1 >= spec.MaxSteps {
			return ret, t + 1, !term || t+1 >= spec.MaxSteps
		}
	}
}

// checkSameDistribution fails unless two samples of episode lengths have
// the same distribution (two-sample Kolmogorov-Smirnov test at the 1 %
// level) and returns means within a 99 % interval.
func checkSameDistribution(t *testing.T, what string, lenA, lenB []int, retA, retB []float64) {
	t.Helper()
	ks := ksStatistic(lenA, lenB)
	na, nb := float64(len(lenA)), float64(len(lenB))
	crit := 1.628 * math.Sqrt((na+nb)/(na*nb)) // c(0.01)
	ma, va := meanVar(retA)
	mb, vb := meanVar(retB)
	half := 2.576 * math.Sqrt(va/na+vb/nb)
	t.Logf("%s: KS %.4f (1%% critical %.4f); mean return GPU %.4f, Go %.4f (99%% half-width %.4f)", what, ks, crit, ma, mb, half)
	if ks > crit {
		t.Errorf("%s: episode lengths differ in distribution: KS %.4f > %.4f", what, ks, crit)
	}
	if math.Abs(ma-mb) > half && math.Abs(ma-mb) > 1e-9*math.Max(1, math.Abs(mb)) {
		t.Errorf("%s: mean return %.6f, Go %.6f: outside the 99%% interval ±%.6f", what, ma, mb, half)
	}
}

func ksStatistic(a, b []int) float64 {
	a, b = append([]int(nil), a...), append([]int(nil), b...)
	sortInts(a)
	sortInts(b)
	i, j, d := 0, 0, 0.0
	for i < len(a) && j < len(b) {
		v := min(a[i], b[j])
		for i < len(a) && a[i] == v {
			i++
		}
		for j < len(b) && b[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for k := i; k > 0 && s[k] < s[k-1]; k-- {
			s[k], s[k-1] = s[k-1], s[k]
		}
	}
}

func meanVar(x []float64) (float64, float64) {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	v := 0.0
	for _, y := range x {
		v += (y - m) * (y - m)
	}
	return m, v / math.Max(1, float64(len(x)-1))
}

// TestGPUEpisodes: whole episodes under fixed policies (random actions in
// every environment; an MLP in CartPole and Pendulum), 2000 per case, on
// the GPU (EpisodeLimit 1, summaries) and with the float64 reference from
// the same start states and random streams: episode length distributions
// equal and mean returns within a 99 % interval.
func TestGPUEpisodes(t *testing.T) {
	x := io.NewBlocking().Io()
	d := gputest.Open(t, gpu.Options{})
	const n = 2000
	const seed = 1234
	type tc struct {
		env string
		mlp *MLP
	}
	cases := []tc{{"CartPole-v1", nil}, {"Acrobot-v1", nil}, {"Pendulum-v1", nil}, {"MountainCarContinuous-v0", nil},
		{"CartPole-v1", &MLP{Sizes: []int{4, 32, 2}, Act: Tanh}}, {"Pendulum-v1", &MLP{Sizes: []int{3, 16, 16, 1}, Act: ReLU}}}
	for _, c := range cases {
		name := c.env + "/random"
		if c.mlp != nil {
			name = fmt.Sprintf("%s/mlp%v", c.env, c.mlp.Sizes)
		}
		t.Run(name, func(t *testing.T) {
			env, _ := Lookup(c.env)
			spec := env.Spec()
			opts := &GPUVecOptions{Seed: seed, EpisodeLimit: 1, Summaries: 1}
			var pol *Policy
			if c.mlp != nil {
				p32 := gpuTestParams(*c.mlp, 1, 5)
				for i := range p32 {
					p32[i] *= 0.5
				}
				opts.Policy, opts.MLP, opts.Params = MLPPolicy, *c.mlp, p32
				p64 := make([]float64, len(p32))
				for i, v := range p32 {
					p64[i] = float64(v)
				}
				var err error
				if pol, err = NewPolicy(spec, *c.mlp, p64); err != nil {
					t.Fatal(err)
				}
			}
			v, err := NewGPUVecEnv(x, d, c.env, n, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if err := v.Run(x, spec.MaxSteps, 0); err != nil {
				t.Fatal(err)
			}
			eps, err := v.Episodes(x)
			if err != nil {
				t.Fatal(err)
			}
			if len(eps) != n {
				t.Fatalf("%d episodes, want %d", len(eps), n)
			}
			var lenG, lenC []int
			var retG, retC []float64
			act := make([]float64, 1)
			for e := 0; e < n; e++ {
				ret, l, _ := goEpisode(env, ResetBlock(seed, uint32(e), 0), func(obs []float64, t int) float64 {
					if pol != nil {
						pol.Act(obs, act)
					} else {
						RandomAction(spec, seed, uint32(e), 0, uint32(t), act)
					}
					return act[0]
				})
				lenC, retC = append(lenC, l), append(retC, ret)
				lenG, retG = append(lenG, int(eps[e].Length)), append(retG, eps[e].Return)
				if eps[e].Slot != e || eps[e].Episode != 0 {
					t.Fatalf("summary %d: %+v", e, eps[e])
				}
			}
			checkSameDistribution(t, name, lenG, lenC, retG, retC)
		})
	}
}

// TestGPUEvaluator: EvalRequest's slot mapping (members see the same
// start states), trajectories consistent with the summaries (Obs[0] the
// reset observation, rewards summing to the return bit for bit in
// float32, Valid exactly the episode's steps), results against the
// float64 reference in distribution, concurrent calls equal to sequential
// ones, and bad requests refused with ErrInvalid.
func TestGPUEvaluator(t *testing.T) {
	d := gputest.Open(t, gpu.Options{})
	m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
	ev, err := NewGPUEvaluator(d, "CartPole-v1", m, &GPUEvalOptions{Sets: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if ev.Spec().Name != "CartPole-v1" || ev.Policy().NumParams() != m.NumParams() {
		t.Fatalf("spec %v policy %v", ev.Spec(), ev.Policy())
	}
	x := io.NewBlocking().Io()
	const members, episodes = 6, 300
	params := gpuTestParams(m, members, 3)
	copy(params[m.NumParams():2*m.NumParams()], params[:m.NumParams()]) // members 0 and 1 alike
	req := EvalRequest{Seed: 99, Episode: 4, EnvBase: 10, Params: params, Members: members, Episodes: episodes, Record: 2 * episodes}
	res, err := ev.Evaluate(x, req)
	if err != nil {
		t.Fatal(err)
	}
	n := members * episodes
	if len(res.Returns) != n || len(res.Lengths) != n || len(res.Truncated) != n {
		t.Fatalf("result sizes %d %d %d", len(res.Returns), len(res.Lengths), len(res.Truncated))
	}
	if res.GPU <= 0 {
		t.Errorf("GPU time %v", res.GPU)
	}
	var steps int64
	for k := 0; k < episodes; k++ {
		if res.Returns[k] != res.Returns[episodes+k] || res.Lengths[k] != res.Lengths[episodes+k] {
			t.Fatalf("episode %d: identical members differ: %v/%d vs %v/%d", k, res.Returns[k], res.Lengths[k], res.Returns[episodes+k], res.Lengths[episodes+k])
		}
	}
	env, _ := Lookup("CartPole-v1")
	tr := res.Trajectory
	if tr == nil || tr.E != 2*episodes {
		t.Fatalf("trajectory %v", tr)
	}
	obs := make([]float64, 4)
	s := make([]float64, 4)
	for j := 0; j < n; j++ {
		steps += int64(res.Lengths[j])
		if j >= tr.E {
			continue
		}
		env.Reset(s, ResetBlock(req.Seed, uint32(j%episodes)+req.EnvBase, req.Episode))
		env.Observe(s, obs)
		for i := range obs {
			if math.Abs(float64(tr.Obs[j*4+i])-obs[i]) > 1e-6 {
				t.Fatalf("slot %d: reset obs %v, want %v", j, tr.Obs[j*4:j*4+4], obs)
			}
		}
		var sum float32
		valid := 0
		for st := 0; st < tr.T; st++ {
			if tr.Valid[st*tr.E+j] {
				valid++
				sum += tr.Rewards[st*tr.E+j]
			}
		}
		if valid != int(res.Lengths[j]) || float64(sum) != res.Returns[j] {
			t.Fatalf("slot %d: %d valid steps summing to %v; result %d steps, return %v", j, valid, sum, res.Lengths[j], res.Returns[j])
		}
		last := (int(res.Lengths[j])-1)*tr.E + j
		if tr.Truncated[last] != res.Truncated[j] || !(tr.Terminated[last] || tr.Truncated[last]) {
			t.Fatalf("slot %d: last step flags %v/%v, result truncated %v", j, tr.Terminated[last], tr.Truncated[last], res.Truncated[j])
		}
	}
	if steps != res.Steps {
		t.Errorf("Steps %d, lengths sum to %d", res.Steps, steps)
	}

	// Member 2 against the float64 reference from the same starts.
	np := m.NumParams()
	p64 := make([]float64, np)
	for i := range p64 {
		p64[i] = float64(params[2*np+i])
	}
	pol, err := NewPolicy(env.Spec(), m, p64)
	if err != nil {
		t.Fatal(err)
	}
	act := make([]float64, 1)
	var lenG, lenC []int
	var retG, retC []float64
	for k := 0; k < episodes; k++ {
		r, l, _ := goEpisode(env, ResetBlock(req.Seed, uint32(k)+req.EnvBase, req.Episode), func(o []float64, _ int) float64 {
			pol.Act(o, act)
			return act[0]
		})
		lenC, retC = append(lenC, l), append(retC, r)
		lenG, retG = append(lenG, int(res.Lengths[2*episodes+k])), append(retG, res.Returns[2*episodes+k])
	}
	checkSameDistribution(t, "member 2", lenG, lenC, retG, retC)

	// Concurrent calls under a Threaded Io: equal to sequential ones.
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	tx := th.Io()
	small := EvalRequest{Seed: 5, Params: params[:2*np], Members: 2, Episodes: 50}
	want := make([]*EvalResult, 6)
	for i := range want {
		r := small
		r.Episode = uint32(i)
		if want[i], err = ev.Evaluate(tx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]*EvalResult, len(want))
	errs := make([]error, len(want))
	var g io.Group
	for i := range want {
		g.Async(tx, func(x io.Io) error {
			r := small
			r.Episode = uint32(i)
			got[i], errs[i] = ev.Evaluate(x, r)
			return nil
		})
	}
	if err := g.Wait(tx); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if fmt.Sprint(got[i].Returns, got[i].Lengths) != fmt.Sprint(want[i].Returns, want[i].Lengths) {
			t.Fatalf("concurrent call %d differs from the sequential one", i)
		}
	}

	// Bad requests.
	for _, bad := range []EvalRequest{
		{Params: params, Members: 0, Episodes: 1},
		{Params: params, Members: members, Episodes: 0},
		{Params: params[:5], Members: members, Episodes: 1},
		{Params: params, Members: members, Episodes: 1, Record: members + 1},
		{Params: params, Members: members, Episodes: 1, Record: -1},
		{Params: params[:np], Members: 1, Episodes: maxGPUSlots + 1},
	} {
		if _, err := ev.Evaluate(x, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Evaluate(members %d, episodes %d, %d params, record %d): %v, want ErrInvalid", bad.Members, bad.Episodes, len(bad.Params), bad.Record, err)
		}
	}
}

// TestGPUEvaluatorCancel: an evaluation canceled while its dispatch runs
// returns io.ErrCanceled; its buffer set waits until the GPU is done, the
// next evaluations give the uncanceled results, and Close releases
// everything (the device's leak check at cleanup).
func TestGPUEvaluatorCancel(t *testing.T) {
	d := gputest.Open(t, gpu.Options{})
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	m := MLP{Sizes: []int{6, 64, 64, 3}, Act: Tanh}
	ev, err := NewGPUEvaluator(d, "Acrobot-v1", m, &GPUEvalOptions{Sets: 1})
	if err != nil {
		t.Fatal(err)
	}
	big := EvalRequest{Seed: 1, Params: gpuTestParams(m, 4, 2), Members: 4, Episodes: 1024} // ~0.2 s on lavapipe
	f := io.Async(x, func(x io.Io) (*EvalResult, error) { return ev.Evaluate(x, big) })
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if _, err := f.Cancel(x); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("canceled Evaluate: %v, want ErrCanceled (the evaluation is meant to outlast 20 ms)", err)
	}
	canceled := time.Since(start)
	small := EvalRequest{Seed: 2, Params: big.Params[:m.NumParams()], Members: 1, Episodes: 8}
	a, err := ev.Evaluate(x, small)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ev.Evaluate(x, small)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Returns, a.Lengths) != fmt.Sprint(b.Returns, b.Lengths) {
		t.Fatalf("results after a cancel differ: %v %v", a.Returns, b.Returns)
	}
	t.Logf("cancel returned in %v; the next evaluation, after the canceled GPU work, %v later", canceled, time.Since(start))
	if err := ev.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ev.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := ev.Evaluate(x, small); !errors.Is(err, gpu.ErrClosed) {
		t.Fatalf("Evaluate after Close: %v, want ErrClosed", err)
	}
}

// TestGPUEvaluatorVsCPU: the GPU Evaluator and the CPU one (float64
// environments, float32 MLP) on the same request, for every environment:
// the same trajectory shape, episode length distributions equal and mean
// returns within a 99 % interval.
func TestGPUEvaluatorVsCPU(t *testing.T) {
	x := io.NewBlocking().Io()
	d := gputest.Open(t, gpu.Options{})
	for _, name := range Envs() {
		t.Run(name, func(t *testing.T) {
			env, _ := Lookup(name)
			spec := env.Spec()
			out := spec.Actions
			if out == 0 {
				out = spec.ActDim
			}
			m := MLP{Sizes: []int{spec.ObsDim, 16, out}, Act: Tanh}
			g, err := NewGPUEvaluator(d, name, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			c := NewCPUEvaluator(env, m, 0)
			defer c.Close()
			req := EvalRequest{Seed: 11, Episode: 2, Params: gpuTestParams(m, 4, 8), Members: 4, Episodes: 100, Record: 3}
			rg, err := g.Evaluate(x, req)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := c.Evaluate(x, req)
			if err != nil {
				t.Fatal(err)
			}
			if rg.Trajectory.T != rc.Trajectory.T || rg.Trajectory.E != rc.Trajectory.E {
				t.Fatalf("trajectory %dx%d, CPU %dx%d", rg.Trajectory.T, rg.Trajectory.E, rc.Trajectory.T, rc.Trajectory.E)
			}
			var lg, lc []int
			for i := range rg.Lengths {
				lg, lc = append(lg, int(rg.Lengths[i])), append(lc, int(rc.Lengths[i]))
			}
			checkSameDistribution(t, name, lg, lc, rg.Returns, rc.Returns)
		})
	}
}

// TestGPUParamChunks: populations whose parameters exceed one 64 KiB
// parameter block are played by several dispatches (gpuChunks); every
// member's episodes equal those of the same member evaluated in a request
// of its own (one chunk), for the Evaluator and for the vector env, and
// across chunk boundaries.
func TestGPUParamChunks(t *testing.T) {
	if cs := gpuChunks(150*3, 150, 3, 226); len(cs) != 3 || cs[1] != (gpuChunk{72 * 3, 144 * 3, 72, 144}) || cs[2].slotEnd != 450 {
		t.Fatalf("gpuChunks: %v", cs)
	}
	if cs := gpuChunks(10, 1, 10, 226); len(cs) != 1 || cs[0] != (gpuChunk{0, 10, 0, 1}) {
		t.Fatalf("gpuChunks one member: %v", cs)
	}
	d := gputest.Open(t, gpu.Options{})
	x := io.NewBlocking().Io()
	m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
	np := m.NumParams()
	const members, episodes = 150, 3 // 33,900 parameters: 3 chunks of up to 72 members
	params := gpuTestParams(m, members, 5)
	for i := range params {
		params[i] *= 0.2 // episodes of varied lengths
	}
	ev, err := NewGPUEvaluator(d, "CartPole-v1", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	req := EvalRequest{Seed: 3, Episode: 1, EnvBase: 7, Params: params, Members: members, Episodes: episodes}
	all, err := ev.Evaluate(x, req)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[int32]bool{}
	for _, mb := range []int{0, 1, 70, 71, 72, 73, 143, 144, 149} {
		one := req
		one.Params, one.Members = params[mb*np:(mb+1)*np], 1
		r, err := ev.Evaluate(x, one)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < episodes; k++ {
			i := mb*episodes + k
			distinct[r.Lengths[k]] = true
			if r.Returns[k] != all.Returns[i] || r.Lengths[k] != all.Lengths[i] || r.Truncated[k] != all.Truncated[i] {
				t.Fatalf("member %d episode %d: alone %v/%d, in the population %v/%d", mb, k, r.Returns[k], r.Lengths[k], all.Returns[i], all.Lengths[i])
			}
		}
	}
	if len(distinct) < 3 {
		t.Errorf("episode lengths %v: too few distinct lengths to tell members apart", distinct)
	}

	// The vector env: slot state after 200 steps, member by member.
	run := func(p []float32, mbs int) *GPUVecState {
		v, err := NewGPUVecEnv(x, d, "CartPole-v1", mbs*episodes, &GPUVecOptions{Seed: 9, Policy: MLPPolicy, MLP: m, Params: p, Members: mbs, EnvMod: episodes})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if err := v.Run(x, 200, 0); err != nil {
			t.Fatal(err)
		}
		st, err := v.State(x)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	big := run(params, members)
	for _, mb := range []int{0, 71, 72, 149} {
		st := run(params[mb*np:(mb+1)*np], 1)
		for k := 0; k < episodes; k++ {
			i := mb*episodes + k
			if !slices.Equal(st.State[4*k:4*k+4], big.State[4*i:4*i+4]) || st.Episode[k] != big.Episode[i] || st.Return[k] != big.Return[i] {
				t.Fatalf("vec env member %d slot %d: alone state %v episode %d, in the population %v episode %d", mb, k, st.State[4*k:4*k+4], st.Episode[k], big.State[4*i:4*i+4], big.Episode[i])
			}
		}
	}
}

// TestGPUBatchCacheBounded: a vector env run with many different step
// counts keeps at most maxBatches recorded batches.
func TestGPUBatchCacheBounded(t *testing.T) {
	d := gputest.Open(t, gpu.Options{})
	x := io.NewBlocking().Io()
	v, err := NewGPUVecEnv(x, d, "CartPole-v1", 64, &GPUVecOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for k := 1; k <= 40; k++ { // more step counts than maxBatches
		if err := v.Run(x, k, k); err != nil {
			t.Fatal(err)
		}
		if n := len(v.set.batches); n > maxBatches {
			t.Fatalf("after %d step counts: %d recorded batches, want at most %d", k, n, maxBatches)
		}
	}
}
