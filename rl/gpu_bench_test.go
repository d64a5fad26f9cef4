package rl

import (
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
)

// The GPU-against-CPU throughput benchmarks of issue 16: CartPole-v1 with
// random actions and with a 4-32-2 tanh MLP (64 members), next-step
// autoreset, whole episodes' worth of steps (500) per dispatch on the GPU
// and CPURollout (the tuned loop on every core) on the CPU, in one run:
//
//	go test -run '^$' -bench 'CartPoleThroughput' -count 5 ./rl/
//
// Each reports steps/s; the ratio gpu/cpu is the figure of the issue. The
// device is opened without the validation layer (gpu.OptionsFromEnv, so
// VKIO_DEVICE picks it); VKIO_VALIDATION=1 would measure the layer.

const (
	benchGPUEnvs   = 1 << 16
	benchCPUEnvs   = 1 << 12
	benchSteps     = 500
	benchMembers   = 64
	benchWorkgroup = 64
)

func benchDevice(b *testing.B) *gpu.Device {
	opts := gpu.OptionsFromEnv()
	opts.Validation = false
	d, err := gpu.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func benchGPU(b *testing.B, mlp bool) {
	x := io.NewBlocking().Io()
	d := benchDevice(b)
	opts := &GPUVecOptions{Seed: 1, WorkgroupSize: benchWorkgroup}
	if mlp {
		m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
		opts.Policy, opts.MLP, opts.Params, opts.Members = MLPPolicy, m, gpuTestParams(m, benchMembers, 1), benchMembers
	}
	v, err := NewGPUVecEnv(x, d, "CartPole-v1", benchGPUEnvs, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	if err := v.Run(x, benchSteps, 0); err != nil { // warm-up: pipeline, caches
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := v.Run(x, benchSteps, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	steps := float64(b.N) * benchGPUEnvs * benchSteps
	b.ReportMetric(steps/b.Elapsed().Seconds(), "steps/s")
	b.ReportMetric(0, "ns/op")
}

func benchCPU(b *testing.B, mlp bool) {
	x := io.NewBlocking().Io()
	env, _ := Lookup("CartPole-v1")
	cfg := RolloutConfig{Env: env, Envs: benchCPUEnvs, Steps: benchSteps, Seed: 1}
	if mlp {
		m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
		cfg.MLP, cfg.Params = m, gpuTestParams(m, benchMembers, 1)
	}
	for b.Loop() {
		if _, err := CPURollout(x, cfg); err != nil {
			b.Fatal(err)
		}
	}
	steps := float64(b.N) * benchCPUEnvs * benchSteps
	b.ReportMetric(steps/b.Elapsed().Seconds(), "steps/s")
	b.ReportMetric(0, "ns/op")
}

// benchRatio alternates one GPU run and one CPU rollout per iteration, so
// that load from elsewhere on a shared machine weighs on both alike, and
// reports each side's steps/s and their ratio (gpu/cpu).
func benchRatio(b *testing.B, mlp bool) {
	x := io.NewBlocking().Io()
	d := benchDevice(b)
	m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
	params := gpuTestParams(m, benchMembers, 1)
	opts := &GPUVecOptions{Seed: 1, WorkgroupSize: benchWorkgroup}
	env, _ := Lookup("CartPole-v1")
	cfg := RolloutConfig{Env: env, Envs: benchCPUEnvs, Steps: benchSteps, Seed: 1}
	if mlp {
		opts.Policy, opts.MLP, opts.Params, opts.Members = MLPPolicy, m, params, benchMembers
		cfg.MLP, cfg.Params = m, params
	}
	v, err := NewGPUVecEnv(x, d, "CartPole-v1", benchGPUEnvs, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	if err := v.Run(x, benchSteps, 0); err != nil {
		b.Fatal(err)
	}
	var gpuT, cpuT time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := v.Run(x, benchSteps, 0); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := CPURollout(x, cfg); err != nil {
			b.Fatal(err)
		}
		gpuT += t1.Sub(t0)
		cpuT += time.Since(t1)
	}
	gpuRate := float64(b.N) * benchGPUEnvs * benchSteps / gpuT.Seconds()
	cpuRate := float64(b.N) * benchCPUEnvs * benchSteps / cpuT.Seconds()
	b.ReportMetric(gpuRate, "gpu-steps/s")
	b.ReportMetric(cpuRate, "cpu-steps/s")
	b.ReportMetric(gpuRate/cpuRate, "gpu/cpu")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCartPoleRatio: the same two sides as
// BenchmarkCartPoleThroughput, alternated within each iteration:
//
//	go test -run '^$' -bench 'CartPoleRatio' -count 5 ./rl/
func BenchmarkCartPoleRatio(b *testing.B) {
	b.Run("random", func(b *testing.B) { benchRatio(b, false) })
	b.Run("mlp", func(b *testing.B) { benchRatio(b, true) })
}

// BenchmarkCartPoleThroughput: random actions and the 4-32-2 MLP, GPU
// (65536 environments x 500 steps per dispatch) and CPU (4096
// environments x 500 steps, all cores).
func BenchmarkCartPoleThroughput(b *testing.B) {
	b.Run("random/gpu", func(b *testing.B) { benchGPU(b, false) })
	b.Run("random/cpu", func(b *testing.B) { benchCPU(b, false) })
	b.Run("mlp/gpu", func(b *testing.B) { benchGPU(b, true) })
	b.Run("mlp/cpu", func(b *testing.B) { benchCPU(b, true) })
}

// BenchmarkEvaluateRatio: one ES-sized evaluation of CartPole-v1 (256
// members x 10 episodes, 4-32-2 tanh MLP, whole episodes in one dispatch)
// by the GPU Evaluator and by the CPU Evaluator on all cores, alternated
// within each iteration; reports evaluations/s of each and the ratio:
//
//	go test -run '^$' -bench 'EvaluateRatio' -count 5 ./rl/
func BenchmarkEvaluateRatio(b *testing.B) {
	x := io.NewBlocking().Io()
	d := benchDevice(b)
	m := MLP{Sizes: []int{4, 32, 2}, Act: Tanh}
	g, err := NewGPUEvaluator(d, "CartPole-v1", m, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	env, _ := Lookup("CartPole-v1")
	c := NewCPUEvaluator(env, m, 0)
	defer c.Close()
	params := gpuTestParams(m, 256, 4)
	for i := range params {
		params[i] *= 0.1 // longer episodes than unit-variance weights give
	}
	req := EvalRequest{Seed: 1, Params: params, Members: 256, Episodes: 10}
	if _, err := g.Evaluate(x, req); err != nil {
		b.Fatal(err)
	}
	var gpuT, cpuT time.Duration
	var steps int64
	for b.Loop() {
		req.Episode++
		t0 := time.Now()
		r, err := g.Evaluate(x, req)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := c.Evaluate(x, req); err != nil {
			b.Fatal(err)
		}
		gpuT += t1.Sub(t0)
		cpuT += time.Since(t1)
		steps += r.Steps
	}
	b.ReportMetric(float64(b.N)/gpuT.Seconds(), "gpu-evals/s")
	b.ReportMetric(float64(b.N)/cpuT.Seconds(), "cpu-evals/s")
	b.ReportMetric(cpuT.Seconds()/gpuT.Seconds(), "gpu/cpu")
	b.ReportMetric(float64(steps)/float64(b.N), "steps/eval")
	b.ReportMetric(0, "ns/op")
}
