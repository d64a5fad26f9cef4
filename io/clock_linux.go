package io

import (
	"time"

	"golang.org/x/sys/unix"
)

// clockID maps c to Linux's clock (see Clock).
func clockID(c Clock) (int32, bool) {
	switch c {
	case ClockReal:
		return unix.CLOCK_REALTIME, true
	case ClockAwake:
		return unix.CLOCK_MONOTONIC, true
	case ClockBoot:
		return unix.CLOCK_BOOTTIME, true
	case ClockCPUProcess:
		return unix.CLOCK_PROCESS_CPUTIME_ID, true
	case ClockCPUThread:
		return unix.CLOCK_THREAD_CPUTIME_ID, true
	}
	return 0, false
}

// sysClockRes reads c's resolution with clock_getres.
func sysClockRes(c Clock) (time.Duration, error) {
	id, ok := clockID(c)
	if !ok {
		return 0, errClock(c)
	}
	var ts unix.Timespec
	if err := unix.ClockGetres(id, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}
