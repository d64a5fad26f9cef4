package io_test

import (
	"errors"
	"fmt"
	stdio "io"

	"github.com/vkio/vkio/io"
)

// Shutdown(Write) tells the peer that nothing more comes: it reads io.EOF
// after the data, and can still answer.
func ExampleConn_Shutdown() {
	x := io.NewBlocking().Io()
	l, _ := io.Listen(x, "tcp", "127.0.0.1:0")
	defer l.Close(x)
	c, _ := io.Dial(x, "tcp", l.Addr().String()) // completes on the backlog
	defer c.Close(x)
	s, _ := l.Accept(x)
	defer s.Close(x)

	c.Write(x, []byte("request"))
	c.Shutdown(x, io.ShutdownWrite)
	req, err := stdio.ReadAll(s.Reader(x, nil)) // up to io.EOF
	fmt.Printf("%s %v\n", req, err)
	s.Write(x, []byte("reply"))
	s.Shutdown(x, io.ShutdownBoth)
	reply, err := stdio.ReadAll(c.Reader(x, nil))
	fmt.Printf("%s %v\n", reply, err)
	// Output:
	// request <nil>
	// reply <nil>
}

// LookupHost resolves through the Io: canceling the task abandons the
// query.
func ExampleLookupHost() {
	x := io.NewBlocking().Io()
	addrs, err := io.LookupHost(x, "127.0.0.1")
	fmt.Println(addrs, err)

	y, cancel := x.WithCancel()
	cancel()
	_, err = io.LookupHost(y, "localhost")
	fmt.Println(errors.Is(err, io.ErrCanceled))
	// Output:
	// [127.0.0.1] <nil>
	// true
}
