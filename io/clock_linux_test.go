package io

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestClockAwakeIsMonotonic checks that the fast path (the runtime's
// nanotime) reads CLOCK_MONOTONIC itself, not a clock with another epoch.
func TestClockAwakeIsMonotonic(t *testing.T) {
	var a, b unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &a); err != nil {
		t.Fatal(err)
	}
	v, err := sysClockNow(ClockAwake)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &b); err != nil {
		t.Fatal(err)
	}
	if v < time.Duration(a.Nano()) || v > time.Duration(b.Nano()) {
		t.Fatalf("awake clock read %d, not between CLOCK_MONOTONIC readings %d and %d", v, a.Nano(), b.Nano())
	}
}
