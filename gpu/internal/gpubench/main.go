// Command gpubench runs vkio's GPU workloads, the same ones as the C
// reference in bench/cref, and prints one line per workload:
//
//	W1 <µs>            one tiny dispatch, Submit → completion (median), Blocking Io
//	W2 <dispatches/s>  1000 tiny dispatches with 4 in flight (median of runs), Threaded Io
//	W3 <ms>            SAXPY over 16M floats, kernel time from GPU timestamps (median)
//
// Usage: gpubench [-w W1|W2|W3|all]. `make bench-gpu` runs it beside the C
// reference and prints the comparison.
//
// Go runtime setting: W1 runs at GOMAXPROCS >= 2. When the process may run
// on a single CPU (as under `taskset -c 0`, where Go picks GOMAXPROCS=1),
// gpubench raises GOMAXPROCS to 2 for W1 only (unless GOMAXPROCS is set in
// the environment) and says so on stderr. At GOMAXPROCS=1 the runtime's
// sysmon retakes the only P from a goroutine blocked in a cgo call (the
// inline timeline wait) after ~20 µs and wakes another thread to run
// nothing; with a second, idle P it does not. W2 (Threaded Io) keeps Go's
// default: there a second P makes every resolved future wake another thread
// (measured slower). This is a setting of the Go program's runtime, not of
// vkio's Vulkan work (the C reference has no runtime to configure); see
// bench/cref/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

func main() {
	which := flag.String("w", "all", "workload: W1, W2, W3 or all")
	flag.Parse()
	opts := gpu.OptionsFromEnv() // VKIO_DEVICE picks the device, as for bench/cref
	opts.AppName = "gpubench"
	d, err := gpu.Open(opts)
	if err != nil {
		fail(err)
	}
	defer d.Close()
	fmt.Fprintf(os.Stderr, "gpubench: device %s\n", d.Info())
	all := *which == "all"
	if all || *which == "W1" {
		// See the package comment: a runtime setting for W1 only.
		n := runtime.GOMAXPROCS(0)
		raise := n < 2 && os.Getenv("GOMAXPROCS") == ""
		if raise {
			fmt.Fprintf(os.Stderr, "gpubench: W1 runtime setting: GOMAXPROCS %d -> 2 (single CPU; see bench/cref/README.md)\n", n)
			runtime.GOMAXPROCS(2)
		}
		fmt.Printf("W1 %.2f\n", w1(d))
		if raise {
			runtime.GOMAXPROCS(n)
		}
	}
	if all || *which == "W2" {
		fmt.Printf("W2 %.0f\n", w2(d))
	}
	if all || *which == "W3" {
		fmt.Printf("W3 %.3f\n", w3(d))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gpubench:", err)
	os.Exit(1)
}

func must[T any](v T, err error) T {
	if err != nil {
		fail(err)
	}
	return v
}

func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func tiny(d *gpu.Device, x io.Io) (*gpu.Kernel, *gpu.Buffer, *gpu.Batch) {
	k := must(d.NewKernel(shaders.Tiny(), nil))
	c := must(gpu.NewBufferFrom(x, d, gpu.HostVisible, []uint32{0, 0, 0, 0}))
	b := d.NewBatch()
	if err := b.Dispatch(k, [3]uint32{1, 1, 1}, nil, c); err != nil {
		fail(err)
	}
	return k, c, b
}

func w1(d *gpu.Device) float64 {
	x := io.NewBlocking().Io()
	k, c, b := tiny(d, x)
	const warm, iters = 200, 2000
	lat := make([]float64, 0, iters)
	for i := 0; i < warm+iters; i++ {
		t0 := time.Now()
		if _, err := d.Run(x, b); err != nil {
			fail(err)
		}
		if i >= warm {
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	}
	if v := must(gpu.View[uint32](c))[0]; v != warm+iters {
		fail(fmt.Errorf("W1 counter %d, want %d", v, warm+iters))
	}
	b.Close()
	c.Close()
	k.Close()
	return median(lat)
}

func w2(d *gpu.Device) float64 {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	const depth, total, runs = 4, 1000, 7
	var ks [depth]*gpu.Kernel
	var cs [depth]*gpu.Buffer
	var bs [depth]*gpu.Batch
	for i := range bs {
		ks[i], cs[i], bs[i] = tiny(d, x)
	}
	rates := make([]float64, 0, runs)
	for r := 0; r < runs+1; r++ { // run 0 warms up
		var futs [depth]*io.Future[*gpu.Completion]
		t0 := time.Now()
		for i := 0; i < total; i++ {
			s := i % depth
			if futs[s] != nil {
				if _, err := futs[s].Await(x); err != nil {
					fail(err)
				}
			}
			futs[s] = d.Submit(x, bs[s])
		}
		for _, f := range futs {
			if _, err := f.Await(x); err != nil {
				fail(err)
			}
		}
		if r > 0 {
			rates = append(rates, total/time.Since(t0).Seconds())
		}
	}
	for i := range bs {
		bs[i].Close()
		cs[i].Close()
		ks[i].Close()
	}
	return median(rates)
}

func w3(d *gpu.Device) float64 {
	x := io.NewBlocking().Io()
	const n, runs = 16 << 20, 5
	xs := make([]float32, n)
	ys := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i % 1000)
		ys[i] = 1
	}
	// Local size 1024: 16384 workgroups, within every device's limit of 65535.
	k := must(d.NewKernel(shaders.SAXPY(), &gpu.KernelOptions{Spec: map[uint32]any{0: 1024}}))
	bx := must(gpu.NewBufferFrom(x, d, gpu.DeviceLocal, xs))
	by := must(gpu.NewBufferFrom(x, d, gpu.DeviceLocal, ys))
	b := d.NewBatch()
	for _, err := range []error{
		b.Timestamp("start"),
		b.Dispatch(k, k.Groups(n), gpu.Push(float32(2), uint32(n)), bx, by),
		b.Timestamp("end"),
	} {
		if err != nil {
			fail(err)
		}
	}
	ms := make([]float64, 0, runs)
	for r := 0; r < runs+1; r++ {
		c := must(d.Run(x, b))
		span, _ := c.Span("start", "end")
		if r > 0 {
			ms = append(ms, float64(span.Nanoseconds())/1e6)
		}
	}
	b.Close()
	by.Close()
	bx.Close()
	k.Close()
	return median(ms)
}
