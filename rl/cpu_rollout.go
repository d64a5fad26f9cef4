package rl

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/io"
)

// RolloutConfig is a CPU rollout: Envs environments of Env, each stepped
// Steps times with autoreset, with random actions or an MLP's. It is the
// benchmarks' CPU baseline (see CPURollout).
type RolloutConfig struct {
	// Env is the environment; Envs how many (1 to 1<<24) and Steps the
	// steps of each (at least 1; Envs*Steps at most 1<<50).
	Env   Env
	Envs  int
	Steps int
	// Seed keys the RNG; environment e draws from RNG environment
	// e+EnvBase, its k-th episode from episode word k.
	Seed    uint64
	EnvBase uint32
	// Mode is the autoreset mode: NextStep spends a step on each reset
	// (that step counts in Steps), SameStep resets within the ending step.
	Mode AutoresetMode
	// MLP is the policy's network; with no Sizes the actions are random
	// (RandomAction's). Params holds one or more policies' float32
	// parameters (a multiple of MLP.NumParams()); environment e plays
	// policy e % policies on the observation rounded to float32, as
	// CPUEvaluator does.
	MLP    MLP
	Params []float32
	// Threads is the number of goroutines (0 or less: GOMAXPROCS).
	Threads int
}

// RolloutResult is what a rollout did.
type RolloutResult struct {
	// Steps is the number of environment steps (Envs*Steps).
	Steps int64
	// Episodes is the number of episodes ended (terminated or truncated).
	Episodes int64
	// Return is the sum of every reward: per environment in step order,
	// per chunk of rolloutChunk environments in order, then over chunks in
	// order, so it does not depend on Threads.
	Return float64
	// Threads is the number of goroutines used; Wall the time taken.
	Threads int
	Wall    time.Duration
}

// Rollout work is cut into chunks of rolloutChunk environments, stepped
// rolloutBlock steps at a time (a cancel check between blocks).
const (
	rolloutChunk = 64
	rolloutBlock = 1024
)

// CPURollout steps cfg.Envs environments cfg.Steps times each on
// cfg.Threads goroutines: the tuned, fair CPU baseline of the GPU
// benchmarks. What it does to be fast, without changing a result:
//
//   - environment-major: a goroutine takes a chunk of 64 environments and
//     steps each through a block of 1024 steps before the next, so an
//     environment's state stays in registers or L1 (CartPole's step is a
//     specialised loop over four local float64s, no interface call);
//   - the state lives in flat per-goroutine slices; nothing is allocated
//     while stepping (per-goroutine scratch is allocated once);
//   - random actions use every word of a Philox block (one block per four
//     steps, as the RNG layout allows), not one block per step;
//   - the MLP is the float32 forward pass (Policy32's) on per-goroutine
//     scratch;
//   - chunks are handed out through one atomic counter, so goroutines
//     stay busy to the end; cancellation (x) is checked between blocks.
//
// The results are the same for any Threads.
func CPURollout(x io.Io, cfg RolloutConfig) (*RolloutResult, error) {
	spec, err := checkEnv("rollout", cfg.Env)
	if err != nil {
		return nil, err
	}
	if cfg.Envs < 1 || cfg.Envs > 1<<24 || cfg.Steps < 1 || int64(cfg.Envs)*int64(cfg.Steps) > 1<<50 {
		return nil, errorf("rollout", "%d environments of %d steps, want 1 to %d environments, at least 1 step, at most 2^50 in all", cfg.Envs, cfg.Steps, 1<<24)
	}
	if cfg.Mode != NextStep && cfg.Mode != SameStep {
		return nil, errorf("rollout", "unknown autoreset mode %d", int(cfg.Mode))
	}
	policies := 0
	if len(cfg.MLP.Sizes) > 0 {
		if err := cfg.MLP.Check(spec); err != nil {
			return nil, err
		}
		np := cfg.MLP.NumParams()
		if len(cfg.Params) == 0 || len(cfg.Params)%np != 0 {
			return nil, errorf("rollout", "%d parameters, want a positive multiple of %d", len(cfg.Params), np)
		}
		policies = len(cfg.Params) / np
	} else if len(cfg.Params) > 0 {
		return nil, errorf("rollout", "parameters without an MLP")
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	chunks := (cfg.Envs + rolloutChunk - 1) / rolloutChunk
	threads = min(threads, chunks)
	if err := x.CheckCancel(); err != nil {
		return nil, err
	}
	start := time.Now()
	returns := make([]float64, chunks)
	episodes := make([]int64, chunks)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	work := func() {
		w := newRolloutWorker(&cfg, spec, policies)
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks || failed.Load() != nil {
				return
			}
			if err := w.chunk(x, c); err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
			returns[c], episodes[c] = w.chunkReturn(), w.chunkEpisodes()
		}
	}
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
	res := &RolloutResult{Steps: int64(cfg.Envs) * int64(cfg.Steps), Threads: threads}
	for c := range returns {
		res.Return += returns[c]
		res.Episodes += episodes[c]
	}
	res.Wall = time.Since(start)
	return res, nil
}

// rolloutWorker is one goroutine's scratch: the state of a chunk's
// environments.
type rolloutWorker struct {
	cfg      *RolloutConfig
	spec     EnvSpec
	policies int
	np       int
	n        int // environments in the current chunk
	first    int // the chunk's first environment

	state []float64 // rolloutChunk*StateDim
	ep    []uint32  // episode word per environment
	t     []uint32  // steps of the current episode
	auto  []bool    // NextStep: reset at the next step
	ret   []float64 // per-environment return
	eps   []int64   // per-environment episodes ended

	obs  []float64
	obs2 []float32
	y    []float32
	buf  []float32
	act  []float64
}

func newRolloutWorker(cfg *RolloutConfig, spec EnvSpec, policies int) *rolloutWorker {
	w := &rolloutWorker{
		cfg: cfg, spec: spec, policies: policies,
		state: make([]float64, rolloutChunk*spec.StateDim),
		ep:    make([]uint32, rolloutChunk),
		t:     make([]uint32, rolloutChunk),
		auto:  make([]bool, rolloutChunk),
		ret:   make([]float64, rolloutChunk),
		eps:   make([]int64, rolloutChunk),
		obs:   make([]float64, spec.ObsDim),
		obs2:  make([]float32, spec.ObsDim),
		act:   make([]float64, spec.ActDim),
	}
	if policies > 0 {
		w.np = cfg.MLP.NumParams()
		w.y = make([]float32, cfg.MLP.Sizes[len(cfg.MLP.Sizes)-1])
		w.buf = make([]float32, cfg.MLP.ScratchLen())
	}
	return w
}

func (w *rolloutWorker) chunkReturn() float64 {
	sum := 0.0
	for _, r := range w.ret[:w.n] {
		sum += r
	}
	return sum
}

func (w *rolloutWorker) chunkEpisodes() int64 {
	var sum int64
	for _, n := range w.eps[:w.n] {
		sum += n
	}
	return sum
}

// chunk runs chunk c's environments through every step.
func (w *rolloutWorker) chunk(x io.Io, c int) error {
	cfg, sd := w.cfg, w.spec.StateDim
	w.first = c * rolloutChunk
	w.n = min(rolloutChunk, cfg.Envs-w.first)
	for i := 0; i < w.n; i++ {
		w.ep[i], w.t[i], w.auto[i], w.ret[i], w.eps[i] = 0, 0, false, 0, 0
		cfg.Env.Reset(w.state[i*sd:(i+1)*sd], ResetBlock(cfg.Seed, uint32(w.first+i)+cfg.EnvBase, 0))
	}
	_, cartpole := cfg.Env.(CartPole)
	for done := 0; done < cfg.Steps; done += rolloutBlock {
		if err := x.CheckCancel(); err != nil {
			return err
		}
		steps := min(rolloutBlock, cfg.Steps-done)
		for i := 0; i < w.n; i++ {
			switch {
			case cartpole && w.policies == 0:
				w.cartPoleRandom(i, steps)
			case cartpole:
				w.cartPoleMLP(i, steps)
			default:
				w.generic(i, steps)
			}
		}
	}
	return nil
}

// generic steps environment i of the chunk steps times through the Env
// interface.
func (w *rolloutWorker) generic(i, steps int) {
	cfg, spec := w.cfg, w.spec
	sd := spec.StateDim
	s := w.state[i*sd : (i+1)*sd]
	envWord := uint32(w.first+i) + cfg.EnvBase
	var params []float32
	if w.policies > 0 {
		p := (w.first + i) % w.policies
		params = cfg.Params[p*w.np : (p+1)*w.np]
	}
	ep, t, auto, ret, eps := w.ep[i], w.t[i], w.auto[i], w.ret[i], w.eps[i]
	maxSteps := uint32(spec.MaxSteps)
	var blk [4]uint32
	have := false // blk holds the block of step t
	for n := 0; n < steps; n++ {
		if auto {
			ep++
			t, auto, have = 0, false, false
			cfg.Env.Reset(s, ResetBlock(cfg.Seed, envWord, ep))
			continue
		}
		if params != nil {
			cfg.Env.Observe(s, w.obs)
			for j, v := range w.obs {
				w.obs2[j] = float32(v)
			}
			cfg.MLP.forward32(params, w.obs2, w.y, w.buf)
			actionOf(spec, w.y, w.act)
		} else if spec.Actions > 0 && spec.ActDim == 1 {
			if !have || t&3 == 0 {
				blk = Philox4x32([4]uint32{envWord, ep, t / 4, StreamAction}, PhiloxKey(cfg.Seed))
				have = true
			}
			w.act[0] = float64(Choice(blk[t&3], spec.Actions))
		} else {
			RandomAction(spec, cfg.Seed, envWord, ep, t, w.act)
		}
		r, term := cfg.Env.Step(s, w.act)
		ret += r
		t++
		if term || t >= maxSteps {
			eps++
			if cfg.Mode == NextStep {
				auto = true
			} else {
				ep++
				t, have = 0, false
				cfg.Env.Reset(s, ResetBlock(cfg.Seed, envWord, ep))
			}
		}
	}
	w.ep[i], w.t[i], w.auto[i], w.ret[i], w.eps[i] = ep, t, auto, ret, eps
}

// cartPoleRandom is generic for CartPole with random actions, the state in
// four locals.
func (w *rolloutWorker) cartPoleRandom(i, steps int) {
	cfg := w.cfg
	st := w.state[i*4 : i*4+4 : i*4+4]
	x, xd, th, thd := st[0], st[1], st[2], st[3]
	envWord := uint32(w.first+i) + cfg.EnvBase
	key := PhiloxKey(cfg.Seed)
	ep, t, auto, ret, eps := w.ep[i], w.t[i], w.auto[i], w.ret[i], w.eps[i]
	const maxSteps = 500
	var blk [4]uint32
	have := false
	sameStep := cfg.Mode == SameStep
	for n := 0; n < steps; n++ {
		if auto {
			ep++
			t, auto, have = 0, false, false
			x, xd, th, thd = cartPoleReset(ResetBlock(cfg.Seed, envWord, ep))
			continue
		}
		if !have || t&3 == 0 {
			blk = Philox4x32([4]uint32{envWord, ep, t / 4, StreamAction}, key)
			have = true
		}
		right := blk[t&3]>>31 != 0 // Choice(w, 2) is the top bit
		var term bool
		x, xd, th, thd, term = cartPoleStep4(x, xd, th, thd, right)
		ret++
		t++
		if term || t >= maxSteps {
			eps++
			if sameStep {
				ep++
				t, have = 0, false
				x, xd, th, thd = cartPoleReset(ResetBlock(cfg.Seed, envWord, ep))
			} else {
				auto = true
			}
		}
	}
	st[0], st[1], st[2], st[3] = x, xd, th, thd
	w.ep[i], w.t[i], w.auto[i], w.ret[i], w.eps[i] = ep, t, auto, ret, eps
}

// cartPoleMLP is generic for CartPole with an MLP.
func (w *rolloutWorker) cartPoleMLP(i, steps int) {
	cfg := w.cfg
	st := w.state[i*4 : i*4+4 : i*4+4]
	x, xd, th, thd := st[0], st[1], st[2], st[3]
	envWord := uint32(w.first+i) + cfg.EnvBase
	p := (w.first + i) % w.policies
	params := cfg.Params[p*w.np : (p+1)*w.np]
	m, obs, y, buf := cfg.MLP, w.obs2[:4], w.y[:2], w.buf
	ep, t, auto, ret, eps := w.ep[i], w.t[i], w.auto[i], w.ret[i], w.eps[i]
	const maxSteps = 500
	sameStep := cfg.Mode == SameStep
	for n := 0; n < steps; n++ {
		if auto {
			ep++
			t, auto = 0, false
			x, xd, th, thd = cartPoleReset(ResetBlock(cfg.Seed, envWord, ep))
			continue
		}
		obs[0], obs[1], obs[2], obs[3] = float32(x), float32(xd), float32(th), float32(thd)
		m.forward32(params, obs, y, buf)
		var term bool
		x, xd, th, thd, term = cartPoleStep4(x, xd, th, thd, y[1] > y[0])
		ret++
		t++
		if term || t >= maxSteps {
			eps++
			if sameStep {
				ep++
				t = 0
				x, xd, th, thd = cartPoleReset(ResetBlock(cfg.Seed, envWord, ep))
			} else {
				auto = true
			}
		}
	}
	st[0], st[1], st[2], st[3] = x, xd, th, thd
	w.ep[i], w.t[i], w.auto[i], w.ret[i], w.eps[i] = ep, t, auto, ret, eps
}
