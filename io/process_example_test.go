//go:build unix

package io_test

import (
	"errors"
	"fmt"
	stdio "io"
	"strings"
	"time"

	"github.com/vkio/vkio/io"
)

// Spawn a program with its standard output on a pipe, read what it prints
// (through the standard library's io.ReadAll, by way of File.Reader), and
// wait for it.
func ExampleSpawn() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	p, err := io.Spawn(x, io.Command{
		Path:   "/bin/sh",
		Args:   []string{"sh", "-c", `echo "hello, $WHO"; exit 3`},
		Env:    []string{"WHO=world"},
		Stdout: io.StdioPipe,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := stdio.ReadAll(p.Stdout.Reader(x, make([]byte, 4096)))
	if err != nil {
		fmt.Println(err)
	}
	st, err := p.Wait(x) // reaps the child and closes p.Stdout
	fmt.Printf("%q %v %v success=%v\n", out, st, err, st.Success())
	// Output: "hello, world\n" exit status 3 <nil> success=false
}

// Run is Spawn then Wait.
func ExampleCommand_Run() {
	x := io.NewBlocking().Io()
	st, err := io.Command{Path: "/bin/sh", Args: []string{"sh", "-c", "kill -KILL $$"}}.Run(x)
	fmt.Println(st, st.Code, err)
	// Output: signal: killed -1 <nil>
}

// A canceled Wait ends the child: SIGTERM, then SIGKILL after
// Command.Grace. The child is reaped; Wait returns its status with the
// cancel error.
func ExampleProcess_Wait_cancel() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	p, err := io.Spawn(x, io.Command{Path: "/bin/sh", Args: []string{"sh", "-c", "exec sleep 60"}, Grace: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	y, cancel := x.WithCancel()
	time.AfterFunc(10*time.Millisecond, cancel) // Ctrl-C, a timeout, a sibling's failure ...
	st, err := p.Wait(y)
	fmt.Println(st, errors.Is(err, io.ErrCanceled))
	// Output: signal: terminated true
}

// A pipe between two tasks: the writer's Close is the reader's end of file.
// Reads and writes of a pipe (and of a FIFO or terminal opened with
// OpenFile) are cancel points on every implementation.
func ExamplePipe() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	r, w, err := io.Pipe(x)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(x)
	// Async, not Concurrent: the line fits in the pipe, so the code is
	// right even where the writer runs first, to its end.
	writer := io.Async(x, func(x io.Io) (int64, error) {
		defer w.Close(x)
		wr := w.Writer(x, nil)
		n, err := stdio.Copy(wr, strings.NewReader("through the pipe\n"))
		if err == nil {
			err = wr.Flush()
		}
		return n, err
	})
	got, err := stdio.ReadAll(r.Reader(x, make([]byte, 64)))
	n, werr := writer.Await(x)
	fmt.Printf("%q %v; wrote %d %v\n", got, err, n, werr)
	// Output: "through the pipe\n" <nil>; wrote 17 <nil>
}
