package io_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vkio/vkio/io"
)

// These examples show Linux's behaviour (SO_REUSEPORT, a full backlog
// leaving connection requests unanswered).

// Two listeners on one port with SO_REUSEPORT: the kernel spreads the
// connections among them (one per task or thread, typically).
func ExampleListenConfig_Listen() {
	x := io.NewBlocking().Io()
	cfg := io.ListenConfig{ReusePort: true, Backlog: 128}
	l1, err := cfg.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l1.Close(x)
	l2, err := cfg.Listen(x, "tcp", l1.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l2.Close(x)
	fmt.Println(l1.Addr().String() == l2.Addr().String())
	// Output: true
}

// DialTimeout gives up when the time is over, with an error that matches
// os.ErrDeadlineExceeded. Here the listener's backlog of 1 is full and
// nobody accepts: Linux leaves further connection requests unanswered.
func ExampleDialTimeout() {
	x := io.NewBlocking().Io()
	l, err := io.ListenConfig{Backlog: 1}.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close(x)
	for range 16 {
		c, err := io.DialTimeout(x, "tcp", l.Addr().String(), 100*time.Millisecond)
		if err != nil {
			fmt.Println("timed out:", errors.Is(err, os.ErrDeadlineExceeded))
			return
		}
		defer c.Close(x)
	}
	fmt.Println("every connection was answered")
	// Output: timed out: true
}
