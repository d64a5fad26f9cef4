package rl

import (
	"math"
	"slices"
	"testing"
)

func TestESCenteredRanks(t *testing.T) {
	f := []float64{3, math.NaN(), 1, 3, 10}
	order := make([]int, len(f))
	w := make([]float64, len(f))
	centeredRanks(f, order, w)
	// Ranks: NaN 0, 1 → 1, the two 3s share (2+3)/2, 10 → 4; over N−1 = 4.
	want := []float64{2.5/4 - 0.5, -0.5, 1.0/4 - 0.5, 2.5/4 - 0.5, 0.5}
	if !slices.Equal(w, want) {
		t.Fatalf("centered ranks of %v = %v, want %v", f, w, want)
	}
	var sum float64
	for _, v := range w {
		sum += v
	}
	if sum != 0 {
		t.Errorf("centered ranks sum to %v, want 0", sum)
	}
}

func TestESNoise(t *testing.T) {
	// Standard normals: mean ≈ 0, variance ≈ 1 over many draws, and the
	// same draws for the same counter.
	v := make([]float64, 200001)
	gaussians(v, 42, [4]uint32{3, 7, 0, StreamNoise})
	s := Summarize(v)
	if math.Abs(s.Mean) > 0.01 || math.Abs(s.Std-1) > 0.01 {
		t.Errorf("noise mean %v std %v, want about 0 and 1", s.Mean, s.Std)
	}
	w := make([]float64, 10)
	gaussians(w, 42, [4]uint32{3, 7, 0, StreamNoise})
	if !slices.Equal(w, v[:10]) {
		t.Errorf("a prefix of the noise differs from the same counter's shorter draw")
	}
	gaussians(w, 43, [4]uint32{3, 7, 0, StreamNoise})
	if slices.Equal(w, v[:10]) {
		t.Errorf("seeds 42 and 43 give the same noise")
	}
}

func TestESAskAntithetic(t *testing.T) {
	cfg := ESConfig{Population: 6, Sigma: Schedule{Init: 0.5}, LR: Schedule{Init: 0.1}, InitStd: 0.3}
	e, err := NewES(9, 5, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := e.Ask()
	for i := range 3 {
		for j := range 5 {
			plus, minus := float64(p[(2*i)*5+j]), float64(p[(2*i+1)*5+j])
			mid := (plus + minus) / 2
			if math.Abs(mid-e.Theta[j]) > 1e-6 || plus == minus {
				t.Fatalf("pair %d param %d: %v and %v are not θ±σε around %v", i, j, plus, minus, e.Theta[j])
			}
		}
	}
	if e.Theta[0] == 0 {
		t.Errorf("InitStd 0.3 left θ at zero")
	}
	// The noise of generation g does not depend on what came before.
	e2, _ := NewES(9, 5, cfg, nil)
	e2.Gen = 3
	e.Gen = 3
	if !slices.Equal(e.Ask(), e2.Ask()) {
		t.Errorf("generation 3's population depends on the history")
	}
}

// TestESQuadratic maximizes −‖θ−c‖²: ES moves θ to c.
func TestESQuadratic(t *testing.T) {
	c := []float64{0.5, -0.3, 0.8, 0.1, -0.6, 0.2, 0.0, 0.4}
	cfg := ESConfig{Population: 16, Sigma: Schedule{Init: 0.1}, LR: Schedule{Init: 0.05, Decay: 0.99, Min: 0.01}}
	e, err := NewES(1, len(c), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	dist := func(p []float32) float64 {
		var d float64
		for j := range c {
			d += (float64(p[j]) - c[j]) * (float64(p[j]) - c[j])
		}
		return d
	}
	d0 := dist(e.Center())
	fit := make([]float64, cfg.Population)
	for range 200 {
		p := e.Ask()
		for m := range fit {
			fit[m] = -dist(p[m*len(c):])
		}
		if _, err := e.Tell(fit); err != nil {
			t.Fatal(err)
		}
	}
	if d := dist(e.Center()); d > d0/100 {
		t.Errorf("after 200 generations ‖θ−c‖² = %v, from %v: want 100× smaller", d, d0)
	}
	if _, err := e.Tell(fit[:3]); err == nil {
		t.Errorf("Tell with 3 fitness values for 16 members succeeded")
	}
}

func TestESConfigErrors(t *testing.T) {
	good := ESConfig{Population: 4, Sigma: Schedule{Init: 0.1}, LR: Schedule{Init: 0.01}}
	for name, mod := range map[string]func(*ESConfig){
		"odd population":  func(c *ESConfig) { c.Population = 5 },
		"zero sigma":      func(c *ESConfig) { c.Sigma.Init = 0 },
		"NaN lr":          func(c *ESConfig) { c.LR.Init = math.NaN() },
		"decay above 1":   func(c *ESConfig) { c.Sigma.Decay = 1.5 },
		"floor above":     func(c *ESConfig) { c.Sigma.Min = 1 },
		"negative decay":  func(c *ESConfig) { c.WeightDecay = -1 },
		"beta1 1":         func(c *ESConfig) { c.Beta1 = 1 },
		"huge population": func(c *ESConfig) { c.Population = MaxPopulation + 2 },
	} {
		c := good
		mod(&c)
		if _, err := NewES(0, 10, c, nil); err == nil {
			t.Errorf("%s: NewES succeeded", name)
		}
	}
	if _, err := NewES(0, 10, good, nil); err != nil {
		t.Errorf("good config: %v", err)
	}
	if got := (Schedule{Init: 1, Decay: 0.5, Min: 0.2}).At(3); got != 0.2 {
		t.Errorf("schedule at 3 = %v, want the floor 0.2", got)
	}
	if got := (Schedule{Init: 1, Decay: 0.5}).At(2); got != 0.25 {
		t.Errorf("schedule at 2 = %v, want 0.25", got)
	}
}

func TestESScale(t *testing.T) {
	cfg := ESConfig{Population: 2, Sigma: Schedule{Init: 0.25}, LR: Schedule{Init: 0.1}}
	one, _ := NewES(5, 3, cfg, nil)
	scaled, err := NewES(5, 3, cfg, []float64{1, 16, 0.125})
	if err != nil {
		t.Fatal(err)
	}
	a, b := one.Ask(), scaled.Ask()
	for j, d := range []float64{1, 16, 0.125} {
		if got, want := float64(b[j]), float64(a[j])*d; math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("param %d: scaled perturbation %v, want %v", j, got, want)
		}
	}
	// The step moves θ by D times the unscaled step.
	fit := []float64{1, 0}
	one.Tell(fit)
	scaled.Tell(fit)
	for j, d := range []float64{1, 16, 0.125} {
		if got, want := scaled.Theta[j], one.Theta[j]*d; got != want {
			t.Errorf("param %d: θ %v, want %v", j, got, want)
		}
	}
	for _, bad := range [][]float64{{1, 3, 1}, {1, 0, 1}, {1, -2, 1}, {1, 1 << 20, 1}, {1, 1}} {
		if _, err := NewES(5, 3, cfg, bad); err == nil {
			t.Errorf("scale %v accepted", bad)
		}
	}
}
