package iotest

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

var allClocks = []io.Clock{io.ClockReal, io.ClockAwake, io.ClockBoot, io.ClockCPUProcess, io.ClockCPUThread}

// clockNow reads c, skipping the test where the system lacks it.
func clockNow(t *testing.T, x io.Io, c io.Clock) time.Duration {
	t.Helper()
	v, err := x.ClockNow(c)
	if errors.Is(err, io.ErrUnsupported) {
		t.Skipf("clock %s: %v", c, err)
	}
	if err != nil {
		t.Fatalf("ClockNow(%s) = %v", c, err)
	}
	return v
}

var _ = register("ClockMonotonic", func(t *testing.T, x io.Io) {
	for _, c := range []io.Clock{io.ClockAwake, io.ClockBoot} {
		prev := clockNow(t, x, c)
		for i := 0; i < 10000; i++ {
			v := clockNow(t, x, c)
			if v < prev {
				t.Fatalf("clock %s went back: %v after %v", c, v, prev)
			}
			prev = v
		}
	}
})

var _ = register("ClockBootNotBehindAwake", func(t *testing.T, x io.Io) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux counts both from boot")
	}
	for i := 0; i < 100; i++ {
		awake := clockNow(t, x, io.ClockAwake)
		boot := clockNow(t, x, io.ClockBoot)
		if boot < awake {
			t.Fatalf("boot clock %v behind awake clock %v", boot, awake)
		}
	}
})

var _ = register("ClockRealIsWallTime", func(t *testing.T, x io.Io) {
	before := time.Now().UnixNano()
	v := clockNow(t, x, io.ClockReal)
	after := time.Now().UnixNano()
	// The system clock and Go's read the same source: only a clock step
	// between the three reads could put v outside; allow a second for that.
	if int64(v) < before-int64(time.Second) || int64(v) > after+int64(time.Second) {
		t.Fatalf("ClockNow(real) = %d, time.Now between %d and %d", v, before, after)
	}
})

var _ = register("ClockResolution", func(t *testing.T, x io.Io) {
	for _, c := range allClocks {
		r, err := x.ClockResolution(c)
		if errors.Is(err, io.ErrUnsupported) {
			t.Logf("clock %s: %v", c, err)
			continue
		}
		if err != nil {
			t.Fatalf("ClockResolution(%s) = %v", c, err)
		}
		if r <= 0 || r > time.Second {
			t.Fatalf("ClockResolution(%s) = %v, want in (0, 1s]", c, r)
		}
	}
	if _, err := x.ClockResolution(io.Clock(99)); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("ClockResolution(Clock(99)) = %v, want ErrInvalid", err)
	}
	if _, err := x.ClockNow(io.Clock(-1)); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("ClockNow(Clock(-1)) = %v, want ErrInvalid", err)
	}
})

// spin burns CPU on the calling thread until the awake clock has advanced by
// d, and returns a value the compiler cannot drop.
func spin(t *testing.T, x io.Io, d time.Duration) uint64 {
	end := clockNow(t, x, io.ClockAwake) + d
	h := uint64(1)
	for clockNow(t, x, io.ClockAwake) < end {
		for i := 0; i < 1000; i++ {
			h = h*6364136223846793005 + 1442695040888963407
		}
	}
	return h
}

var _ = register("ClockCPUGrows", func(t *testing.T, x io.Io) {
	runtime.LockOSThread() // ClockCPUThread is per OS thread
	defer runtime.UnlockOSThread()
	p0 := clockNow(t, x, io.ClockCPUProcess)
	t0 := clockNow(t, x, io.ClockCPUThread)
	_ = spin(t, x, 30*time.Millisecond)
	p1 := clockNow(t, x, io.ClockCPUProcess)
	t1 := clockNow(t, x, io.ClockCPUThread)
	// However loaded the machine, 30 ms of spinning gets some CPU time.
	if p1 <= p0 {
		t.Fatalf("process CPU time did not grow under a busy loop: %v then %v", p0, p1)
	}
	if t1 <= t0 {
		t.Fatalf("thread CPU time did not grow under a busy loop: %v then %v", t0, t1)
	}
	if t1-t0 > p1-p0+time.Millisecond {
		t.Fatalf("thread CPU time grew by %v, more than the process's %v", t1-t0, p1-p0)
	}
})

var _ = register("SleepClock", func(t *testing.T, x io.Io) {
	for _, c := range []io.Clock{io.ClockAwake, io.ClockReal, io.ClockBoot} {
		until := clockNow(t, x, c) + 5*time.Millisecond
		if err := x.SleepClock(c, until); err != nil {
			t.Fatalf("SleepClock(%s) = %v", c, err)
		}
		if now := clockNow(t, x, c); now < until {
			t.Fatalf("SleepClock(%s) returned at %v, before %v", c, now, until)
		}
		// A time already passed returns at once.
		if err := x.SleepClock(c, 0); err != nil {
			t.Fatalf("SleepClock(%s, 0) = %v", c, err)
		}
	}
	for _, c := range []io.Clock{io.ClockCPUProcess, io.ClockCPUThread} {
		if err := x.SleepClock(c, time.Hour); !errors.Is(err, io.ErrUnsupported) {
			t.Fatalf("SleepClock(%s) = %v, want ErrUnsupported", c, err)
		}
	}
	if err := x.SleepClock(io.Clock(7), 0); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("SleepClock(Clock(7)) = %v, want ErrInvalid", err)
	}
})

var _ = register("SleepClockCancel", func(t *testing.T, x io.Io) {
	cx, cancel := x.WithCancel()
	cancel()
	now, err := x.ClockNow(io.ClockAwake)
	if err != nil {
		t.Fatal(err)
	}
	if err := cx.SleepClock(io.ClockAwake, now+time.Hour); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("SleepClock on a canceled task = %v, want ErrCanceled", err)
	}
	// Canceled while sleeping: Concurrent where the Io has it, a timer otherwise.
	cx, cancel = x.WithCancel()
	stop := time.AfterFunc(10*time.Millisecond, cancel)
	defer stop.Stop()
	if err := cx.SleepClock(io.ClockAwake, now+time.Hour); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("SleepClock canceled while sleeping = %v, want ErrCanceled", err)
	}
	cancel()
})
