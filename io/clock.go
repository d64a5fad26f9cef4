package io

import (
	"fmt"
	"time"
)

// Clock names a clock that Io.ClockNow reads, as Zig's std.Io.Clock does.
// Readings are durations since the clock's own epoch, so readings of one
// clock compare and subtract; readings of different clocks do not (except
// that ClockBoot is never behind ClockAwake on Linux, where both count from
// boot).
//
// Which system clock each one is, per system (a clock a system lacks fails
// with an error matching ErrUnsupported):
//
//	clock            Linux                     macOS                      FreeBSD                   others
//	ClockReal        CLOCK_REALTIME            CLOCK_REALTIME             CLOCK_REALTIME            time.Now
//	ClockAwake       CLOCK_MONOTONIC           CLOCK_UPTIME_RAW           CLOCK_MONOTONIC           Go's monotonic clock
//	ClockBoot        CLOCK_BOOTTIME            CLOCK_MONOTONIC_RAW        —                         —
//	ClockCPUProcess  CLOCK_PROCESS_CPUTIME_ID  CLOCK_PROCESS_CPUTIME_ID   CLOCK_PROCESS_CPUTIME_ID  —
//	ClockCPUThread   CLOCK_THREAD_CPUTIME_ID   CLOCK_THREAD_CPUTIME_ID    CLOCK_THREAD_CPUTIME_ID   —
//
// Resolutions come from clock_getres on Linux; elsewhere (golang.org/x/sys
// binds no clock_getres there) Io.ClockResolution fails with ErrUnsupported.
type Clock int

// The clocks.
const (
	// ClockReal is the wall clock: nanoseconds since the Unix epoch. It
	// jumps when the system time is set; use it for dates, not intervals.
	ClockReal Clock = iota
	// ClockAwake is monotonic and stops while the system is suspended. It
	// is the clock Go's timers (and so Io.Sleep) run on, on Linux.
	ClockAwake
	// ClockBoot is monotonic and counts time suspended too: time since boot.
	ClockBoot
	// ClockCPUProcess is the CPU time (user and system) used by all the
	// process's threads.
	ClockCPUProcess
	// ClockCPUThread is the CPU time used by the calling OS thread. Go
	// moves goroutines between OS threads at any blocking point or
	// preemption, so two readings measure the same thread only under
	// runtime.LockOSThread, or across a span in which the goroutine cannot
	// have moved (a short stretch of computation, and even then not
	// guaranteed): otherwise their difference is meaningless, and may be
	// negative.
	ClockCPUThread
)

var clockNames = [...]string{"real", "awake", "boot", "cpu_process", "cpu_thread"}

// String returns the clock's name as Zig spells it: "real", "awake", "boot",
// "cpu_process", "cpu_thread".
func (c Clock) String() string {
	if c >= 0 && int(c) < len(clockNames) {
		return clockNames[c]
	}
	return fmt.Sprintf("Clock(%d)", int(c))
}

func (c Clock) valid() bool { return c >= 0 && int(c) < len(clockNames) }

// clockDriver reads clocks: sysDriver from the system, failing from its plan.
type clockDriver interface {
	clockNow(c Clock) (time.Duration, error)
	clockResolution(c Clock) (time.Duration, error)
}

func (sysDriver) clockNow(c Clock) (time.Duration, error)        { return sysClockNow(c) }
func (sysDriver) clockResolution(c Clock) (time.Duration, error) { return sysClockRes(c) }

func (f failing) clockNow(Clock) (time.Duration, error)        { return 0, f.fail("clock") }
func (f failing) clockResolution(Clock) (time.Duration, error) { return 0, f.fail("clock") }

// errClock is the error of a clock the system does not have.
func errClock(c Clock) error {
	return fmt.Errorf("%w: the %s clock is not available on this system", ErrUnsupported, c)
}

// clockArg checks c, for an operation op.
func clockArg(op string, c Clock) error {
	if !c.valid() {
		return opErr(op, c.String(), fmt.Errorf("%w: unknown clock", ErrInvalid))
	}
	return nil
}

// ClockNow reads clock c: the time since its epoch (see Clock). It is not a
// cancel point and does not wait; it is safe for concurrent use. An unknown
// clock is an error matching ErrInvalid; a clock the system lacks, one
// matching ErrUnsupported; under Failing, the error the Failing Io gives the
// operation "clock". Io.Now is ClockReal's reading with Go's monotonic
// reading attached; ClockNow is for the other clocks, and for code that wants
// a plain number.
func (x Io) ClockNow(c Clock) (time.Duration, error) {
	if err := clockArg("clock", c); err != nil {
		return 0, err
	}
	d, err := x.drv().clockNow(c)
	if err != nil {
		return 0, opErr("clock", c.String(), err)
	}
	return d, nil
}

// ClockResolution returns the resolution of clock c, from clock_getres: the
// smallest difference between two of its readings. Errors are as for
// ClockNow; outside Linux it fails with ErrUnsupported (see Clock).
func (x Io) ClockResolution(c Clock) (time.Duration, error) {
	if err := clockArg("clock", c); err != nil {
		return 0, err
	}
	d, err := x.drv().clockResolution(c)
	if err != nil {
		return 0, opErr("clock", c.String(), err)
	}
	return d, nil
}

// SleepClock waits until clock c reads until (a reading of ClockNow(c)), or
// until the current task is canceled: it is a cancel point, like Sleep, and
// returns at once if c already reads until or later.
//
// ClockAwake is what the Io's timers measure on Linux, so its sleeps end on
// time. For ClockReal and ClockBoot, SleepClock sleeps the difference and
// reads the clock again, sleeping more while it is still short: a wall clock
// set back while sleeping is followed (a deadline on ClockReal is a date),
// but a wall clock set forward, or a suspend (ClockBoot counts it, the
// timers do not), makes the sleep end late, at the end of the current
// interval, not at the moment the clock passes until.
//
// The CPU clocks cannot be slept on — nothing wakes a thread when a CPU
// budget is spent — and fail with an error matching ErrUnsupported (Zig's
// error.UnsupportedClock); an unknown clock fails with ErrInvalid.
func (x Io) SleepClock(c Clock, until time.Duration) error {
	if err := clockArg("sleep", c); err != nil {
		return err
	}
	if c == ClockCPUProcess || c == ClockCPUThread {
		return opErr("sleep", c.String(), fmt.Errorf("%w: a CPU-time clock cannot be slept on", ErrUnsupported))
	}
	for {
		if x.t.isCanceled() {
			return x.t.err()
		}
		now, err := x.ClockNow(c)
		if err != nil {
			return err
		}
		if now >= until {
			return nil
		}
		if err := x.Sleep(until - now); err != nil {
			return err
		}
	}
}
