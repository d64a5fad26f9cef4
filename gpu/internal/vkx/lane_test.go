//go:build linux && cgo

package vkx

import (
	"errors"
	"testing"
	"time"
)

// setupLanes is setup with a transfer lane: on the transfer family's queue
// where there is one, else on the compute queue (the shared test seam).
func setupLanes(t *testing.T) *Device {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", runtimeDir(t))
	s := &sink{}
	in, err := NewInstance(InstanceConfig{AppName: "vkx-test", Validation: true, SyncValidation: true, OnMessage: s.add})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Devices) == 0 {
		in.Destroy()
		t.Skip("no Vulkan device")
	}
	d, err := in.NewDevice(0, DeviceConfig{Transfer: true, SharedTransferLane: true})
	if err != nil {
		in.Destroy()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Destroy()
		in.Destroy()
		for _, m := range s.take() {
			t.Errorf("validation: %s", m)
		}
	})
	if len(d.Lanes) != 2 || !d.Lanes[1].Transfer {
		t.Fatalf("lanes: %+v", d.Lanes)
	}
	return d
}

// TestSubmitWaitsOnOtherLane: a submission that waits for a value of the
// other lane's timeline does not complete before that value is signalled
// (here from the host: a value no submission has reached yet), and
// WaitLanes sees it complete on its own lane; a Wake ends WaitLanes early.
func TestSubmitWaitsOnOtherLane(t *testing.T) {
	d := setupLanes(t)
	l0, l1 := d.Lanes[0], d.Lanes[1]
	v0 := l0.Last() + 1 // signalled from the host below
	l1.Mu.Lock()
	v1, err := l1.SubmitWaitLocked(nil, [MaxLanes]uint64{v0, 0})
	l1.Mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// Not before lane 0 reaches v0: the wait times out.
	_, err = d.WaitLanes([MaxLanes]uint64{0, v1}, d.WakeTicket(), 50*time.Millisecond)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Code != Timeout {
		t.Fatalf("WaitLanes before the other lane's value: %v, want a timeout", err)
	}
	// Woken from another goroutine: returns at once, nothing reached.
	ticket := d.WakeTicket()
	go func() {
		if err := d.Wake(); err != nil {
			t.Error(err)
		}
	}()
	got, err := d.WaitLanes([MaxLanes]uint64{0, v1}, ticket, 10*time.Second)
	if err != nil || got[1] >= v1 {
		t.Fatalf("woken WaitLanes: %v, %v; want lane 1 below %d", got, err, v1)
	}
	l0.Mu.Lock()
	v, err := l0.SignalLocked()
	l0.Mu.Unlock()
	if err != nil || v != v0 {
		t.Fatalf("SignalLocked: %d, %v; want %d", v, err, v0)
	}
	got, err = d.WaitLanes([MaxLanes]uint64{0, v1}, d.WakeTicket(), 10*time.Second)
	if err != nil || got[1] < v1 {
		t.Fatalf("WaitLanes after the signal: %v, %v; want lane 1 at %d", got, err, v1)
	}
	if c, err := l1.Completed(); err != nil || c < v1 {
		t.Fatalf("lane 1 at %d (%v), want %d", c, err, v1)
	}
	// Both lanes at once: the call returns with both counters.
	a, err := l0.Submit(nil)
	if err != nil {
		t.Fatal(err)
	}
	bv, err := l1.Submit(nil)
	if err != nil {
		t.Fatal(err)
	}
	for {
		got, err = d.WaitLanes([MaxLanes]uint64{a, bv}, d.WakeTicket(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] >= a && got[1] >= bv {
			break
		}
	}
	if err := d.WaitIdle(); err != nil {
		t.Fatal(err)
	}
}

// TestTransferLaneRecording: a transfer lane refuses dispatches, records
// copies, fills and timestamps (queries reset from the host), and runs them.
func TestTransferLaneRecording(t *testing.T) {
	d := setupLanes(t)
	l1 := d.Lanes[1]
	b, err := d.NewBuffer(64, hostType(d))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	if _, err := d.RecordOn(l1, []Op{{Kind: OpDispatch}}, 0); !errors.Is(err, ErrTransferOp) {
		t.Fatalf("a dispatch for a transfer lane: %v", err)
	}
	ops := []Op{{Kind: OpBarrier}, {Kind: OpTimestamp, Query: 0}, {Kind: OpFill, Dst: BufRange{Buf: b, Size: 32}, Value: 9},
		{Kind: OpBarrier}, {Kind: OpCopy, Src: BufRange{Buf: b, Size: 32}, Dst: BufRange{Buf: b, Off: 32}},
		{Kind: OpTimestamp, Query: 1}, {Kind: OpHostBarrier}}
	if !d.HostQueryReset {
		ops = ops[2:5]
	}
	queries := 0
	if d.HostQueryReset {
		queries = 2
	}
	c, err := d.RecordOn(l1, ops, queries)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	for range 3 {
		v, err := l1.Submit(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := l1.Wait(v, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if queries > 0 {
			ts := make([]uint64, 2)
			if err := c.Timestamps(ts); err != nil || ts[1] < ts[0] {
				t.Fatalf("timestamps %v, %v", ts, err)
			}
		}
	}
	for i, w := range Slice[uint32](b.Mapped, 0, 16) {
		if w != 9 {
			t.Fatalf("word %d = %d, want 9", i, w)
		}
	}
}
