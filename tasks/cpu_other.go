//go:build !unix

package tasks

import "time"

// processCPU is not implemented here: no "cores busy" samples.
func processCPU() (time.Duration, bool) { return 0, false }
