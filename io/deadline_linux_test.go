//go:build linux

package io

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// An Evented ring wait expires with its task's deadline: a read parked on
// an empty pipe (an io_uring request, canceled with IORING_OP_ASYNC_CANCEL)
// fails with the deadline error, and the pipe stays usable.
func TestEventedDeadlineParkedRead(t *testing.T) {
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	r, w := pipe(t)
	deadline := time.Now().Add(20 * time.Millisecond)
	y, cancel := x.WithDeadline(deadline)
	defer cancel()
	buf := make([]byte, 8)
	n, err := r.Read(y, buf)
	if time.Now().Before(deadline) {
		t.Fatalf("read returned %d, %v before its deadline", n, err)
	}
	if n != 0 || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, ErrCanceled) {
		t.Fatalf("read past its deadline = %d, %v", n, err)
	}
	if e.Stats().Canceled == 0 {
		t.Error("no IORING_OP_ASYNC_CANCEL was sent")
	}
	if _, err := w.Write(x, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(x, buf); n != 1 || err != nil {
		t.Fatalf("read after the expired one = %d, %v", n, err)
	}
}
