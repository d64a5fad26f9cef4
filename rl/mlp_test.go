package rl

import (
	"errors"
	"math"
	"testing"
)

// TestMLPHand checks a 2-3-2 network against values worked by hand.
func TestMLPHand(t *testing.T) {
	spec := EnvSpec{Name: "t", ObsDim: 2, Actions: 2, ActDim: 1}
	m := MLP{Sizes: []int{2, 3, 2}, Act: ReLU}
	params := []float64{
		// layer 0: W (3 rows of 2), b (3)
		1, 2,
		-1, 0.5,
		0, -3,
		0.5, -0.25, 1,
		// layer 1: W (2 rows of 3), b (2)
		1, 1, 1,
		-2, 0, 4,
		0, 0.125,
	}
	if m.NumParams() != len(params) {
		t.Fatalf("NumParams %d, want %d", m.NumParams(), len(params))
	}
	p, err := NewPolicy(spec, m, params)
	if err != nil {
		t.Fatal(err)
	}
	// x = (1, -1): h = relu(0.5+1-2, -0.25-1-0.5, 1+0+3) = (0, 0, 4);
	// y = (0+0+0+4, 0.125+0+0+16) = (4, 16.125).
	y := make([]float64, 2)
	if err := p.Outputs([]float64{1, -1}, y); err != nil || y[0] != 4 || y[1] != 16.125 {
		t.Fatalf("outputs %v %v, want [4 16.125]", y, err)
	}
	act := []float64{-1}
	if err := p.Act([]float64{1, -1}, act); err != nil || act[0] != 1 {
		t.Errorf("action %v %v, want 1", act, err)
	}
	// Tanh: x = (0, 0): h = tanh(0.5, -0.25, 1); y0 = sum, y1 = 0.125 - 2*tanh(0.5) + 4*tanh(1).
	m.Act = Tanh
	p, _ = NewPolicy(spec, m, params)
	p.Outputs([]float64{0, 0}, y)
	w0 := math.Tanh(0.5) + math.Tanh(-0.25) + math.Tanh(1)
	w1 := 0.125 + (-2*math.Tanh(0.5) + 0*math.Tanh(-0.25) + 4*math.Tanh(1))
	if !closeTo(y[0], w0, 1e-15) || !closeTo(y[1], w1, 1e-15) {
		t.Errorf("tanh outputs %v, want %v %v", y, w0, w1)
	}
	// Float32 agrees to float32 precision.
	p32, err := NewPolicy32(spec, m, f32s(params))
	if err != nil {
		t.Fatal(err)
	}
	y32 := make([]float32, 2)
	p32.Outputs([]float32{0, 0}, y32)
	if !closeTo(float64(y32[0]), w0, 1e-6) || !closeTo(float64(y32[1]), w1, 1e-6) {
		t.Errorf("float32 outputs %v, want %v %v", y32, w0, w1)
	}
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestMLPOrder checks the accumulation order: bias first, then inputs in
// order, each product rounded. 1e16 + 1 + 1 - 1e16 in that order is 0 in
// float64 (each 1 is lost), any other order gives 1 or 2.
func TestMLPOrder(t *testing.T) {
	spec := EnvSpec{Name: "t", ObsDim: 3, ActDim: 1, ActHigh: 1}
	m := MLP{Sizes: []int{3, 1}}
	p, _ := NewPolicy(spec, m, []float64{1, 1, -1, 1e16})
	y := []float64{7}
	p.Outputs([]float64{1, 1, 1e16}, y)
	if y[0] != 0 {
		t.Errorf("1e16 + 1 + 1 - 1e16 = %v in the forward pass, want 0 (bias first, inputs in order)", y[0])
	}
	p32, _ := NewPolicy32(spec, m, []float32{1, 1, -1, 1e8})
	y32 := []float32{7}
	p32.Outputs([]float32{1, 1, 1e8}, y32)
	if y32[0] != 0 {
		t.Errorf("float32: 1e8 + 1 + 1 - 1e8 = %v, want 0", y32[0])
	}
}

func TestMLPActions(t *testing.T) {
	// Discrete: the first argmax wins ties; NaN outputs give 0.
	spec := EnvSpec{Name: "t", ObsDim: 1, Actions: 3, ActDim: 1}
	m := MLP{Sizes: []int{1, 3}}
	for _, c := range []struct {
		b    []float64
		want float64
	}{{[]float64{1, 2, 2}, 1}, {[]float64{3, 3, 3}, 0}, {[]float64{-1, -2, -0.5}, 2}, {[]float64{math.NaN(), 1, 2}, 0}} {
		p, _ := NewPolicy(spec, m, append([]float64{0, 0, 0}, c.b...))
		act := []float64{-1}
		p.Act([]float64{5}, act)
		p32, _ := NewPolicy32(spec, m, f32s(append([]float64{0, 0, 0}, c.b...)))
		act32 := []float32{-1}
		p32.Act([]float32{5}, act32)
		if act[0] != c.want || float64(act32[0]) != c.want {
			t.Errorf("biases %v: action %v / %v, want %v", c.b, act[0], act32[0], c.want)
		}
	}
	// Continuous: ActHigh * tanh(y).
	cspec := EnvSpec{Name: "t", ObsDim: 1, ActDim: 1, ActHigh: 2}
	p, _ := NewPolicy(cspec, MLP{Sizes: []int{1, 1}}, []float64{0.5, 0.25})
	act := []float64{0}
	p.Act([]float64{3}, act)
	if want := 2 * math.Tanh(1.75); act[0] != want {
		t.Errorf("continuous action %v, want %v", act[0], want)
	}
}

func TestPolicyErrors(t *testing.T) {
	spec := CartPole{}.Spec()
	m := MLP{Sizes: []int{4, 8, 2}}
	if _, err := NewPolicy(spec, m, make([]float64, 10)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short params: %v", err)
	}
	if _, err := NewPolicy32(spec, MLP{Sizes: []int{3, 2}}, make([]float32, 8)); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong input size: %v", err)
	}
	p, err := NewPolicy(spec, m, make([]float64, m.NumParams()))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Act(make([]float64, 3), make([]float64, 1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short observation: %v", err)
	}
	if err := p.Outputs(make([]float64, 4), make([]float64, 1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short outputs: %v", err)
	}
}

func TestPolicyNoAlloc(t *testing.T) {
	spec := Acrobot{}.Spec()
	m := MLP{Sizes: []int{6, 32, 16, 3}, Act: Tanh}
	params := make([]float64, m.NumParams())
	for i := range params {
		params[i] = math.Sin(float64(i))
	}
	p, _ := NewPolicy(spec, m, params)
	p32, _ := NewPolicy32(spec, m, f32s(params))
	obs, act := []float64{1, 0, 1, 0, 0.5, -0.5}, []float64{0}
	obs32, act32 := f32s(obs), []float32{0}
	if n := testing.AllocsPerRun(100, func() { p.Act(obs, act); p32.Act(obs32, act32) }); n != 0 {
		t.Errorf("%v allocations per Act", n)
	}
	// Two hidden layers: float32 follows float64 closely.
	y, y32 := make([]float64, 3), make([]float32, 3)
	p.Outputs(obs, y)
	p32.Outputs(obs32, y32)
	for i := range y {
		if !closeTo(float64(y32[i]), y[i], 1e-5) {
			t.Errorf("output %d: float32 %v, float64 %v", i, y32[i], y[i])
		}
	}
}

// TestForward32x4 checks that the four-at-once pass equals four single
// passes bit for bit.
func TestForward32x4(t *testing.T) {
	for _, m := range []MLP{{Sizes: []int{4, 32, 2}, Act: Tanh}, {Sizes: []int{6, 16, 8, 3}, Act: ReLU}, {Sizes: []int{3, 1}}} {
		params := f32s(make([]float64, m.NumParams()))
		for i := range params {
			params[i] = float32(math.Sin(float64(i)*0.7)) * 2
		}
		n, k := m.Sizes[0], m.Sizes[len(m.Sizes)-1]
		x4 := make([]float32, 4*n)
		for i := range x4 {
			x4[i] = float32(math.Cos(float64(i) * 1.3))
		}
		y4 := make([]float32, 4*k)
		m.forward32x4(params, x4, y4, make([]float32, 4*m.ScratchLen()))
		for j := 0; j < 4; j++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = x4[i*4+j]
			}
			y := make([]float32, k)
			m.forward32(params, x, y, make([]float32, m.ScratchLen()))
			for o := range y {
				if y[o] != y4[o*4+j] {
					t.Errorf("%v input %d output %d: x4 %v, single %v", m.Sizes, j, o, y4[o*4+j], y[o])
				}
			}
		}
	}
}

func TestScratchLen(t *testing.T) {
	for _, c := range []struct {
		sizes []int
		want  int
	}{{nil, 0}, {[]int{4}, 0}, {[]int{4, 2}, 0}, {[]int{4, 32, 2}, 64}, {[]int{6, 16, 40, 3}, 80}} {
		if got := (MLP{Sizes: c.sizes}).ScratchLen(); got != c.want {
			t.Errorf("ScratchLen(%v) = %d, want %d", c.sizes, got, c.want)
		}
	}
}
