package iotest

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/vkio/vkio/io"
)

// The errors of files and sockets match the standard library's, as code
// written for os and net expects: fs.ErrClosed and net.ErrClosed for a
// closed file or socket, fs.ErrNotExist / ErrExist / ErrPermission for the
// system's errors, errors.As to *fs.PathError and *net.OpError — and their
// text says "io:" once.

// oneIoPrefix checks that err's text starts with "io: " and does not repeat it.
func oneIoPrefix(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); !strings.HasPrefix(msg, "io: ") || strings.Count(msg, "io: ") != 1 {
		t.Errorf("error text %q: want one \"io: \" prefix", msg)
	}
}

var _ = register("ClosedFileAndConnMatchStdlib", func(t *testing.T, x io.Io) {
	if runtime.GOOS == "windows" {
		t.Skip("files are unsupported on Windows")
	}
	d, _ := tempDir(t, x)
	f, err := d.CreateFile(x, "f", io.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(x); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["write to a closed file"] = f.Write(x, []byte("x"))
	checks["sync of a closed file"] = f.Sync(x)
	checks["second close of a file"] = f.Close(x)
	for what, err := range checks {
		if !errors.Is(err, fs.ErrClosed) || !errors.Is(err, os.ErrClosed) || !errors.Is(err, io.ErrClosed) {
			t.Errorf("%s = %v; want an error matching fs.ErrClosed and io.ErrClosed", what, err)
			continue
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != f.Name() || !errors.Is(pe, fs.ErrClosed) {
			t.Errorf("%s: errors.As *fs.PathError = %+v", what, pe)
		}
		oneIoPrefix(t, err)
	}

	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := io.Concurrent(x, func(x io.Io) (*io.Conn, error) { return l.Accept(x) })
	if err != nil { // Blocking: check the closed listener alone
		l.Close(x)
		_, err = l.Accept(x)
		closedSocket(t, "accept on a closed listener", err, l.Addr())
		return
	}
	c, err := io.Dial(x, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := accepted.Await(x)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(x)
	if err := c.Close(x); err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(x, make([]byte, 1))
	closedSocket(t, "read of a closed conn", err, c.RemoteAddr())
	_, err = c.Write(x, []byte("x"))
	closedSocket(t, "write to a closed conn", err, c.RemoteAddr())
	closedSocket(t, "second close of a conn", c.Close(x), c.RemoteAddr())
	l.Close(x)
	_, err = l.Accept(x)
	closedSocket(t, "accept on a closed listener", err, l.Addr())
	closedSocket(t, "second close of a listener", l.Close(x), l.Addr())
})

func closedSocket(t *testing.T, what string, err error, addr net.Addr) {
	t.Helper()
	if !errors.Is(err, net.ErrClosed) || !errors.Is(err, fs.ErrClosed) || !errors.Is(err, io.ErrClosed) {
		t.Errorf("%s = %v; want an error matching net.ErrClosed and io.ErrClosed", what, err)
		return
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Net != "tcp" || oe.Addr == nil || oe.Addr.String() != addr.String() || !errors.Is(oe, net.ErrClosed) {
		t.Errorf("%s: errors.As *net.OpError = %+v", what, oe)
	}
	oneIoPrefix(t, err)
}

var _ = register("SystemErrorsMatchStdlib", func(t *testing.T, x io.Io) {
	if runtime.GOOS == "windows" {
		t.Skip("files are unsupported on Windows")
	}
	d, p := tempDir(t, x)
	_, err := d.OpenFile(x, "missing", io.ReadOnly)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("open of a missing file = %v; want fs.ErrNotExist", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != filepath.Join(p, "missing") || pe.Err != syscall.ENOENT {
		t.Fatalf("errors.As *fs.PathError = %+v", pe)
	}
	if !os.IsNotExist(pe) {
		t.Fatal("os.IsNotExist of the PathError = false")
	}
	oneIoPrefix(t, err)
	if err := d.WriteFile(x, "f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = d.CreateFile(x, "f", io.CreateOptions{Exclusive: true})
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("exclusive create of an existing file = %v; want fs.ErrExist", err)
	}
	if err := d.MakeDir(x, "f", 0o755); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("mkdir over a file = %v; want fs.ErrExist", err)
	}
	if err := d.Remove(x, "missing"); !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) {
		t.Fatalf("remove of a missing file = %v; want fs.ErrNotExist as a *fs.PathError", err)
	}
	if os.Geteuid() != 0 { // root reads anything
		if err := os.WriteFile(filepath.Join(p, "secret"), nil, 0); err != nil {
			t.Fatal(err)
		}
		_, err = d.OpenFile(x, "secret", io.ReadOnly)
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("open of an unreadable file = %v; want fs.ErrPermission", err)
		}
	}
})
