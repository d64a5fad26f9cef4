package io_test

import (
	"context"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Io.Context on the hot path: a cancelable task hands its context to a
// library, which checks Done and Err. Baseline: the same with a context
// from context.WithCancel.
func BenchmarkContext(b *testing.B) {
	b.Run("baseline=context.WithCancel", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			c := context.Context(ctx)
			if c.Err() != nil {
				b.Fatal(c.Err())
			}
			select {
			case <-c.Done():
				b.Fatal("done")
			default:
			}
		}
	})
	x, cancel := io.NewThreaded(io.ThreadedOptions{}).Io().WithCancel()
	defer cancel()
	b.Run("io", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := x.Context()
			if c.Err() != nil {
				b.Fatal(c.Err())
			}
			select {
			case <-c.Done():
				b.Fatal("done")
			default:
			}
		}
	})
}

// A timeout around one operation: WithTimeout and its cancel against
// context.WithTimeout and its cancel.
func BenchmarkTimeout(b *testing.B) {
	b.Run("baseline=context.WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			if ctx.Err() != nil {
				b.Fatal(ctx.Err())
			}
			cancel()
		}
	})
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	b.Run("io", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tx, cancel := x.WithTimeout(time.Hour)
			if tx.Canceled() {
				b.Fatal("canceled")
			}
			cancel()
		}
	})
}
