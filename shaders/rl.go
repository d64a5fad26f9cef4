package shaders

import (
	_ "embed"
	"slices"
)

// The reinforcement-learning kernels (package rl drives them). Each
// rl_<env>.comp defines one Gymnasium environment and includes
// rl_runner.glsl, the common runner: one invocation per environment slot,
// any number of steps per dispatch, a random, external or MLP policy, both
// autoreset modes, trajectory recording and episode summaries. Bindings
// (set 0): 0 slots (uint[32 per slot]), 1 MLP parameters (a 64 KiB
// uniform buffer, vec4[4096]: one chunk of members), 2 external actions
// (float[steps][n]), 3 episode summaries (uint[4 per episode]), 4
// trajectory record (uint[]), 5 configuration (uint[16]). Push constants:
// {uint steps, slot0, slotEnd, member0}: the steps and the slots
// [slot0, slotEnd) of the dispatch, the first member of binding 1.
// Specialization constants: 0 local size x
// (default 64), 1 hidden layers (0..2, default 1), 2 and 3 hidden widths
// (<= 64, default 32), 4 activation (0 tanh, 1 relu), 5 policy (0 random,
// 1 external, 2 MLP; default 0), 6 recording (bool, default true).
// rl/gpu_set.go documents the buffers' layouts.

//go:embed rl_cartpole.spv
var rlCartPoleSPV []byte

// RLCartPole returns the CartPole-v1 runner kernel (float32 explicit Euler,
// Gymnasium's constants). Each call returns a fresh copy of the SPIR-V.
func RLCartPole() []byte { return slices.Clone(rlCartPoleSPV) }

//go:embed rl_acrobot.spv
var rlAcrobotSPV []byte

// RLAcrobot returns the Acrobot-v1 runner kernel (float32 RK4, "book"
// dynamics). Each call returns a fresh copy of the SPIR-V.
func RLAcrobot() []byte { return slices.Clone(rlAcrobotSPV) }

//go:embed rl_pendulum.spv
var rlPendulumSPV []byte

// RLPendulum returns the Pendulum-v1 runner kernel (float32 semi-implicit
// Euler, cost of the pre-update state). Each call returns a fresh copy of
// the SPIR-V.
func RLPendulum() []byte { return slices.Clone(rlPendulumSPV) }

//go:embed rl_mountaincar.spv
var rlMountainCarSPV []byte

// RLMountainCar returns the MountainCarContinuous-v0 runner kernel
// (float32, Gymnasium's clipping rules). Each call returns a fresh copy of
// the SPIR-V.
func RLMountainCar() []byte { return slices.Clone(rlMountainCarSPV) }

//go:embed rl_philox_kat.spv
var rlPhiloxKATSPV []byte

// RLPhiloxKAT returns the kernel that checks the shaders' Philox4x32-10:
// out[i] = philox(ctr[i], key[i]) for i < n. Binding 0 in (uvec4 pairs
// {ctr}, {key.x, key.y, 0, 0}, read-only), binding 1 out (uvec4). Push
// constants: {uint n}. Local size: specialization constant 0 (default 64).
// Each call returns a fresh copy of the SPIR-V.
func RLPhiloxKAT() []byte { return slices.Clone(rlPhiloxKATSPV) }
