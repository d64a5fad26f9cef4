package io_test

import (
	"context"
	"fmt"
	stdio "io"
	"net/http"

	"github.com/vkio/vkio/io"
)

// net/http's server on a socket of the Io: every accept, read, write and
// close goes through x (its observer sees them, canceling it stops them).
func ExampleListener_NetListener() {
	b := io.NewThreaded(io.ThreadedOptions{})
	defer b.Close()
	x := b.Io()
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.URL.Path)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l.NetListener(x)) }()

	tr := &http.Transport{DisableKeepAlives: true}
	resp, err := (&http.Client{Transport: tr}).Get("http://" + l.Addr().String() + "/vkio")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := stdio.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	_ = srv.Shutdown(context.Background())
	fmt.Println(<-served)
	// Output:
	// 200 hello from /vkio
	// http: Server closed
}
