package iotest

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// serveEcho accepts one connection and echoes it until EOF.
func serveEcho(x io.Io, l *io.Listener) (int64, error) {
	c, err := l.Accept(x)
	if err != nil {
		return 0, err
	}
	defer c.Close(x)
	var total int64
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(x, buf)
		if n > 0 {
			if _, werr := c.Write(x, buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == stdio.EOF {
			return total, c.CloseWrite(x)
		}
		if err != nil {
			return total, err
		}
	}
}

func echoRoundTrip(t *testing.T, x io.Io, network, address string) {
	l, err := io.Listen(x, network, address)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	// The Zig example: the server's accept and the client's connect must overlap.
	server, err := io.Concurrent(x, func(x io.Io) (int64, error) { return serveEcho(x, l) })
	if x.Kind() == io.KindBlocking {
		if !errors.Is(err, io.ErrConcurrencyUnavailable) {
			t.Fatalf("Blocking: Concurrent = %v, want ErrConcurrencyUnavailable", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := io.Dial(x, network, l.Addr().String())
	if err != nil {
		server.Cancel(x)
		t.Fatal(err)
	}
	defer c.Close(x)
	msg := randomBytes(200_000)
	// Write through the buffered Writer with a vectorized splat, read concurrently.
	reader, err := io.Concurrent(x, func(x io.Io) ([]byte, error) {
		return stdio.ReadAll(c.Reader(x, make([]byte, 1024)))
	})
	if err != nil {
		t.Fatal(err)
	}
	w := c.Writer(x, make([]byte, 8192))
	w.Write(msg)
	w.WriteSplat([][]byte{[]byte("tail"), []byte("!")}, 5)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(x); err != nil {
		t.Fatal(err)
	}
	got, err := reader.Await(x)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, msg...), "tail!!!!!"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("echo returned %d bytes, want %d", len(got), len(want))
	}
	if n, err := server.Await(x); err != nil || n != int64(len(want)) {
		t.Fatalf("server = %d, %v", n, err)
	}
}

var _ = register("TCPEcho", func(t *testing.T, x io.Io) {
	echoRoundTrip(t, x, "tcp", "127.0.0.1:0")
})

var _ = register("UnixEcho", func(t *testing.T, x io.Io) {
	echoRoundTrip(t, x, "unix", filepath.Join(t.TempDir(), "echo.sock"))
})

var _ = register("AcceptCanceled", func(t *testing.T, x io.Io) {
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	start := time.Now()
	_, err = l.Accept(y) // nobody dials: only the cancel ends it
	isCanceled(t, err)
	if time.Since(start) > within {
		t.Fatal("Accept not interrupted promptly")
	}
	// The listener still works for a task that was not canceled.
	if f, err := io.Concurrent(x, func(x io.Io) (*io.Conn, error) { return l.Accept(x) }); err == nil {
		c, err := io.Dial(x, "tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.Await(x)
		if err != nil {
			t.Fatalf("Accept after a canceled Accept = %v", err)
		}
		s.Close(x)
		c.Close(x)
	}
})

var _ = register("ReadCanceledConnStaysUsable", func(t *testing.T, x io.Io) {
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	accepted, err := io.Concurrent(x, func(x io.Io) (*io.Conn, error) { return l.Accept(x) })
	if err != nil {
		return // needs accept and dial at once
	}
	c, err := io.Dial(x, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(x)
	s, err := accepted.Await(x)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(x)
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	_, err = s.Read(y, make([]byte, 10)) // nothing sent: only the cancel ends it
	isCanceled(t, err)
	// Another task reads from the same connection afterwards.
	if _, err := c.Write(x, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if n, err := s.Read(x, buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("Read after a canceled Read = %q, %v", buf[:n], err)
	}
})

var _ = register("DialErrors", func(t *testing.T, x io.Io) {
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close(x)
	if err := l.Close(x); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	_, err = io.Dial(x, "tcp", addr)
	var e *io.Error
	if err == nil || !errors.As(err, &e) || e.Op != "dial" || !strings.Contains(e.Path, addr) {
		t.Fatalf("dial to a closed port = %v; want an *io.Error naming dial and the address", err)
	}
	if _, err := io.Listen(x, "bogus", "x"); err == nil {
		t.Fatal("Listen on an unknown network succeeded")
	}
})
