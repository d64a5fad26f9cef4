package tasks

import (
	"testing"
	"time"
)

// IgnoreHostCPU makes the runs of t count this process's CPU only, not the
// host's: the tests that check which configuration limit binds run on a
// machine shared with other tests, whose CPU would make the cpu bind.
func IgnoreHostCPU(t testing.TB) {
	old := hostCPU
	hostCPU = func() (time.Duration, bool) { return 0, false }
	t.Cleanup(func() { hostCPU = old })
}
