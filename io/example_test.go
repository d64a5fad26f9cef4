package io_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vkio/vkio/io"
)

// saveFile writes data to dir/name atomically: the file appears whole or not at all.
func saveFile(x io.Io, dir io.Dir, name string, data []byte) (int, error) {
	f, err := dir.CreateAtomic(x, name, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close(x) // abandons the file unless Commit ran
	n, err := f.Write(x, data)
	if err != nil {
		return n, err
	}
	return n, f.Commit(x)
}

// saveData saves two files with Async. It does not know, or care, whether the
// two saves overlap: under Blocking they run one after the other, under Threaded
// at the same time.
func saveData(x io.Io, dir io.Dir, data []byte) error {
	a := io.Async(x, func(x io.Io) (int, error) { return saveFile(x, dir, "fileA.txt", data) })
	b := io.Async(x, func(x io.Io) (int, error) { return saveFile(x, dir, "fileB.txt", data) })
	_, errA := a.Await(x)
	_, errB := b.Await(x)
	return errors.Join(errA, errB)
}

// The seed example from Zig's std.Io, in Go: the same function, unchanged, on
// every implementation.
func Example() {
	for _, kind := range []string{"blocking", "threaded"} {
		backend, err := io.New(kind)
		if err != nil {
			panic(err)
		}
		x := backend.Io()
		tmp, _ := os.MkdirTemp("", "vkio-example-")
		dir, err := io.Cwd().OpenDir(x, tmp)
		if err != nil {
			panic(err)
		}
		err = saveData(x, dir, []byte("hello"))
		a, _ := dir.ReadFile(x, "fileA.txt")
		b, _ := dir.ReadFile(x, "fileB.txt")
		fmt.Printf("%s: %q %q, err=%v\n", x, a, b, err)
		dir.Close(x)
		os.RemoveAll(tmp)
		backend.Close()
	}
	// Output:
	// blocking: "hello" "hello", err=<nil>
	// threaded: "hello" "hello", err=<nil>
}

// Concurrent is for work that needs two things at once; Blocking refuses it
// cleanly instead of deadlocking.
func ExampleConcurrent() {
	for _, backend := range []io.Backend{io.NewBlocking(), io.NewThreaded(io.ThreadedOptions{})} {
		x := backend.Io()
		ping := make(chan string)
		f, err := io.Concurrent(x, func(x io.Io) (string, error) { return <-ping + " pong", nil })
		if err != nil {
			fmt.Printf("%s: %v\n", x, err)
			continue
		}
		ping <- "ping"
		v, _ := f.Await(x)
		fmt.Printf("%s: %s\n", x, v)
	}
	// Output:
	// blocking: io: concurrency unavailable
	// threaded: ping pong
}

// Cancel stops a task at its next cancel point and still returns its result.
func ExampleFuture_Cancel() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	f := io.Async(x, func(x io.Io) (int, error) {
		done := 0
		for range 1000 {
			if err := x.Sleep(time.Millisecond); err != nil {
				return done, err // canceled: report the work done so far
			}
			done++
		}
		return done, nil
	})
	time.Sleep(20 * time.Millisecond)
	n, err := f.Cancel(x)
	fmt.Println(n > 0 && n < 1000, errors.Is(err, io.ErrCanceled))
	// Output: true true
}

// A Queue between a producer and a consumer: Put waits while the queue is full.
func ExampleQueue() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	q := io.NewQueue[int](2)
	producer := io.Async(x, func(x io.Io) (int, error) {
		defer q.Close()
		return q.Put(x, []int{1, 2, 3, 4, 5}, 5)
	})
	sum := 0
	for {
		v, err := q.GetOne(x)
		if errors.Is(err, io.ErrClosed) {
			break
		}
		sum += v
	}
	n, _ := producer.Await(x)
	fmt.Println(n, sum)
	// Output: 5 15
}
