//go:build linux

package io

// ForceGoWaiter makes Spawn wait for children with a goroutine even where
// pidfd works, until restore is called: the goroutine is what runs on other
// systems and on kernels without pidfd_open.
func ForceGoWaiter() (restore func()) {
	old := forceGoWaiter.Swap(true)
	return func() { forceGoWaiter.Store(old) }
}
