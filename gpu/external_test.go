package gpu

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// TestInlineWaitDeadline: an inline wait (an Io that waits inline) ends at
// the task's deadline with an error matching ErrTimeout and
// context.DeadlineExceeded, and the submission stays tracked. The deadline
// is handed to waitCancelable directly, as waitInline reads it from
// x.Context().Deadline().
func TestInlineWaitDeadline(t *testing.T) {
	d, _ := open(t, Options{})
	b, done := heavy(t, d)
	defer done()
	x := io.NewBlocking().Io()
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		cancel   bool // the task is canceled too, as a deadline does
	}{
		{"timed wait", 5 * time.Millisecond, false},
		{"canceled at its deadline", -time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cx, cancel := x.WithCancel()
			defer cancel()
			if tc.cancel {
				cancel()
			}
			inline, err := external(cx)
			if tc.cancel {
				// A canceled task is refused before anything is submitted;
				// here the wait itself is tested, as if the cancellation
				// came during it.
				if !errors.Is(err, io.ErrCanceled) {
					t.Fatalf("external on a canceled task: %v", err)
				}
				inline = true
			} else if err != nil || !inline {
				t.Fatalf("external(Blocking) = %v, %v; want inline", inline, err)
			}
			p, err := d.enqueue(b, nil, nil, false)
			check(t, err)
			start := time.Now()
			d.waitCancelable(cx, cx.Context(), p, start.Add(tc.deadline))
			c, err := p.result()
			t.Logf("wait ended after %v: %v", time.Since(start), err)
			if c != nil || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("wait past the task's deadline = %v, %v; want ErrTimeout and context.DeadlineExceeded", c, err)
			}
			if errors.Is(err, context.Canceled) || !errors.Is(err, io.ErrDeadlineExceeded) {
				t.Fatalf("a deadline reported as a plain cancellation: %v", err)
			}
			// Still tracked: the batch is reusable once the GPU is done.
			for {
				_, err := d.Run(x, b)
				if err == nil {
					break
				}
				if !errors.Is(err, ErrBusy) {
					t.Fatalf("after the deadline: %v", err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestSubmitRefusedByIo: an Io that refuses the submission (io.Io.External)
// makes Run and Submit submit nothing, and their error wraps the Io's.
func TestSubmitRefusedByIo(t *testing.T) {
	ios(t, func(t *testing.T, base io.Io) {
		d, _ := open(t, Options{})
		_, _, b := tiny(t, base, d)
		x := io.FailingWith(io.FailPlan{Base: base, Ops: map[string]io.Fault{
			"gpu.submit": {Err: syscall.EIO, After: 1, Times: 2},
		}})
		if _, err := d.Run(x, b); err != nil {
			t.Fatalf("first Run: %v", err)
		}
		_, err := d.Run(x, b)
		var ge *Error
		if !errors.Is(err, syscall.EIO) || !errors.As(err, &ge) || ge.Op != "submit" {
			t.Fatalf("refused Run = %v, want a gpu *Error for submit wrapping EIO", err)
		}
		if _, err := d.Submit(x, b).Await(x); !errors.Is(err, syscall.EIO) {
			t.Fatalf("refused Submit = %v, want EIO", err)
		}
		// Nothing was submitted: the batch is idle, and the next runs.
		if _, err := d.Run(x, b); err != nil {
			t.Fatalf("Run after the refusals: %v", err)
		}
		if _, err := d.Run(io.Failing(), b); !errors.Is(err, io.ErrUnsupported) {
			t.Fatalf("Failing Io: %v", err)
		}
	})
}

// A deadline set with io.Io.WithTimeout ends a GPU wait on every Io: inline
// under Blocking (the fence wait is bounded by it), parked on the promise
// under Threaded (the task's cancellation carries the deadline as its
// cause). The error says it was the deadline, and the batch stays tracked.
func TestRunWithTimeout(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		d, _ := open(t, Options{})
		b, done := heavy(t, d)
		defer done()
		start := time.Now()
		full := must(d.Run(x, b))
		work := full.Completed.Sub(start)
		t.Logf("heavy batch: %v", work)

		cx, cancel := x.WithTimeout(work / 10)
		defer cancel()
		start = time.Now()
		c, err := d.Run(cx, b)
		took := time.Since(start)
		t.Logf("wait with a timeout of %v ended after %v: %v", work/10, took, err)
		if c != nil || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) ||
			!errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, io.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Fatalf("Run past its deadline = %v, %v; want a deadline error (ErrTimeout, context.DeadlineExceeded)", c, err)
		}
		if took > work*3/4 {
			t.Fatalf("the deadline ended the wait after %v for %v of work", took, work)
		}
		for { // still tracked: reusable once the GPU is done
			_, err := d.Run(x, b)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrBusy) {
				t.Fatalf("after the deadline: %v", err)
			}
			time.Sleep(time.Millisecond)
		}
	})
}
