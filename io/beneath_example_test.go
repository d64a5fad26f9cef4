//go:build unix

package io_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vkio/vkio/io"
)

// Saving under a path that a client chose: the folders are made and the file
// written atomically without ever leaving root, whatever the client sent and
// whatever links the folder holds.
func ExampleDir_CreateAtomicBeneath() {
	x := io.NewBlocking().Io()
	p, _ := os.MkdirTemp("", "saves")
	defer os.RemoveAll(p)
	os.Symlink("/etc", filepath.Join(p, "etc")) // planted by someone else
	root, _ := io.Cwd().OpenDir(x, p)
	defer root.Close(x)

	save := func(name string, data []byte) error {
		if err := root.MakePathBeneath(x, filepath.Dir(name), 0o755); err != nil {
			return err
		}
		f, err := root.CreateAtomicBeneath(x, name, 0o644)
		if err != nil {
			return err
		}
		defer f.Close(x)
		if _, err := f.Write(x, data); err != nil {
			return err
		}
		return f.Commit(x)
	}
	for _, name := range []string{"runs/1/out.bin", "../escape", "/tmp/abs", "etc/passwd"} {
		err := save(name, []byte("data"))
		fmt.Printf("%-15s outside: %v, permission: %v\n", name, errors.Is(err, io.ErrOutside), errors.Is(err, fs.ErrPermission))
	}
	b, _ := root.ReadFileBeneath(x, "runs/1/out.bin")
	fmt.Printf("%s\n", b)
	// Output:
	// runs/1/out.bin  outside: false, permission: false
	// ../escape       outside: true, permission: true
	// /tmp/abs        outside: true, permission: true
	// etc/passwd      outside: true, permission: true
	// data
}
