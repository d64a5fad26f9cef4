package gpu_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// SAXPY on whatever device Open picks, awaited through a Blocking Io.
// OptionsFromEnv lets VKIO_DEVICE pick the device and VKIO_VALIDATION=1
// turn the validation layer on; gpu.Options{} would ignore them.
func Example() {
	x := io.NewBlocking().Io()
	d, err := gpu.Open(gpu.OptionsFromEnv())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	xs := []float32{1, 2, 3, 4}
	ys := []float32{10, 20, 30, 40}
	bx, _ := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, xs)
	by, _ := gpu.NewBufferFrom(x, d, gpu.DeviceLocal, ys)
	k, err := d.NewKernel(shaders.SAXPY(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := d.NewBatch()
	if err := b.Dispatch(k, k.Groups(len(xs)), gpu.Push(float32(2), uint32(len(xs))), bx, by); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := d.Submit(x, b).Await(x); err != nil {
		fmt.Println(err)
		return
	}
	out := make([]float32, len(ys))
	if err := gpu.Download(x, by, 0, out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out)
	// Output: [12 24 36 48]
}

// Reflect reads a kernel's interface out of its SPIR-V.
func ExampleReflect() {
	r, err := gpu.Reflect(shaders.SAXPY())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Entry, r.LocalSize, r.PushSize)
	for _, b := range r.Bindings {
		fmt.Println(b.Binding, b.Kind, "read-only:", b.ReadOnly)
	}
	_, err = gpu.Reflect(shaders.SAXPY()[:64])
	fmt.Println(errors.Is(err, gpu.ErrBadSPIRV))
	// Output:
	// main [256 1 1] 8
	// 0 storage buffer read-only: true
	// 1 storage buffer read-only: false
	// true
}

// View gives typed access to a host-visible buffer.
func ExampleView() {
	d, err := gpu.Open(gpu.OptionsFromEnv())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	buf, _ := d.NewBuffer(16, gpu.HostVisible)
	v, _ := gpu.View[uint32](buf)
	v[0], v[3] = 7, 9
	fmt.Println(len(v), v[0], v[3])
	// Output: 4 7 9
}

// With a Threaded Io, a submission is completed by the device's completion
// goroutine and can overlap other work; Cancel stops waiting at once.
func ExampleDevice_Submit() {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	d, err := gpu.Open(gpu.OptionsFromEnv())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	k, _ := d.NewKernel(shaders.Tiny(), nil)
	counter, _ := d.NewBuffer(4, gpu.HostVisible)
	b := d.NewBatch()
	b.Fill(counter, 0, 4, 41)
	b.Dispatch(k, [3]uint32{1, 1, 1}, nil, counter)
	b.Timestamp("done")
	f := d.Submit(x, b)
	// ... other work here ...
	c, err := f.Await(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := gpu.View[uint32](counter)
	fmt.Println(v[0], len(c.Stamps), c.Stamps[0].Label)
	// Output: 42 1 done
}

// OptionsFromEnv maps VKIO_DEVICE and VKIO_VALIDATION=1 into Options; the
// rest is set on the result, here a logger for the device's records (its
// Open at Info, validation messages at Warn and Error). Without a Logger
// the device logs nothing.
func ExampleOptionsFromEnv() {
	opts := gpu.OptionsFromEnv()
	opts.AppName = "example"
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := gpu.Open(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	fmt.Println(d.Validation() == (os.Getenv("VKIO_VALIDATION") == "1"))
	// Output: true
}

// A transfer batch uploads while kernels run on the compute queue: the
// kernel's batch waits for the upload with After, and the readback for the
// kernel, on the GPU, with no wait on the host between them. Without a
// transfer queue (lavapipe) the same code runs on the compute queue.
func ExampleBatch_After() {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	opts := gpu.OptionsFromEnv()
	opts.TransferQueue, opts.ForceStaging = true, true
	d, err := gpu.Open(opts)
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
	host, _ := gpu.NewBufferFrom(x, d, gpu.HostVisible, []float32{1, 2, 3, 4, 10, 20, 30, 40})
	bx, _ := d.NewBuffer(16, gpu.DeviceLocal)
	by, _ := d.NewBuffer(16, gpu.DeviceLocal)

	up := d.NewTransferBatch()
	up.Copy(bx, 0, host, 0, 16)
	up.Copy(by, 0, host, 16, 16)
	run := d.NewBatch()
	run.Dispatch(k, k.Groups(4), gpu.Push(float32(2), uint32(4)), bx, by)
	down := d.NewTransferBatch()
	down.Copy(host, 16, by, 0, 16)

	fUp := d.Submit(x, up)
	if err := run.After(up); err != nil {
		fmt.Println(err)
		return
	}
	fRun := d.Submit(x, run)
	if err := down.After(run); err != nil {
		fmt.Println(err)
		return
	}
	fDown := d.Submit(x, down)
	for _, f := range []*io.Future[*gpu.Completion]{fUp, fRun, fDown} {
		if _, err := f.Await(x); err != nil {
			fmt.Println(err)
			return
		}
	}
	out, _ := gpu.View[float32](host)
	fmt.Println(out[4:])
	// Output: [12 24 36 48]
}
