package gpu

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/vkio/vkio/io"
)

// TestQueueCounts: Info reports the compute family's queue count (at least
// one on a usable device) and a dedicated transfer family's (0 or more).
func TestQueueCounts(t *testing.T) {
	d, _ := open(t, Options{})
	in := d.Info()
	if in.ComputeQueues < 1 {
		t.Fatalf("ComputeQueues = %d on a usable device", in.ComputeQueues)
	}
	if in.TransferQueues < 0 {
		t.Fatalf("TransferQueues = %d", in.TransferQueues)
	}
	devs := must(Devices())
	if got := devs[in.Index]; got.ComputeQueues != in.ComputeQueues || got.TransferQueues != in.TransferQueues {
		t.Fatalf("Devices() says %d/%d queues, Info %d/%d", got.ComputeQueues, got.TransferQueues, in.ComputeQueues, in.TransferQueues)
	}
}

// TestOptionsQueue: every queue of the compute family opens and runs work;
// one past the last fails with ErrInvalid naming the device and the count,
// and so does a negative index.
func TestOptionsQueue(t *testing.T) {
	x := io.NewBlocking().Io()
	d0, _ := open(t, Options{})
	count := d0.Info().ComputeQueues
	for q := range min(count, 4) {
		d, _ := open(t, Options{Queue: q})
		_, c, b := tiny(t, x, d)
		for range 3 {
			_, err := d.Run(x, b)
			check(t, err)
		}
		got := make([]uint32, 4)
		check(t, Download(x, c, 0, got))
		if got[0] != 3 {
			t.Fatalf("queue %d: counter %d after 3 runs, want 3", q, got[0])
		}
		check(t, b.Close())
		check(t, c.Close())
	}
	for _, q := range []int{count, -1} {
		d, err := Open(Options{Queue: q})
		if err == nil {
			d.Close()
			t.Fatalf("Open with Queue %d of %d: no error", q, count)
		}
		var ge *Error
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &ge) {
			t.Fatalf("Open with Queue %d: %v, want an *Error matching ErrInvalid", q, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, d0.Info().Name) || !strings.Contains(msg, strconv.Itoa(count)+" compute queue") {
			t.Fatalf("Open with Queue %d: %q does not name the device and its %d queues", q, msg, count)
		}
	}
}
