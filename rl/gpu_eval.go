package rl

import (
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
)

// GPUEvalOptions configure NewGPUEvaluator.
type GPUEvalOptions struct {
	// WorkgroupSize is the shader's local size (0: 64). Results do not
	// depend on it.
	WorkgroupSize int
	// StepsPerDispatch splits an evaluation into dispatches of that many
	// steps (0: one dispatch of the time limit, whole episodes). Results
	// do not depend on it.
	StepsPerDispatch int
	// Sets bounds the buffer sets, and so the evaluations in flight at
	// once (0: 4); more concurrent calls wait for a set (a cancel point).
	Sets int
}

// gpuEvaluator is NewGPUEvaluator's Evaluator.
type gpuEvaluator struct {
	d      *gpu.Device
	k      *gpu.Kernel
	spec   EnvSpec
	policy MLP
	steps  int // per dispatch
	sem    *io.Semaphore

	mu     sync.Mutex
	free   []*gpuSet
	inUse  int
	closed bool
	// retiring counts the goroutines that wait for a set whose canceled
	// work still runs on the GPU (each holds one unit of sem until then);
	// retired (on mu) is broadcast as each ends. A counter under mu, not
	// a WaitGroup: a canceled evaluation may start one while Close waits.
	retiring int
	retired  sync.Cond
}

// NewGPUEvaluator returns an Evaluator that plays env's episodes on d
// under MLP policies: one invocation per (member, episode) slot, whole
// episodes per dispatch by default. Evaluate is safe for concurrent use;
// each call takes one of a bounded pool of buffer sets.
func NewGPUEvaluator(d *gpu.Device, env string, policy MLP, opts *GPUEvalOptions) (Evaluator, error) {
	const op = "new gpu evaluator"
	var o GPUEvalOptions
	if opts != nil {
		o = *opts
	}
	if d == nil {
		return nil, errorf(op, "nil device")
	}
	if o.StepsPerDispatch < 0 || o.Sets < 0 {
		return nil, errorf(op, "steps per dispatch %d, sets %d", o.StepsPerDispatch, o.Sets)
	}
	if o.Sets == 0 {
		o.Sets = 4
	}
	policy.Sizes = slices.Clone(policy.Sizes)
	// Every evaluation: MLP, one episode per slot, a summary each, maybe
	// recorded (the recording code stays in; slots past Record skip it).
	k, spec, err := gpuKernel(d, env, o.WorkgroupSize, &policy, &gpuConfig{policy: policyMLP, episodeLimit: 1, summaryCap: 1, recSlots: 1})
	if err != nil {
		return nil, err
	}
	steps := o.StepsPerDispatch
	if steps == 0 || steps > spec.MaxSteps {
		steps = spec.MaxSteps
	}
	e := &gpuEvaluator{d: d, k: k, spec: spec, policy: policy, steps: steps, sem: io.NewSemaphore(int64(o.Sets))}
	e.retired.L = &e.mu
	return e, nil
}

// Spec returns the environment's facts.
func (e *gpuEvaluator) Spec() EnvSpec { return e.spec }

// Policy returns the evaluated network.
func (e *gpuEvaluator) Policy() MLP {
	return MLP{Sizes: slices.Clone(e.policy.Sizes), Act: e.policy.Act}
}

// Evaluate plays one episode per slot (see EvalRequest) in
// ceil(MaxSteps/StepsPerDispatch) dispatches, each a submission awaited
// through x (a cancel point).
func (e *gpuEvaluator) Evaluate(x io.Io, req EvalRequest) (*EvalResult, error) {
	const op = "gpu evaluate"
	np := e.policy.NumParams()
	switch {
	case req.Members < 1 || req.Episodes < 1:
		return nil, errorf(op, "%d members, %d episodes: want at least 1 each", req.Members, req.Episodes)
	case int64(req.Members)*int64(req.Episodes) > maxGPUSlots:
		return nil, errorf(op, "%d members x %d episodes: more than %d slots", req.Members, req.Episodes, maxGPUSlots)
	case len(req.Params) != req.Members*np:
		return nil, errorf(op, "%d parameters for %d members of %d", len(req.Params), req.Members, np)
	}
	n := req.Members * req.Episodes
	if req.Record < 0 || req.Record > n {
		return nil, errorf(op, "record %d slots of %d", req.Record, n)
	}
	cfg := gpuConfig{seed: req.Seed, n: n, policy: policyMLP, envsPerMember: req.Episodes,
		envBase: req.EnvBase, envMod: req.Episodes, episodeBase: req.Episode, episodeLimit: 1, summaryCap: 1}
	if req.Record > 0 {
		cfg.recSlots, cfg.recSteps = req.Record, e.spec.MaxSteps
	}
	recWords := recordWords(cfg.recSlots, cfg.recSteps, e.spec.ObsDim)
	if recWords > maxRecordWords {
		return nil, errorf(op, "recording %d slots over %d steps needs %d words, more than %d", cfg.recSlots, cfg.recSteps, recWords, maxRecordWords)
	}

	s, err := e.acquire(x)
	if err != nil {
		return nil, err
	}
	res, err := e.play(x, s, &cfg, req, recWords)
	e.release(s, err)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (e *gpuEvaluator) play(x io.Io, s *gpuSet, cfg *gpuConfig, req EvalRequest, recWords int64) (*EvalResult, error) {
	n := cfg.n
	sizes := [6]int64{int64(n) * slotWords * 4, 0, 4, int64(n) * 16, recWords * 4, cfgWords * 4}
	for i, size := range sizes {
		if i == bParams {
			continue
		}
		if err := s.ensure(i, size); err != nil {
			return nil, err
		}
	}
	np := e.policy.NumParams()
	if err := s.setChunks(n, req.Members, req.Episodes, np); err != nil {
		return nil, err
	}
	if err := s.uploadParams(x, req.Params, np); err != nil {
		return nil, err
	}
	if err := gpu.Upload(x, s.bufs[bCfg], 0, cfg.words()); err != nil {
		return nil, err
	}
	var busy time.Duration
	for t := 0; t < e.spec.MaxSteps; t += e.steps {
		k := min(e.steps, e.spec.MaxSteps-t)
		dt, err := s.run(x, batchKey{steps: k, n: n, zero: t == 0, zeroRecord: t == 0 && cfg.recSlots > 0})
		busy += dt
		if err != nil {
			return nil, err
		}
	}
	w := make([]uint32, n*4)
	if err := gpu.Download(x, s.bufs[bSummary], 0, w); err != nil {
		return nil, err
	}
	res := &EvalResult{Returns: make([]float64, n), Lengths: make([]int32, n), Truncated: make([]bool, n), GPU: busy}
	for i := 0; i < n; i++ {
		res.Returns[i] = float64(math.Float32frombits(w[4*i]))
		res.Lengths[i] = int32(w[4*i+1])
		res.Truncated[i] = w[4*i+2]&2 != 0
		res.Steps += int64(w[4*i+1])
	}
	if cfg.recSlots > 0 {
		// T = MaxSteps, as the CPU evaluator's; steps past a slot's
		// episode are not Valid and zero.
		tr, err := readTrajectory(x, s.bufs[bRecord], cfg.recSlots, cfg.recSteps, cfg.recSteps, e.spec.ObsDim, false)
		if err != nil {
			return nil, err
		}
		res.Trajectory = tr
	}
	return res, nil
}

// acquire takes a buffer set from the pool (a cancel point while all are
// in use).
func (e *gpuEvaluator) acquire(x io.Io) (*gpuSet, error) {
	if err := e.sem.Acquire(x, 1); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		e.sem.Release(1)
		return nil, &Error{Op: "gpu evaluate", Msg: "evaluator closed", Err: gpu.ErrClosed}
	}
	e.inUse++
	if k := len(e.free); k > 0 {
		s := e.free[k-1]
		e.free = e.free[:k-1]
		return s, nil
	}
	return newGPUSet(e.d, e.k), nil
}

// release gives s back. After an error whose GPU work may still run (a
// canceled wait), a goroutine waits for the set to go idle and only then
// gives it back, with its unit of the semaphore.
func (e *gpuEvaluator) release(s *gpuSet, err error) {
	if err != nil && !s.idle() {
		e.mu.Lock()
		e.retiring++
		e.mu.Unlock()
		go func() {
			for !s.idle() {
				time.Sleep(time.Millisecond)
			}
			e.put(s)
			e.mu.Lock()
			e.retiring--
			e.retired.Broadcast()
			e.mu.Unlock()
		}()
		return
	}
	e.put(s)
}

// put returns an idle set to the pool, or closes it when the evaluator
// was closed meanwhile (then the last one out closes the kernel).
func (e *gpuEvaluator) put(s *gpuSet) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inUse--
	if e.closed {
		s.close()
		if e.inUse == 0 {
			e.k.Close()
		}
	} else {
		e.free = append(e.free, s)
	}
	e.sem.Release(1)
}

// Close releases the buffer sets and the kernel (idempotent). It waits
// for the GPU work of canceled evaluations to finish; evaluations still
// running keep their set until they return, and then release it.
func (e *gpuEvaluator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	sets := e.free
	e.free = nil
	for e.retiring > 0 {
		e.retired.Wait()
	}
	busy := e.inUse > 0
	e.mu.Unlock()
	var errs []error
	for _, s := range sets {
		if err := s.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if !busy {
		if err := e.k.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
