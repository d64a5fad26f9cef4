//go:build !linux && !darwin && !freebsd

package io

import (
	"fmt"
	"time"
)

// clockBase anchors ClockAwake: Go's monotonic clock has no readable epoch,
// so readings count from the package's start.
var clockBase = time.Now()

// sysClockNow reads the clocks Go's time package offers: the wall clock and
// its monotonic clock. The others are not available.
func sysClockNow(c Clock) (time.Duration, error) {
	switch c {
	case ClockReal:
		return time.Duration(time.Now().UnixNano()), nil
	case ClockAwake:
		return time.Since(clockBase), nil
	}
	return 0, errClock(c)
}

// sysClockRes fails: these systems' resolutions are not known here.
func sysClockRes(c Clock) (time.Duration, error) {
	return 0, fmt.Errorf("%w: the resolution of the %s clock is not known on this system", ErrUnsupported, c)
}
