package io_test

import (
	"fmt"
	"net"
	"os"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// Several tasks write their own ranges of one file at once, each through a
// positional Writer that keeps its own offset, then read them back through
// positional Readers: nobody touches the shared file position.
func ExampleFile_WriterAt() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	f, err := io.Cwd().CreateFile(x, tmp+"/ranges.txt", io.CreateOptions{Read: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close(x)
	const part = 8
	var g io.Group
	for i := range 4 {
		g.Async(x, func(x io.Io) error {
			w := f.WriterAt(x, int64(i*part), make([]byte, 64))
			fmt.Fprintf(w, "part %d\n", i) // 7 bytes
			w.WriteByte('|')
			return w.Flush()
		})
	}
	if err := g.Wait(x); err != nil {
		fmt.Println(err)
		return
	}
	line, _ := f.ReaderAt(x, 2*part, nil).ReadSlice('\n')
	fmt.Printf("%q\n", line)
	all, _ := stdio.ReadAll(f.ReaderAt(x, 0, nil))
	fmt.Printf("%q\n", all)
	// Output:
	// "part 2\n"
	// "part 0\n|part 1\n|part 2\n|part 3\n|"
}

// WriteVecAt places a vector with a repeated last slice (a splat) at an
// offset with pwritev; ReadVecAt scatters a range into several buffers.
func ExampleFile_WriteVecAt() {
	x := io.NewBlocking().Io()
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	f, err := io.Cwd().CreateFile(x, tmp+"/vec.txt", io.CreateOptions{Read: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close(x)
	n, err := f.WriteVecAt(x, [][]byte{[]byte("key="), []byte("ab")}, 3, 2)
	fmt.Println(n, err)
	a, b := make([]byte, 3), make([]byte, 7)
	n, err = f.ReadVecAt(x, [][]byte{a, b}, 0)
	fmt.Printf("%d %v %q %q\n", n, err, a, b)
	// Output:
	// 10 <nil>
	// 10 <nil> "\x00\x00k" "ey=abab"
}

// A Writer on a connection sends a file's range with sendfile(2) after its
// buffered bytes, without copying the file through user memory.
func ExampleWriter_SendFile() {
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	if err := io.Cwd().WriteFile(x, tmp+"/page.txt", []byte("...hello, world..."), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	f, err := io.Cwd().OpenFile(x, tmp+"/page.txt", io.ReadOnly)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close(x)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	got := make(chan []byte)
	go func() {
		c, _ := ln.Accept()
		b, _ := stdio.ReadAll(c)
		c.Close()
		got <- b
	}()
	c, err := io.Dial(x, "tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	w := c.Writer(x, make([]byte, 512))
	w.WriteString("body: ")
	n, err := w.SendFile(x, f, 3, 12)
	w.WriteString("\n")
	w.Flush()
	c.Close(x)
	fmt.Println(n, err)
	fmt.Printf("%q\n", <-got)
	// Output:
	// 12 <nil>
	// "body: hello, world\n"
}
