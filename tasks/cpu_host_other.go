//go:build !linux

package tasks

import "time"

// hostCPU is not implemented here: the bound counts the process's CPU only.
var hostCPU = func() (time.Duration, bool) { return 0, false }
