package io

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A deadline cause that already matches ErrDeadlineExceeded is kept as is by
// withCause; taskContext.Err then reports Canceled for an expired deadline.
func TestDeadlineCauseKeptErr(t *testing.T) {
	x := NewThreaded(ThreadedOptions{}).Io()
	cause := fmt.Errorf("budget: %w", ErrDeadlineExceeded)
	y, cancel := x.WithDeadlineCause(time.Now().Add(-time.Second), cause)
	defer cancel()
	err := y.Context().Err()
	t.Logf("Err=%v Cause=%v taskErr=%v isDE=%v", err, context.Cause(y.Context()), y.t.err(), errors.Is(y.t.err(), context.DeadlineExceeded))
	if err != context.DeadlineExceeded {
		t.Fatalf("ctx.Err() = %v for an expired deadline, want context.DeadlineExceeded", err)
	}
}

// Same through WithContext: a ctx expired with a cause that wraps io's deadline error.
func TestWithContextDeadlineCauseErr(t *testing.T) {
	x := NewThreaded(ThreadedOptions{}).Io()
	ctx, c := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), fmt.Errorf("rpc: %w", ErrDeadlineExceeded))
	defer c()
	y, cancel := x.WithContext(ctx)
	defer cancel()
	if err := y.Context().Err(); err != ctx.Err() {
		t.Fatalf("task ctx.Err() = %v, source ctx.Err() = %v", err, ctx.Err())
	}
}

// Await hands a deadline on to the awaited task: its context reports
