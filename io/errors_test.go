package io_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// The package's sentinels match the standard library's that mean the same,
// keep their text, and do not match each other.
func TestSentinelsMatchStdlib(t *testing.T) {
	cases := []struct {
		err  error
		text string
		std  []error
	}{
		{io.ErrClosed, "io: use of closed resource", []error{fs.ErrClosed, os.ErrClosed, net.ErrClosed}},
		{io.ErrUnsupported, "io: operation not supported by this Io", []error{errors.ErrUnsupported}},
		{io.ErrInvalid, "io: invalid argument", []error{fs.ErrInvalid, os.ErrInvalid}},
		{io.ErrZeroIo, "", []error{io.ErrInvalid, fs.ErrInvalid}},
		{io.ErrSelfAwait, "", []error{io.ErrInvalid, fs.ErrInvalid}},
		{io.ErrCanceled, "io: canceled", []error{context.Canceled}},
		{io.ErrDeadlineExceeded, "io: deadline exceeded", []error{context.DeadlineExceeded, os.ErrDeadlineExceeded, io.ErrCanceled}},
	}
	all := []error{io.ErrClosed, io.ErrUnsupported, io.ErrInvalid, io.ErrCanceled, io.ErrDeadlineExceeded}
	for _, c := range cases {
		if c.text != "" && c.err.Error() != c.text {
			t.Errorf("text %q, want %q", c.err.Error(), c.text)
		}
		for _, s := range c.std {
			if !errors.Is(c.err, s) {
				t.Errorf("%v does not match %v", c.err, s)
			}
			wrapped := &io.Error{Op: "op", Path: "p", Err: c.err}
			if !errors.Is(wrapped, s) {
				t.Errorf("*io.Error wrapping %v does not match %v", c.err, s)
			}
		}
		for _, other := range all {
			if c.text != "" && other != c.err && errors.Is(c.err, other) && !(c.err == io.ErrDeadlineExceeded && other == io.ErrCanceled) {
				t.Errorf("%v matches %v", c.err, other)
			}
		}
	}
	if errors.Is(io.ErrClosed, fs.ErrInvalid) || errors.Is(io.ErrInvalid, fs.ErrClosed) || errors.Is(io.ErrDeadlineExceeded, context.Canceled) {
		t.Error("a sentinel matches a standard error it does not mean")
	}
}

// An *Error wrapping another error of this package says "io:" once.
func TestErrorsDoNotStutter(t *testing.T) {
	inner := &io.Error{Op: "sync", Path: "y", Err: io.ErrCanceled}
	outer := &io.Error{Op: "commit", Path: "x", Err: inner}
	if got, want := outer.Error(), "io: commit x: sync y: canceled"; got != want {
		t.Errorf("nested error text = %q, want %q", got, want)
	}
	if got, want := (&io.Error{Op: "queue put", Err: io.ErrClosed}).Error(), "io: queue put: use of closed resource"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got, want := (&io.Error{Op: "read", Path: "f"}).Error(), "io: read f: <nil>"; got != want {
		t.Errorf("text with a nil cause = %q, want %q", got, want)
	}
	// Real errors of real operations.
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	q := io.NewQueue[int](1)
	_, err1 := q.Put(x, []int{1}, 2)
	q.Close()
	_, err2 := q.Put(x, []int{1}, 1)
	y, cancel := x.WithTimeout(time.Millisecond)
	defer cancel()
	_, err3 := io.Dial(y, "tcp", "127.0.0.1:1")
	err4 := io.Cwd().MakeDir(x, os.DevNull, 0o755)
	_, err5 := io.Select(x)
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err == nil {
			t.Fatal("an operation that must fail did not")
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "io: ") || strings.Count(msg, "io: ") != 1 {
			t.Errorf("error text %q: want one \"io: \" prefix", msg)
		}
	}
}

// errors.As fills a *fs.PathError only from a file operation (which has a
// path), a *net.OpError only from a socket operation, and prefers one the
// cause already holds.
func TestErrorAs(t *testing.T) {
	x := io.NewBlocking().Io()
	_, err := io.Cwd().OpenFile(x, "/no/such/file", io.ReadOnly)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != "/no/such/file" || !errors.Is(pe, fs.ErrNotExist) {
		t.Fatalf("PathError from open = %+v", pe)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		t.Fatalf("a file error gave a *net.OpError: %+v", oe)
	}
	if errors.As(&io.Error{Op: "queue get", Err: io.ErrClosed}, &pe) {
		t.Fatal("an error without a path gave a *fs.PathError")
	}
	own := &fs.PathError{Op: "lstat", Path: "inner", Err: fs.ErrNotExist}
	pe = nil
	if !errors.As(&io.Error{Op: "open", Path: "outer", Err: own}, &pe) || pe != own {
		t.Fatalf("As did not find the cause's own PathError: %+v", pe)
	}
	// A socket timeout: a *net.OpError whose Timeout reports true.
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	y, cancel := x.WithTimeout(5 * time.Millisecond)
	defer cancel()
	_, err = l.Accept(y)
	oe = nil
	if !errors.As(err, &oe) || oe.Op != "accept" || oe.Net != "tcp" || oe.Addr.String() != l.Addr().String() || !oe.Timeout() {
		t.Fatalf("OpError from an expired accept = %+v (%v)", oe, err)
	}
	if errors.As(err, &pe) {
		t.Fatal("a socket error gave a *fs.PathError")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("an expired accept is not a net.Error timeout: %v", err)
	}
	// A refused dial: the net package's own OpError is found.
	_, err = io.Dial(x, "tcp", l.Addr().String()+"0")
	if err == nil {
		t.Skip("dial to a port nobody listens on succeeded")
	}
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Fatalf("OpError from a failed dial = %+v (%v)", oe, err)
	}
}
