package io

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// clockID maps c to macOS's clock (see Clock): there CLOCK_MONOTONIC counts
// sleep, so the awake clock is CLOCK_UPTIME_RAW and the boot clock
// CLOCK_MONOTONIC_RAW, as in Zig.
func clockID(c Clock) (int32, bool) {
	switch c {
	case ClockReal:
		return unix.CLOCK_REALTIME, true
	case ClockAwake:
		return unix.CLOCK_UPTIME_RAW, true
	case ClockBoot:
		return unix.CLOCK_MONOTONIC_RAW, true
	case ClockCPUProcess:
		return unix.CLOCK_PROCESS_CPUTIME_ID, true
	case ClockCPUThread:
		return unix.CLOCK_THREAD_CPUTIME_ID, true
	}
	return 0, false
}

// sysClockRes fails: golang.org/x/sys binds no clock_getres on macOS.
func sysClockRes(c Clock) (time.Duration, error) {
	return 0, fmt.Errorf("%w: clock_getres is not available on macOS", ErrUnsupported)
}

// fastClockNow: every clock is read with clock_gettime.
func fastClockNow(Clock) (time.Duration, bool) { return 0, false }
