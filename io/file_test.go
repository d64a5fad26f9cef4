package io_test

import (
	"testing"

	vio "github.com/vkio/vkio/io"
)

// A buffered File reader's refill (one readv into the caller's slice and the
// buffer) allocates nothing of its own.
func TestFileReaderRefillAllocs(t *testing.T) {
	x := vio.NewBlocking().Io()
	d, err := vio.Cwd().OpenDir(x, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(x)
	if err := d.WriteFile(x, "data", make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := d.OpenFile(x, "data", vio.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	r := f.Reader(x, make([]byte, 64))
	p := make([]byte, 8)
	refill := func() {
		if _, err := r.Discard(r.Buffered()); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Read(p); n != len(p) || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		if r.Buffered() == 0 {
			t.Fatal("Read did not refill the buffer")
		}
	}
	allocs := testing.AllocsPerRun(1000, refill)
	t.Logf("%v allocs per refill", allocs)
	if allocs > 0 {
		t.Fatalf("refill = %v allocs, want 0", allocs)
	}
}

// Opening a file in a Dir joins the path once, for the File's name: without
// an observer, nothing else is formatted.
func TestDirOpenAllocs(t *testing.T) {
	x := vio.NewBlocking().Io()
	d, err := vio.Cwd().OpenDir(x, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(x)
	if err := d.WriteFile(x, "data", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		f, err := d.OpenFile(x, "data", vio.ReadOnly)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(x); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%v allocs per OpenFile+Close", allocs)
	// The File, its joined name (path.Join: 2), and the path's C string for
	// openat. Joining again for the unobserved observe made it 6.
	if allocs > 4 {
		t.Fatalf("OpenFile+Close = %v allocs, want at most 4", allocs)
	}
}
