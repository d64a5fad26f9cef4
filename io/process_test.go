//go:build linux

package io_test

import (
	"testing"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/io/iotest"
)

// The process cases again, waiting with a goroutine instead of a pidfd.
func TestProcessGoWaiterBlocking(t *testing.T) {
	defer io.ForceGoWaiter()()
	iotest.RunProcesses(t, func(t *testing.T) io.Backend { return io.NewBlocking() })
}

func TestProcessGoWaiterThreaded(t *testing.T) {
	defer io.ForceGoWaiter()()
	iotest.RunProcesses(t, func(t *testing.T) io.Backend { return io.NewThreaded(io.ThreadedOptions{}) })
}
