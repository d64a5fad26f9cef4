package io_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vkio/vkio/io"
)

// A timeout bounds everything done through the Io it returns: here a queue
// wait that nothing will satisfy. The error matches the standard library's
// deadline errors and ErrCanceled.
func ExampleIo_WithTimeout() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	y, cancel := x.WithTimeout(10 * time.Millisecond)
	defer cancel()
	q := io.NewQueue[int](1)
	_, err := q.GetOne(y) // nobody puts
	fmt.Println(err)
	fmt.Println(errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, io.ErrCanceled))
	fmt.Println(y.Context().Err())
	// Output:
	// io: deadline exceeded
	// true true true
	// context deadline exceeded
}

// A deadline covers the tasks started under it, and the context handed to
// a library reports it.
func ExampleIo_WithDeadline() {
	x := io.NewBlocking().Io()
	deadline := time.Now().Add(10 * time.Millisecond)
	y, cancel := x.WithDeadline(deadline)
	defer cancel()
	f := io.Async(y, func(x io.Io) (string, error) {
		d, _ := x.Context().Deadline()
		fmt.Println("task's deadline is the caller's:", d.Equal(deadline))
		return "", x.Sleep(time.Hour)
	})
	_, err := f.Await(y)
	fmt.Println(errors.Is(err, io.ErrDeadlineExceeded))
	// Output:
	// task's deadline is the caller's: true
	// true
}

// Cancellation with a cause: the error says why, and context.Cause finds it
// through the bridge.
func ExampleIo_WithCancelCause() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	y, cancel := x.WithCancelCause()
	errShutdown := errors.New("server shutting down")
	time.AfterFunc(5*time.Millisecond, func() { cancel(errShutdown) })
	err := y.Sleep(time.Hour)
	fmt.Println(err)
	fmt.Println(errors.Is(err, errShutdown), errors.Is(err, io.ErrCanceled))
	fmt.Println(context.Cause(y.Context()) == errShutdown)
	// Output:
	// io: canceled: server shutting down
	// true true
	// true
}
