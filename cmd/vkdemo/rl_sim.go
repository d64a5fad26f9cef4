package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
)

// rlPolicy is a trained policy read from a checkpoint: its environment,
// network and center θ.
type rlPolicy struct {
	path  string
	env   string
	mlp   rl.MLP
	theta []float64
	ckpt  *rl.Checkpoint
}

// loadRLPolicy reads the checkpoint file p (an `rl train` output:
// OUT/seed-N/checkpoint.ckpt). A missing or malformed file is a usage
// error naming it.
func loadRLPolicy(x io.Io, p string) (*rlPolicy, error) {
	if fi, err := io.Cwd().Stat(x, p); err == nil && fi.IsDir() {
		return nil, usageErrorf("--checkpoint %s: a folder; want a checkpoint file (e.g. %s)", p, filepath.Join(p, "seed-0", "checkpoint.ckpt"))
	}
	c, err := rl.ReadCheckpoint(x, io.Cwd(), p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usageErrorf("--checkpoint %s: no such file", p)
		}
		if errors.Is(err, rl.ErrInvalid) {
			return nil, usageErrorf("--checkpoint %s: %v", p, err)
		}
		return nil, fmt.Errorf("--checkpoint %s: %w", p, err)
	}
	return &rlPolicy{path: p, env: c.Config.Env, mlp: c.Config.Policy, theta: c.Theta, ckpt: c}, nil
}

// params returns θ rounded to float32, as the evaluators play it.
func (p *rlPolicy) params() []float32 {
	out := make([]float32, len(p.theta))
	for i, v := range p.theta {
		out[i] = float32(v)
	}
	return out
}

// renderSim is what rl render draws: environments stepping on the GPU
// (rl.GPUVecEnv) or on the CPU (rl.VecEnv, the Go reference).
type renderSim interface {
	// states returns every environment's state, float32,
	// environment-major (StateDim values each).
	states(x io.Io) ([]float32, error)
	// step advances every environment by one step.
	step(x io.Io) error
	// describe says what drives the environments, for the first line.
	describe() string
	// episodesEnded counts the episodes that ended so far.
	episodesEnded() int
	close() error
}

// newRenderSim makes c's environments: on d (--sim gpu) or on the Go
// reference (--sim cpu), driven by pol's policy or by random actions.
func newRenderSim(x io.Io, d *gpu.Device, c rlRenderConfig, pol *rlPolicy) (renderSim, error) {
	env, err := rl.Lookup(c.env)
	if err != nil {
		return nil, usageErrorf("--env %s: %v", c.env, err)
	}
	spec := env.Spec()
	what := fmt.Sprintf("random actions (seed %d)", c.seed)
	if pol != nil {
		what = fmt.Sprintf("policy %v %s of %s", pol.mlp.Sizes, pol.mlp.Act, pol.path)
	}
	if c.sim == "cpu" {
		v, err := rl.NewVecEnv(rl.VecConfig{Env: env, N: c.envs, Seed: c.seed, Mode: c.autoreset})
		if err != nil {
			return nil, err
		}
		s := &vecSim{v: v, what: what + ", stepped by the Go reference", buf: make([]float32, c.envs*spec.StateDim)}
		if pol != nil {
			// The float32 forward pass, as the GPU computes it.
			if s.pol, err = rl.NewPolicy32(spec, pol.mlp, pol.params()); err != nil {
				return nil, usageErrorf("--checkpoint %s: %v", pol.path, err)
			}
		}
		return s, nil
	}
	opts := &rl.GPUVecOptions{Seed: c.seed, Autoreset: c.autoreset, Policy: rl.RandomPolicy}
	if pol != nil {
		opts.Policy, opts.MLP, opts.Params, opts.Members = rl.MLPPolicy, pol.mlp, pol.params(), 1
	}
	v, err := rl.NewGPUVecEnv(x, d, c.env, c.envs, opts)
	if err != nil {
		if errors.Is(err, rl.ErrInvalid) && pol != nil {
			return nil, usageErrorf("--checkpoint %s: %v", pol.path, err)
		}
		return nil, err
	}
	return &gpuSim{v: v, what: what + ", stepped on the GPU", dim: spec.StateDim, buf: make([]float32, c.envs*spec.StateDim)}, nil
}

// gpuSim is a renderSim on rl.GPUVecEnv: one dispatch per step, the states
// read back for the renderer.
type gpuSim struct {
	v     *rl.GPUVecEnv
	what  string
	dim   int
	buf   []float32
	ended int
}

func (s *gpuSim) states(x io.Io) ([]float32, error) {
	st, err := s.v.State(x)
	if err != nil {
		return nil, err
	}
	// The GPU keeps four state words per environment.
	for e := 0; e < s.v.Len(); e++ {
		copy(s.buf[e*s.dim:(e+1)*s.dim], st.State[e*4:e*4+s.dim])
	}
	return s.buf, nil
}

func (s *gpuSim) step(x io.Io) error {
	// One step's dispatch is short: it is awaited whole (a canceled wait
	// would leave GPU work behind), cancellation is checked around it.
	if err := s.v.Run(x.WithoutCancel(), 1, 1); err != nil {
		return err
	}
	st, err := s.v.State(x.WithoutCancel())
	if err != nil {
		return err
	}
	for e := range st.Terminated {
		if st.Terminated[e] || st.Truncated[e] {
			s.ended++
		}
	}
	return nil
}

func (s *gpuSim) describe() string   { return s.what }
func (s *gpuSim) episodesEnded() int { return s.ended }
func (s *gpuSim) close() error       { return s.v.Close() }

// vecSim is a renderSim on the Go reference's rl.VecEnv: random actions, or
// a policy's.
type vecSim struct {
	v     *rl.VecEnv
	pol   *rl.Policy32
	what  string
	buf   []float32
	ended int
}

func (s *vecSim) states(io.Io) ([]float32, error) {
	dim := s.v.Spec().StateDim
	for e := 0; e < s.v.N(); e++ {
		for i, x := range s.v.State(e) {
			s.buf[e*dim+i] = float32(x)
		}
	}
	return s.buf, nil
}

func (s *vecSim) step(io.Io) error {
	if s.pol != nil {
		if err := s.v.StepPolicy32(s.pol); err != nil {
			return err
		}
	} else {
		s.v.StepRandom()
	}
	term, trunc := s.v.Terminated(), s.v.Truncated()
	for e := range term {
		if term[e] || trunc[e] {
			s.ended++
		}
	}
	return nil
}

func (s *vecSim) describe() string   { return s.what }
func (s *vecSim) episodesEnded() int { return s.ended }
func (s *vecSim) close() error       { return nil }
