package io

import (
	"time"
	_ "unsafe" // for go:linkname

	"golang.org/x/sys/unix"
)

// nanotime is the Go runtime's monotonic clock: on Linux, CLOCK_MONOTONIC
// read through the vDSO, without a system call. The runtime keeps this
// linkname working for outside packages (go.dev/issue/67401).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// fastClockNow reads the clocks the Go runtime reads through the vDSO
// (a system call costs several times more); ok is false for the others.
func fastClockNow(c Clock) (time.Duration, bool) {
	switch c {
	case ClockReal:
		return time.Duration(time.Now().UnixNano()), true
	case ClockAwake:
		return time.Duration(nanotime()), true
	}
	return 0, false
}

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
