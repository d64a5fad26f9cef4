package iotest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// fence is an operation completed outside the Io: a goroutine of its own
// signals it after a delay, as a GPU signals a fence.
type fence struct {
	done  chan struct{}
	timer *time.Timer
}

func newFence(after time.Duration) *fence {
	f := &fence{done: make(chan struct{})}
	f.timer = time.AfterFunc(after, func() { close(f.done) })
	return f
}

// stop keeps a fence that has not been signaled from ever being signaled.
func (f *fence) stop() { f.timer.Stop() }

// wait is the blocking wait of such an operation (vkWaitForFences): it ends
// when the fence is signaled, when ctx is done, or at ctx's deadline.
func (f *fence) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runExternal completes f through x the way External says: inline, or
// through a Promise resolved by a completion goroutine.
func runExternal(t *testing.T, x io.Io, f *fence) (bool, error) {
	inline, err := x.External("fence")
	if err != nil {
		return inline, err
	}
	if inline {
		return true, f.wait(x.Context())
	}
	p := io.NewPromise[struct{}]()
	// A canceled wait resolves at once; the completion goroutine stops
	// watching (a GPU's goes on tracking the work).
	gone := make(chan struct{})
	p.OnCancel(func() {
		p.Resolve(struct{}{}, io.ErrCanceled)
		close(gone)
	})
	var completer sync.WaitGroup
	defer completer.Wait()
	completer.Go(func() {
		select {
		case <-f.done:
			p.Resolve(struct{}{}, nil)
		case <-gone:
		}
	})
	_, err = p.Future().Await(x)
	return false, err
}

var _ = register("ExternalCompletes", func(t *testing.T, x io.Io) {
	f := newFence(5 * time.Millisecond)
	defer f.stop()
	inline, err := runExternal(t, x, f)
	if err != nil {
		t.Fatalf("external operation: %v", err)
	}
	select {
	case <-f.done:
	default:
		t.Fatal("the wait returned before the fence was signaled")
	}
	// inline is the answer for a single thread of control, the only
	// shape in which Concurrent can never run anything.
	c, cerr := io.Concurrent(x, func(io.Io) (int, error) { return 1, nil })
	if cerr == nil {
		c.Await(x)
	}
	if inline && !errors.Is(cerr, io.ErrConcurrencyUnavailable) {
		t.Fatalf("External says inline, but Concurrent ran a task (err %v)", cerr)
	}
	if !inline && cerr != nil {
		t.Fatalf("External says a completion thread resolves, but Concurrent fails: %v", cerr)
	}
})

var _ = register("ExternalCanceled", func(t *testing.T, x io.Io) {
	cx, cancel := x.WithCancel()
	cancel()
	_, err := cx.External("fence")
	var e *io.Error
	if !errors.Is(err, io.ErrCanceled) || !errors.As(err, &e) || e.Op != "fence" {
		t.Fatalf("External on a canceled task = %v, want an *io.Error for fence matching ErrCanceled", err)
	}
	// Canceled while waiting, either way: a fence that is never signaled
	// in the test's time.
	cx, cancel = x.WithCancel()
	f := newFence(time.Hour)
	defer f.stop()
	stop := time.AfterFunc(10*time.Millisecond, cancel)
	defer stop.Stop()
	_, err = runExternal(t, cx, f)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled wait = %v, want context.Canceled", err)
	}
	cancel()
})
