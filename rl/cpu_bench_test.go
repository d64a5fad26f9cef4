package rl

import (
	"runtime"
	"testing"

	"github.com/vkio/vkio/io"
)

// benchRollout runs CPURollout of envs x steps per iteration and reports
// ns/step and steps/s.
func benchRollout(b *testing.B, cfg RolloutConfig) {
	x := io.NewBlocking().Io()
	var steps int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := CPURollout(x, cfg)
		if err != nil {
			b.Fatal(err)
		}
		steps += r.Steps
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(s*1e9/float64(steps), "ns/step")
	b.ReportMetric(float64(steps)/s, "steps/s")
}

func cartPoleMLP() (MLP, []float32) {
	m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
	return m, testParams(m.NumParams(), 1, 0.3)
}

// BenchmarkCPUCartPole is the CPU baseline of `vkdemo rl bench`: CartPole
// with random actions and with a 4-32-2 tanh MLP, on one goroutine and on
// GOMAXPROCS, 1024 environments x 1024 steps per iteration, same-step
// autoreset.
func BenchmarkCPUCartPole(b *testing.B) {
	m, params := cartPoleMLP()
	all := runtime.GOMAXPROCS(0)
	for _, c := range []struct {
		name    string
		mlp     bool
		threads int
	}{{"random/1", false, 1}, {"random/all", false, all}, {"mlp/1", true, 1}, {"mlp/all", true, all}} {
		cfg := RolloutConfig{Env: CartPole{}, Envs: 1024, Steps: 1024, Seed: 1, Mode: SameStep, Threads: c.threads}
		if c.mlp {
			cfg.MLP, cfg.Params = m, params
			cfg.Steps = 256
		}
		b.Run(c.name, func(b *testing.B) { benchRollout(b, cfg) })
	}
}

// BenchmarkCPUEnvs is every environment with random actions on one
// goroutine, through the generic (Env interface) loop.
func BenchmarkCPUEnvs(b *testing.B) {
	for _, name := range Envs() {
		env := mustLookup(b, name)
		if _, ok := env.(CartPole); ok {
			env = wrapped{env}
		}
		b.Run(name, func(b *testing.B) {
			benchRollout(b, RolloutConfig{Env: env, Envs: 256, Steps: 1024, Seed: 1, Mode: SameStep, Threads: 1})
		})
	}
}

// BenchmarkCPUEvaluator evaluates a 4-32-2 CartPole population of 64
// members x 4 episodes on all goroutines (what ES trains with until the GPU
// evaluator is there).
func BenchmarkCPUEvaluator(b *testing.B) {
	m, _ := cartPoleMLP()
	req := EvalRequest{Seed: 1, Params: testParams(m.NumParams(), 64, 0.3), Members: 64, Episodes: 4}
	ev := NewCPUEvaluator(CartPole{}, m, 0)
	x := io.NewBlocking().Io()
	var steps int64
	for i := 0; i < b.N; i++ {
		req.Episode = uint32(i)
		r, err := ev.Evaluate(x, req)
		if err != nil {
			b.Fatal(err)
		}
		steps += r.Steps
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(s*1e9/float64(steps), "ns/step")
	b.ReportMetric(float64(steps)/s, "steps/s")
}

// BenchmarkPhilox is one Philox4x32-10 block.
func BenchmarkPhilox(b *testing.B) {
	var acc uint32
	for i := 0; i < b.N; i++ {
		acc += Philox4x32([4]uint32{uint32(i), 1, 2, 3}, [2]uint32{4, 5})[0]
	}
	sink32 = acc
}

var sink32 uint32
