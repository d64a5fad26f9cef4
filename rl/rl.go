// Package rl is the reinforcement-learning room of vkio: Gymnasium's
// classic-control environments vectorized in compute shaders (many
// environments, many steps per dispatch), their float64 Go references (the
// tests' oracle and the CPU baseline), a counter-based RNG shared by Go and
// the shaders (Philox4x32-10), MLP policies evaluated on the GPU for a whole
// population at once, and OpenAI-style evolution strategies whose update
// runs on the CPU in float64, in a fixed order, so that a run never depends
// on the GPU's reduction order.
//
// Everything goes through one io.Io: GPU submissions, fence waits, saves
// of statistics, trajectories and checkpoints, so that the scheduler can
// overlap one run's evaluation with another's update and writes.
//
// # Random numbers
//
// Every random number is a Philox4x32-10 block keyed by the run's seed
// (key = {low 32 bits, high 32 bits}) at a counter
// {environment, episode, step, stream}. Nothing depends on batch size,
// workgroup size or steps per dispatch:
//
//   - reset of (environment e, episode k): counter {e, k, ResetStep, StreamReset};
//     its four words give up to four uniforms, in order;
//   - random action at step t of (e, k): word t%4 of the block at
//     {e, k, t/4, StreamAction};
//   - a uniform from a word w is float(w>>8) * 2^-24, in [0, 1), and a value
//     in [lo, hi) is lo + (hi-lo)*u; a discrete choice among n is
//     ((w>>8)*n)>>24.
package rl

import (
	"errors"
	"fmt"
)

// Counter words and streams of the RNG layout (see the package doc).
const (
	// ResetStep is the step word of a reset's counter.
	ResetStep = 0xFFFFFFFF
	// StreamReset is the stream of reset distributions.
	StreamReset = 0
	// StreamAction is the stream of random actions.
	StreamAction = 1
)

// EnvSpec is what an environment is, in the numbers a vectorized runner
// needs.
type EnvSpec struct {
	// Name is Gymnasium's id, e.g. "CartPole-v1".
	Name string
	// StateDim is the number of float state variables (CartPole 4,
	// Acrobot 4, Pendulum 2, MountainCarContinuous 2).
	StateDim int
	// ObsDim is the observation's length (CartPole 4, Acrobot 6,
	// Pendulum 3, MountainCarContinuous 2).
	ObsDim int
	// Actions is the number of discrete actions; 0 for a continuous
	// action space.
	Actions int
	// ActDim is the continuous action's length (1 for Pendulum and
	// MountainCarContinuous); 1 for discrete spaces (the action index).
	ActDim int
	// ActHigh bounds a continuous action to [-ActHigh, ActHigh] (Pendulum
	// 2, MountainCarContinuous 1); 0 for discrete spaces.
	ActHigh float64
	// MaxSteps is the time limit (Gymnasium's max_episode_steps): an
	// episode that reaches it is truncated.
	MaxSteps int
}

// Env is an environment's float64 reference implementation: the oracle of
// the shader tests and the CPU baseline. It keeps no state of its own:
// state lives in s (StateDim values), so one Env serves any number of
// environments.
type Env interface {
	// Spec returns the environment's facts.
	Spec() EnvSpec
	// Reset writes a fresh state into s from the reset block (the four
	// words of the counter {e, k, ResetStep, StreamReset}).
	Reset(s []float64, block [4]uint32)
	// Step advances s by one step under action a (discrete: a[0] is the
	// action index) and returns the reward and whether the episode
	// terminated. Truncation by the time limit is the caller's.
	Step(s []float64, a []float64) (reward float64, terminated bool)
	// Observe writes the observation of s into obs (ObsDim values).
	Observe(s []float64, obs []float64)
}

// AutoresetMode is how a vector of environments resets the ones whose
// episode ended, as in Gymnasium 1.x's gymnasium.vector.AutoresetMode.
type AutoresetMode int

const (
	// NextStep (Gymnasium's default): the step that ends an episode
	// returns its terminal observation; the next step of that environment
	// ignores its action, resets it, and returns the reset observation
	// with reward 0 and terminated = truncated = false.
	NextStep AutoresetMode = iota
	// SameStep: the step that ends an episode resets the environment at
	// once and returns the reset observation, beside the terminal one
	// (Gymnasium's info["final_obs"]); reward and flags are the terminal
	// step's.
	SameStep
)

// String returns "next-step" or "same-step".
func (m AutoresetMode) String() string {
	switch m {
	case NextStep:
		return "next-step"
	case SameStep:
		return "same-step"
	}
	return fmt.Sprintf("AutoresetMode(%d)", int(m))
}

// Activation is an MLP's hidden-layer nonlinearity.
type Activation int

const (
	// Tanh is tanh(x).
	Tanh Activation = iota
	// ReLU is max(x, 0).
	ReLU
)

// String returns "tanh" or "relu".
func (a Activation) String() string {
	switch a {
	case Tanh:
		return "tanh"
	case ReLU:
		return "relu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// MaxHidden bounds the width of an MLP's hidden layer, and MaxLayers the
// number of its hidden layers, as the shaders hold a layer in registers.
const (
	MaxHidden = 64
	MaxLayers = 2
)

// MLP is a policy network: Sizes[0] is the observation's length, the last
// size the number of discrete actions (the action is the first argmax) or
// the continuous action's length (the action is ActHigh*tanh(y)); the
// sizes between are hidden layers with Act applied.
//
// Its parameters are one flat []float32 (or []float64), layer by layer:
// for layer l with n = Sizes[l] inputs and m = Sizes[l+1] outputs, the
// weights W[o*n+i] (row-major, m rows of n) and then the m biases.
type MLP struct {
	Sizes []int
	Act   Activation
}

// NumParams returns the length of m's parameter vector.
func (m MLP) NumParams() int {
	n := 0
	for l := 0; l+1 < len(m.Sizes); l++ {
		n += m.Sizes[l+1]*m.Sizes[l] + m.Sizes[l+1]
	}
	return n
}

// Check reports whether m fits spec and the shaders' limits.
func (m MLP) Check(spec EnvSpec) error {
	out := spec.Actions
	if out == 0 {
		out = spec.ActDim
	}
	switch {
	case len(m.Sizes) < 2:
		return errorf("mlp", "%v: needs at least an input and an output size", m.Sizes)
	case len(m.Sizes)-2 > MaxLayers:
		return errorf("mlp", "%v: %d hidden layers, at most %d", m.Sizes, len(m.Sizes)-2, MaxLayers)
	case m.Sizes[0] != spec.ObsDim:
		return errorf("mlp", "%v: input size %d, %s observes %d values", m.Sizes, m.Sizes[0], spec.Name, spec.ObsDim)
	case m.Sizes[len(m.Sizes)-1] != out:
		return errorf("mlp", "%v: output size %d, %s needs %d", m.Sizes, m.Sizes[len(m.Sizes)-1], spec.Name, out)
	case m.Act != Tanh && m.Act != ReLU:
		return errorf("mlp", "unknown activation %d", int(m.Act))
	}
	for _, h := range m.Sizes[1 : len(m.Sizes)-1] {
		if h < 1 || h > MaxHidden {
			return errorf("mlp", "%v: hidden size %d, want 1 to %d", m.Sizes, h, MaxHidden)
		}
	}
	return nil
}

// ErrInvalid matches every error about a bad argument or configuration.
var ErrInvalid = errors.New("invalid argument")

// Error is the package's error: the operation and what was wrong.
type Error struct {
	Op  string
	Msg string
	Err error // ErrInvalid, or the underlying error
}

// Error returns "rl: OP: MSG".
func (e *Error) Error() string { return "rl: " + e.Op + ": " + e.Msg }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func errorf(op, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}
