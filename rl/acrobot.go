package rl

import "math"

// Acrobot is Acrobot-v1, the float64 reference of Gymnasium's
// gymnasium/envs/classic_control/acrobot.py (AcrobotEnv) at commit
// 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc, time limit 500
// (gymnasium/envs/__init__.py).
//
// State layout (StateDim 4): s[0] theta1, s[1] theta2 (relative to link
// 1), s[2] dtheta1, s[3] dtheta2. Observation (ObsDim 6): cos(theta1),
// sin(theta1), cos(theta2), sin(theta2), dtheta1, dtheta2.
//
// Dynamics: book_or_nips "book", links of length 1 and mass 1, centres of
// mass at 0.5, moments of inertia 1, g 9.8, torques {-1, 0, +1} for
// actions 0, 1, 2 (an index outside 0..2 is clamped into it),
// torque_noise_max 0. One step is Gymnasium's rk4 over t = [0, 0.2]: a
// single classic RK4 step of dt 0.2 on (theta1, theta2, dtheta1, dtheta2)
// with the torque held constant, then theta1 and theta2 wrapped into
// [-pi, pi] (Gymnasium's wrap: subtract or add 2*pi while outside) and
// dtheta1, dtheta2 clipped to [-4*pi, 4*pi] and [-9*pi, 9*pi]. The step
// terminates when -cos(theta1) - cos(theta2 + theta1) > 1; its reward is
// 0 when it terminates and -1 otherwise. Reset: the four values uniform in
// [-0.1, 0.1) from the reset block's words 0..3, rounded to float32 as
// Gymnasium's reset does (.astype(np.float32)).
type Acrobot struct{}

var (
	acDt        = 0.2
	acMaxVel1   = 4 * math.Pi
	acMaxVel2   = 9 * math.Pi
	acTorque    = [3]float64{-1, 0, 1}
	acResetLo   = -0.1
	acResetHi   = 0.1
	acHalfPi    = math.Pi / 2.0
	acrobotSpec = EnvSpec{Name: "Acrobot-v1", StateDim: 4, ObsDim: 6, Actions: 3, ActDim: 1, MaxSteps: 500}
)

// Spec returns Acrobot-v1's facts.
func (Acrobot) Spec() EnvSpec { return acrobotSpec }

// Reset draws theta1, theta2, dtheta1, dtheta2 uniform in [-0.1, 0.1)
// from block's words 0..3, rounded to float32.
func (Acrobot) Reset(s []float64, block [4]uint32) {
	_ = s[3]
	for i := 0; i < 4; i++ {
		s[i] = float64(float32(UniformIn(block[i], acResetLo, acResetHi)))
	}
}

// Step applies torque {-1, 0, +1}[a[0]] for one RK4 step of 0.2 s and
// returns -1, or 0 when the free end rose above the target height (and
// the episode terminated).
func (Acrobot) Step(s []float64, a []float64) (float64, bool) {
	i := 0
	if a[0] >= 2 {
		i = 2
	} else if a[0] >= 1 {
		i = 1
	}
	if acrobotStep(s, acTorque[i]) {
		return 0, true
	}
	return -1, false
}

// acrobotStep advances s by one step under torque and reports termination.
func acrobotStep(s []float64, torque float64) bool {
	_ = s[3]
	y0 := [4]float64{s[0], s[1], s[2], s[3]}
	dt := acDt
	dt2 := dt / 2.0
	k1 := acrobotDsdt(y0, torque)
	k2 := acrobotDsdt(axpy(y0, dt2, k1), torque)
	k3 := acrobotDsdt(axpy(y0, dt2, k2), torque)
	k4 := acrobotDsdt(axpy(y0, dt, k3), torque)
	var ns [4]float64
	for i := range ns {
		// y0 + dt/6.0 * (k1 + 2*k2 + 2*k3 + k4), in numpy's order.
		ns[i] = y0[i] + dt/6.0*(((k1[i]+2*k2[i])+2*k3[i])+k4[i])
	}
	s[0] = wrapAngle(ns[0])
	s[1] = wrapAngle(ns[1])
	s[2] = math.Min(math.Max(ns[2], -acMaxVel1), acMaxVel1)
	s[3] = math.Min(math.Max(ns[3], -acMaxVel2), acMaxVel2)
	return -math.Cos(s[0])-math.Cos(s[1]+s[0]) > 1.0
}

func axpy(y [4]float64, h float64, k [4]float64) [4]float64 {
	return [4]float64{y[0] + h*k[0], y[1] + h*k[1], y[2] + h*k[2], y[3] + h*k[3]}
}

// The "book" dynamics' coefficients, computed in float64 in Gymnasium's
// order (link masses m1 = m2 = 1, l1 = 1, lc1 = lc2 = 0.5, I1 = I2 = 1,
// g = 9.8). Products of the exact constants are exact; those with g are
// rounded once at run time as Python rounds them.
var (
	acG      = 9.8
	acM1     = 1.0
	acM2     = 1.0
	acL1     = 1.0
	acLc1    = 0.5
	acLc2    = 0.5
	acI      = 1.0
	acPhi2C  = acM2 * acLc2 * acG             // m2 * lc2 * g
	acPhi1C  = (acM1*acLc1 + acM2*acL1) * acG // (m1*lc1 + m2*l1) * g
	acMl1lc2 = acM2 * acL1 * acLc2            // m2 * l1 * lc2
)

// acrobotDsdt is AcrobotEnv._dsdt with the "book" dynamics, in Gymnasium's
// operation order.
func acrobotDsdt(s [4]float64, a float64) [4]float64 {
	theta1, theta2, dtheta1, dtheta2 := s[0], s[1], s[2], s[3]
	cos2 := math.Cos(theta2)
	sin2 := math.Sin(theta2)
	// d1 = m1*lc1**2 + m2*(l1**2 + lc2**2 + 2*l1*lc2*cos(theta2)) + I1 + I2
	d1 := acM1*(acLc1*acLc1) + acM2*(acL1*acL1+acLc2*acLc2+2*acL1*acLc2*cos2) + acI + acI
	// d2 = m2*(lc2**2 + l1*lc2*cos(theta2)) + I2
	d2 := acM2*(acLc2*acLc2+acL1*acLc2*cos2) + acI
	phi2 := acPhi2C * math.Cos(theta1+theta2-acHalfPi)
	phi1 := -acMl1lc2*(dtheta2*dtheta2)*sin2 -
		2*acMl1lc2*dtheta2*dtheta1*sin2 +
		acPhi1C*math.Cos(theta1-acHalfPi) +
		phi2
	ddtheta2 := (a + d2/d1*phi1 - acMl1lc2*(dtheta1*dtheta1)*sin2 - phi2) /
		(acM2*(acLc2*acLc2) + acI - (d2*d2)/d1)
	ddtheta1 := -(d2*ddtheta2 + phi1) / d1
	return [4]float64{dtheta1, dtheta2, ddtheta1, ddtheta2}
}

// wrapAngle is Gymnasium's wrap(x, -pi, pi): subtract or add 2*pi while x
// is above pi or below -pi. After a bounded number of turns (never reached
// by clipped dynamics) it falls back to a remainder; NaN and infinities
// come back NaN.
func wrapAngle(x float64) float64 {
	const m, M = -math.Pi, math.Pi
	diff := M - m
	if math.IsInf(x, 0) {
		return math.NaN()
	}
	if x > 64 || x < -64 {
		x = math.Mod(x, diff)
	}
	for x > M {
		x = x - diff
	}
	for x < m {
		x = x + diff
	}
	return x
}

// Observe writes cos(theta1), sin(theta1), cos(theta2), sin(theta2),
// dtheta1, dtheta2.
func (Acrobot) Observe(s []float64, obs []float64) {
	_ = obs[5]
	obs[0] = math.Cos(s[0])
	obs[1] = math.Sin(s[0])
	obs[2] = math.Cos(s[1])
	obs[3] = math.Sin(s[1])
	obs[4] = s[2]
	obs[5] = s[3]
}
