// Package iotest is the conformance suite that every vkio Io implementation
// passes: the semantics of Async, Concurrent, Await and Cancel, groups, select,
// queues, time, files and sockets. An implementation's test calls Run:
//
//	func TestConformance(t *testing.T) {
//		iotest.Run(t, func(t *testing.T) io.Backend { return io.NewThreaded(io.ThreadedOptions{}) })
//	}
//
// Tests that need two things at once use Concurrent and, where the implementation
// refuses it (Blocking), check that the refusal is the clean
// ErrConcurrencyUnavailable and that the same code still works sequentially.
// Cancellation is driven from outside through contexts with deadlines, which
// works on every implementation. Each test checks that it leaks no goroutine.
package iotest

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/io"
)

// NewBackend makes a fresh implementation for one test.
type NewBackend func(t *testing.T) io.Backend

// Run runs the whole conformance suite against the implementation made by nb.
func Run(t *testing.T, nb NewBackend) { run(t, nb, suite) }

func run(t *testing.T, nb NewBackend, cases []testCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			b := nb(t)
			defer func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.fn(t, b.Io())
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, x io.Io)
}

var suite []testCase

func register(name string, fn func(t *testing.T, x io.Io)) bool {
	suite = append(suite, testCase{name, fn})
	return true
}
