package gpu

import (
	"testing"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
)

// Benchmarks run without the validation layer (it roughly doubles tiny
// submission latency); make bench-gpu compares them with bench/cref.

func benchDevice(b *testing.B) *Device {
	d, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func tinyBatch(b *testing.B, x io.Io, d *Device) *Batch {
	_, _, bt := tiny(b, x, d)
	return bt
}

// BenchmarkW1 is one tiny dispatch, submit → completion, on a Blocking Io.
func BenchmarkW1(b *testing.B) {
	x := io.NewBlocking().Io()
	d := benchDevice(b)
	bt := tinyBatch(b, x, d)
	for b.Loop() {
		if _, err := d.Run(x, bt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkW2 is tiny dispatches with 4 in flight on a Threaded Io.
func BenchmarkW2(b *testing.B) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d := benchDevice(b)
	var bs [4]*Batch
	for i := range bs {
		bs[i] = tinyBatch(b, x, d)
	}
	var futs [4]*io.Future[*Completion]
	i := 0
	for b.Loop() {
		s := i % 4
		if futs[s] != nil {
			if _, err := futs[s].Await(x); err != nil {
				b.Fatal(err)
			}
		}
		futs[s] = d.Submit(x, bs[s])
		i++
	}
	for _, f := range futs {
		if f != nil {
			f.Await(x)
		}
	}
}

// BenchmarkW1Floor is W1's Vulkan work called straight through the internal
// layer, as the C reference does it: submit, then wait on the timeline
// without a timeout. It is the floor for any Go caller of these cgo shims;
// BenchmarkW1 minus this is what Run's checks and bookkeeping cost.
func BenchmarkW1Floor(b *testing.B) {
	x := io.NewBlocking().Io()
	d := benchDevice(b)
	bt := tinyBatch(b, x, d)
	check(b, bt.record())
	for b.Loop() {
		v, err := d.vd.Submit(bt.cmds)
		check(b, err)
		check(b, d.vd.Wait(v, vkx.Forever))
	}
}

// BenchmarkW2Floor is W2's Vulkan work called straight through the internal
// layer from one goroutine, as the C reference does it: wait for the oldest
// of 4 in flight on the timeline, then submit, with no Io, future,
// completion goroutine or bookkeeping. BenchmarkW2 minus this is what
// vkio's futures cost.
func BenchmarkW2Floor(b *testing.B) {
	x := io.NewBlocking().Io()
	d := benchDevice(b)
	var bs [4]*Batch
	for i := range bs {
		bs[i] = tinyBatch(b, x, d)
		check(b, bs[i].record())
	}
	var vals [4]uint64
	i := 0
	for b.Loop() {
		s := i % 4
		if vals[s] != 0 {
			check(b, d.vd.Wait(vals[s], vkx.Forever))
		}
		v, err := d.vd.Submit(bs[s].cmds)
		check(b, err)
		vals[s] = v
		i++
	}
	check(b, d.vd.WaitIdle())
}
