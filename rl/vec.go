package rl

// VecConfig configures a VecEnv.
type VecConfig struct {
	// Env is the environment every slot runs.
	Env Env
	// N is the number of environments (at least 1).
	N int
	// Seed keys the RNG.
	Seed uint64
	// EnvBase offsets the RNG's environment word: environment e draws
	// from environment e+EnvBase.
	EnvBase uint32
	// EpisodeBase offsets the RNG's episode word: environment e's k-th
	// episode (k from 0) resets from ResetBlock(Seed, e+EnvBase,
	// k+EpisodeBase).
	EpisodeBase uint32
	// Mode is the autoreset mode (NextStep is Gymnasium's default).
	Mode AutoresetMode
}

// VecEnv is a Go vector of N environments of one kind, stepping together
// with Gymnasium 1.x's autoreset semantics (gymnasium/vector/
// sync_vector_env.py's SyncVectorEnv.step at commit
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, with each environment wrapped
// in TimeLimit):
//
//   - a step of an environment that is not autoresetting applies its
//     action; the episode's step count grows by one, and the step is
//     truncated when the count reaches MaxSteps (also when it terminated:
//     both flags are then true, as TimeLimit sets them);
//   - NextStep: the step after one that ended an episode ignores that
//     environment's action, resets it and returns the reset observation,
//     reward 0 and both flags false;
//   - SameStep: a step that ends an episode resets the environment at
//     once; it returns the reset observation, the terminal step's reward
//     and flags, and the terminal observation in FinalObs.
//
// Observations are returned rounded to float32, as Gymnasium's are
// (np.float32 observation spaces); the state stays float64. Actions come
// from the caller (Step), from the RNG (StepRandom, see RandomAction), or
// from an MLP (StepPolicy, which sees the returned observations). A
// VecEnv is not safe for concurrent use; it does not allocate while
// stepping.
type VecEnv struct {
	cfg  VecConfig
	spec EnvSpec

	state     []float64 // N*StateDim
	obs       []float64 // N*ObsDim, rounded to float32
	finalObs  []float64 // N*ObsDim (SameStep), rounded to float32
	rewards   []float64
	term      []bool
	trunc     []bool
	autoreset []bool   // NextStep: reset at the next step
	episode   []uint32 // episodes begun, per environment (k+1 after the k-th reset)
	elapsed   []uint32 // steps of the current episode
	act       []float64
	steps     int64
	obs32     []float32 // StepPolicy32's scratch
	act32     []float32

	rec *Trajectory // being recorded
	t   int         // steps recorded so far
}

// NewVecEnv returns the vector with every environment reset to its
// episode 0.
func NewVecEnv(cfg VecConfig) (*VecEnv, error) {
	spec, err := checkEnv("vec", cfg.Env)
	if err != nil {
		return nil, err
	}
	if cfg.N < 1 || cfg.N > 1<<24 {
		return nil, errorf("vec", "%d environments, want 1 to %d", cfg.N, 1<<24)
	}
	if cfg.Mode != NextStep && cfg.Mode != SameStep {
		return nil, errorf("vec", "unknown autoreset mode %d", int(cfg.Mode))
	}
	n := cfg.N
	v := &VecEnv{
		cfg: cfg, spec: spec,
		state:     make([]float64, n*spec.StateDim),
		obs:       make([]float64, n*spec.ObsDim),
		rewards:   make([]float64, n),
		term:      make([]bool, n),
		trunc:     make([]bool, n),
		autoreset: make([]bool, n),
		episode:   make([]uint32, n),
		elapsed:   make([]uint32, n),
		act:       make([]float64, n*spec.ActDim),
		obs32:     make([]float32, spec.ObsDim),
		act32:     make([]float32, spec.ActDim),
	}
	if cfg.Mode == SameStep {
		v.finalObs = make([]float64, n*spec.ObsDim)
	}
	v.Reset()
	return v, nil
}

// Spec returns the environment's facts.
func (v *VecEnv) Spec() EnvSpec { return v.spec }

// N returns the number of environments.
func (v *VecEnv) N() int { return v.cfg.N }

// Reset abandons every environment's episode and begins its next one
// (episode numbers are never reused), as Gymnasium's reset without a
// seed: rewards 0, flags false, no autoreset pending. It ends a
// recording.
func (v *VecEnv) Reset() {
	for e := 0; e < v.cfg.N; e++ {
		v.resetEnv(e)
		v.rewards[e] = 0
		v.term[e], v.trunc[e], v.autoreset[e] = false, false, false
	}
	v.rec = nil
}

// resetEnv begins environment e's next episode and writes its
// observation.
func (v *VecEnv) resetEnv(e int) {
	sd := v.spec.StateDim
	s := v.state[e*sd : e*sd+sd]
	v.cfg.Env.Reset(s, ResetBlock(v.cfg.Seed, uint32(e)+v.cfg.EnvBase, v.episode[e]+v.cfg.EpisodeBase))
	v.episode[e]++
	v.elapsed[e] = 0
	v.observe(e, v.obs)
}

// observe writes environment e's observation, rounded to float32, into
// dst's e-th row.
func (v *VecEnv) observe(e int, dst []float64) {
	od := v.spec.ObsDim
	o := dst[e*od : e*od+od]
	v.cfg.Env.Observe(v.state[e*v.spec.StateDim:(e+1)*v.spec.StateDim], o)
	for i, x := range o {
		o[i] = float64(float32(x))
	}
}

// Obs returns the observations the last Step or Reset returned (N*ObsDim
// values, environment-major). The slice is the VecEnv's: read it before
// the next step, do not modify it.
func (v *VecEnv) Obs() []float64 { return v.obs }

// Rewards returns the last step's rewards (N values; the VecEnv's slice).
func (v *VecEnv) Rewards() []float64 { return v.rewards }

// Terminated returns the last step's terminated flags (N values).
func (v *VecEnv) Terminated() []bool { return v.term }

// Truncated returns the last step's truncated flags (N values).
func (v *VecEnv) Truncated() []bool { return v.trunc }

// FinalObs returns, in SameStep mode, the terminal observations of the
// last step (N*ObsDim values, meaningful where Terminated or Truncated is
// true), Gymnasium's info["final_obs"]; nil in NextStep mode, where the
// terminal observation is the one Obs returned.
func (v *VecEnv) FinalObs() []float64 { return v.finalObs }

// State returns environment e's float64 state (StateDim values; the
// VecEnv's slice, which a test may overwrite to step from a chosen state),
// or nil when e is out of range.
func (v *VecEnv) State(e int) []float64 {
	if e < 0 || e >= v.cfg.N {
		return nil
	}
	return v.state[e*v.spec.StateDim : (e+1)*v.spec.StateDim]
}

// Episode returns the RNG episode word of environment e's current
// episode (k+EpisodeBase for its k-th) and the steps it has played.
func (v *VecEnv) Episode(e int) (episode uint32, elapsed int) {
	if e < 0 || e >= v.cfg.N {
		return 0, 0
	}
	return v.episode[e] - 1 + v.cfg.EpisodeBase, int(v.elapsed[e])
}

// Steps returns the number of environment steps taken so far (NextStep's
// reset steps not counted).
func (v *VecEnv) Steps() int64 { return v.steps }

// Step steps every environment with actions (N*ActDim values,
// environment-major; for a discrete space the action index as a float).
func (v *VecEnv) Step(actions []float64) error {
	if len(actions) != len(v.act) {
		return errorf("vec step", "%d action values, want %d (%d environments of %d)", len(actions), len(v.act), v.cfg.N, v.spec.ActDim)
	}
	v.step(actions)
	return nil
}

// StepRandom steps every environment with its random action (see
// RandomAction) for the step it is at.
func (v *VecEnv) StepRandom() {
	ad := v.spec.ActDim
	for e := 0; e < v.cfg.N; e++ {
		if v.autoreset[e] && v.cfg.Mode == NextStep {
			continue
		}
		RandomAction(v.spec, v.cfg.Seed, uint32(e)+v.cfg.EnvBase, v.episode[e]-1+v.cfg.EpisodeBase, v.elapsed[e], v.act[e*ad:e*ad+ad])
	}
	v.step(v.act)
}

// StepPolicy steps every environment with p's action for its current
// observation. p must be for this VecEnv's environment.
func (v *VecEnv) StepPolicy(p *Policy) error {
	if p == nil || p.spec != v.spec {
		return errorf("vec step", "policy is not for %s", v.spec.Name)
	}
	ad, od := v.spec.ActDim, v.spec.ObsDim
	for e := 0; e < v.cfg.N; e++ {
		if v.autoreset[e] && v.cfg.Mode == NextStep {
			continue
		}
		p.act(v.obs[e*od:e*od+od], v.act[e*ad:e*ad+ad])
	}
	v.step(v.act)
	return nil
}

// StepPolicy32 is StepPolicy with a float32 policy (the forward pass the
// shaders compute, see Policy32) on the float32 observations; its actions
// are float32 values.
func (v *VecEnv) StepPolicy32(p *Policy32) error {
	if p == nil || p.spec != v.spec {
		return errorf("vec step", "policy is not for %s", v.spec.Name)
	}
	ad, od := v.spec.ActDim, v.spec.ObsDim
	for e := 0; e < v.cfg.N; e++ {
		if v.autoreset[e] && v.cfg.Mode == NextStep {
			continue
		}
		for i, x := range v.obs[e*od : e*od+od] {
			v.obs32[i] = float32(x)
		}
		p.act(v.obs32, v.act32)
		for i, a := range v.act32 {
			v.act[e*ad+i] = float64(a)
		}
	}
	v.step(v.act)
	return nil
}

// RandomAction writes the random action of step step of environment
// env's episode episode into act (ActDim values): for a discrete space
// Choice(ActionWord(seed, env, episode, step), Actions); for a continuous
// one, dimension d is UniformIn(ActionWord(seed, env, episode,
// step*ActDim+d), -ActHigh, ActHigh) (exact in float32).
func RandomAction(spec EnvSpec, seed uint64, env, episode, step uint32, act []float64) {
	if spec.Actions > 0 {
		act[0] = float64(Choice(ActionWord(seed, env, episode, step), spec.Actions))
		return
	}
	for d := range act[:spec.ActDim] {
		act[d] = UniformIn(ActionWord(seed, env, episode, step*uint32(spec.ActDim)+uint32(d)), -spec.ActHigh, spec.ActHigh)
	}
}

func (v *VecEnv) step(actions []float64) {
	sd, od, ad := v.spec.StateDim, v.spec.ObsDim, v.spec.ActDim
	rec := v.rec
	t := v.t
	for e := 0; e < v.cfg.N; e++ {
		a := actions[e*ad : e*ad+ad]
		if rec != nil && e < rec.E {
			o := (t*rec.E + e) * ad
			for i, x := range a {
				rec.Actions[o+i] = float32(x)
			}
			rec.Valid[t*rec.E+e] = true
		}
		if v.cfg.Mode == NextStep && v.autoreset[e] {
			v.resetEnv(e)
			v.rewards[e] = 0
			v.term[e], v.trunc[e], v.autoreset[e] = false, false, false
			if rec != nil && e < rec.E {
				o := (t*rec.E + e) * ad
				clear(rec.Actions[o : o+ad])
				rec.Valid[t*rec.E+e] = false
			}
			continue
		}
		r, term := v.cfg.Env.Step(v.state[e*sd:e*sd+sd], a)
		v.steps++
		v.elapsed[e]++
		trunc := int64(v.elapsed[e]) >= int64(v.spec.MaxSteps)
		v.rewards[e], v.term[e], v.trunc[e] = r, term, trunc
		if !term && !trunc {
			v.observe(e, v.obs)
			continue
		}
		if v.cfg.Mode == NextStep {
			v.observe(e, v.obs)
			v.autoreset[e] = true
			continue
		}
		v.observe(e, v.finalObs)
		if rec != nil && e < rec.E {
			o := (t*rec.E + e) * od
			for i, x := range v.finalObs[e*od : e*od+od] {
				rec.FinalObs[o+i] = float32(x)
			}
		}
		v.resetEnv(e)
	}
	if rec == nil {
		return
	}
	for e := 0; e < rec.E; e++ {
		i := t*rec.E + e
		rec.Rewards[i] = float32(v.rewards[e])
		rec.Terminated[i] = v.term[e]
		rec.Truncated[i] = v.trunc[e]
		o := ((t+1)*rec.E + e) * od
		for j, x := range v.obs[e*od : e*od+od] {
			rec.Obs[o+j] = float32(x)
		}
	}
	v.t++
	if v.t == rec.T {
		v.rec = nil
	}
}

// Record starts recording the next steps steps of the first envs
// environments into the trajectory it returns (complete once those steps
// were taken). Obs[0] holds the
// current observations; step t's row holds its actions as given (zero for
// a NextStep reset step, whose Valid is false: the action was ignored, its
// reward and flags are zero and Obs[t+1] is the reset observation; every
// other step is Valid), the rewards and flags it returned and the
// observations it returned in Obs[t+1]. In SameStep mode FinalObs holds
// the terminal observations. Recording stops after steps steps, or at
// Reset or the next Record.
func (v *VecEnv) Record(envs, steps int) (*Trajectory, error) {
	if envs < 1 || envs > v.cfg.N || steps < 1 {
		return nil, errorf("vec record", "%d environments over %d steps, want 1 to %d environments and at least 1 step", envs, steps, v.cfg.N)
	}
	if int64(envs)*int64(steps+1)*int64(max(v.spec.ObsDim, v.spec.ActDim)) > 1<<28 {
		return nil, errorf("vec record", "%d environments over %d steps is too large a recording", envs, steps)
	}
	tr := newTrajectory(steps, envs, v.spec)
	if v.cfg.Mode == SameStep {
		tr.FinalObs = make([]float32, steps*envs*v.spec.ObsDim)
	}
	od := v.spec.ObsDim
	for i, x := range v.obs[:envs*od] {
		tr.Obs[i] = float32(x)
	}
	v.rec, v.t = tr, 0
	return tr, nil
}

// newTrajectory allocates an empty trajectory of t steps of e slots.
func newTrajectory(t, e int, spec EnvSpec) *Trajectory {
	return &Trajectory{
		T: t, E: e, ObsDim: spec.ObsDim, ActDim: spec.ActDim,
		Obs:        make([]float32, (t+1)*e*spec.ObsDim),
		Actions:    make([]float32, t*e*spec.ActDim),
		Rewards:    make([]float32, t*e),
		Terminated: make([]bool, t*e),
		Truncated:  make([]bool, t*e),
		Valid:      make([]bool, t*e),
	}
}
