package io_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vkio/vkio/io"
)

// Test how code copes with a full disk: the third write fails with ENOSPC,
// the rest run on a real Io.
func ExampleFailingWith() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	x := io.FailingWith(io.FailPlan{
		Base: io.NewBlocking().Io(),
		Ops: map[string]io.Fault{
			"write": {Err: syscall.ENOSPC, After: 2, Times: 1},
			"open":  {After: 1}, // the second open fails with ENOENT
		},
	})
	name := filepath.Join(dir, "log")
	f, err := io.Cwd().CreateFile(x, name, io.CreateOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 1; i <= 4; i++ {
		_, err := f.Write(x, []byte("line\n"))
		fmt.Println(i, err != nil, errors.Is(err, syscall.ENOSPC))
	}
	f.Close(x)
	_, err = io.Cwd().OpenFile(x, name, io.ReadOnly)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// 1 false false
	// 2 false false
	// 3 true true
	// 4 false false
	// true
}
