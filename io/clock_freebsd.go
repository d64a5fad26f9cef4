package io

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// clockID maps c to FreeBSD's clock (see Clock). ClockBoot has none: FreeBSD
// does not document which of its monotonic clocks count a suspend.
func clockID(c Clock) (int32, bool) {
	switch c {
	case ClockReal:
		return unix.CLOCK_REALTIME, true
	case ClockAwake:
		return unix.CLOCK_MONOTONIC, true
	case ClockCPUProcess:
		return unix.CLOCK_PROCESS_CPUTIME_ID, true
	case ClockCPUThread:
		return unix.CLOCK_THREAD_CPUTIME_ID, true
	}
	return 0, false
}

// sysClockRes fails: golang.org/x/sys binds no clock_getres on FreeBSD.
func sysClockRes(c Clock) (time.Duration, error) {
	return 0, fmt.Errorf("%w: clock_getres is not available on FreeBSD", ErrUnsupported)
}

// fastClockNow: every clock is read with clock_gettime.
func fastClockNow(Clock) (time.Duration, bool) { return 0, false }
