package tasks_test

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// benchIos lists the Io implementations io.New knows.
func benchIos(b *testing.B, fn func(b *testing.B, x io.Io)) {
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		b.Run(kind, func(b *testing.B) {
			be, err := io.New(kind)
			if err != nil {
				b.Skipf("io.New(%q): %v", kind, err)
			}
			defer be.Close()
			fn(b, be.Io())
		})
	}
}

func reportPipeline(b *testing.B, reps []tasks.Report, frames int) {
	var eff, wall, gpuB, disk float64
	for _, r := range reps {
		eff += r.Efficiency
		wall += float64(r.Wall)
		gpuB += float64(r.Busy["gpu"])
		disk += float64(r.Busy["disk"])
	}
	n := float64(len(reps))
	b.ReportMetric(eff/n, "overlap-eff")
	b.ReportMetric(wall/n/1e6, "wall-ms")
	b.ReportMetric(gpuB/n/1e6/float64(frames), "gpu-ms/frame")
	b.ReportMetric(disk/n/1e6/float64(frames), "save-ms/frame")
}

// BenchmarkPipelineFake: 1 ms of "GPU" and 1 ms of "save" per frame (timers,
// no CPU): the scheduler's own overlap, with nothing else competing.
func BenchmarkPipelineFake(b *testing.B) {
	const frames = 40
	benchIos(b, func(b *testing.B, x io.Io) {
		var reps []tasks.Report
		for b.Loop() {
			p := &tasks.Pipeline{Frames: frames, Depth: 3, Dispatcher: newFakeGPU(time.Millisecond, 1024),
				Sinks: []tasks.Sink{newMemSink(time.Millisecond)}}
			rep, err := p.Run(x)
			if err != nil {
				b.Fatal(err)
			}
			reps = append(reps, rep)
		}
		reportPipeline(b, reps, frames)
	})
}

// openBenchGPU opens the device without validation (TestMain turns it on for
// tests through the environment).
func openBenchGPU(b *testing.B) *gpu.Device {
	old := os.Getenv("VKIO_VALIDATION")
	os.Unsetenv("VKIO_VALIDATION")
	d, err := gpu.Open(gpu.Options{})
	os.Setenv("VKIO_VALIDATION", old)
	if err != nil {
		b.Skipf("no Vulkan device: %v", err)
	}
	return d
}

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
		disp, err := tasks.NewJuliaDispatcher(d, 3, func(k int) tasks.JuliaParams { return tasks.JuliaZoom(size, size, k, uint32(iter)) })
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

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
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
			disp, err := tasks.NewJuliaDispatcher(d, 3, func(k int) tasks.JuliaParams { return tasks.JuliaZoom(64, 64, k, 200) })
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
					Encoder: &tasks.PNGEncoder{Width: 64, Height: 64, Level: png.BestSpeed},
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

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapBytes() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}

// sampleHeap records into peak the largest live heap above base until stop:
// every 10 ms it forces a collection and reads the heap, so the figure is
// retained memory, not garbage waiting for the collector.
func sampleHeap(peak *uint64, base uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			runtime.GC()
			if v := heapBytes(); v > base && v-base > *peak {
				*peak = v - base
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkRecorder: the cost of a span with recording off (nil Recorder)
// and on.
func BenchmarkRecorder(b *testing.B) {
	b.Run("off", func(b *testing.B) {
		var r *tasks.Recorder
		for b.Loop() {
			r.Begin(tasks.CPU, "lane", "encode", 1).End()
		}
	})
	b.Run("on", func(b *testing.B) {
		r := tasks.NewRecorder()
		for i := 0; b.Loop(); i++ {
			if i%100000 == 0 {
				r.Reset()
			}
			r.Begin(tasks.CPU, "lane", "encode", 1).End()
		}
	})
}

// BenchmarkTraceWrite: writing the trace of 1000 frames.
func BenchmarkTraceWrite(b *testing.B) {
	r := tasks.NewRecorder()
	t0 := time.Now()
	for k := range 1000 {
		s := t0.Add(time.Duration(k) * time.Millisecond)
		for i, res := range []tasks.Resource{tasks.CPU, tasks.GPU, tasks.CPU, tasks.Disk} {
			r.Add(tasks.Span{Res: res, Lane: "l", Name: "x", Start: s.Add(time.Duration(i) * 300 * time.Microsecond), End: s.Add(time.Duration(i+2) * 300 * time.Microsecond), Frame: k, Flow: uint64(k + 1)})
		}
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := r.WriteTrace(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
