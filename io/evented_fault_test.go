//go:build linux

package io

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Writing to /dev/full fails with ENOSPC through every write path.
func TestEventedENOSPCDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	f, err := Cwd().OpenFile(x, "/dev/full", WriteOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(x)
	data := bytes.Repeat([]byte("z"), 4096)
	if n, err := f.Write(x, data); !errors.Is(err, syscall.ENOSPC) || n != 0 {
		t.Errorf("Write = %d, %v; want 0, ENOSPC", n, err)
	}
	if _, err := f.WriteVec(x, [][]byte{data, data[:1]}, 100); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("WriteVec = %v; want ENOSPC", err)
	}
	w := f.Writer(x, make([]byte, 512))
	w.Write(data)
	if err := w.Flush(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Writer.Flush = %v; want ENOSPC", err)
	}
	if st := e.Stats(); st.Submitted == 0 {
		t.Errorf("the writes did not go through the ring")
	}
}

// A file on a tiny tmpfs fills up in the middle of a stream of writes: the last
// write is short, then ENOSPC is reported with the count of bytes that did land,
// and the file holds exactly those bytes.
func TestEventedTmpfsFillsUp(t *testing.T) {
	mnt := t.TempDir()
	const size = 256 << 10
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	e := newTestEvented(t, EventedOptions{})
	x := e.Io()
	f, err := Cwd().CreateFile(x, filepath.Join(mnt, "big"), CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 100 KiB chunks, not a divisor of the capacity, so a write is cut short.
	chunk := bytes.Repeat([]byte{0xab}, 100<<10)
	var total int64
	var werr error
	for i := 0; i < 10 && werr == nil; i++ {
		var n int
		n, werr = f.Write(x, chunk)
		total += int64(n)
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("writing %d bytes into a %d-byte tmpfs: %v; want ENOSPC", total, size, werr)
	}
	if total == 0 || total > size || total%int64(len(chunk)) == 0 {
		t.Errorf("wrote %d bytes before ENOSPC; want a partial chunk, at most %d", total, size)
	}
	if err := f.Close(x); err != nil {
		t.Fatal(err)
	}
	fi, err := Cwd().Stat(x, filepath.Join(mnt, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size != total {
		t.Errorf("file holds %d bytes; the writes reported %d", fi.Size, total)
	}
	t.Logf("tmpfs of %d bytes took %d before ENOSPC", size, total)
}
