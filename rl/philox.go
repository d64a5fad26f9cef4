package rl

import "math/bits"

// Philox4x32-10's multipliers and Weyl key increments (Random123's
// PHILOX_M4x32_0/1 and PHILOX_W32_0/1).
const (
	PhiloxM0 = 0xD2511F53
	PhiloxM1 = 0xCD9E8D57
	PhiloxW0 = 0x9E3779B9
	PhiloxW1 = 0xBB67AE85
)

// PhiloxRounds is the number of rounds of the package's Philox4x32.
const PhiloxRounds = 10

// Philox4x32 returns the Philox4x32-10 block of ctr under key, as
// Random123's philox4x32 with 10 rounds: each round multiplies ctr[0] by
// M0 and ctr[2] by M1 into 64-bit products and sets
//
//	ctr = {hi(M1*ctr[2]) ^ ctr[1] ^ key[0], lo(M1*ctr[2]),
//	       hi(M0*ctr[0]) ^ ctr[3] ^ key[1], lo(M0*ctr[0])}
//
// and the key grows by {W0, W1} between rounds. The shaders compute the
// same function with umulExtended.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	for r := 0; r < PhiloxRounds; r++ {
		if r > 0 {
			k0 += PhiloxW0
			k1 += PhiloxW1
		}
		hi0, lo0 := bits.Mul32(PhiloxM0, c0)
		hi1, lo1 := bits.Mul32(PhiloxM1, c2)
		c0, c1, c2, c3 = hi1^c1^k0, lo1, hi0^c3^k1, lo0
	}
	return [4]uint32{c0, c1, c2, c3}
}

// PhiloxKey returns the key of a run's seed: {low 32 bits, high 32 bits}.
func PhiloxKey(seed uint64) [2]uint32 {
	return [2]uint32{uint32(seed), uint32(seed >> 32)}
}

// ResetBlock returns the reset block of environment env's episode episode:
// the Philox block at {env, episode, ResetStep, StreamReset} keyed by
// seed. Env.Reset draws its uniforms from the block's words in order.
func ResetBlock(seed uint64, env, episode uint32) [4]uint32 {
	return Philox4x32([4]uint32{env, episode, ResetStep, StreamReset}, PhiloxKey(seed))
}

// ActionWord returns the random-action word of step step of environment
// env's episode episode: word step%4 of the block at
// {env, episode, step/4, StreamAction} keyed by seed.
func ActionWord(seed uint64, env, episode, step uint32) uint32 {
	return Philox4x32([4]uint32{env, episode, step / 4, StreamAction}, PhiloxKey(seed))[step%4]
}

// Uniform returns the uniform in [0, 1) of a word: float(w>>8) * 2^-24
// (exact in float32 and float64 alike).
func Uniform(w uint32) float64 {
	return float64(w>>8) * (1.0 / (1 << 24))
}

// UniformIn returns lo + (hi-lo)*Uniform(w), a uniform in [lo, hi).
func UniformIn(w uint32, lo, hi float64) float64 {
	return lo + (hi-lo)*Uniform(w)
}

// Choice returns a discrete choice among n (0 <= n <= 256) from a word:
// ((w>>8)*n)>>24, in [0, n). The product fits 32 bits for n <= 256, so the
// shaders compute it in uint; Go computes it in 64 bits (the same value)
// and returns 0 for n < 1.
func Choice(w uint32, n int) int {
	if n < 1 {
		return 0
	}
	return int((uint64(w>>8) * uint64(n)) >> 24)
}
