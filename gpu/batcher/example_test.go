package batcher_test

import (
	"fmt"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// Four callers share the GPU through one Batcher: each enqueues its SAXPY
// and awaits it; the batcher records what is waiting into shared
// submissions.
func Example() {
	tb := io.NewThreaded(io.ThreadedOptions{})
	defer tb.Close()
	x := tb.Io()
	d, err := gpu.Open(gpu.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	k, err := d.NewKernel(shaders.SAXPY(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer k.Close()

	bt := batcher.New(d, batcher.Options{MaxBatch: 8})
	run, err := io.Concurrent(x, func(x io.Io) (struct{}, error) { return struct{}{}, bt.Run(x) })
	if err != nil {
		fmt.Println(err)
		return
	}
	results := make([][]float32, 4)
	var callers io.Group
	for i := range results {
		_ = callers.Concurrent(x, func(x io.Io) error {
			bx, _ := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, []float32{1, 2, 3, 4})
			by, _ := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, []float32{10, 20, 30, 40})
			defer bx.Close()
			defer by.Close()
			_, err := bt.Do(x, batcher.Dispatch{
				Kernel: k, Groups: k.Groups(4), Push: gpu.Push(float32(i), uint32(4)),
				Buffers: []*gpu.Buffer{bx, by},
			})
			if err != nil {
				return err
			}
			results[i] = make([]float32, 4)
			return gpu.Download(x, by, 0, results[i])
		})
	}
	if err := callers.Wait(x); err != nil {
		fmt.Println(err)
		return
	}
	bt.Close()
	if _, err := run.Await(x); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r)
	}
	fmt.Println("dispatches:", bt.Dispatches())
	// Output:
	// [10 20 30 40]
	// [11 22 33 44]
	// [12 24 36 48]
	// [13 26 39 52]
	// dispatches: 4
}
