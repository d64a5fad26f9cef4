package rl

import (
	"fmt"
	"math"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
)

// PolicyKind is where a GPU vector environment's actions come from.
type PolicyKind int

const (
	// RandomPolicy draws each action from the RNG's action stream (word
	// t%4 of the block at {environment, episode, t/4, StreamAction}, see
	// the package doc): a discrete choice, or a uniform value in
	// [-ActHigh, ActHigh).
	RandomPolicy PolicyKind = iota
	// ExternalPolicy takes the actions given to GPUVecEnv.Step.
	ExternalPolicy
	// MLPPolicy evaluates an MLP in the shader, one parameter vector per
	// population member.
	MLPPolicy
)

// String returns "random", "external" or "mlp".
func (p PolicyKind) String() string {
	switch p {
	case RandomPolicy:
		return "random"
	case ExternalPolicy:
		return "external"
	case MLPPolicy:
		return "mlp"
	}
	return fmt.Sprintf("PolicyKind(%d)", int(p))
}

// GPUVecOptions configure NewGPUVecEnv. The zero value plays random
// actions with next-step autoreset, seed 0.
type GPUVecOptions struct {
	// Seed keys the RNG.
	Seed uint64
	// Autoreset is the vector autoreset mode.
	Autoreset AutoresetMode
	// Policy is where actions come from.
	Policy PolicyKind
	// MLP and Params are the MLPPolicy's network and its Members parameter
	// vectors (member-major); slot i plays member i/(n/Members), so n must
	// be a multiple of Members (0 means 1).
	MLP     MLP
	Params  []float32
	Members int
	// WorkgroupSize is the shader's local size (0: 64). Results do not
	// depend on it.
	WorkgroupSize int
	// EnvBase and EnvMod map slot i to the RNG environment word EnvBase+i,
	// or EnvBase+i%EnvMod when EnvMod > 0 (as EvalRequest's slots do).
	EnvBase uint32
	EnvMod  int
	// EpisodeBase is added to every slot's episode index in the RNG's
	// episode word.
	EpisodeBase uint32
	// EpisodeLimit stops a slot after that many episodes (0: never).
	EpisodeLimit int
	// Summaries is how many episode summaries each slot keeps (the first
	// ones; see Episodes).
	Summaries int
	// Record and RecordSteps record the trajectories of slots 0..Record-1
	// over the first RecordSteps steps after creation or Reset.
	Record, RecordSteps int
}

// GPUVecEnv is a vector of n environments stepped on the GPU by one
// compute shader: one invocation per environment, any number of steps per
// dispatch, continuing exactly where the last dispatch stopped. The random
// streams follow the package doc's layout, so results depend neither on
// the workgroup size nor on how steps are split into dispatches. A
// GPUVecEnv is not safe for concurrent use.
type GPUVecEnv struct {
	d     *gpu.Device
	k     *gpu.Kernel
	set   *gpuSet
	spec  EnvSpec
	cfg   gpuConfig
	opts  GPUVecOptions
	n     int
	np    int // parameters per member (MLPPolicy)
	steps int64
	gpu   time.Duration
}

// NewGPUVecEnv creates n environments of env (a name of Envs()) on d and
// resets them (episode 0 of every slot), through x.
func NewGPUVecEnv(x io.Io, d *gpu.Device, env string, n int, opts *GPUVecOptions) (*GPUVecEnv, error) {
	const op = "new gpu vec env"
	var o GPUVecOptions
	if opts != nil {
		o = *opts
	}
	if d == nil {
		return nil, errorf(op, "nil device")
	}
	if n < 1 || n > maxGPUSlots {
		return nil, errorf(op, "%d environments, want 1 to %d", n, maxGPUSlots)
	}
	if o.Autoreset != NextStep && o.Autoreset != SameStep {
		return nil, errorf(op, "unknown autoreset mode %d", int(o.Autoreset))
	}
	if o.EnvMod < 0 || o.EpisodeLimit < 0 || o.Summaries < 0 || o.Record < 0 || o.RecordSteps < 0 || o.Members < 0 {
		return nil, errorf(op, "negative option (EnvMod %d, EpisodeLimit %d, Summaries %d, Record %d, RecordSteps %d, Members %d)",
			o.EnvMod, o.EpisodeLimit, o.Summaries, o.Record, o.RecordSteps, o.Members)
	}
	if o.Record > n {
		return nil, errorf(op, "recording %d slots of %d", o.Record, n)
	}
	if int64(n)*int64(o.Summaries) > maxGPUSlots {
		return nil, errorf(op, "%d summaries per slot for %d slots: more than %d", o.Summaries, n, maxGPUSlots)
	}
	cfg := gpuConfig{seed: o.Seed, n: n, autoreset: o.Autoreset, envsPerMember: n,
		envBase: o.EnvBase, envMod: o.EnvMod, episodeBase: o.EpisodeBase, episodeLimit: o.EpisodeLimit,
		summaryCap: o.Summaries}
	if o.Record > 0 && o.RecordSteps > 0 {
		cfg.recSlots, cfg.recSteps = o.Record, o.RecordSteps
	}
	var mlp *MLP
	switch o.Policy {
	case RandomPolicy:
		cfg.policy = policyRandom
	case ExternalPolicy:
		cfg.policy = policyExternal
	case MLPPolicy:
		cfg.policy = policyMLP
		m := o.MLP
		mlp = &m
		if o.Members == 0 {
			o.Members = 1
		}
		if n%o.Members != 0 {
			return nil, errorf(op, "%d environments for %d members: want a multiple", n, o.Members)
		}
		cfg.envsPerMember = n / o.Members
	default:
		return nil, errorf(op, "unknown policy kind %d", int(o.Policy))
	}
	k, spec, err := gpuKernel(d, env, o.WorkgroupSize, mlp, &cfg)
	if err != nil {
		return nil, err
	}
	if mlp != nil && len(o.Params) != o.Members*mlp.NumParams() {
		k.Close()
		return nil, errorf(op, "%d parameters for %d members of %d", len(o.Params), o.Members, mlp.NumParams())
	}
	if w := recordWords(cfg.recSlots, cfg.recSteps, spec.ObsDim); w > maxRecordWords {
		k.Close()
		return nil, errorf(op, "recording %d slots over %d steps needs %d words, more than %d", cfg.recSlots, cfg.recSteps, w, maxRecordWords)
	}
	v := &GPUVecEnv{d: d, k: k, set: newGPUSet(d, k), spec: spec, cfg: cfg, opts: o, n: n}
	if mlp != nil {
		v.np = mlp.NumParams()
	}
	if err := v.alloc(x); err != nil {
		v.Close()
		return nil, err
	}
	if err := v.Reset(x); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *GPUVecEnv) alloc(x io.Io) error {
	s := v.set
	sizes := [6]int64{
		int64(v.n) * slotWords * 4,
		0, // parameters: setChunks
		int64(v.n) * 4,
		int64(v.n) * int64(v.cfg.summaryCap) * 16,
		recordWords(v.cfg.recSlots, v.cfg.recSteps, v.spec.ObsDim) * 4,
		cfgWords * 4,
	}
	for i, size := range sizes {
		if i == bParams {
			continue
		}
		if err := s.ensure(i, size); err != nil {
			return err
		}
	}
	if err := s.setChunks(v.n, v.opts.Members, v.cfg.envsPerMember, v.np); err != nil {
		return err
	}
	if v.np > 0 {
		if err := s.uploadParams(x, v.opts.Params, v.np); err != nil {
			return err
		}
	}
	return gpu.Upload(x, s.bufs[bCfg], 0, v.cfg.words())
}

// Spec returns the environment's facts.
func (v *GPUVecEnv) Spec() EnvSpec { return v.spec }

// Len returns the number of environments.
func (v *GPUVecEnv) Len() int { return v.n }

// Steps returns the number of vector steps taken since creation or Reset.
func (v *GPUVecEnv) Steps() int64 { return v.steps }

// GPUTime returns the device's busy time over all dispatches so far (from
// the batches' timestamps).
func (v *GPUVecEnv) GPUTime() time.Duration { return v.gpu }

// Reset starts every slot afresh at its episode 0 (as the vector env's
// reset()), clears the summaries and the trajectory record, in one
// dispatch through x.
func (v *GPUVecEnv) Reset(x io.Io) error {
	dt, err := v.set.run(x, batchKey{steps: 0, n: v.n, zero: true, zeroRecord: v.cfg.recSlots > 0})
	v.gpu += dt
	if err != nil {
		return err
	}
	v.steps = 0
	return nil
}

// SetParams replaces the MLP policy's parameters (Members vectors) for the
// next steps.
func (v *GPUVecEnv) SetParams(x io.Io, params []float32) error {
	if v.opts.Policy != MLPPolicy {
		return errorf("set params", "policy %v has no parameters", v.opts.Policy)
	}
	if len(params) != len(v.opts.Params) {
		return errorf("set params", "%d parameters, want %d", len(params), len(v.opts.Params))
	}
	return v.set.uploadParams(x, params, v.np)
}

// Step takes one step of every environment: with ExternalPolicy, actions
// holds one action per environment (discrete: the index as a float);
// otherwise actions must be nil. One dispatch, awaited through x (a
// cancel point).
func (v *GPUVecEnv) Step(x io.Io, actions []float32) error {
	const op = "gpu step"
	if v.opts.Policy == ExternalPolicy {
		if len(actions) != v.n*v.spec.ActDim {
			return errorf(op, "%d actions for %d environments", len(actions), v.n)
		}
		for i, a := range actions {
			if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) {
				return errorf(op, "action %d is %v", i, a)
			}
		}
		if err := gpu.Upload(x, v.set.bufs[bActions], 0, actions); err != nil {
			return err
		}
	} else if actions != nil {
		return errorf(op, "%d actions given to a %v policy", len(actions), v.opts.Policy)
	}
	return v.dispatch(x, 1)
}

// Run takes steps steps of every environment, perDispatch steps per
// dispatch (0: all in one), each dispatch one submission awaited through x
// (a cancel point). ExternalPolicy environments step with Step.
func (v *GPUVecEnv) Run(x io.Io, steps, perDispatch int) error {
	const op = "gpu run"
	if v.opts.Policy == ExternalPolicy {
		return errorf(op, "an external policy steps with Step")
	}
	if steps < 0 || perDispatch < 0 {
		return errorf(op, "steps %d, per dispatch %d", steps, perDispatch)
	}
	if perDispatch == 0 {
		perDispatch = steps
	}
	for steps > 0 {
		k := min(steps, perDispatch)
		if err := v.dispatch(x, k); err != nil {
			return err
		}
		steps -= k
	}
	return nil
}

func (v *GPUVecEnv) dispatch(x io.Io, steps int) error {
	dt, err := v.set.run(x, batchKey{steps: steps, n: v.n})
	v.gpu += dt
	if err != nil {
		return err
	}
	v.steps += int64(steps)
	return nil
}

// GPUVecState is what the last step returned, per environment, as a
// Gymnasium vector env returns it.
type GPUVecState struct {
	// Obs holds n observations (n*ObsDim values): the terminal one for an
	// episode that just ended under next-step autoreset, the reset one
	// under same-step.
	Obs []float32
	// Rewards, Terminated, Truncated and Actions are the last step's.
	Rewards    []float32
	Terminated []bool
	Truncated  []bool
	Actions    []float32
	// Final holds the terminal observations under same-step autoreset
	// where the last step ended an episode (zero elsewhere; n*ObsDim
	// values).
	Final []float32
	// Episode is each slot's episode index (from 0), Step its steps in
	// that episode, Return its return so far, Done its episodes completed.
	Episode []uint32
	Step    []uint32
	Return  []float32
	Done    []uint32
	// Finished reports slots stopped by EpisodeLimit.
	Finished []bool
	// Raw is the state (4 floats per slot).
	State []float32
}

// State downloads what the last step returned.
func (v *GPUVecEnv) State(x io.Io) (*GPUVecState, error) {
	w := make([]uint32, v.n*slotWords)
	if err := gpu.Download(x, v.set.bufs[bSlots], 0, w); err != nil {
		return nil, err
	}
	n, od := v.n, v.spec.ObsDim
	st := &GPUVecState{
		Obs: make([]float32, n*od), Rewards: make([]float32, n), Terminated: make([]bool, n),
		Truncated: make([]bool, n), Actions: make([]float32, n), Final: make([]float32, n*od),
		Episode: make([]uint32, n), Step: make([]uint32, n), Return: make([]float32, n),
		Done: make([]uint32, n), Finished: make([]bool, n), State: make([]float32, n*4),
	}
	for i := 0; i < n; i++ {
		s := slotView(w[i*slotWords : (i+1)*slotWords])
		fl := s[wFlags]
		for j := 0; j < od; j++ {
			st.Obs[i*od+j] = s.f(wObs + j)
			if v.cfg.autoreset == SameStep && fl&fEnded != 0 && fl&fFinished == 0 {
				st.Final[i*od+j] = s.f(wFinal + j)
			}
		}
		for j := 0; j < 4; j++ {
			st.State[i*4+j] = s.f(j)
		}
		st.Rewards[i] = s.f(wReward)
		st.Actions[i] = s.f(wAction)
		st.Terminated[i] = fl&fTerm != 0
		st.Truncated[i] = fl&fTrunc != 0
		st.Finished[i] = fl&fFinished != 0
		st.Episode[i] = s[wEp]
		st.Step[i] = s[wT]
		st.Return[i] = s.f(wRet)
		st.Done[i] = s[wDone]
	}
	return st, nil
}

// EpisodeSummary is one finished episode of a slot.
type EpisodeSummary struct {
	// Slot is the environment slot; Episode the RNG episode word of the
	// episode (EpisodeBase + the slot's episode index).
	Slot    int
	Episode uint32
	// Return is the undiscounted return (accumulated in float32 on the
	// GPU); Length the number of steps.
	Return                float64
	Length                int32
	Terminated, Truncated bool
}

// Episodes downloads the summaries kept so far (at most Summaries per
// slot, the first ones), in slot order, then episode order.
func (v *GPUVecEnv) Episodes(x io.Io) ([]EpisodeSummary, error) {
	c := v.cfg.summaryCap
	if c == 0 {
		return nil, nil
	}
	st, err := v.State(x)
	if err != nil {
		return nil, err
	}
	w := make([]uint32, v.n*c*4)
	if err := gpu.Download(x, v.set.bufs[bSummary], 0, w); err != nil {
		return nil, err
	}
	var out []EpisodeSummary
	for i := 0; i < v.n; i++ {
		for j := 0; j < min(int(st.Done[i]), c); j++ {
			e := w[(i*c+j)*4:]
			out = append(out, EpisodeSummary{Slot: i, Episode: e[3], Return: float64(math.Float32frombits(e[0])),
				Length: int32(e[1]), Terminated: e[2]&1 != 0, Truncated: e[2]&2 != 0})
		}
	}
	return out, nil
}

// Trajectory downloads the recorded steps (the first RecordSteps after
// creation or Reset, of slots 0..Record-1; nil when nothing is recorded).
// Under same-step autoreset, Obs[t+1] of a step that ended an episode is
// the reset observation and FinalObs holds the terminal one.
func (v *GPUVecEnv) Trajectory(x io.Io) (*Trajectory, error) {
	e, t := v.cfg.recSlots, v.cfg.recSteps
	if e == 0 {
		return nil, nil
	}
	t = int(min(int64(t), v.steps))
	return readTrajectory(x, v.set.bufs[bRecord], e, v.cfg.recSteps, t, v.spec.ObsDim, v.cfg.autoreset == SameStep)
}

// readTrajectory converts a record buffer laid out for e slots over tCap
// steps into a Trajectory of its first t steps.
func readTrajectory(x io.Io, buf *gpu.Buffer, e, tCap, t, d int, final bool) (*Trajectory, error) {
	w := make([]uint32, recordWords(e, tCap, d))
	if err := gpu.Download(x, buf, 0, w); err != nil {
		return nil, err
	}
	tr := &Trajectory{T: t, E: e, ObsDim: d, ActDim: 1,
		Obs: make([]float32, (t+1)*e*d), Actions: make([]float32, t*e), Rewards: make([]float32, t*e),
		Terminated: make([]bool, t*e), Truncated: make([]bool, t*e), Valid: make([]bool, t*e)}
	for i := range tr.Obs {
		tr.Obs[i] = math.Float32frombits(w[i])
	}
	base := (tCap + 1) * e * d
	te := tCap * e
	for i := 0; i < t*e; i++ {
		tr.Actions[i] = math.Float32frombits(w[base+i])
		tr.Rewards[i] = math.Float32frombits(w[base+te+i])
		tr.Terminated[i] = w[base+2*te+i] != 0
		tr.Truncated[i] = w[base+3*te+i] != 0
		tr.Valid[i] = w[base+4*te+i] != 0
	}
	if final {
		fb := base + 5*te
		tr.FinalObs = make([]float32, t*e*d)
		for i := range tr.FinalObs {
			tr.FinalObs[i] = math.Float32frombits(w[fb+i])
		}
	}
	return tr, nil
}

// Close releases every Vulkan object of v (idempotent). It waits up to a
// few seconds for a dispatch whose wait was canceled.
func (v *GPUVecEnv) Close() error {
	if v.set == nil {
		return nil
	}
	err := v.set.closeWait(10 * time.Second)
	if err != nil {
		return err
	}
	v.set = nil
	return v.k.Close()
}
