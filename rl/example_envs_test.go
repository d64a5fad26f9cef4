package rl_test

import (
	"fmt"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/rl"
)

// Stepping one CartPole by hand: the reset block of (environment 0,
// episode 0) under seed 1, then one push to the right.
func ExampleLookup() {
	env, err := rl.Lookup("CartPole-v1")
	if err != nil {
		panic(err)
	}
	spec := env.Spec()
	s := make([]float64, spec.StateDim)
	env.Reset(s, rl.ResetBlock(1, 0, 0))
	r, terminated := env.Step(s, []float64{1})
	fmt.Println(spec.Name, spec.MaxSteps, r, terminated)
	_, err = rl.Lookup("CartPole-v0")
	fmt.Println(err)
	// Output:
	// CartPole-v1 500 1 false
	// rl: lookup: unknown environment "CartPole-v0" (known: CartPole-v1, Acrobot-v1, Pendulum-v1, MountainCarContinuous-v0)
}

// A vector of 8 CartPoles with random actions and next-step autoreset.
func ExampleVecEnv() {
	v, err := rl.NewVecEnv(rl.VecConfig{Env: rl.CartPole{}, N: 8, Seed: 42})
	if err != nil {
		panic(err)
	}
	ended := 0
	for i := 0; i < 1000; i++ {
		v.StepRandom()
		for e := range v.N() {
			if v.Terminated()[e] || v.Truncated()[e] {
				ended++
			}
		}
	}
	fmt.Println(ended > 100, v.Steps() < 8000)
	// Output: true true
}

// The CPU baseline: 256 CartPoles stepped 1000 times each with random
// actions on all cores.
func ExampleCPURollout() {
	r, err := rl.CPURollout(io.NewBlocking().Io(), rl.RolloutConfig{Env: rl.CartPole{}, Envs: 256, Steps: 1000, Seed: 7, Mode: rl.SameStep})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Steps, r.Return == float64(r.Steps), r.Episodes > 0)
	// Output: 256000 true true
}
