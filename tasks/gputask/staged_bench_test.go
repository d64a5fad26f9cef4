package gputask_test

import (
	"testing"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// BenchmarkReadBack: Julia frames (VKIO_BENCH_SIZE square, default 512;
// VKIO_BENCH_ITER iterations, default 100) read back three ways, Threaded
// Io, depth 4, frames dropped after the read-back: in place from
// host-visible output buffers (the default), by staging copies on the
// compute queue (ForceStaging), and by staging copies on the transfer
// queue (ForceStaging and TransferQueue; the compute queue where the
// device has none, as on lavapipe). Metrics: frames/s, the copies' GPU
// time per frame and the share of it that ran beside the device's kernels
// (Report.CopyOverlap / CopyBusy: 0 on one queue, near 100 where a
// transfer queue hides the copies).
//
//	VKIO_BENCH_SIZE=2048 go test -run '^$' -bench ReadBack -benchtime 5x ./tasks/gputask/
func BenchmarkReadBack(b *testing.B) {
	size, iter := envInt("VKIO_BENCH_SIZE", 512), envInt("VKIO_BENCH_ITER", 100)
	const frames, depth = 40, 4
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	for _, m := range []struct {
		name string
		opts gpu.Options
		mem  gpu.Memory
	}{
		{"in-place", gpu.Options{}, gpu.HostVisible},
		{"staged", gpu.Options{ForceStaging: true}, gpu.DeviceLocal},
		{"transfer", gpu.Options{ForceStaging: true, TransferQueue: true}, gpu.DeviceLocal},
	} {
		b.Run(m.name, func(b *testing.B) {
			d, err := gpu.Open(m.opts)
			if err != nil {
				b.Skipf("no Vulkan device: %v", err)
			}
			defer d.Close()
			disp, err := demo.NewJuliaDispatcherIn(d, depth, m.mem, func(k int) demo.JuliaParams { return demo.JuliaZoom(size, size, k, uint32(iter)) })
			if err != nil {
				b.Fatal(err)
			}
			defer disp.Close()
			var wall, copyBusy, overlap float64
			for b.Loop() {
				p := &tasks.Pipeline{Frames: frames, Depth: depth, Dispatcher: disp, FrameBytes: disp.FrameBytes(),
					Sinks: []tasks.Sink{tasks.SinkFunc(func(io.Io, int, []byte) error { return nil })}}
				rep, err := p.Run(x)
				if err != nil {
					b.Fatal(err)
				}
				wall += rep.Wall.Seconds()
				copyBusy += rep.CopyBusy.Seconds()
				overlap += rep.CopyOverlap.Seconds()
			}
			b.ReportMetric(float64(frames*b.N)/wall, "frames/s")
			b.ReportMetric(copyBusy*1e3/float64(frames*b.N), "copy-ms/frame")
			if copyBusy > 0 {
				b.ReportMetric(100*overlap/copyBusy, "copy-overlap-%")
			}
			if d.TransferQueue() {
				b.ReportMetric(1, "transfer-queue")
			}
		})
	}
}
