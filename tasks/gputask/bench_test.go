package gputask_test

import (
	"fmt"
	"image/png"
	"runtime"
	"testing"

	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/internal/tasktest"
)

// BenchmarkPipelineGPU: Julia frames on the Vulkan device, saved raw and
// atomically (write + fsync + rename + fsync dir) to a temporary directory.
// The frame size and iteration count are chosen so that the GPU and the save
// cost about the same on lavapipe (VKIO_BENCH_SIZE, VKIO_BENCH_ITER override).
func BenchmarkPipelineGPU(b *testing.B) {
	size, iter := envInt("VKIO_BENCH_SIZE", 256), envInt("VKIO_BENCH_ITER", 300)
	const frames = 40
	d := openBenchGPU(b)
	defer d.Close()
	benchIos(b, func(b *testing.B, x io.Io) {
		disp, err := demo.NewJuliaDispatcher(d, 3, func(k int) demo.JuliaParams { return demo.JuliaZoom(size, size, k, uint32(iter)) })
		if err != nil {
			b.Fatal(err)
		}
		defer disp.Close()
		dir := b.TempDir()
		dd, err := io.Cwd().OpenDir(x, dir)
		if err != nil {
			b.Fatal(err)
		}
		defer dd.Close(x)
		var reps []tasks.Report
		for b.Loop() {
			p := &tasks.Pipeline{Frames: frames, Depth: 3, Dispatcher: disp, FrameBytes: disp.FrameBytes(),
				Sinks: []tasks.Sink{&tasks.DirSink{Dir: dd, Pattern: "f-%03d.raw"}}}
			rep, err := p.Run(x)
			if err != nil {
				b.Fatal(err)
			}
			reps = append(reps, rep)
		}
		reportPipeline(b, reps, frames)
	})
}

// BenchmarkPipelineMemory runs the GPU → PNG pipeline for 100 and 1000
// frames (64×64, discarding the PNGs) and reports the high-water mark of the
// live heap above the live heap before the run (sampled every 10 ms after a
// forced collection) and the
// process's peak RSS (VmHWM, reset before the run): both must not grow with
// the number of frames.
func BenchmarkPipelineMemory(b *testing.B) {
	d := openBenchGPU(b)
	defer d.Close()
	th := io.NewThreaded(io.ThreadedOptions{})
	x := th.Io()
	for _, frames := range []int{100, 1000} {
		b.Run(fmt.Sprintf("frames=%d", frames), func(b *testing.B) {
			disp, err := demo.NewJuliaDispatcher(d, 3, func(k int) demo.JuliaParams { return demo.JuliaZoom(64, 64, k, 200) })
			if err != nil {
				b.Fatal(err)
			}
			defer disp.Close()
			var peak, rss uint64
			for b.Loop() {
				runtime.GC()
				base := heapBytes()
				resetPeakRSS()
				stop := sampleHeap(&peak, base)
				p := &tasks.Pipeline{Frames: frames, Depth: 3, Dispatcher: disp, FrameBytes: disp.FrameBytes(),
					Encoder: &demo.PNGEncoder{Width: 64, Height: 64, Level: png.BestSpeed},
					Sinks:   []tasks.Sink{tasks.SinkFunc(func(io.Io, int, []byte) error { return nil })}}
				if _, err := p.Run(x); err != nil {
					b.Fatal(err)
				}
				stop()
				rss = max(rss, peakRSS())
			}
			b.ReportMetric(float64(peak), "peak-live-heap-B")
			b.ReportMetric(float64(rss), "peak-rss-B")
		})
	}
}

// BenchmarkRecordingCostGPU is BenchmarkRecordingCost (package tasks) on the
// demo's real pipeline: 24 Julia frames of 256x256 (400 iterations) on the
// Vulkan device, PNG-encoded at BestSpeed and saved atomically to a
// temporary folder, Threaded Io, depth 4. Each iteration runs every mode
// (off, a Recorder, StageCPU, both) in a rotating order; the metrics are
// the medians of each mode's wall and process CPU over the "off" run's of
// the same iteration.
//
//	go test -run '^$' -bench RecordingCostGPU -benchtime 10x -count 3 ./tasks/gputask/
func BenchmarkRecordingCostGPU(b *testing.B) {
	const frames, side = 24, 256
	d := openBenchGPU(b)
	defer d.Close()
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	disp, err := demo.NewJuliaDispatcher(d, 4, func(k int) demo.JuliaParams { return demo.JuliaZoom(side, side, k, 400) })
	if err != nil {
		b.Fatal(err)
	}
	defer disp.Close()
	dd, err := io.Cwd().OpenDir(x, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer dd.Close(x)
	tasktest.BenchRecordingCost(b, func(m tasktest.RecordingMode) tasks.Report {
		p := &tasks.Pipeline{Frames: frames, Depth: 4, Dispatcher: disp, FrameBytes: disp.FrameBytes(),
			Encoder:  &demo.PNGEncoder{Width: side, Height: side, Level: png.BestSpeed},
			Sinks:    []tasks.Sink{&tasks.DirSink{Dir: dd, Pattern: "f-%03d.png"}},
			Limits:   tasks.Limits{GPU: 2, Writes: 4},
			StageCPU: m.CPU}
		if m.Rec {
			p.Recorder = tasks.NewRecorder()
		}
		rep, err := p.Run(x)
		if err != nil {
			b.Fatal(err)
		}
		return rep
	})
}
