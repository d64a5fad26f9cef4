//go:build linux

package io_test

import (
	"testing"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/io/iotest"
)

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

func TestConfinedWalkEvented(t *testing.T) {
	defer io.ForceWalk()()
	iotest.RunConfined(t, func(t *testing.T) io.Backend {
		e, err := io.NewEvented(io.EventedOptions{})
		if err != nil {
			t.Fatalf("NewEvented: %v", err)
		}
		return e
	})
}
