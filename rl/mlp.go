package rl

import "math"

// The forward pass of an MLP, in float64 and in float32, with the
// parameter layout of MLP's doc and one fixed accumulation order, the
// shaders' too: for output o of a layer with n inputs,
//
//	acc = b[o]; for i = 0 .. n-1: acc += W[o*n+i] * x[i]
//
// each product rounded before it is added (an explicit conversion keeps
// the Go compiler from fusing a multiply-add on any architecture), then
// Act on hidden layers and nothing on the output layer. The action is the
// first argmax of the outputs for a discrete space, ActHigh*tanh(y) for a
// continuous one.

// ScratchLen returns the length of the scratch buffer the forward pass
// needs: two hidden layers' worth of values (0 without hidden layers or
// with fewer than two sizes).
func (m MLP) ScratchLen() int {
	if len(m.Sizes) < 2 {
		return 0
	}
	w := 0
	for _, h := range m.Sizes[1 : len(m.Sizes)-1] {
		w = max(w, h)
	}
	return 2 * w
}

// forward64 computes m's outputs y from x. It assumes m checked, params of
// NumParams values, len(x) = Sizes[0], len(y) = last size, and scratch of
// ScratchLen values; it does not allocate.
func (m MLP) forward64(params, x, y, scratch []float64) {
	nl := len(m.Sizes) - 1
	half := len(scratch) / 2
	in := x
	p := 0
	for l := 0; l < nl; l++ {
		n, k := m.Sizes[l], m.Sizes[l+1]
		var out []float64
		if l == nl-1 {
			out = y[:k]
		} else if l%2 == 0 {
			out = scratch[:k]
		} else {
			out = scratch[half : half+k]
		}
		w := params[p : p+k*n]
		b := params[p+k*n : p+k*n+k]
		for o := 0; o < k; o++ {
			acc := b[o]
			row := w[o*n : o*n+n]
			for i, xi := range in[:n] {
				acc += float64(row[i] * xi)
			}
			if l < nl-1 {
				if m.Act == ReLU {
					acc = max(acc, 0)
				} else {
					acc = math.Tanh(acc)
				}
			}
			out[o] = acc
		}
		p += k*n + k
		in = out
	}
}

// forward32 is forward64 in float32, with tanh32 for tanh.
func (m MLP) forward32(params, x, y, scratch []float32) {
	nl := len(m.Sizes) - 1
	half := len(scratch) / 2
	in := x
	p := 0
	for l := 0; l < nl; l++ {
		n, k := m.Sizes[l], m.Sizes[l+1]
		var out []float32
		if l == nl-1 {
			out = y[:k]
		} else if l%2 == 0 {
			out = scratch[:k]
		} else {
			out = scratch[half : half+k]
		}
		w := params[p : p+k*n]
		b := params[p+k*n : p+k*n+k]
		for o := 0; o < k; o++ {
			acc := b[o]
			row := w[o*n : o*n+n]
			for i, xi := range in[:n] {
				acc += float32(row[i] * xi)
			}
			out[o] = acc
		}
		// The activation in its own pass: independent calls overlap.
		if l < nl-1 {
			if m.Act == ReLU {
				for o, v := range out {
					out[o] = max(v, 0)
				}
			} else {
				for o, v := range out {
					out[o] = tanh32(v)
				}
			}
		}
		p += k*n + k
		in = out
	}
}

// argmax returns the index of the first largest value of y (a value is
// taken only when strictly greater, so NaN never replaces the best so far
// and a NaN first value stays).
func argmax[T float32 | float64](y []T) int {
	best := 0
	for i := 1; i < len(y); i++ {
		if y[i] > y[best] {
			best = i
		}
	}
	return best
}

// Policy is an MLP with its float64 parameters, acting in one
// environment: the CPU reference's policy. It holds scratch space, so one
// Policy serves one goroutine at a time.
type Policy struct {
	spec    EnvSpec
	mlp     MLP
	params  []float64
	y, buf  []float64
	outSize int
}

// NewPolicy checks m against spec and params' length (m.NumParams()) and
// returns the policy. It keeps params (not a copy): changing them changes
// the policy.
func NewPolicy(spec EnvSpec, m MLP, params []float64) (*Policy, error) {
	if err := m.Check(spec); err != nil {
		return nil, err
	}
	if len(params) != m.NumParams() {
		return nil, errorf("policy", "%d parameters, %v needs %d", len(params), m.Sizes, m.NumParams())
	}
	out := m.Sizes[len(m.Sizes)-1]
	return &Policy{spec: spec, mlp: m, params: params, y: make([]float64, out), buf: make([]float64, m.ScratchLen()), outSize: out}, nil
}

// MLP returns the policy's network.
func (p *Policy) MLP() MLP { return p.mlp }

// Outputs computes the network's raw outputs y (the last layer, before the
// argmax or the tanh) from obs (ObsDim values) into y (its output size).
func (p *Policy) Outputs(obs, y []float64) error {
	if len(obs) != p.spec.ObsDim || len(y) != p.outSize {
		return errorf("policy", "observation of %d and outputs of %d values, want %d and %d", len(obs), len(y), p.spec.ObsDim, p.outSize)
	}
	p.mlp.forward64(p.params, obs, y, p.buf)
	return nil
}

// Act writes the action for obs into act (ActDim values): the first
// argmax for a discrete space, ActHigh*tanh(y) for a continuous one. It
// does not allocate.
func (p *Policy) Act(obs, act []float64) error {
	if len(obs) != p.spec.ObsDim || len(act) != p.spec.ActDim {
		return errorf("policy", "observation of %d and action of %d values, want %d and %d", len(obs), len(act), p.spec.ObsDim, p.spec.ActDim)
	}
	p.act(obs, act)
	return nil
}

// act is Act without the checks.
func (p *Policy) act(obs, act []float64) {
	p.mlp.forward64(p.params, obs, p.y, p.buf)
	if p.spec.Actions > 0 {
		act[0] = float64(argmax(p.y))
		return
	}
	for i, v := range p.y {
		act[i] = p.spec.ActHigh * math.Tanh(v)
	}
}

// Policy32 is Policy in float32: the forward pass the shaders compute,
// with tanh32 for tanh (a shader's tanh may differ in the last bits).
type Policy32 struct {
	spec    EnvSpec
	mlp     MLP
	params  []float32
	y, buf  []float32
	outSize int
}

// NewPolicy32 is NewPolicy for float32 parameters.
func NewPolicy32(spec EnvSpec, m MLP, params []float32) (*Policy32, error) {
	if err := m.Check(spec); err != nil {
		return nil, err
	}
	if len(params) != m.NumParams() {
		return nil, errorf("policy", "%d parameters, %v needs %d", len(params), m.Sizes, m.NumParams())
	}
	out := m.Sizes[len(m.Sizes)-1]
	return &Policy32{spec: spec, mlp: m, params: params, y: make([]float32, out), buf: make([]float32, m.ScratchLen()), outSize: out}, nil
}

// MLP returns the policy's network.
func (p *Policy32) MLP() MLP { return p.mlp }

// Outputs computes the network's raw outputs from obs into y.
func (p *Policy32) Outputs(obs, y []float32) error {
	if len(obs) != p.spec.ObsDim || len(y) != p.outSize {
		return errorf("policy", "observation of %d and outputs of %d values, want %d and %d", len(obs), len(y), p.spec.ObsDim, p.outSize)
	}
	p.mlp.forward32(p.params, obs, y, p.buf)
	return nil
}

// Act writes the action for obs into act: the first argmax, or
// float32(ActHigh)*tanh32(y).
func (p *Policy32) Act(obs, act []float32) error {
	if len(obs) != p.spec.ObsDim || len(act) != p.spec.ActDim {
		return errorf("policy", "observation of %d and action of %d values, want %d and %d", len(obs), len(act), p.spec.ObsDim, p.spec.ActDim)
	}
	p.act(obs, act)
	return nil
}

// act is Act without the checks.
func (p *Policy32) act(obs, act []float32) {
	p.mlp.forward32(p.params, obs, p.y, p.buf)
	if p.spec.Actions > 0 {
		act[0] = float32(argmax(p.y))
		return
	}
	for i, v := range p.y {
		act[i] = float32(p.spec.ActHigh) * tanh32(v)
	}
}

// forward32x4 is forward32 for four inputs at once, interleaved: x holds
// x[i*4+j] for input j, y receives y[o*4+j], scratch has 4*ScratchLen()
// values. Each input's arithmetic is forward32's, in the same order, so
// the results are bit-identical; sharing each weight load among four
// independent accumulators is what makes it faster.
func (m MLP) forward32x4(params, x, y, scratch []float32) {
	nl := len(m.Sizes) - 1
	half := len(scratch) / 2
	in := x
	p := 0
	for l := 0; l < nl; l++ {
		n, k := m.Sizes[l], m.Sizes[l+1]
		var out []float32
		if l == nl-1 {
			out = y[:4*k]
		} else if l%2 == 0 {
			out = scratch[:4*k]
		} else {
			out = scratch[half : half+4*k]
		}
		w := params[p : p+k*n]
		b := params[p+k*n : p+k*n+k]
		xin := in[:4*n]
		for o := 0; o < k; o++ {
			a0, a1, a2, a3 := b[o], b[o], b[o], b[o]
			row := w[o*n : o*n+n]
			for i, wi := range row {
				xi := xin[i*4 : i*4+4 : i*4+4]
				a0 += float32(wi * xi[0])
				a1 += float32(wi * xi[1])
				a2 += float32(wi * xi[2])
				a3 += float32(wi * xi[3])
			}
			oo := out[o*4 : o*4+4 : o*4+4]
			oo[0], oo[1], oo[2], oo[3] = a0, a1, a2, a3
		}
		if l < nl-1 {
			if m.Act == ReLU {
				for o, v := range out {
					out[o] = max(v, 0)
				}
			} else {
				for o, v := range out {
					out[o] = tanh32(v)
				}
			}
		}
		p += k*n + k
		in = out
	}
}
