package rl

import (
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
)

// benchEvaluators runs fn on the GPU evaluator (lavapipe here) and on the
// CPU evaluator on all cores, side by side in one run.
func benchEvaluators(b *testing.B, env string, fn func(b *testing.B, ev Evaluator, cfg TrainConfig)) {
	cfg, err := DefaultConfig(env)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("gpu", func(b *testing.B) {
		d := gputest.Open(b, gpu.Options{})
		ev, err := NewGPUEvaluator(d, env, cfg.Policy, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ev.Close()
		fn(b, ev, cfg)
	})
	b.Run("cpu", func(b *testing.B) {
		e, err := Lookup(env)
		if err != nil {
			b.Fatal(err)
		}
		ev := NewCPUEvaluator(e, cfg.Policy, 0)
		defer ev.Close()
		fn(b, ev, cfg)
	})
}

// BenchmarkTrainCartPole trains one CartPole seed per iteration (seed i)
// with DefaultConfig: ns/op is the wall of a run from its first dispatch
// to its end (final evaluation included).
func BenchmarkTrainCartPole(b *testing.B) {
	benchEvaluators(b, "CartPole-v1", func(b *testing.B, ev Evaluator, cfg TrainConfig) {
		x := io.NewThreaded(io.ThreadedOptions{}).Io()
		var gens, solved int
		var wall time.Duration
		for i := 0; b.Loop(); i++ {
			cfg.Seed = uint64(i)
			res, err := Train(x, ev, cfg, TrainOptions{})
			if err != nil {
				b.Fatal(err)
			}
			r := res.Runs[0]
			gens += r.Generations
			wall += r.Wall
			if r.Solved {
				solved++
			}
		}
		b.ReportMetric(float64(gens)/float64(b.N), "gens/op")
		b.ReportMetric(float64(solved)/float64(b.N), "solved/op")
		b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "run-ms/op")
	})
}

// BenchmarkTrainCartPole64 trains 64 CartPole seeds at once per iteration:
// ns/op is the job's wall; gpu-idle the fraction of it the evaluations left
// the device idle.
func BenchmarkTrainCartPole64(b *testing.B) {
	benchEvaluators(b, "CartPole-v1", func(b *testing.B, ev Evaluator, cfg TrainConfig) {
		x := io.NewThreaded(io.ThreadedOptions{}).Io()
		cfg.Seeds = 64
		var idle float64
		var solved int
		for i := 0; b.Loop(); i++ {
			cfg.Seed = uint64(i) * 64
			res, err := Train(x, ev, cfg, TrainOptions{})
			if err != nil {
				b.Fatal(err)
			}
			idle += res.GPUIdle
			for _, r := range res.Runs {
				if r.Solved {
					solved++
				}
			}
		}
		b.ReportMetric(idle/float64(b.N), "gpu-idle")
		b.ReportMetric(float64(solved)/float64(b.N), "solved/op")
	})
}
