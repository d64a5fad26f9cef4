//go:build !(linux || darwin || freebsd)

package tasks

import "time"

// threadCPU is not implemented here: stage spans carry no CPU time.
func threadCPU() (time.Duration, bool) { return 0, false }
