package rl

import "math"

// CartPole is CartPole-v1, the float64 reference of Gymnasium's
// gymnasium/envs/classic_control/cartpole.py (CartPoleEnv) at commit
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, time limit 500
// (gymnasium/envs/__init__.py).
//
// State layout (StateDim 4), also its observation: s[0] x (cart
// position), s[1] x_dot, s[2] theta (pole angle), s[3] theta_dot.
//
// Dynamics: gravity 9.8, cart mass 1.0, pole mass 0.1, half length 0.5,
// force 10 (action 1 pushes right, any other action left), tau 0.02,
// kinematics_integrator "euler" (positions advance with the old
// velocities). The step terminates when |x| > 2.4 or |theta| > 12*2*pi/360
// (strict inequalities on the new state); every step, the terminating one
// included, rewards 1. Reset: the four state values uniform in
// [-0.05, 0.05) from the reset block's words 0..3.
//
// The constants are computed as Gymnasium's Python computes them (float64
// operations in its order), not folded as exact Go constants.
type CartPole struct{}

var (
	cpGravity     = 9.8
	cpMassCart    = 1.0
	cpMassPole    = 0.1
	cpTotalMass   = cpMassPole + cpMassCart
	cpLength      = 0.5
	cpPoleMassLen = cpMassPole * cpLength
	cpForceMag    = 10.0
	cpTau         = 0.02
	cpFourThirds  = 4.0 / 3.0
	cpThetaLimit  = twelve * two * math.Pi / 360
	cpXLimit      = 2.4
	twelve, two   = 12.0, 2.0
	cpResetLo     = -0.05
	cpResetHi     = 0.05
	cartPoleSpec  = EnvSpec{Name: "CartPole-v1", StateDim: 4, ObsDim: 4, Actions: 2, ActDim: 1, MaxSteps: 500}
)

// Spec returns CartPole-v1's facts.
func (CartPole) Spec() EnvSpec { return cartPoleSpec }

// Reset draws x, x_dot, theta, theta_dot uniform in [-0.05, 0.05) from
// block's words 0..3.
func (CartPole) Reset(s []float64, block [4]uint32) {
	_ = s[3]
	s[0], s[1], s[2], s[3] = cartPoleReset(block)
}

func cartPoleReset(block [4]uint32) (x, xDot, theta, thetaDot float64) {
	return UniformIn(block[0], cpResetLo, cpResetHi), UniformIn(block[1], cpResetLo, cpResetHi),
		UniformIn(block[2], cpResetLo, cpResetHi), UniformIn(block[3], cpResetLo, cpResetHi)
}

// Step applies action a[0] (1: push right, otherwise left) for one Euler
// step and returns reward 1 and whether the pole fell or the cart left
// the track.
func (CartPole) Step(s []float64, a []float64) (float64, bool) {
	_ = s[3]
	var term bool
	s[0], s[1], s[2], s[3], term = cartPoleStep4(s[0], s[1], s[2], s[3], a[0] == 1)
	return 1, term
}

// cartPoleStep4 is CartPole's step on the state's four values, in
// Gymnasium's operation order.
func cartPoleStep4(x, xDot, theta, thetaDot float64, right bool) (float64, float64, float64, float64, bool) {
	force := -cpForceMag
	if right {
		force = cpForceMag
	}
	cosT := math.Cos(theta)
	sinT := math.Sin(theta)
	temp := (force + cpPoleMassLen*(thetaDot*thetaDot)*sinT) / cpTotalMass
	thetaAcc := (cpGravity*sinT - cosT*temp) / (cpLength * (cpFourThirds - cpMassPole*(cosT*cosT)/cpTotalMass))
	xAcc := temp - cpPoleMassLen*thetaAcc*cosT/cpTotalMass
	x = x + cpTau*xDot
	xDot = xDot + cpTau*xAcc
	theta = theta + cpTau*thetaDot
	thetaDot = thetaDot + cpTau*thetaAcc
	term := x < -cpXLimit || x > cpXLimit || theta < -cpThetaLimit || theta > cpThetaLimit
	return x, xDot, theta, thetaDot, term
}

// Observe copies the state: x, x_dot, theta, theta_dot.
func (CartPole) Observe(s []float64, obs []float64) {
	copy(obs[:4], s[:4])
}
