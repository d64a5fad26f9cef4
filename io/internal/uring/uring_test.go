package uring

import (
	"testing"

	"golang.org/x/sys/unix"
)

func newRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	r, err := New(Options{Entries: entries, CQEntries: 2 * entries})
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// NOPs go round the ring: a full queue refuses more entries, one Enter submits
// them all, and every completion comes back with its user data.
func TestNopRoundTrip(t *testing.T) {
	r := newRing(t, 4)
	n := r.SQEntries()
	for i := range n {
		sqe := r.GetSQE()
		if sqe == nil {
			t.Fatalf("queue full after %d of %d entries", i, n)
		}
		sqe.Opcode = OpNop
		sqe.UserData = uint64(100 + i)
	}
	if r.GetSQE() != nil {
		t.Fatal("GetSQE returned an entry from a full queue")
	}
	r.Publish()
	if got := r.Unsubmitted(); got != n {
		t.Fatalf("Unsubmitted = %d; want %d", got, n)
	}
	submitted, err := r.Enter(n, n, EnterGetEvents)
	if err != nil || submitted != int(n) {
		t.Fatalf("Enter = %d, %v; want %d", submitted, err, n)
	}
	seen := map[uint64]bool{}
	r.Reap(func(c CQE) {
		if c.Res != 0 {
			t.Errorf("NOP %d: res %d", c.UserData, c.Res)
		}
		seen[c.UserData] = true
	})
	for i := range n {
		if !seen[uint64(100+i)] {
			t.Errorf("no completion for %d", 100+i)
		}
	}
	if r.Enters() != 1 || r.CQOverflowPending() || r.Dropped() != 0 {
		t.Errorf("enters %d, overflow %v, dropped %d", r.Enters(), r.CQOverflowPending(), r.Dropped())
	}
}

// More completions than the completion queue holds are kept by the kernel and
// moved in by an Enter with EnterGetEvents: none is lost.
func TestOverflow(t *testing.T) {
	r := newRing(t, 2) // 2 submission slots, 4 completion slots
	const total = 20
	for i, tries := 0, 0; i < total; tries++ {
		if tries > 1000 {
			t.Fatalf("submitted %d of %d", i, total)
		}
		for sqe := r.GetSQE(); sqe != nil && i < total; sqe = r.GetSQE() {
			sqe.Opcode = OpNop
			sqe.UserData = uint64(i)
			i++
		}
		r.Publish()
		if _, err := r.Enter(r.Unsubmitted(), 0, 0); err != nil && err != unix.EBUSY {
			t.Fatal(err)
		}
	}
	if !r.CQOverflowPending() {
		t.Fatal("expected completion-queue overflow")
	}
	got := 0
	for got < total {
		got += r.Reap(func(CQE) {})
		if r.CQOverflowPending() {
			r.Enter(0, 0, EnterGetEvents)
		} else if got < total {
			t.Fatalf("reaped %d of %d with no overflow pending", got, total)
		}
	}
	if r.Dropped() != 0 {
		t.Errorf("dropped %d", r.Dropped())
	}
}

func TestProbe(t *testing.T) {
	r := newRing(t, 2)
	supported, err := r.Supported()
	if err != nil {
		t.Skip(err)
	}
	for _, op := range []uint8{OpNop, OpReadv, OpWritev, OpFsync, OpTimeout, OpAsyncCancel, OpOpenat, OpClose, OpStatx, OpRenameat, OpUnlinkat, OpMkdirat} {
		if !supported(op) {
			t.Errorf("opcode %d not supported", op)
		}
	}
	t.Logf("IORING_OP_FTRUNCATE supported: %v", supported(OpFtruncate))
}
