//go:build !linux

package io

import (
	"errors"
	"fmt"
	"runtime"
)

// Evented is the io_uring implementation, which exists on Linux only. On
// this system NewEvented always fails and New("") picks Threaded; the type
// is here so that code naming it builds everywhere.
type Evented struct{ Threaded }

// NewEvented fails on this system with an *EventedUnavailableError that
// matches ErrUnsupported and errors.ErrUnsupported: io_uring is Linux-only.
func NewEvented(opts EventedOptions) (*Evented, error) {
	return nil, &EventedUnavailableError{Err: fmt.Errorf("io_uring is Linux-only (GOOS=%s): %w", runtime.GOOS, errors.ErrUnsupported)}
}

// Io returns the root Io. (Unreachable: NewEvented never returns one here.)
func (e *Evented) Io() Io { return Io{d: e} }

// Kind returns KindEvented.
func (e *Evented) Kind() Kind { return KindEvented }

// Stats returns zero counts.
func (e *Evented) Stats() EventedStats { return EventedStats{} }

// newAuto returns Threaded: the best implementation on a system without
// io_uring (FallbackReason says so).
func newAuto() Backend {
	_, err := NewEvented(EventedOptions{})
	fallbackReason.CompareAndSwap(nil, &err)
	return NewThreaded(ThreadedOptions{})
}
