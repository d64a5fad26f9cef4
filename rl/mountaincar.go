package rl

import "math"

// MountainCarContinuous is MountainCarContinuous-v0, the float64
// reference of Gymnasium's
// gymnasium/envs/classic_control/continuous_mountain_car.py
// (Continuous_MountainCarEnv, goal_velocity 0) at commit
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, time limit 999
// (gymnasium/envs/__init__.py).
//
// State layout (StateDim 2), also its observation: s[0] position, s[1]
// velocity.
//
// Dynamics, in Gymnasium's order: force = min(max(a[0], -1), 1);
// velocity += force*0.0015 - 0.0025*cos(3*position), clipped to
// [-0.07, 0.07]; position += velocity, clipped to [-1.2, 0.6]; if
// position == -1.2 and velocity < 0, velocity = 0. The step terminates
// when position >= 0.45 and velocity >= 0; its reward is 100 if it
// terminates, minus 0.1*a[0]^2 of the UNCLIPPED action, as Gymnasium's
// math.pow(action[0], 2) * 0.1. Gymnasium stores the new state as
// float32 (np.array(..., dtype=np.float32)) after testing termination on
// the float64 values; so does Step. Reset: position uniform in
// [-0.6, -0.4) from the reset block's word 0, velocity 0.
type MountainCarContinuous struct{}

var (
	mcMinAction   = -1.0
	mcMaxAction   = 1.0
	mcMinPosition = -1.2
	mcMaxPosition = 0.6
	mcMaxSpeed    = 0.07
	mcGoal        = 0.45
	mcPower       = 0.0015
	mountainSpec  = EnvSpec{Name: "MountainCarContinuous-v0", StateDim: 2, ObsDim: 2, ActDim: 1, ActHigh: 1, MaxSteps: 999}
)

// Spec returns MountainCarContinuous-v0's facts.
func (MountainCarContinuous) Spec() EnvSpec { return mountainSpec }

// Reset draws the position uniform in [-0.6, -0.4) from word 0; the
// velocity is 0.
func (MountainCarContinuous) Reset(s []float64, block [4]uint32) {
	_ = s[1]
	s[0] = UniformIn(block[0], -0.6, -0.4)
	s[1] = 0
}

// Step applies force a[0] (clipped to [-1, 1]) and returns the reward
// (100 on reaching the goal, minus 0.1*a[0]^2) and whether the car
// reached the goal.
func (MountainCarContinuous) Step(s []float64, a []float64) (float64, bool) {
	return mountainCarStep(s, a[0])
}

func mountainCarStep(s []float64, action float64) (float64, bool) {
	_ = s[1]
	position, velocity := s[0], s[1]
	force := math.Min(math.Max(action, mcMinAction), mcMaxAction)
	velocity += force*mcPower - 0.0025*math.Cos(3*position)
	if velocity > mcMaxSpeed {
		velocity = mcMaxSpeed
	}
	if velocity < -mcMaxSpeed {
		velocity = -mcMaxSpeed
	}
	position += velocity
	if position > mcMaxPosition {
		position = mcMaxPosition
	}
	if position < mcMinPosition {
		position = mcMinPosition
	}
	if position == mcMinPosition && velocity < 0 {
		velocity = 0
	}
	terminated := position >= mcGoal && velocity >= 0
	reward := 0.0
	if terminated {
		reward = 100.0
	}
	reward -= action * action * 0.1
	s[0] = float64(float32(position))
	s[1] = float64(float32(velocity))
	return reward, terminated
}

// Observe copies the state: position, velocity.
func (MountainCarContinuous) Observe(s []float64, obs []float64) {
	copy(obs[:2], s[:2])
}
