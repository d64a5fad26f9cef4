//go:build linux

package io_test

import (
	"errors"
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

// Failing refuses to start a program or make a pipe, with its error.
func TestProcessFailing(t *testing.T) {
	x := io.Failing()
	if _, err := io.Spawn(x, io.Command{Path: "/bin/true"}); !errors.Is(err, io.ErrUnsupported) {
		t.Fatalf("Spawn through Failing = %v, want ErrUnsupported", err)
	}
	if _, _, err := io.Pipe(x); !errors.Is(err, io.ErrUnsupported) {
		t.Fatalf("Pipe through Failing = %v, want ErrUnsupported", err)
	}
	if _, err := io.Spawn(io.Io{}, io.Command{Path: "/bin/true"}); !errors.Is(err, io.ErrZeroIo) {
		t.Fatalf("Spawn through the zero Io = %v, want ErrZeroIo", err)
	}
}
