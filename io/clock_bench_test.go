package io_test

import (
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// BenchmarkClockNowIo reads the monotonic clock through the Io
// (clock_gettime(CLOCK_MONOTONIC) on Linux, through the vDSO).
func BenchmarkClockNowIo(b *testing.B) {
	x := io.NewBlocking().Io()
	var sum time.Duration
	for b.Loop() {
		d, err := x.ClockNow(io.ClockAwake)
		if err != nil {
			b.Fatal(err)
		}
		sum += d
	}
	_ = sum
}

// BenchmarkClockNowTime is the standard library's baseline: time.Now, which
// reads the wall and the monotonic clock.
func BenchmarkClockNowTime(b *testing.B) {
	var sum int64
	for b.Loop() {
		sum += time.Now().UnixNano()
	}
	_ = sum
}
