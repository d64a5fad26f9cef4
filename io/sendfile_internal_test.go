//go:build linux

package io

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	stdio "io"

	"golang.org/x/sys/unix"
)

// A Failing Io fails the kernel copy with its "sendfile" error, and the
// read of the fallback with its "read" error: no byte moves.
func TestSendFileFailing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Cwd().OpenFile(NewBlocking().Io(), p, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(NewBlocking().Io())
	dst, err := Cwd().CreateFile(NewBlocking().Io(), p+".out", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close(NewBlocking().Io())
	x := Failing()
	for _, w := range []*Writer{dst.Writer(x, nil), dst.WriterAt(x, 0, make([]byte, 16))} {
		n, err := w.SendFile(x, src, 0, 4)
		if n != 0 || !errors.Is(err, ErrUnsupported) {
			t.Fatalf("SendFile on Failing = %d, %v; want 0 and ErrUnsupported", n, err)
		}
	}
}

// To a pipe, where copy_file_range refuses, File.Writer's SendFile moves
// the bytes with sendfile(2); from a pipe, which has no offsets, it fails
// with ESPIPE.
func TestSendFilePipe(t *testing.T) {
	x := NewThreaded(ThreadedOptions{}).Io()
	data := bytes.Repeat([]byte("0123456789"), 50_000)
	p := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Cwd().OpenFile(x, p, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(x)
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	rd := os.NewFile(uintptr(fds[0]), "pipe-r")
	defer rd.Close()
	wr := newFile(fds[1], "pipe-w")
	got := make(chan []byte, 1)
	go func() { b, _ := stdio.ReadAll(rd); got <- b }()
	log := &opRecorder{}
	w := wr.Writer(x.WithObserver(log), nil)
	n, err := w.SendFile(x, src, 10, int64(len(data)-10))
	if cerr := wr.Close(x); cerr != nil {
		t.Fatal(cerr)
	}
	if n != int64(len(data)-10) || err != nil {
		t.Fatalf("SendFile to a pipe = %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, data[10:]) {
		t.Fatalf("pipe read %d bytes, want %d", len(b), len(data)-10)
	}
	if log.bytes("sendfile") != n || log.bytes("pread") != 0 {
		t.Fatalf("kernel moved %d bytes and %d were read: want all by the kernel", log.bytes("sendfile"), log.bytes("pread"))
	}

	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	pr, pw := newFile(fds[0], "pipe-r"), os.NewFile(uintptr(fds[1]), "pipe-w")
	defer pr.Close(x)
	pw.Write([]byte("abc"))
	pw.Close()
	var sink bytes.Buffer
	if n, err := NewWriter(WriterSink(&sink), nil).SendFile(x, pr, 0, 3); n != 0 || !errors.Is(err, syscall.ESPIPE) {
		t.Fatalf("SendFile from a pipe = %d, %v; want ESPIPE", n, err)
	}
}

type opRecorder struct{ ops []Op }

func (r *opRecorder) ObserveOp(op Op) { r.ops = append(r.ops, op) }

func (r *opRecorder) bytes(name string) int64 {
	var n int64
	for _, op := range r.ops {
		if op.Name == name {
			n += op.Bytes
		}
	}
	return n
}
