package rl

import "strings"

// registry lists the environments in Envs' order.
var registry = []struct {
	env       Env
	threshold float64 // Gymnasium's reward_threshold, when ok
	ok        bool
}{
	{CartPole{}, 475, true},
	{Acrobot{}, -100, true},
	{Pendulum{}, 0, false},
	{MountainCarContinuous{}, 90, true},
}

// Envs returns the names of the known environments: CartPole-v1,
// Acrobot-v1, Pendulum-v1, MountainCarContinuous-v0.
func Envs() []string {
	names := make([]string, len(registry))
	for i, r := range registry {
		names[i] = r.env.Spec().Name
	}
	return names
}

// Lookup returns the float64 reference of the environment named name
// (Gymnasium's id, exactly as Envs lists it). An unknown name is an
// error wrapping ErrInvalid that lists the known ones.
func Lookup(name string) (Env, error) {
	for _, r := range registry {
		if r.env.Spec().Name == name {
			return r.env, nil
		}
	}
	return nil, errorf("lookup", "unknown environment %q (known: %s)", name, strings.Join(Envs(), ", "))
}

// RewardThreshold returns Gymnasium's reward_threshold of the environment
// named name (gymnasium/envs/__init__.py: CartPole-v1 475, Acrobot-v1
// -100, MountainCarContinuous-v0 90) and whether it has one (Pendulum-v1
// has none).
func RewardThreshold(name string) (float64, bool) {
	for _, r := range registry {
		if r.env.Spec().Name == name {
			return r.threshold, r.ok
		}
	}
	return 0, false
}

// checkEnv reports whether env's spec is usable by the runners.
func checkEnv(op string, env Env) (EnvSpec, error) {
	if env == nil {
		return EnvSpec{}, errorf(op, "nil environment")
	}
	s := env.Spec()
	if s.StateDim < 1 || s.ObsDim < 1 || s.ActDim < 1 || s.MaxSteps < 1 || s.Actions < 0 {
		return s, errorf(op, "environment %q has a bad spec %+v", s.Name, s)
	}
	return s, nil
}
