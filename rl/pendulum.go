package rl

import "math"

// Pendulum is Pendulum-v1, the float64 reference of Gymnasium's
// gymnasium/envs/classic_control/pendulum.py (PendulumEnv, g = 10) at
// commit 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, time limit 200
// (gymnasium/envs/__init__.py).
//
// State layout (StateDim 2): s[0] theta (0 is upright), s[1] thetadot.
// Observation (ObsDim 3): cos(theta), sin(theta), thetadot.
//
// Dynamics: max_speed 8, max_torque 2, dt 0.05, g 10, m 1, l 1. A step
// clips the torque u = a[0] to [-2, 2], computes the cost on the
// pre-update state, angle_normalize(theta)^2 + 0.1*thetadot^2 +
// 0.001*u^2 (angle_normalize(x) = ((x + pi) mod 2*pi) - pi, the floored
// modulo of numpy), then semi-implicit Euler: thetadot += (3*g/(2*l) *
// sin(theta) + 3/(m*l^2) * u) * dt, clipped to [-8, 8]; theta +=
// thetadot*dt (theta is not wrapped). The reward is -cost; it never
// terminates (only the time limit ends an episode). Reset: theta uniform
// in [-pi, pi) and thetadot in [-1, 1) from the reset block's words 0 and
// 1.
type Pendulum struct{}

var (
	pdMaxSpeed  = 8.0
	pdMaxTorque = 2.0
	pdDt        = 0.05
	pdG         = 10.0
	pdM         = 1.0
	pdL         = 1.0
	pdGravC     = 3 * pdG / (2 * pdL)     // 3 * g / (2 * l)
	pdTorqueC   = 3.0 / (pdM * pdL * pdL) // 3.0 / (m * l**2)
	pdTwoPi     = 2 * math.Pi
	pendSpec    = EnvSpec{Name: "Pendulum-v1", StateDim: 2, ObsDim: 3, ActDim: 1, ActHigh: 2, MaxSteps: 200}
)

// Spec returns Pendulum-v1's facts.
func (Pendulum) Spec() EnvSpec { return pendSpec }

// Reset draws theta uniform in [-pi, pi) from word 0 and thetadot in
// [-1, 1) from word 1.
func (Pendulum) Reset(s []float64, block [4]uint32) {
	_ = s[1]
	s[0] = UniformIn(block[0], -math.Pi, math.Pi)
	s[1] = UniformIn(block[1], -1, 1)
}

// Step applies torque a[0] (clipped to [-2, 2]) and returns -cost of the
// pre-update state; it never terminates.
func (Pendulum) Step(s []float64, a []float64) (float64, bool) {
	return pendulumStep(s, a[0]), false
}

func pendulumStep(s []float64, u float64) float64 {
	_ = s[1]
	th, thdot := s[0], s[1]
	u = math.Min(math.Max(u, -pdMaxTorque), pdMaxTorque)
	an := angleNormalize(th)
	costs := an*an + 0.1*(thdot*thdot) + 0.001*(u*u)
	newthdot := thdot + (pdGravC*math.Sin(th)+pdTorqueC*u)*pdDt
	newthdot = math.Min(math.Max(newthdot, -pdMaxSpeed), pdMaxSpeed)
	s[0] = th + newthdot*pdDt
	s[1] = newthdot
	return -costs
}

// angleNormalize is Pendulum's ((x + pi) % (2*pi)) - pi with numpy's
// floored modulo.
func angleNormalize(x float64) float64 {
	r := math.Mod(x+math.Pi, pdTwoPi)
	if r < 0 {
		r += pdTwoPi
	} else if r == 0 {
		r = 0 // +0, as numpy's remainder gives the divisor's sign
	}
	return r - math.Pi
}

// Observe writes cos(theta), sin(theta), thetadot.
func (Pendulum) Observe(s []float64, obs []float64) {
	_ = obs[2]
	obs[0] = math.Cos(s[0])
	obs[1] = math.Sin(s[0])
	obs[2] = s[1]
}
