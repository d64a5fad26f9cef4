package rl

import "math"

// tanh32 is tanh for the float32 forward pass: the rational minimax
// approximation of Eigen's generic_fast_tanh_float (a degree-13 odd
// polynomial over a degree-6 even one) for |x| <= 7.90531110763549805,
// x itself below 0.0004 in magnitude, float32(math.Tanh(x)) between 7.905
// and 9.1, and ±1 beyond (where tanh rounds to ±1 in float32), evaluated in float64 with Horner's rule (each product
// rounded before its sum: no fused multiply-add) and rounded to float32.
// The result is within 6e-8 absolute and 3 float32 ulps of tanh
// (TestTanh32 bounds it; the rational's relative error near 0 is 1.3e-7);
// it is several times faster than math.Tanh. Every float32 forward pass (Policy32, CPUEvaluator,
// CPURollout) uses it, for hidden layers and continuous actions alike.
func tanh32(x32 float32) float32 {
	const (
		clamp = 7.90531110763549805
		tiny  = 0.0004
		a1    = 4.89352455891786e-03
		a3    = 6.37261928875436e-04
		a5    = 1.48572235717979e-05
		a7    = 5.12229709037114e-08
		a9    = -8.60467152213735e-11
		a11   = 2.00018790482477e-13
		a13   = -2.76076847742355e-16
		b0    = 4.89352518554385e-03
		b2    = 2.26843463243900e-03
		b4    = 1.18534705686654e-04
		b6    = 1.19825839466702e-06
	)
	x := float64(x32)
	switch {
	case x < tiny && x > -tiny:
		return x32
	case x >= 9.1:
		return 1
	case x <= -9.1:
		return -1
	case x > clamp || x < -clamp:
		return float32(math.Tanh(x))
	case x != x: // NaN
		return x32
	}
	// Estrin's scheme in y = x^2 (a shorter dependency chain than Horner's).
	y := float64(x * x)
	y2 := float64(y * y)
	y4 := float64(y2 * y2)
	p01 := float64(a3*y) + a1
	p23 := float64(a7*y) + a5
	p45 := float64(a11*y) + a9
	p0123 := float64(p23*y2) + p01
	p456 := float64(a13*y2) + p45
	p := float64(float64(p456*y4)+p0123) * x
	q01 := float64(b2*y) + b0
	q23 := float64(b6*y) + b4
	q := float64(q23*y2) + q01
	return float32(p / q)
}
