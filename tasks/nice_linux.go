package tasks

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// niceOK says whether runNiced lowers the priority (Pipeline.EncodeNice).
const niceOK = true

// runNiced runs f on a new goroutine locked to an OS thread of its own,
// with the thread's nice value raised by nice (to at most 19), and waits
// for it. The goroutine never unlocks its thread, so the runtime ends the
// thread with it: the raised nice value, which an unprivileged process
// cannot lower again, leaves with the thread. The goroutine inherits the
// caller's pprof labels. With measure, it returns the CPU time f used (the
// thread's CPU clock); otherwise 0. A panic in f is raised again in the
// caller, with its value.
func runNiced(nice int, measure bool, f func()) time.Duration {
	type result struct {
		cpu      time.Duration
		panicked bool
		val      any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		var res result
		defer func() {
			if v := recover(); v != nil {
				res.panicked, res.val = true, v
			}
			done <- res
		}()
		raiseNice(nice)
		var c0 time.Duration
		ok := false
		if measure {
			c0, ok = threadCPU()
		}
		f()
		if ok {
			c1, _ := threadCPU()
			res.cpu = max(c1-c0, 0)
		}
	}()
	res := <-done
	if res.panicked {
		panic(res.val)
	}
	return res.cpu
}

// raiseNice raises the calling thread's nice value by n, to at most 19.
// It is best effort: where the call fails, the thread keeps its priority.
func raiseNice(n int) {
	tid := unix.Gettid()
	// The raw system call returns 20 - nice (1 to 40).
	cur, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return
	}
	nice := 20 - cur
	_ = unix.Setpriority(unix.PRIO_PROCESS, tid, min(nice+n, 19))
}
