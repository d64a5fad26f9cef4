//go:build unix && !linux

package io

import "os"

// newWaiter returns a goroutine waiter: only Linux has pidfd.
func newWaiter(proc *os.Process) childWaiter { return newGoWaiter(proc) }
