package gpu

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// closeRaceRounds is how many times TestCloseRace races Device.Close
// against the Close of its objects: the crash it guards against (an object
// destroyed on a device already destroyed) showed in 3 of 16 runs.
const closeRaceRounds = 50

// TestCloseRace closes buffers, batches and kernels, and creates and
// submits, from many goroutines while Device.Close runs. Every object must
// be destroyed exactly once and never after its device: the validation
// layer reports a double or late destroy (and leaks at the device's
// destruction), the race detector reports unsynchronized destruction, and
// a destroy on a destroyed VkDevice crashes. Each Close must return nil or
// an error matching ErrClosed (ErrBusy for a kernel whose batch is still
// open), and every object reports closed afterwards.
func TestCloseRace(t *testing.T) {
	for round := range closeRaceRounds {
		if !closeRaceRound(t, round) {
			return
		}
	}
}

func closeRaceRound(t *testing.T, round int) bool {
	g := &gate{}
	d, err := Open(Options{Validation: true, SyncValidation: true, OnMessage: g.add})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	x := io.NewBlocking().Io()
	const n = 4
	var kernels []*Kernel
	var bufs []*Buffer
	var batches []*Batch
	for i := range n {
		k := must(d.NewKernel(shaders.Tiny(), nil))
		c := must(NewBufferFrom(x, d, HostVisible, []uint32{0, 0, 0, 0}))
		local := must(d.NewBuffer(64, DeviceLocal))
		b := d.NewBatch()
		check(t, b.Dispatch(k, [3]uint32{1, 1, 1}, nil, c))
		check(t, b.Fill(local, 0, 64, uint32(i)))
		if i%2 == 0 {
			// Recorded, and possibly still in flight when Close starts.
			d.Submit(x, b)
		}
		kernels = append(kernels, k)
		bufs = append(bufs, c, local)
		batches = append(batches, b)
	}
	unused := d.NewBatch() // never recorded

	var mu sync.Mutex
	var fails []string
	fail := func(format string, args ...any) {
		mu.Lock()
		fails = append(fails, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	closeOK := func(what string, err error, busyOK bool) {
		if err == nil || errors.Is(err, ErrClosed) || (busyOK && errors.Is(err, ErrBusy)) {
			return
		}
		fail("%s: Close: %v", what, err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() { <-start; closeOK(fmt.Sprintf("batch %d", i), b.Close(), true) })
	}
	wg.Go(func() { <-start; closeOK("unused batch", unused.Close(), false) })
	for i, c := range bufs {
		wg.Go(func() { <-start; closeOK(fmt.Sprintf("buffer %d", i), c.Close(), true) })
	}
	for i, k := range kernels {
		wg.Go(func() { <-start; closeOK(fmt.Sprintf("kernel %d", i), k.Close(), true) })
	}
	// Creation and submission race Close too: each either fails with
	// ErrClosed or makes an object that Close (or its own Close) destroys.
	wg.Go(func() {
		<-start
		c, err := d.NewBuffer(16, HostVisible)
		if err != nil {
			closeOK("new buffer", err, false)
			return
		}
		closeOK("new buffer", c.Close(), false)
	})
	wg.Go(func() {
		<-start
		k, err := d.NewKernel(shaders.Tiny(), nil)
		if err != nil {
			closeOK("new kernel", err, false)
			return
		}
		closeOK("new kernel", k.Close(), false)
	})
	wg.Go(func() {
		<-start
		_, err := d.Run(x, batches[1])
		if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrBusy) {
			fail("run: %v", err)
		}
	})
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	wg.Go(func() {
		<-start
		tx := th.Io()
		_, err := d.Submit(tx, batches[3]).Await(tx)
		if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrBusy) {
			fail("submit (threaded): %v", err)
		}
	})
	wg.Go(func() {
		<-start
		for range 8 {
			if err := Upload(x, bufs[0], 0, []uint32{1, 2, 3, 4}); err != nil {
				closeOK("upload", err, false)
				return
			}
		}
	})
	wg.Go(func() { <-start; closeOK("device", d.Close(), false) })
	close(start)
	wg.Wait()
	// Closed everything is: a further Close of anything returns nil.
	check(t, d.Close())
	for _, b := range batches {
		check(t, b.Close())
	}
	for _, c := range bufs {
		check(t, c.Close())
		if _, err := c.Bytes(); !errors.Is(err, ErrClosed) {
			t.Errorf("round %d: Bytes of a buffer of a closed device: %v, want ErrClosed", round, err)
		}
	}
	for _, k := range kernels {
		check(t, k.Close())
	}
	if n := d.Live(); n != 0 {
		t.Errorf("round %d: %d objects live after Close", round, n)
	}
	for _, f := range fails {
		t.Errorf("round %d: %s", round, f)
	}
	for _, m := range g.take() {
		t.Errorf("round %d: validation message: %s", round, m)
	}
	return !t.Failed()
}

// TestRecordPanic injects a panic into recording (vulkan-go panics when a
// C allocation fails, as under ulimit -v): Submit must return an error
// (ErrOutOfMemory for vulkan-go's allocation panic, ErrVulkan for another
// value) instead of panicking, leaving the batch unlocked, unrecorded and
// usable; it is submitted again, then closed, and Device.Close returns
// (it used to deadlock on the batch's lock).
func TestRecordPanic(t *testing.T) {
	cases := []struct {
		code vkx.Result
		want error
	}{
		{vkx.ErrorOutOfHostMemory, ErrOutOfMemory},
		{vkx.ErrorUnknown, ErrVulkan},
	}
	for _, tc := range cases {
		t.Run(tc.code.String(), func(t *testing.T) {
			ios(t, func(t *testing.T, x io.Io) {
				g := &gate{}
				d, err := Open(Options{Validation: true, SyncValidation: true, OnMessage: g.add})
				check(t, err)
				k := must(d.NewKernel(shaders.Tiny(), nil))
				c := must(NewBufferFrom(x, d, HostVisible, []uint32{0, 0, 0, 0}))
				b := d.NewBatch()
				check(t, b.Dispatch(k, [3]uint32{1, 1, 1}, nil, c))

				d.vd.InjectFault(vkx.FaultPanic, tc.code, 1)
				var ge *Error
				_, err = d.Submit(x, b).Await(x)
				if !errors.Is(err, tc.want) || !errors.As(err, &ge) {
					t.Fatalf("submit with a panic in recording (%s): %v, want an *Error matching %v", tc.code, err, tc.want)
				}
				t.Logf("error: %v", err)
				// Unlocked and usable: submitted again, it runs.
				_, err = d.Run(x, b)
				check(t, err)
				got := must(View[uint32](c))
				if got[0] == 0 {
					t.Fatalf("the batch submitted after the panic did not run: counter %v", got)
				}
				check(t, b.Close())
				check(t, c.Close())
				check(t, k.Close())
				// Close must return; a deadlock here ends the test binary at
				// its -timeout with every goroutine's stack.
				check(t, d.Close())
				for _, m := range g.take() {
					t.Errorf("validation message: %s", m)
				}
			})
		})
	}
}

// TestRecordPanicThenClose leaves the batch that failed to record open:
// Device.Close must destroy it without deadlocking on its lock.
func TestRecordPanicThenClose(t *testing.T) {
	x := io.NewBlocking().Io()
	g := &gate{}
	d, err := Open(Options{Validation: true, OnMessage: g.add})
	check(t, err)
	k := must(d.NewKernel(shaders.Tiny(), nil))
	c := must(d.NewBuffer(16, HostVisible))
	b := d.NewBatch()
	check(t, b.Dispatch(k, [3]uint32{1, 1, 1}, nil, c))
	d.vd.InjectFault(vkx.FaultPanic, vkx.ErrorOutOfHostMemory, 1)
	if _, err := d.Run(x, b); !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("run with a panic in recording: %v, want ErrOutOfMemory", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("closing a buffer of the batch that failed to record: %v", err)
	}
	check(t, d.Close())
	if err := b.Close(); err != nil {
		t.Fatalf("Close of a batch after its device: %v", err)
	}
	for _, m := range g.take() {
		t.Errorf("validation message: %s", m)
	}
}

// TestCloseConcurrentTwice closes a device from two goroutines: neither
// returns before the device is closed (the second waits for the first), and
// Close of a Device not made by Open is an error, not a nil dereference.
func TestCloseConcurrentTwice(t *testing.T) {
	d, err := Open(Options{Validation: true})
	check(t, err)
	b := must(d.NewBuffer(16, HostVisible))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if n := d.Live(); n != 0 {
				t.Errorf("Close returned with %d objects live", n)
			}
			if _, err := b.Bytes(); !errors.Is(err, ErrClosed) {
				t.Errorf("Close returned before destroying the buffer: Bytes: %v", err)
			}
		})
	}
	wg.Wait()
	var zero Device
	if err := zero.Close(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Close of a zero Device: %v, want ErrInvalid", err)
	}
}
