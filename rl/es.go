package rl

import (
	"cmp"
	"math"
	"slices"
)

// Evolution strategies, as in Salimans et al. 2017 ("Evolution Strategies as
// a Scalable Alternative to Reinforcement Learning") and OpenAI's
// evolution-strategies-starter: antithetic pairs, centered-rank fitness
// shaping, Adam with L2 weight decay, and a σ schedule.
//
// # Noise
//
// The Gaussian noise of a run comes from Philox4x32-10 keyed by the run's
// seed (the same key as its environments), on streams of its own that no
// environment uses:
//
//   - noise of pair i in generation g, parameters 2b and 2b+1: the block at
//     counter {i, g, b, StreamNoise};
//   - the initial θ (when ESConfig.InitStd > 0), parameters 2b and 2b+1:
//     the block at counter {0, 0, b, StreamInit}.
//
// A block's words (w0, w1, w2, w3) make two uniforms with 53 random bits,
// u1 = (((w0<<32|w1)>>11) + 1)·2^-53 in (0, 1] and u2 = ((w2<<32|w3)>>11)·2^-53
// in [0, 1), and Box–Muller in float64 turns them into the two normals
// r·cos(2πu2) (parameter 2b) and r·sin(2πu2) (parameter 2b+1), with
// r = sqrt(−2 ln u1). The noise therefore depends on the seed, the
// generation, the pair and the parameter only: not on the population's
// evaluation order, the number of runs at once or the Io.
//
// # Update
//
// Member 2i plays θ+σDε_i and member 2i+1 plays θ−σDε_i, each rounded to
// float32 for the evaluator; θ stays float64. D is a diagonal of powers of
// two (NewES's scale, 1 by default): ES searches z = θ/D, so that an input
// of small range (a velocity) gets weights of a useful size; as D's entries
// are powers of two, θ = Dz is exact both ways. A member's fitness is the
// mean return of its episodes. Fitness values are ranked (ties share their
// mean rank, NaN ranks lowest) and mapped to r/(N−1) − 0.5. The ascent
// direction is g_j = Σ_i (w_{2i} − w_{2i+1})·ε_ij / N, summed over i in
// order; Adam (its moments in z's space) minimizes −g + WeightDecay·z, and
// θ moves by D times Adam's step. Every sum runs in one fixed
// order in float64, so a run never depends on evaluation or reduction order.
const (
	// StreamNoise is the RNG stream of ES's perturbations ("ES" in ASCII,
	// far from the environments' streams).
	StreamNoise = 0x45530000
	// StreamInit is the RNG stream of θ's initialization.
	StreamInit = 0x45530001
)

// Caps of ES: a population's parameters (Population × NumParams) are held
// in memory at once, twice (float32 and half in float64).
const (
	MaxPopulation = 1 << 16
	MaxParams     = 1 << 20
	maxPopParams  = 1 << 26
)

// Schedule is a value that decays exponentially by generation to a floor:
// at generation g it is max(Init·Decay^g, Min). Decay 0 (or 1) keeps it
// constant at Init.
type Schedule struct {
	Init  float64 `json:"init"`
	Decay float64 `json:"decay,omitempty"`
	Min   float64 `json:"min,omitempty"`
}

// At returns the schedule's value at generation g.
func (s Schedule) At(g int) float64 {
	if s.Decay == 0 || s.Decay == 1 {
		return s.Init
	}
	return max(s.Init*math.Pow(s.Decay, float64(g)), s.Min)
}

func (s Schedule) check(name string) error {
	switch {
	case !(s.Init > 0) || math.IsInf(s.Init, 0):
		return errorf("es", "%s %v: want a finite value above 0", name, s.Init)
	case !(s.Decay >= 0 && s.Decay <= 1):
		return errorf("es", "%s decay %v: want 0 to 1", name, s.Decay)
	case !(s.Min >= 0) || s.Min > s.Init:
		return errorf("es", "%s floor %v: want 0 to the initial %v", name, s.Min, s.Init)
	}
	return nil
}

// ESConfig is the optimizer's configuration.
type ESConfig struct {
	// Population is the number of perturbed policies per generation
	// (even: Population/2 antithetic pairs).
	Population int `json:"population"`
	// Sigma is the perturbations' standard deviation, LR Adam's step size.
	Sigma Schedule `json:"sigma"`
	LR    Schedule `json:"lr"`
	// WeightDecay is the L2 coefficient: Adam's gradient gets
	// WeightDecay·θ (OpenAI's l2coeff, 0.005 there).
	WeightDecay float64 `json:"weight_decay"`
	// Beta1, Beta2 and Epsilon are Adam's (0 means 0.9, 0.999 and 1e-8).
	Beta1   float64 `json:"beta1,omitempty"`
	Beta2   float64 `json:"beta2,omitempty"`
	Epsilon float64 `json:"epsilon,omitempty"`
	// InitStd is the standard deviation of θ's initial values (seeded
	// normals, see StreamInit); 0 starts from zeros.
	InitStd float64 `json:"init_std,omitempty"`
}

func (c *ESConfig) defaults() {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Epsilon == 0 {
		c.Epsilon = 1e-8
	}
}

func (c ESConfig) check(nparams int) error {
	switch {
	case c.Population < 2 || c.Population%2 != 0 || c.Population > MaxPopulation:
		return errorf("es", "population %d: want an even number from 2 to %d", c.Population, MaxPopulation)
	case nparams < 1 || nparams > MaxParams:
		return errorf("es", "%d parameters: want 1 to %d", nparams, MaxParams)
	case c.Population*nparams > maxPopParams:
		return errorf("es", "population %d × %d parameters: more than %d values", c.Population, nparams, maxPopParams)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return errorf("es", "weight decay %v: want a finite value ≥ 0", c.WeightDecay)
	case !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1):
		return errorf("es", "Adam betas %v, %v: want values in [0, 1)", c.Beta1, c.Beta2)
	case !(c.Epsilon > 0) || math.IsInf(c.Epsilon, 0):
		return errorf("es", "Adam epsilon %v: want a finite value above 0", c.Epsilon)
	case !(c.InitStd >= 0) || math.IsInf(c.InitStd, 0):
		return errorf("es", "init std %v: want a finite value ≥ 0", c.InitStd)
	}
	if err := c.Sigma.check("sigma"); err != nil {
		return err
	}
	return c.LR.check("lr")
}

// ES is one run's optimizer state and its reusable buffers. It is not safe
// for concurrent use; runs at once each have their own.
type ES struct {
	cfg  ESConfig
	seed uint64
	n    int
	d    []float64 // the scale D (nil: ones)

	// Theta is the center, M and V Adam's moments (NumParams each); Step
	// counts Adam's updates and Gen is the generation Ask samples next.
	Theta, M, V []float64
	Step        uint64
	Gen         uint32

	noise   []float64 // pairs × n: ε_i of the current generation
	params  []float32 // population × n
	center  []float32 // n
	order   []int     // population
	weights []float64 // population
	grad    []float64 // n
}

// NewES returns the optimizer of a run of seed over n parameters, at
// generation 0 with θ initialized (see ESConfig.InitStd). scale, nil or of
// n powers of two, is the diagonal D (see the package's ES notes).
func NewES(seed uint64, n int, cfg ESConfig, scale []float64) (*ES, error) {
	cfg.defaults()
	if err := cfg.check(n); err != nil {
		return nil, err
	}
	if scale != nil && len(scale) != n {
		return nil, errorf("es", "%d scales for %d parameters", len(scale), n)
	}
	for j, v := range scale {
		if !isPow2(v) {
			return nil, errorf("es", "scale[%d] = %v: want a power of two from 2^-16 to 2^16", j, v)
		}
	}
	p := cfg.Population
	e := &ES{
		cfg: cfg, seed: seed, n: n, d: scale,
		Theta: make([]float64, n), M: make([]float64, n), V: make([]float64, n),
		noise:   make([]float64, p/2*n),
		params:  make([]float32, p*n),
		center:  make([]float32, n),
		order:   make([]int, p),
		weights: make([]float64, p),
		grad:    make([]float64, n),
	}
	if cfg.InitStd > 0 {
		gaussians(e.Theta, seed, [4]uint32{0, 0, 0, StreamInit})
		for j := range e.Theta {
			e.Theta[j] *= cfg.InitStd * e.scale(j)
		}
	}
	return e, nil
}

// NumParams returns the length of θ.
func (e *ES) NumParams() int { return e.n }

// Config returns the optimizer's configuration (Adam's defaults filled in).
func (e *ES) Config() ESConfig { return e.cfg }

// Sigma and LR return σ and the learning rate of the current generation.
func (e *ES) Sigma() float64 { return e.cfg.Sigma.At(int(e.Gen)) }

// LR returns the learning rate of the current generation.
func (e *ES) LR() float64 { return e.cfg.LR.At(int(e.Gen)) }

// gaussians fills out with standard normals from the blocks at counter
// {ctr[0], ctr[1], b, ctr[3]} for b = 0, 1, ... (see the noise layout).
func gaussians(out []float64, seed uint64, ctr [4]uint32) {
	key := PhiloxKey(seed)
	for b := 0; 2*b < len(out); b++ {
		ctr[2] = uint32(b)
		w := Philox4x32(ctr, key)
		a := (uint64(w[0])<<32 | uint64(w[1])) >> 11
		c := (uint64(w[2])<<32 | uint64(w[3])) >> 11
		u1 := float64(a+1) * 0x1p-53
		u2 := float64(c) * 0x1p-53
		r := math.Sqrt(-2 * math.Log(u1))
		s, co := math.Sincos(2 * math.Pi * u2)
		out[2*b] = r * co
		if 2*b+1 < len(out) {
			out[2*b+1] = r * s
		}
	}
}

// Ask samples generation Gen's noise and returns the population's
// parameters, member-major (Population × NumParams float32 values): member
// 2i is θ+σε_i, member 2i+1 is θ−σε_i. The slice is reused by the next Ask.
func (e *ES) Ask() []float32 {
	n, sigma := e.n, e.Sigma()
	for i := 0; i < e.cfg.Population/2; i++ {
		eps := e.noise[i*n : (i+1)*n]
		gaussians(eps, e.seed, [4]uint32{uint32(i), e.Gen, 0, StreamNoise})
		plus := e.params[2*i*n : (2*i+1)*n]
		minus := e.params[(2*i+1)*n : (2*i+2)*n]
		for j, t := range e.Theta {
			d := sigma * eps[j] * e.scale(j)
			plus[j] = float32(t + d)
			minus[j] = float32(t - d)
		}
	}
	return e.params
}

// scale returns D's entry j.
func (e *ES) scale(j int) float64 {
	if e.d == nil {
		return 1
	}
	return e.d[j]
}

// isPow2 reports whether v is a power of two from 2^-16 to 2^16.
func isPow2(v float64) bool {
	f, exp := math.Frexp(v)
	return f == 0.5 && exp >= -15 && exp <= 17
}

// Center returns θ rounded to float32 (reused by the next call).
func (e *ES) Center() []float32 {
	for j, t := range e.Theta {
		e.center[j] = float32(t)
	}
	return e.center
}

// Update is what one Tell did.
type Update struct {
	Sigma, LR  float64 // the generation's σ and learning rate
	GradNorm   float64 // ‖−g + WeightDecay·z‖ before Adam
	StepNorm   float64 // ‖Δθ‖
	ThetaNorm  float64 // ‖θ‖ after the update
	Generation uint32  // the generation told
}

// Tell updates θ from the fitness of each member of the generation that
// the last Ask sampled (Population values, member order) and moves on to
// the next generation.
func (e *ES) Tell(fitness []float64) (Update, error) {
	p, n := e.cfg.Population, e.n
	if len(fitness) != p {
		return Update{}, errorf("es", "tell: %d fitness values for a population of %d", len(fitness), p)
	}
	centeredRanks(fitness, e.order, e.weights)
	clear(e.grad)
	for i := 0; i < p/2; i++ {
		w := e.weights[2*i] - e.weights[2*i+1]
		if w == 0 {
			continue
		}
		eps := e.noise[i*n : (i+1)*n]
		for j := range e.grad {
			e.grad[j] += w * eps[j]
		}
	}
	u := Update{Sigma: e.Sigma(), LR: e.LR(), Generation: e.Gen}
	e.Step++
	b1, b2 := e.cfg.Beta1, e.cfg.Beta2
	a := u.LR * math.Sqrt(1-math.Pow(b2, float64(e.Step))) / (1 - math.Pow(b1, float64(e.Step)))
	var gn, sn, tn float64
	for j := range e.Theta {
		dj := e.scale(j)
		g := -e.grad[j]/float64(p) + e.cfg.WeightDecay*(e.Theta[j]/dj)
		gn += g * g
		e.M[j] = b1*e.M[j] + (1-b1)*g
		e.V[j] = b2*e.V[j] + (1-b2)*g*g
		d := -a * e.M[j] / (math.Sqrt(e.V[j]) + e.cfg.Epsilon) * dj
		sn += d * d
		e.Theta[j] += d
		tn += e.Theta[j] * e.Theta[j]
	}
	u.GradNorm, u.StepNorm, u.ThetaNorm = math.Sqrt(gn), math.Sqrt(sn), math.Sqrt(tn)
	e.Gen++
	return u, nil
}

// centeredRanks writes into w the centered rank of each of f's values:
// rank/(N−1) − 0.5, ties sharing their mean rank, NaN lowest. order is
// scratch of len(f).
func centeredRanks(f []float64, order []int, w []float64) {
	n := len(f)
	for i := range order {
		order[i] = i
	}
	key := func(v float64) float64 {
		if math.IsNaN(v) {
			return math.Inf(-1)
		}
		return v
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(key(f[a]), key(f[b])); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if n == 1 {
		w[0] = 0
		return
	}
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && key(f[order[hi]]) == key(f[order[lo]]) {
			hi++
		}
		r := float64(lo+hi-1) / 2 // the mean of ranks lo..hi-1
		for _, i := range order[lo:hi] {
			w[i] = r/float64(n-1) - 0.5
		}
		lo = hi
	}
}
