package rl

import (
	"math"
	"testing"
)

func TestPhiloxKnownAnswers(t *testing.T) {
	if len(philoxKnownAnswers) != 3 {
		t.Fatalf("%d known answers, want 3", len(philoxKnownAnswers))
	}
	for i, v := range philoxKnownAnswers {
		got := Philox4x32(v[0], [2]uint32{v[1][0], v[1][1]})
		if got != v[2] {
			t.Errorf("vector %d: Philox4x32(%08x, %08x) = %08x, want %08x", i, v[0], v[1][:2], got, v[2])
		}
	}
}

func TestRNGLayout(t *testing.T) {
	const seed = 0x0123456789abcdef
	key := [2]uint32{0x89abcdef, 0x01234567}
	if PhiloxKey(seed) != key {
		t.Fatalf("PhiloxKey = %08x, want %08x", PhiloxKey(seed), key)
	}
	if got, want := ResetBlock(seed, 7, 3), Philox4x32([4]uint32{7, 3, 0xFFFFFFFF, 0}, key); got != want {
		t.Errorf("ResetBlock = %08x, want %08x", got, want)
	}
	for step := uint32(0); step < 9; step++ {
		want := Philox4x32([4]uint32{7, 3, step / 4, 1}, key)[step%4]
		if got := ActionWord(seed, 7, 3, step); got != want {
			t.Errorf("ActionWord(step %d) = %08x, want %08x", step, got, want)
		}
	}
	// Different coordinates give different blocks.
	seen := map[[4]uint32]bool{}
	for _, b := range [][4]uint32{ResetBlock(seed, 0, 0), ResetBlock(seed, 1, 0), ResetBlock(seed, 0, 1), ResetBlock(seed+1, 0, 0), ResetBlock(seed+1<<32, 0, 0)} {
		if seen[b] {
			t.Errorf("block %08x repeats", b)
		}
		seen[b] = true
	}
}

func TestUniformChoice(t *testing.T) {
	if Uniform(0) != 0 || Uniform(0xFF) != 0 {
		t.Error("Uniform of words below 256 is not 0")
	}
	if got, want := Uniform(0xFFFFFFFF), 1-math.Ldexp(1, -24); got != want {
		t.Errorf("Uniform(max) = %v, want %v", got, want)
	}
	if got := Uniform(0x80000000); got != 0.5 {
		t.Errorf("Uniform(2^31) = %v, want 0.5", got)
	}
	if got := UniformIn(0x80000000, -0.05, 0.05); got != 0 {
		t.Errorf("UniformIn(half, -0.05, 0.05) = %v, want 0", got)
	}
	if float64(float32(Uniform(0x12345678))) != Uniform(0x12345678) {
		t.Error("Uniform is not exact in float32")
	}
	for _, n := range []int{1, 2, 3, 256} {
		if Choice(0, n) != 0 || Choice(0xFFFFFFFF, n) != n-1 {
			t.Errorf("Choice(0 or max, %d) = %d, %d", n, Choice(0, n), Choice(0xFFFFFFFF, n))
		}
		// The 32-bit formula of the shaders.
		for _, w := range []uint32{0x12345678, 0x9abcdef0, 0x7fffffff} {
			if got, want := Choice(w, n), int(((w>>8)*uint32(n))>>24); got != want {
				t.Errorf("Choice(%08x, %d) = %d, want %d", w, n, got, want)
			}
		}
	}
	if Choice(0x80000000, 2) != 1 || Choice(0x7FFFFFFF, 2) != 0 || Choice(5, 0) != 0 {
		t.Error("Choice splits wrongly")
	}
	// Rough uniformity of a random-action stream.
	var count [3]int
	for s := uint32(0); s < 30000; s++ {
		count[Choice(ActionWord(1, 0, 0, s), 3)]++
	}
	for i, c := range count {
		if c < 9500 || c > 10500 {
			t.Errorf("action %d drawn %d times of 30000", i, c)
		}
	}
}
