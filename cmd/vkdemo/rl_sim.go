package main

import (
	"errors"
	"fmt"
	"os"

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

// renderSim is what rl render draws: environments stepping on the CPU.
type renderSim interface {
	// states returns every environment's state, float32, environment-major.
	states() []float32
	// step advances every environment by one step.
	step()
	// describe says what drives the environments, for the first line.
	describe() string
	// episodesEnded counts the episodes that ended so far.
	episodesEnded() int
}

// vecSim is a renderSim on the Go reference's rl.VecEnv: random actions, or
// a policy's.
type vecSim struct {
	v     *rl.VecEnv
	pol   *rl.Policy
	what  string
	buf   []float32
	ended int
}

func newRenderSim(c rlRenderConfig, pol *rlPolicy) (renderSim, error) {
	env, err := rl.Lookup(c.env)
	if err != nil {
		return nil, usageErrorf("--env %s: %v", c.env, err)
	}
	v, err := rl.NewVecEnv(rl.VecConfig{Env: env, N: c.envs, Seed: c.seed, Mode: c.autoreset})
	if err != nil {
		return nil, err
	}
	s := &vecSim{v: v, what: fmt.Sprintf("random actions (seed %d)", c.seed), buf: make([]float32, c.envs*env.Spec().StateDim)}
	if pol != nil {
		if s.pol, err = rl.NewPolicy(env.Spec(), pol.mlp, pol.theta); err != nil {
			return nil, usageErrorf("--checkpoint %s: %v", pol.path, err)
		}
		s.what = fmt.Sprintf("policy %v %s from %s", pol.mlp.Sizes, pol.mlp.Act, pol.path)
	}
	return s, nil
}

func (s *vecSim) states() []float32 {
	dim := s.v.Spec().StateDim
	for e := 0; e < s.v.N(); e++ {
		for i, x := range s.v.State(e) {
			s.buf[e*dim+i] = float32(x)
		}
	}
	return s.buf
}

func (s *vecSim) step() {
	if s.pol != nil {
		_ = s.v.StepPolicy(s.pol) // the policy is for this environment (checked)
	} else {
		s.v.StepRandom()
	}
	term, trunc := s.v.Terminated(), s.v.Truncated()
	for e := range term {
		if term[e] || trunc[e] {
			s.ended++
		}
	}
}

func (s *vecSim) describe() string   { return s.what }
func (s *vecSim) episodesEnded() int { return s.ended }
