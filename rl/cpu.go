package rl

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vkio/vkio/io"
)

// CPUEvaluator is the CPU reference's Evaluator: float64 environments,
// float32 MLP policies (the forward pass of Policy32 on the observations
// rounded to float32, as the shaders compute it), slots played in
// parallel on a fixed number of goroutines. Its results do not depend on
// the number of goroutines.
type CPUEvaluator struct {
	env     Env
	spec    EnvSpec
	mlp     MLP
	threads int
	err     error // a configuration error, returned by Evaluate
	closed  atomic.Bool
}

// NewCPUEvaluator returns the CPU Evaluator of policy on env, on threads
// goroutines (0 or less: GOMAXPROCS). A policy that does not fit env makes
// every Evaluate fail with an error wrapping ErrInvalid.
//
// Evaluate plays slot j = member*Episodes + k from ResetBlock(Seed,
// k+EnvBase, Episode) with member's parameters until the episode
// terminates or reaches MaxSteps. Returns[j] is the sum of its rewards in
// step order; Lengths[j] its steps; Truncated[j] whether it reached the
// time limit (as Gymnasium's TimeLimit, also when its last step
// terminated). Slots below Record are recorded into a Trajectory of
// T = MaxSteps steps and E = Record slots. Evaluate checks x for
// cancellation between chunks of slots, and allocates only its results
// and per-goroutine scratch.
func NewCPUEvaluator(env Env, policy MLP, threads int) Evaluator {
	e := &CPUEvaluator{env: env, mlp: policy, threads: threads}
	e.spec, e.err = checkEnv("cpu evaluator", env)
	if e.err == nil {
		e.err = policy.Check(e.spec)
	}
	if e.threads <= 0 {
		e.threads = runtime.GOMAXPROCS(0)
	}
	return e
}

// Spec returns the environment's facts.
func (e *CPUEvaluator) Spec() EnvSpec { return e.spec }

// Policy returns the evaluated network.
func (e *CPUEvaluator) Policy() MLP { return e.mlp }

// Close marks the evaluator closed; later Evaluates fail. It is
// idempotent and holds nothing else.
func (e *CPUEvaluator) Close() error {
	e.closed.Store(true)
	return nil
}

// maxSlots bounds Members*Episodes of one evaluation.
const maxSlots = 1 << 24

// evalChunk is the number of slots a goroutine takes at a time (and
// between cancel checks).
const evalChunk = 16

// Evaluate plays req (see NewCPUEvaluator and EvalRequest).
func (e *CPUEvaluator) Evaluate(x io.Io, req EvalRequest) (*EvalResult, error) {
	if e.err != nil {
		return nil, e.err
	}
	if e.closed.Load() {
		return nil, errorf("evaluate", "evaluator closed")
	}
	np := e.mlp.NumParams()
	switch {
	case req.Members < 1 || req.Episodes < 1 || int64(req.Members)*int64(req.Episodes) > maxSlots:
		return nil, errorf("evaluate", "%d members of %d episodes, want at least 1 each and at most %d slots", req.Members, req.Episodes, maxSlots)
	case len(req.Params) != req.Members*np:
		return nil, errorf("evaluate", "%d parameters, %d members of %d need %d", len(req.Params), req.Members, np, req.Members*np)
	case req.Record < 0 || req.Record > req.Members*req.Episodes:
		return nil, errorf("evaluate", "record %d slots of %d", req.Record, req.Members*req.Episodes)
	case int64(req.Record)*int64(e.spec.MaxSteps+1)*int64(max(e.spec.ObsDim, e.spec.ActDim)) > 1<<28:
		return nil, errorf("evaluate", "recording %d slots of %d steps is too large", req.Record, e.spec.MaxSteps)
	}
	if err := x.CheckCancel(); err != nil {
		return nil, err
	}
	slots := req.Members * req.Episodes
	res := &EvalResult{
		Returns:   make([]float64, slots),
		Lengths:   make([]int32, slots),
		Truncated: make([]bool, slots),
	}
	if req.Record > 0 {
		res.Trajectory = newTrajectory(e.spec.MaxSteps, req.Record, e.spec)
	}
	chunks := (slots + evalChunk - 1) / evalChunk
	var next atomic.Int64
	var failed atomic.Pointer[error]
	work := func() {
		w := newSlotWorker(e.env, e.spec, e.mlp)
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks || failed.Load() != nil {
				return
			}
			if err := x.CheckCancel(); err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
			for j := c * evalChunk; j < min(slots, (c+1)*evalChunk); j++ {
				member, k := j/req.Episodes, j%req.Episodes
				var rec *Trajectory
				if j < req.Record {
					rec = res.Trajectory
				}
				ret, n, trunc := w.play(req.Params[member*np:(member+1)*np], ResetBlock(req.Seed, uint32(k)+req.EnvBase, req.Episode), rec, j)
				res.Returns[j], res.Lengths[j], res.Truncated[j] = ret, int32(n), trunc
			}
		}
	}
	threads := min(e.threads, chunks)
	var wg sync.WaitGroup
	for i := 1; i < threads; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
	if p := failed.Load(); p != nil {
		return nil, *p
	}
	for _, n := range res.Lengths {
		res.Steps += int64(n)
	}
	return res, nil
}

// slotWorker plays episodes with an MLP: one goroutine's scratch.
type slotWorker struct {
	env  Env
	spec EnvSpec
	mlp  MLP
	s    []float64
	obs  []float64
	obs2 []float32
	y    []float32
	buf  []float32
	act  []float64
}

func newSlotWorker(env Env, spec EnvSpec, m MLP) *slotWorker {
	return &slotWorker{
		env: env, spec: spec, mlp: m,
		s:    make([]float64, spec.StateDim),
		obs:  make([]float64, spec.ObsDim),
		obs2: make([]float32, spec.ObsDim),
		y:    make([]float32, m.Sizes[len(m.Sizes)-1]),
		buf:  make([]float32, m.ScratchLen()),
		act:  make([]float64, spec.ActDim),
	}
}

// observe32 writes the state's observation, rounded to float32, into
// obs2 (and into the recording's row t of slot j when rec is set).
func (w *slotWorker) observe32(rec *Trajectory, t, j int) {
	w.env.Observe(w.s, w.obs)
	for i, v := range w.obs {
		w.obs2[i] = float32(v)
	}
	if rec != nil {
		copy(rec.Obs[(t*rec.E+j)*rec.ObsDim:], w.obs2)
	}
}

// play plays one episode from block with params and returns its return,
// length and whether the time limit ended it.
func (w *slotWorker) play(params []float32, block [4]uint32, rec *Trajectory, j int) (float64, int, bool) {
	w.env.Reset(w.s, block)
	w.observe32(rec, 0, j)
	ret := 0.0
	maxSteps := w.spec.MaxSteps
	for t := 0; t < maxSteps; t++ {
		w.mlp.forward32(params, w.obs2, w.y, w.buf)
		actionOf(w.spec, w.y, w.act)
		r, term := w.env.Step(w.s, w.act)
		ret += r
		trunc := t+1 >= maxSteps
		if rec != nil {
			i := t*rec.E + j
			for d, a := range w.act {
				rec.Actions[i*rec.ActDim+d] = float32(a)
			}
			rec.Rewards[i] = float32(r)
			rec.Terminated[i], rec.Truncated[i], rec.Valid[i] = term, trunc, true
		}
		w.observe32(rec, t+1, j)
		if term || trunc {
			return ret, t + 1, trunc
		}
	}
	return ret, maxSteps, true
}

// actionOf turns float32 outputs into the action: the first argmax, or
// float32(ActHigh)*tanh32(y) (Policy32's).
func actionOf(spec EnvSpec, y []float32, act []float64) {
	if spec.Actions > 0 {
		act[0] = float64(argmax(y))
		return
	}
	for i, v := range y {
		act[i] = float64(float32(spec.ActHigh) * tanh32(v))
	}
}

var _ Evaluator = (*CPUEvaluator)(nil)
