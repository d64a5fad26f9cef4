package io_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/vkio/vkio/io"
)

// exampleTree makes a small tree in a temporary folder and opens it.
func exampleTree(x io.Io) (io.Dir, func()) {
	root, _ := os.MkdirTemp("", "vkio-example-")
	for _, p := range []string{"src/main.go", "src/util/util.go", ".git/HEAD", "README"} {
		_ = os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		_ = os.WriteFile(filepath.Join(root, p), []byte(p+"\n"), 0o644)
	}
	d, _ := io.Cwd().OpenDir(x, root)
	return d, func() { d.Close(x); os.RemoveAll(root) }
}

// Listing a directory: entries come in the file system's order, in bounded
// batches.
func ExampleDir_Entries() {
	x := io.NewBlocking().Io()
	d, cleanup := exampleTree(x)
	defer cleanup()
	var names []string
	for e, err := range d.Entries(x, ".") {
		if err != nil {
			fmt.Println(err)
			return
		}
		if e.IsDir() {
			names = append(names, e.Name()+"/")
		} else {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	fmt.Println(names)
	// Output: [.git/ README src/]
}

// Walking a tree, skipping a folder.
func ExampleDir_Walk() {
	x := io.NewBlocking().Io()
	d, cleanup := exampleTree(x)
	defer cleanup()
	var paths []string
	for e, err := range d.Walk(x, ".") {
		if err != nil {
			fmt.Println(err)
			return
		}
		if e.Name() == ".git" {
			e.SkipDir()
			continue
		}
		paths = append(paths, e.Path)
	}
	slices.Sort(paths)
	fmt.Println(paths)
	// Output: [README src src/main.go src/util src/util/util.go]
}

// Removing a tree; a link inside it is removed, never followed.
func ExampleDir_RemoveAll() {
	x := io.NewBlocking().Io()
	d, cleanup := exampleTree(x)
	defer cleanup()
	_ = d.Symlink(x, "../README", "src/readme-link")
	fmt.Println(d.RemoveAll(x, "src"))
	_, err := d.Stat(x, "README")
	fmt.Println("README still there:", err == nil)
	// Output:
	// <nil>
	// README still there: true
}

// Copying a file: the result says how the bytes moved (clone,
// copy_file_range or read/write, whichever the file system allows).
func ExampleDir_CopyFile() {
	x := io.NewBlocking().Io()
	d, cleanup := exampleTree(x)
	defer cleanup()
	res, err := d.CopyFile(x, "README", d, "README.bak", io.CopyOptions{Atomic: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := d.ReadFile(x, "README")
	b, _ := d.ReadFile(x, "README.bak")
	fmt.Println(res.Bytes, "bytes, same:", bytes.Equal(a, b), "method reported:", res.Method != io.CopyAuto)
	// Output: 7 bytes, same: true method reported: true
}

// File locks between two opens of one file (as between two processes).
func ExampleFile_Lock() {
	x := io.NewBlocking().Io()
	d, cleanup := exampleTree(x)
	defer cleanup()
	a, _ := d.CreateFile(x, "lock", io.CreateOptions{Keep: true})
	b, _ := d.CreateFile(x, "lock", io.CreateOptions{Keep: true})
	defer b.Close(x)
	if err := a.Lock(x, true); err != nil { // waits, cancelably, while another holds it
		fmt.Println(err)
		return
	}
	ok, _ := b.TryLock(x, true)
	fmt.Println("b while a holds it:", ok)
	a.Close(x) // closing releases the lock
	ok, _ = b.TryLock(x, true)
	fmt.Println("b after a closed:", ok)
	// Output:
	// b while a holds it: false
	// b after a closed: true
}
