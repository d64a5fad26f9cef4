//go:build linux || darwin || freebsd

package tasks

import (
	"runtime"
	"testing"
)

// BenchmarkThreadCPU is what StageCPU adds to a span that does not block:
// locking the goroutine to its thread and two reads of the thread CPU
// clock.
//
//	go test -run '^$' -bench ThreadCPU ./tasks/
func BenchmarkThreadCPU(b *testing.B) {
	for b.Loop() {
		runtime.LockOSThread()
		c0, _ := threadCPU()
		c1, _ := threadCPU()
		runtime.UnlockOSThread()
		if c1 < c0 {
			b.Fatal("thread CPU clock went back")
		}
	}
}
