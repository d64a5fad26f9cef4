//go:build unix

package io

import (
	"errors"
	"fmt"
	stdio "io"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNonEmpty(t *testing.T) {
	a, b := []byte("a"), []byte("bc")
	data := [][]byte{a, b}
	if got := nonEmpty(data); &got[0] != &data[0] || len(got) != 2 {
		t.Fatal("nonEmpty copied a vector with no empty slice")
	}
	got := nonEmpty([][]byte{nil, a, {}, b, nil})
	if len(got) != 2 || &got[0][0] != &a[0] || &got[1][0] != &b[0] {
		t.Fatalf("nonEmpty = %q, want [a bc]", got)
	}
	if got := nonEmpty([][]byte{nil, {}}); len(got) != 0 {
		t.Fatalf("nonEmpty of empty slices = %q", got)
	}
}

// A Close while another task reads the file leaves the descriptor open until
// that read ends: the read finishes on its own file, later operations fail
// with ErrClosed, and only then is the descriptor closed. (Closing it at once
// let the read, or any operation past its check, reach whatever file the
// system opened next under the same number.) A read parked on a pipe must not
// hold Close either.
func TestFileCloseWhileInUse(t *testing.T) {
	eachKind(t, func(t *testing.T, x Io) {
		r, w := pipe(t)
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 16)
			n, err := r.Read(x, buf)
			got <- fmt.Sprintf("%q %v", buf[:n], err)
		}()
		for deadline := time.Now().Add(10 * time.Second); r.state.Load() != 2; { // the read is in progress
			if time.Now().After(deadline) {
				t.Fatal("the read never started")
			}
			time.Sleep(time.Millisecond)
		}
		if err := r.Close(x); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFD, 0); err != nil {
			t.Fatalf("the descriptor was closed under a read in progress: %v", err)
		}
		if _, err := r.Read(x, make([]byte, 1)); !errors.Is(err, ErrClosed) {
			t.Fatalf("read after Close: %v, want ErrClosed", err)
		}
		if err := r.Close(x); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close: %v, want ErrClosed", err)
		}
		if _, err := w.Write(x, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != `"hi" <nil>` {
			t.Fatalf("the read in progress got %s", s)
		}
		if _, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFD, 0); err != unix.EBADF {
			t.Fatalf("after the last read: fcntl = %v, want EBADF (closed)", err)
		}
	})
}

// writeAll goes on after short writes, and turns a write of 0 bytes without
// an error into io.ErrShortWrite instead of looping (Conn.WriteVec used to
// loop on one forever).
func TestWriteAll(t *testing.T) {
	v, err := newVecs(nil, [][]byte{[]byte("abc"), []byte("de")}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	n, err := v.writeAll(func(iov [][]byte) (int, error) {
		got = append(got, iov[0][0]) // one byte at a time: every write short
		return 1, nil
	})
	if err != nil || n != 9 || string(got) != "abcdedede" {
		t.Fatalf("short writes: %d, %v, %q", n, err, got)
	}
	v, _ = newVecs(nil, [][]byte{[]byte("abc")}, 1)
	calls := 0
	n, err = v.writeAll(func([][]byte) (int, error) {
		if calls++; calls > 1 {
			return 0, nil
		}
		return 1, nil
	})
	if !errors.Is(err, stdio.ErrShortWrite) || n != 1 || calls != 2 {
		t.Fatalf("a write of 0 bytes: %d, %v after %d calls, want 1, ErrShortWrite after 2", n, err, calls)
	}
}

// Reading and writing one buffer at an offset allocates nothing (the
// one-slice vector used to escape through the driver interface).
func TestFileReadWriteAtAllocs(t *testing.T) {
	eachKind(t, func(t *testing.T, x Io) {
		f, err := Cwd().CreateFile(x, t.TempDir()+"/f", CreateOptions{Read: true})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close(x)
		p, q := []byte("0123456789abcdef"), make([]byte, 16)
		// One operation per measurement: under -race sync.Pool drops a
		// quarter of what is put back, so Evented's pooled ring
		// operation is remade now and then (0.25 per operation).
		w := testing.AllocsPerRun(200, func() {
			if _, err := f.WriteAt(x, p, 4096); err != nil {
				t.Fatal(err)
			}
		})
		r := testing.AllocsPerRun(200, func() {
			if _, err := f.ReadAt(x, q, 4096); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("allocs: %v per WriteAt, %v per ReadAt", w, r)
		if w > 0.5 || r > 0.5 {
			t.Fatalf("WriteAt %v, ReadAt %v allocs, want 0", w, r)
		}
	})
}

// eachKind runs fn as a subtest on a new Io of each implementation that
// this machine allows, closed when it returns.
func eachKind(t *testing.T, fn func(t *testing.T, x Io)) {
	for _, kind := range Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			b, err := New(string(kind))
			if err != nil {
				t.Skip(err)
			}
			defer b.Close()
			fn(t, b.Io())
		})
	}
}

// pipe returns the two ends of a pipe as Files, closed at the end of the test
// (through the plain system call, so it works after the Io is closed).
func pipe(t *testing.T) (r, w *File) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	r, w = newFile(p[0], "pipe-r"), newFile(p[1], "pipe-w")
	t.Cleanup(func() {
		for _, f := range []*File{r, w} {
			if f.state.CompareAndSwap(0, 1) {
				_ = unix.Close(f.fd)
			}
		}
	})
	return r, w
}
