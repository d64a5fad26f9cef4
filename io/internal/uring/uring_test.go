//go:build linux

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

// A muted eventfd hears nothing of the completions posted meanwhile, which
// CQReady still reports; unmuted, the next completion signals it again.
func TestMuteEventfd(t *testing.T) {
	r := newRing(t, 4)
	if !r.CanMuteEventfd() {
		t.Skip("kernel lacks IORING_CQ_EVENTFD_DISABLED")
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := r.RegisterEventfd(efd); err != nil {
		t.Fatal(err)
	}
	signals := func() uint64 {
		var b [8]byte
		if _, err := unix.Read(efd, b[:]); err == unix.EAGAIN {
			return 0
		} else if err != nil {
			t.Fatal(err)
		}
		return uint64(b[0]) | uint64(b[1])<<8
	}
	nop := func() {
		sqe := r.GetSQE()
		sqe.Opcode = OpNop
		r.Publish()
		if _, err := r.Enter(1, 1, EnterGetEvents); err != nil {
			t.Fatal(err)
		}
	}
	r.MuteEventfd(true)
	r.MuteEventfd(true) // idempotent
	nop()
	if n := signals(); n != 0 {
		t.Fatalf("muted eventfd signalled %d times", n)
	}
	if !r.CQReady() {
		t.Fatal("CQReady = false with a completion in the queue")
	}
	if r.Reap(func(CQE) {}) != 1 || r.CQReady() {
		t.Fatal("reaping the muted completion failed")
	}
	r.MuteEventfd(false)
	nop()
	if n := signals(); n == 0 {
		t.Fatal("unmuted eventfd was not signalled")
	}
	r.Reap(func(CQE) {})
}
