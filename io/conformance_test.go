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

func TestConformanceEvented(t *testing.T) {
	iotest.Run(t, func(t *testing.T) io.Backend {
		e, err := io.NewEvented(io.EventedOptions{})
		if err != nil {
			t.Fatalf("NewEvented: %v", err)
		}
		return e
	})
}

// A tiny ring: submission-queue-full waits and completion-queue overflow happen
// in ordinary tests.
func TestConformanceEventedTinyRing(t *testing.T) {
	iotest.Run(t, func(t *testing.T) io.Backend {
		e, err := io.NewEvented(io.EventedOptions{Entries: 2, CQEntries: 2, AsyncLimit: 1, ConcurrentLimit: 64})
		if err != nil {
			t.Fatalf("NewEvented: %v", err)
		}
		return e
	})
}
