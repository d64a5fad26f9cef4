package rl

import (
	"errors"
	"math"
	"strings"
	"testing"
)

type goldenStep struct {
	action     float64
	state      []float64
	reward     float64
	terminated bool
}

type goldenCase struct {
	env   string
	start []float64
	steps []goldenStep
}

type goldenReset struct {
	env   string
	seed  uint64
	e, k  uint32
	block [4]uint32
	state []float64
}

// closeTo reports whether got is within tol of want, relative to
// max(1, |want|): the golden values come from Python's libm, which may
// round sin and cos one ulp away from Go's.
func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func mustLookup(t testing.TB, name string) Env {
	t.Helper()
	env, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestGolden steps every environment from hand-picked states (clipping,
// wrapping, thresholds crossed) and compares with the Gymnasium step code
// transcribed in Python (testdata/gym_golden.py).
func TestGolden(t *testing.T) {
	exact := 0
	total := 0
	for ci, c := range goldenSteps {
		env := mustLookup(t, c.env)
		s := append([]float64(nil), c.start...)
		for si, st := range c.steps {
			r, term := env.Step(s, []float64{st.action})
			for i := range s {
				total++
				if s[i] == st.state[i] {
					exact++
				}
				if !closeTo(s[i], st.state[i], 1e-12) {
					t.Errorf("%s case %d step %d: s[%d] = %v, want %v", c.env, ci, si, i, s[i], st.state[i])
				}
			}
			if !closeTo(r, st.reward, 1e-12) || term != st.terminated {
				t.Errorf("%s case %d step %d: reward %v terminated %v, want %v %v", c.env, ci, si, r, term, st.reward, st.terminated)
			}
		}
	}
	t.Logf("%d of %d golden state values bit-identical", exact, total)
	for _, g := range goldenResets {
		env := mustLookup(t, g.env)
		b := ResetBlock(g.seed, g.e, g.k)
		if b != g.block {
			t.Errorf("ResetBlock(%#x, %d, %d) = %08x, want %08x (Python Philox)", g.seed, g.e, g.k, b, g.block)
		}
		s := make([]float64, env.Spec().StateDim)
		env.Reset(s, b)
		for i := range s {
			if s[i] != g.state[i] {
				t.Errorf("%s reset %#x/%d/%d: s[%d] = %v, want %v", g.env, g.seed, g.e, g.k, i, s[i], g.state[i])
			}
		}
	}
}

func TestLookup(t *testing.T) {
	want := []string{"CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0"}
	got := Envs()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Envs() = %v, want %v", got, want)
	}
	specs := map[string]EnvSpec{
		"CartPole-v1":              {Name: "CartPole-v1", StateDim: 4, ObsDim: 4, Actions: 2, ActDim: 1, MaxSteps: 500},
		"Acrobot-v1":               {Name: "Acrobot-v1", StateDim: 4, ObsDim: 6, Actions: 3, ActDim: 1, MaxSteps: 500},
		"Pendulum-v1":              {Name: "Pendulum-v1", StateDim: 2, ObsDim: 3, ActDim: 1, ActHigh: 2, MaxSteps: 200},
		"MountainCarContinuous-v0": {Name: "MountainCarContinuous-v0", StateDim: 2, ObsDim: 2, ActDim: 1, ActHigh: 1, MaxSteps: 999},
	}
	for _, name := range want {
		env := mustLookup(t, name)
		if env.Spec() != specs[name] {
			t.Errorf("%s: spec %+v, want %+v", name, env.Spec(), specs[name])
		}
	}
	for _, bad := range []string{"", "cartpole-v1", "CartPole-v0", "CartPole-v1 "} {
		_, err := Lookup(bad)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Lookup(%q) = %v, want ErrInvalid", bad, err)
		}
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), "CartPole-v1, Acrobot-v1, Pendulum-v1, MountainCarContinuous-v0") {
			t.Errorf("Lookup(%q) error %q does not list the known environments", bad, err)
		}
	}
	for name, want := range map[string]float64{"CartPole-v1": 475, "Acrobot-v1": -100, "MountainCarContinuous-v0": 90} {
		if got, ok := RewardThreshold(name); !ok || got != want {
			t.Errorf("RewardThreshold(%s) = %v %v", name, got, ok)
		}
	}
	if _, ok := RewardThreshold("Pendulum-v1"); ok {
		t.Error("Pendulum has a reward threshold")
	}
}

// TestCartPoleFormulas checks a step from rest against the formulas
// worked by hand: with theta = theta_dot = 0 and force +10,
// temp = 10/1.1, thetaacc = -temp/(0.5*(4/3 - 0.1/1.1)),
// xacc = temp - 0.05*thetaacc/1.1.
func TestCartPoleFormulas(t *testing.T) {
	s := []float64{0, 0, 0, 0}
	r, term := CartPole{}.Step(s, []float64{1})
	temp := 10 / 1.1
	thetaAcc := -temp / (0.5 * (4.0/3 - 0.1/1.1))
	xAcc := temp - 0.05*thetaAcc/1.1
	// 0.02 * xacc = 0.1951219512195122 (= 8/41), 0.02*thetaacc = -12/41.
	if !closeTo(s[1], 0.02*xAcc, 1e-15) || !closeTo(s[1], 8.0/41, 1e-15) || !closeTo(s[3], -12.0/41, 1e-15) || s[0] != 0 || s[2] != 0 {
		t.Errorf("state after push right from rest: %v", s)
	}
	if r != 1 || term {
		t.Errorf("reward %v terminated %v", r, term)
	}
	// Any action but 1 pushes left: the mirror image.
	for _, a := range []float64{0, 2, -1} {
		m := []float64{0, 0, 0, 0}
		CartPole{}.Step(m, []float64{a})
		if m[1] != -s[1] || m[3] != -s[3] {
			t.Errorf("action %v: %v, want the mirror of %v", a, m, s)
		}
	}
}

// TestTerminationThresholds puts each environment just inside and just
// outside its termination thresholds.
func TestTerminationThresholds(t *testing.T) {
	// Python's 12 * 2 * math.pi / 360 (Go's exact constant folding of
	// the same expression rounds differently).
	if cpThetaLimit != 0.20943951023931953 {
		t.Fatalf("theta limit %v", cpThetaLimit)
	}
	// CartPole: with zero velocities the step leaves x and theta alone.
	for _, c := range []struct {
		x, theta float64
		term     bool
	}{
		{2.4, 0, false}, {-2.4, 0, false}, {math.Nextafter(2.4, 3), 0, true}, {math.Nextafter(-2.4, -3), 0, true},
		{0, cpThetaLimit, false}, {0, -cpThetaLimit, false}, {0, math.Nextafter(cpThetaLimit, 1), true}, {0, math.Nextafter(-cpThetaLimit, -1), true},
	} {
		s := []float64{c.x, 0, c.theta, 0}
		r, term := CartPole{}.Step(s, []float64{1})
		if term != c.term || r != 1 || s[0] != c.x || s[2] != c.theta {
			t.Errorf("CartPole at x=%v theta=%v: terminated %v reward %v, want %v", c.x, c.theta, term, r, c.term)
		}
	}
	// Acrobot: -cos(t1) - cos(t1+t2) > 1; pointing straight up (t1 = pi)
	// gives 2, hanging (0, 0) gives -2.
	if _, term := (Acrobot{}).Step([]float64{math.Pi, 0, 0, 0}, []float64{1}); !term {
		t.Error("Acrobot upright does not terminate")
	}
	if r, term := (Acrobot{}).Step([]float64{0, 0, 0, 0}, []float64{1}); term || r != -1 {
		t.Error("Acrobot at rest terminates")
	}
	// MountainCarContinuous: position >= 0.45 and velocity >= 0, tested
	// on the float64 values before rounding to float32.
	for _, c := range []struct {
		pos, vel float64
		term     bool
	}{
		{0.44, 0.07, true}, {0.3, 0.07, false}, {0.6, -0.001, false}, {0.6, 0.07, true},
	} {
		s := []float64{c.pos, c.vel}
		_, term := MountainCarContinuous{}.Step(s, []float64{0})
		if term != c.term {
			t.Errorf("MountainCar from %v, %v: terminated %v, want %v (now %v)", c.pos, c.vel, term, c.term, s)
		}
	}
	// Pendulum never terminates.
	if _, term := (Pendulum{}).Step([]float64{0, 0}, []float64{0}); term {
		t.Error("Pendulum terminated")
	}
}

func TestClipping(t *testing.T) {
	// Acrobot: velocities clip to 4*pi and 9*pi, angles wrap into [-pi, pi].
	s := []float64{3.1, -3.1, 100, -100}
	Acrobot{}.Step(s, []float64{2})
	if math.Abs(s[2]) != 4*math.Pi || s[3] != -9*math.Pi || s[0] < -math.Pi || s[0] > math.Pi || s[1] < -math.Pi || s[1] > math.Pi {
		t.Errorf("Acrobot not clipped or wrapped: %v", s)
	}
	for _, c := range [][2]float64{{math.Pi, math.Pi}, {-math.Pi, -math.Pi}, {4, 4 - 2*math.Pi}, {-4, -4 + 2*math.Pi}, {13, 13 - 4*math.Pi}, {0.5, 0.5}} {
		if got := wrapAngle(c[0]); !closeTo(got, c[1], 1e-15) {
			t.Errorf("wrapAngle(%v) = %v, want %v", c[0], got, c[1])
		}
	}
	if !math.IsNaN(wrapAngle(math.Inf(1))) || !math.IsNaN(wrapAngle(math.NaN())) {
		t.Error("wrapAngle of Inf or NaN is not NaN")
	}
	if got := wrapAngle(1e300); got < -math.Pi || got > math.Pi {
		t.Errorf("wrapAngle(1e300) = %v", got)
	}
	// Acrobot actions out of range clamp into 0..2.
	a, b := []float64{0.1, 0.2, 0.3, 0.4}, []float64{0.1, 0.2, 0.3, 0.4}
	Acrobot{}.Step(a, []float64{7})
	Acrobot{}.Step(b, []float64{2})
	if a[0] != b[0] || a[3] != b[3] {
		t.Error("Acrobot action 7 is not action 2")
	}
	// Pendulum: torque clips to 2 in the dynamics and the cost; speed to 8.
	p, q := []float64{1, 0}, []float64{1, 0}
	r1, _ := Pendulum{}.Step(p, []float64{50})
	r2, _ := Pendulum{}.Step(q, []float64{2})
	if r1 != r2 || p[0] != q[0] || p[1] != q[1] {
		t.Errorf("Pendulum torque 50 differs from 2: %v %v / %v %v", p, r1, q, r2)
	}
	half, eight, dt := math.Pi/2, 8.0, 0.05
	p = []float64{half, 7.9}
	Pendulum{}.Step(p, []float64{2})
	if p[1] != 8 || p[0] != half+eight*dt {
		t.Errorf("Pendulum speed not clipped: %v", p)
	}
	// The cost uses the normalized angle of the state before the step.
	for _, th := range []float64{0, 2 * math.Pi, -2 * math.Pi, 4 * math.Pi} {
		if r, _ := (Pendulum{}).Step([]float64{th, 0}, []float64{0}); !closeTo(r, 0, 1e-12) {
			t.Errorf("Pendulum cost at theta=%v: %v, want 0", th, -r)
		}
	}
	if r, _ := (Pendulum{}).Step([]float64{math.Pi - 1e-9, 1}, []float64{1}); !closeTo(-r, (math.Pi-1e-9)*(math.Pi-1e-9)+0.1+0.001, 1e-12) {
		t.Errorf("Pendulum cost near pi: %v", -r)
	}
	// MountainCarContinuous: force clips to [-1, 1] in the dynamics but the
	// reward uses the raw action; the left wall stops the car.
	m1, m2 := []float64{-0.5, 0}, []float64{-0.5, 0}
	r1, _ = MountainCarContinuous{}.Step(m1, []float64{3})
	r2, _ = MountainCarContinuous{}.Step(m2, []float64{1})
	if m1[0] != m2[0] || m1[1] != m2[1] || r1 != -(3*3*0.1) || r2 != -0.1 {
		t.Errorf("MountainCar action 3 vs 1: %v %v / %v %v", m1, r1, m2, r2)
	}
	w := []float64{-1.19, -0.07}
	MountainCarContinuous{}.Step(w, []float64{-1})
	if w[0] != float64(float32(-1.2)) || w[1] != 0 {
		t.Errorf("MountainCar at the wall: %v", w)
	}
	v := []float64{0.59, 0.0699}
	MountainCarContinuous{}.Step(v, []float64{1})
	if v[1] != float64(float32(0.07)) || v[0] != float64(float32(0.6)) {
		t.Errorf("MountainCar speed not clipped: %v", v)
	}
}

// TestResetRanges draws many resets and checks each value's range and
// that the range is nearly covered.
func TestResetRanges(t *testing.T) {
	ranges := map[string][][2]float64{
		"CartPole-v1":              {{-0.05, 0.05}, {-0.05, 0.05}, {-0.05, 0.05}, {-0.05, 0.05}},
		"Acrobot-v1":               {{-0.1, 0.1}, {-0.1, 0.1}, {-0.1, 0.1}, {-0.1, 0.1}},
		"Pendulum-v1":              {{-math.Pi, math.Pi}, {-1, 1}},
		"MountainCarContinuous-v0": {{-0.6, -0.4}, {0, 0}},
	}
	for _, name := range Envs() {
		env := mustLookup(t, name)
		rs := ranges[name]
		s := make([]float64, env.Spec().StateDim)
		lo := make([]float64, len(s))
		hi := make([]float64, len(s))
		for i := range lo {
			lo[i], hi[i] = math.Inf(1), math.Inf(-1)
		}
		for k := uint32(0); k < 4000; k++ {
			env.Reset(s, ResetBlock(99, k%64, k/64))
			for i, v := range s {
				lo[i], hi[i] = math.Min(lo[i], v), math.Max(hi[i], v)
				if v < rs[i][0] || (v >= rs[i][1] && rs[i][0] != rs[i][1]) && !(name == "Acrobot-v1" && v == float64(float32(rs[i][1]))) {
					t.Fatalf("%s reset %d: s[%d] = %v outside [%v, %v)", name, k, i, v, rs[i][0], rs[i][1])
				}
			}
			if name == "Acrobot-v1" {
				for i, v := range s {
					if v != float64(float32(v)) {
						t.Fatalf("Acrobot reset s[%d] = %v is not a float32", i, v)
					}
				}
			}
		}
		for i := range lo {
			w := rs[i][1] - rs[i][0]
			if lo[i] > rs[i][0]+0.01*w || hi[i] < rs[i][1]-0.01*w {
				t.Errorf("%s: s[%d] drawn in [%v, %v], want nearly [%v, %v)", name, i, lo[i], hi[i], rs[i][0], rs[i][1])
			}
		}
	}
	// The extremes of the uniform map to the range's ends.
	s := make([]float64, 4)
	CartPole{}.Reset(s, [4]uint32{0, 0xFFFFFFFF, 0x80000000, 0})
	if s[0] != -0.05 || s[1] >= 0.05 || s[1] < 0.05-1e-8 || s[2] != 0 {
		t.Errorf("CartPole reset of extreme words: %v", s)
	}
}

func TestObserve(t *testing.T) {
	obs := make([]float64, 6)
	Acrobot{}.Observe([]float64{math.Pi / 2, math.Pi, 3, -4}, obs)
	want := []float64{0, 1, -1, 0, 3, -4}
	for i := range want {
		if !closeTo(obs[i], want[i], 1e-15) {
			t.Errorf("Acrobot obs %v, want %v", obs, want)
			break
		}
	}
	Pendulum{}.Observe([]float64{math.Pi, 5}, obs)
	if !closeTo(obs[0], -1, 1e-15) || !closeTo(obs[1], 0, 1e-15) || obs[2] != 5 {
		t.Errorf("Pendulum obs %v", obs[:3])
	}
	CartPole{}.Observe([]float64{1, 2, 3, 4}, obs)
	MountainCarContinuous{}.Observe([]float64{5, 6}, obs[4:])
	if obs[0] != 1 || obs[3] != 4 || obs[4] != 5 || obs[5] != 6 {
		t.Errorf("CartPole/MountainCar obs %v", obs)
	}
}
