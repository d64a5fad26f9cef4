//go:build linux || darwin || freebsd

package io

import (
	"time"

	"golang.org/x/sys/unix"
)

// sysClockNow reads c with clock_gettime.
func sysClockNow(c Clock) (time.Duration, error) {
	if d, ok := fastClockNow(c); ok {
		return d, nil
	}
	id, ok := clockID(c)
	if !ok {
		return 0, errClock(c)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}
