package io_test

import (
	"fmt"
	"time"

	"github.com/vkio/vkio/io"
)

// device stands for a library that completes work outside the Io, like a
// GPU: its work is observed only by a blocking wait (vkWaitForFences).
type device struct{}

// start begins a job and returns its fence, signaled when the job is done.
func (device) start(v int) (fence chan int) {
	fence = make(chan int, 1)
	time.AfterFunc(time.Millisecond, func() { fence <- v * v })
	return fence
}

// square runs a job as an Io operation: inline under a single thread of
// control, through a Promise resolved by a completion goroutine elsewhere.
func square(x io.Io, d device, v int) *io.Future[int] {
	p := io.NewPromise[int]()
	inline, err := x.External("square")
	if err != nil {
		p.Resolve(0, err) // refused (canceled, Failing): nothing started
		return p.Future()
	}
	fence := d.start(v)
	if inline {
		// The caller's own wait; it ends early if the task is canceled.
		select {
		case r := <-fence:
			p.Resolve(r, nil)
		case <-x.Context().Done():
			p.Resolve(0, io.ErrCanceled)
		}
		return p.Future()
	}
	// A real device has one completion goroutine for all its fences.
	go func() { p.Resolve(<-fence, nil) }()
	return p.Future()
}

func ExampleIo_External() {
	for _, b := range []io.Backend{io.NewBlocking(), io.NewThreaded(io.ThreadedOptions{})} {
		x := b.Io()
		r, err := square(x, device{}, 7).Await(x)
		fmt.Println(r, err)
		b.Close()
	}
	_, err := square(io.Failing(), device{}, 7).Await(io.Failing())
	fmt.Println(err)
	// Output:
	// 49 <nil>
	// 49 <nil>
	// io: square: operation not supported by this Io
}
