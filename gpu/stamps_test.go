package gpu

import (
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// TestCompletionDoesNotWaitForLaterWork: a batch's completion, timestamps
// included, is delivered when the GPU has finished it, not when the work
// queued behind it has finished too. (Reading timestamps with
// vkGetQueryPoolResults on lavapipe waited for the device to go idle, so a
// small batch submitted ahead of a heavy one completed only after it.)
func TestCompletionDoesNotWaitForLaterWork(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		if inline, err := external(x); err != nil || inline {
			t.Skip("the Io waits for each submission inline: nothing is queued behind it")
		}
		d, _ := open(t, Options{})
		k := must(d.NewKernel(shaders.SAXPY(), nil))
		defer k.Close()
		const n = 1024
		bx := must(d.NewBuffer(4*n, DeviceLocal))
		defer bx.Close()
		by := must(d.NewBuffer(4*n, DeviceLocal))
		defer by.Close()
		small := d.NewBatch()
		defer small.Close()
		check(t, small.Timestamp("start"))
		check(t, small.Dispatch(k, k.Groups(n), Push(float32(2), uint32(n)), bx, by))
		check(t, small.Timestamp("end"))
		big, done := heavy(t, d)
		defer done()
		check(t, big.Timestamp("end"))

		fs := d.Submit(x, small)
		fb := d.Submit(x, big)
		cs := must(fs.Await(x))
		got := time.Now() // when the waiter had the small batch's result
		cb := must(fb.Await(x))
		if len(cs.Stamps) != 2 || len(cb.Stamps) != 1 {
			t.Fatalf("stamps %v, %v", cs.Stamps, cb.Stamps)
		}
		if span, ok := cs.Span("start", "end"); !ok || span < 0 {
			t.Fatalf("small batch's span %v %v (stamps %v)", span, ok, cs.Stamps)
		}
		bigEnd := cb.Stamps[0].At
		if !got.Before(bigEnd) {
			t.Fatalf("the small batch's result came at %v, after the heavy batch queued behind it ended (%v): its completion waited for later work",
				got.Format("15:04:05.000000"), bigEnd.Format("15:04:05.000000"))
		}
		if !cs.Stamps[1].At.Before(bigEnd) {
			t.Fatalf("stamps out of order: small ends %v, big ends %v", cs.Stamps[1].At, bigEnd)
		}
	})
}
