package io_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/io/iotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformanceBlocking(t *testing.T) {
	iotest.Run(t, func(t *testing.T) io.Backend { return io.NewBlocking() })
}

func TestConformanceThreaded(t *testing.T) {
	iotest.Run(t, func(t *testing.T) io.Backend { return io.NewThreaded(io.ThreadedOptions{}) })
}

// A pool of one: most Asyncs run inline, the rest on the pool.
func TestConformanceThreadedSaturated(t *testing.T) {
	iotest.Run(t, func(t *testing.T) io.Backend {
		return io.NewThreaded(io.ThreadedOptions{AsyncLimit: 1, ConcurrentLimit: 64})
	})
}

// The confined-open cases again, with the component walk that replaces
// openat2 where the kernel lacks it (or a seccomp profile refuses it).
func TestConfinedWalkBlocking(t *testing.T) {
	defer io.ForceWalk()()
	iotest.RunConfined(t, func(t *testing.T) io.Backend { return io.NewBlocking() })
}

func TestConfinedWalkThreaded(t *testing.T) {
	defer io.ForceWalk()()
	iotest.RunConfined(t, func(t *testing.T) io.Backend { return io.NewThreaded(io.ThreadedOptions{}) })
}
