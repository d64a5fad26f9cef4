package gputask_test

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

func TestMain(m *testing.M) { gputest.Main(m) }

// openGPU opens a device with validation on; see gputest.Open.
func openGPU(t testing.TB) *gpu.Device { return gputest.Open(t, gpu.Options{}) }

// ios runs fn on Blocking and Threaded Ios (and Evented, where io.New knows it).
func ios(t *testing.T, fn func(t *testing.T, x io.Io)) {
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		t.Run(kind, func(t *testing.T) {
			b, err := io.New(kind)
			if err != nil {
				t.Skipf("io.New(%q): %v", kind, err)
			}
			defer b.Close()
			fn(t, b.Io())
		})
	}
}

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

// openBenchGPU opens the device without validation (benchmarks measure
// speed; tests run with the layer on).
func openBenchGPU(b *testing.B) *gpu.Device {
	d, err := gpu.Open(gpu.Options{})
	if err != nil {
		b.Skipf("no Vulkan device: %v", err)
	}
	return d
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
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
