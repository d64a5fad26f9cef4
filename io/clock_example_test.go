package io_test

import (
	"fmt"
	"runtime"
	"time"

	"github.com/vkio/vkio/io"
)

// Measure a computation on the monotonic clock and on the thread's CPU clock.
func ExampleIo_ClockNow() {
	x := io.NewBlocking().Io()
	runtime.LockOSThread() // the thread CPU clock is per OS thread
	defer runtime.UnlockOSThread()
	wall0, _ := x.ClockNow(io.ClockAwake)
	cpu0, err := x.ClockNow(io.ClockCPUThread)
	if err != nil {
		fmt.Println(err) // not every system has a thread CPU clock
		return
	}
	sum := 0
	for i := range 10_000_000 {
		sum += i % 7
	}
	wall1, _ := x.ClockNow(io.ClockAwake)
	cpu1, _ := x.ClockNow(io.ClockCPUThread)
	fmt.Println(sum, wall1 > wall0, cpu1 > cpu0)
	// Output: 29999994 true true
}

// Sleep until a time on a chosen clock; CPU clocks cannot be slept on.
func ExampleIo_SleepClock() {
	x := io.NewBlocking().Io()
	now, _ := x.ClockNow(io.ClockAwake)
	err := x.SleepClock(io.ClockAwake, now+2*time.Millisecond)
	fmt.Println(err)
	err = x.SleepClock(io.ClockCPUProcess, time.Second)
	fmt.Println(err)
	// Output:
	// <nil>
	// io: sleep cpu_process: operation not supported by this Io: a CPU-time clock cannot be slept on
}
