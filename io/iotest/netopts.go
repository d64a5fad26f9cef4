package iotest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// Listen options, Shutdown, DialTimeout and name lookups. Dial completes
// on a listener's backlog before anyone accepts, so these cases too run
// sequentially, on Blocking as well.

var _ = register("ListenReusePort", func(t *testing.T, x io.Io) {
	cfg := io.ListenConfig{ReusePort: true, ReuseAddr: true}
	l1, err := cfg.Listen(x, "tcp", "127.0.0.1:0")
	if errors.Is(err, io.ErrUnsupported) {
		t.Skipf("no SO_REUSEPORT here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close(x)
	addr := l1.Addr().String()
	l2, err := cfg.Listen(x, "tcp", addr)
	if err != nil {
		t.Fatalf("second listener with ReusePort on %s: %v", addr, err)
	}
	defer l2.Close(x)
	// Without the option, the port is taken.
	if l3, err := io.Listen(x, "tcp", addr); err == nil {
		l3.Close(x)
		t.Fatalf("a listener without ReusePort bound %s too", addr)
	} else if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen without ReusePort = %v, want EADDRINUSE", err)
	}
	// Both listeners take connections: the kernel spreads them, so dial
	// until each has one waiting (a connection waits in the backlog of the
	// listener it went to until accepted).
	accepted := map[*io.Listener]int{}
	var conns []*io.Conn
	defer func() {
		for _, c := range conns {
			c.Close(x)
		}
	}()
	for i := 0; i < 64 && len(accepted) < 2; i++ {
		c, err := io.Dial(x, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for _, l := range []*io.Listener{l1, l2} {
			if s, ok := acceptWaiting(x, l); ok {
				accepted[l]++
				s.Close(x)
			}
		}
	}
	if len(accepted) != 2 {
		t.Logf("64 connections all went to one listener: %v", accepted) // possible, if unlikely
	}
	// Datagram sockets share a port too.
	p1, err := cfg.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Close(x)
	p2, err := cfg.ListenPacket(x, "udp", p1.LocalAddr().String())
	if err != nil {
		t.Fatalf("second UDP socket with ReusePort: %v", err)
	}
	p2.Close(x)
})

// acceptWaiting accepts a connection if one is waiting on l.
func acceptWaiting(x io.Io, l *io.Listener) (*io.Conn, bool) {
	y, stop := canceledBy(x, 50*time.Millisecond)
	defer stop()
	s, err := l.Accept(y)
	return s, err == nil
}

var _ = register("ListenConfigErrors", func(t *testing.T, x io.Io) {
	for _, cfg := range []io.ListenConfig{{Backlog: -1}, {ReadBuffer: -1}, {WriteBuffer: -5}} {
		if l, err := cfg.Listen(x, "tcp", "127.0.0.1:0"); !errors.Is(err, io.ErrInvalid) {
			if l != nil {
				l.Close(x)
			}
			t.Fatalf("Listen with %+v = %v, want ErrInvalid", cfg, err)
		}
	}
	// The buffer sizes and a backlog apply (whether the system honours them
	// exactly is system-dependent; the listener works).
	l, err := io.ListenConfig{Backlog: 8, ReadBuffer: 1 << 16, WriteBuffer: 1 << 16}.Listen(x, "tcp", "127.0.0.1:0")
	if errors.Is(err, io.ErrUnsupported) {
		t.Skipf("no backlog here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	c, err := io.Dial(x, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(x)
	s, err := l.Accept(x)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(x)
})

// connPair returns both ends of a connection on network.
func connPair(t *testing.T, x io.Io, network, address string) (client, server *io.Conn, done func()) {
	t.Helper()
	l, err := io.Listen(x, network, address)
	if err != nil {
		t.Fatal(err)
	}
	c, err := io.Dial(x, network, l.Addr().String())
	if err != nil {
		l.Close(x)
		t.Fatal(err)
	}
	s, err := l.Accept(x)
	if err != nil {
		c.Close(x)
		l.Close(x)
		t.Fatal(err)
	}
	return c, s, func() { c.Close(x); s.Close(x); l.Close(x) }
}

// readEOF reads from c, which must end with io.EOF (within a long while:
// a read that hangs instead is canceled, and fails).
func readEOF(t *testing.T, x io.Io, c *io.Conn, what string) {
	t.Helper()
	y, stop := canceledBy(x, within)
	defer stop()
	if n, err := c.Read(y, make([]byte, 10)); n != 0 || err != stdio.EOF {
		t.Fatalf("%s: Read = %d, %v; want 0, io.EOF", what, n, err)
	}
}

func shutdownCases(t *testing.T, x io.Io, network, address func() string) {
	// ShutdownRead: Read returns EOF at once, a parked one included.
	c, s, done := connPair(t, x, network(), address())
	parked, err := io.Concurrent(x, func(x io.Io) (int, error) {
		y, stop := canceledBy(x, within)
		defer stop()
		return s.Read(y, make([]byte, 10))
	})
	if err == nil {
		time.Sleep(10 * time.Millisecond) // most likely parked by now; either way it must end
	}
	if err := s.Shutdown(x, io.ShutdownRead); err != nil {
		t.Fatal(err)
	}
	if parked != nil {
		if n, err := parked.Await(x); n != 0 || err != stdio.EOF {
			t.Fatalf("parked Read after Shutdown(Read) = %d, %v; want 0, io.EOF", n, err)
		}
	}
	readEOF(t, x, s, "after Shutdown(Read)")
	// The other direction still works.
	if _, err := s.Write(x, []byte("hi")); err != nil {
		t.Fatalf("Write after Shutdown(Read): %v", err)
	}
	buf := make([]byte, 2)
	if _, err := stdio.ReadFull(c.Reader(x, nil), buf); err != nil || string(buf) != "hi" {
		t.Fatalf("peer Read = %q, %v", buf, err)
	}
	done()

	// ShutdownWrite: the peer reads EOF; Write fails; reads still work.
	c, s, done = connPair(t, x, network(), address())
	if _, err := c.Write(x, []byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(x, io.ShutdownWrite); err != nil {
		t.Fatal(err)
	}
	got, err := stdio.ReadAll(s.Reader(x, make([]byte, 64)))
	if err != nil || string(got) != "last" {
		t.Fatalf("peer read %q, %v after Shutdown(Write); want \"last\" then EOF", got, err)
	}
	if _, err := c.Write(x, []byte("more")); err == nil {
		t.Fatal("Write after Shutdown(Write) succeeded")
	}
	if _, err := s.Write(x, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, err := stdio.ReadFull(c.Reader(x, nil), buf); err != nil || string(buf) != "ok" {
		t.Fatalf("Read after own Shutdown(Write) = %q, %v", buf, err)
	}
	done()

	// ShutdownBoth: each end reads EOF.
	c, s, done = connPair(t, x, network(), address())
	if err := c.Shutdown(x, io.ShutdownBoth); err != nil {
		t.Fatal(err)
	}
	readEOF(t, x, s, "peer of Shutdown(Both)")
	readEOF(t, x, c, "after Shutdown(Both)")
	if err := c.Shutdown(x, io.ShutdownHow(9)); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("Shutdown(9) = %v, want ErrInvalid", err)
	}
	done()
	if err := c.Shutdown(x, io.ShutdownWrite); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("Shutdown after Close = %v, want ErrClosed", err)
	}
}

var _ = register("ShutdownTCP", func(t *testing.T, x io.Io) {
	shutdownCases(t, x, func() string { return "tcp" }, func() string { return "127.0.0.1:0" })
})

var _ = register("ShutdownUnix", func(t *testing.T, x io.Io) {
	dir, n := t.TempDir(), 0
	shutdownCases(t, x, func() string { return "unix" }, func() string {
		n++
		return filepath.Join(dir, string(rune('a'+n))+".sock")
	})
})

// fullListener returns a listener with a backlog of 1 and the connections
// that fill it (nobody accepts them): a further connection request gets no
// answer, and its dial waits. ok is false where the system answers it
// anyway (no such listener can be made there).
func fullListener(t *testing.T, x io.Io) (l *io.Listener, conns []*io.Conn, ok bool) {
	t.Helper()
	l, err := io.ListenConfig{Backlog: 1}.Listen(x, "tcp", "127.0.0.1:0")
	if errors.Is(err, io.ErrUnsupported) {
		return nil, nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	for range 16 {
		c, err := io.DialTimeout(x, "tcp", l.Addr().String(), 200*time.Millisecond)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("dial to a filling listener: %v", err)
			}
			return l, conns, true
		}
		conns = append(conns, c)
	}
	return l, conns, false
}

var _ = register("DialTimeout", func(t *testing.T, x io.Io) {
	l, conns, ok := fullListener(t, x)
	defer func() {
		for _, c := range conns {
			c.Close(x)
		}
		if l != nil {
			l.Close(x)
		}
	}()
	if !ok {
		t.Skip("this system answers connections beyond a listener's backlog")
	}
	addr := l.Addr().String()
	const d = 100 * time.Millisecond
	start := time.Now()
	_, err := io.DialTimeout(x, "tcp", addr, d)
	if elapsed := time.Since(start); elapsed < d {
		t.Fatalf("DialTimeout gave up after %v, before its %v", elapsed, d)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DialTimeout = %v, want os.ErrDeadlineExceeded and context.DeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("DialTimeout = %v, want a net.Error whose Timeout is true", err)
	}
	var e *io.Error
	if !errors.As(err, &e) || e.Op != "dial" {
		t.Fatalf("DialTimeout = %v, want an *io.Error for dial", err)
	}
	if errors.Is(err, context.Canceled) || !errors.Is(err, io.ErrDeadlineExceeded) {
		t.Fatalf("DialTimeout = %v: want a deadline (io.ErrDeadlineExceeded), not a plain cancellation", err)
	}
	// Canceling the task ends the dial with a cancellation, long before
	// its timeout.
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	start = time.Now()
	_, err = io.DialTimeout(y, "tcp", addr, time.Hour)
	isCanceled(t, err)
	if time.Since(start) > within {
		t.Fatal("DialTimeout not interrupted promptly")
	}
	// A plain Dial, too.
	_, err = io.Dial(y, "tcp", addr)
	isCanceled(t, err)
	// No timeout: a dial that succeeds.
	l2, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close(x)
	for _, d := range []time.Duration{0, within} {
		c, err := io.DialTimeout(x, "tcp", l2.Addr().String(), d)
		if err != nil {
			t.Fatalf("DialTimeout(%v) = %v", d, err)
		}
		c.Close(x)
	}
})

var _ = register("Lookup", func(t *testing.T, x io.Io) {
	addrs, err := io.LookupHost(x, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) == 0 {
		t.Fatal("LookupHost(localhost) returned no address")
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			t.Fatalf("LookupHost(localhost) = %q: %q is not a loopback address", addrs, a)
		}
	}
	if addrs, err := io.LookupHost(x, "127.0.0.1"); err != nil || len(addrs) != 1 || addrs[0] != "127.0.0.1" {
		t.Fatalf("LookupHost(127.0.0.1) = %q, %v", addrs, err)
	}
	ips, err := io.LookupIP(x, "ip", "localhost")
	if err != nil || len(ips) == 0 {
		t.Fatalf("LookupIP(ip, localhost) = %v, %v", ips, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			t.Fatalf("LookupIP(localhost) = %v: %v is not loopback", ips, ip)
		}
	}
	if ips, err := io.LookupIP(x, "ip6", "::1"); err != nil || len(ips) != 1 || !ips[0].Equal(net.IPv6loopback) {
		t.Fatalf("LookupIP(ip6, ::1) = %v, %v", ips, err)
	}
	if _, err := io.LookupIP(x, "tcp", "localhost"); err == nil {
		t.Fatal("LookupIP on network tcp succeeded")
	}
	// A canceled task looks nothing up.
	y, cancel := x.WithCancel()
	cancel()
	_, err = io.LookupHost(y, "localhost")
	isCanceled(t, err)
	_, err = io.LookupIP(y, "ip", "localhost")
	isCanceled(t, err)
})

// Canceling one of two tasks parked on the same listener, or reading the
// same connection, interrupts that one only: the other goes on waiting.
var _ = register("StreamCancelOne", func(t *testing.T, x io.Io) {
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	stay, err := io.Concurrent(x, func(x io.Io) (*io.Conn, error) { return l.Accept(x) })
	if errors.Is(err, io.ErrConcurrencyUnavailable) {
		t.Skip("needs two tasks at once")
	}
	if err != nil {
		t.Fatal(err)
	}
	leave, err := io.Concurrent(x, func(x io.Io) (*io.Conn, error) { return l.Accept(x) })
	if err != nil {
		stay.Cancel(x)
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // both most likely parked; either way the checks hold
	if _, err := leave.Cancel(x); !errors.Is(err, io.ErrCanceled) {
		stay.Cancel(x)
		t.Fatalf("canceled Accept = %v, want ErrCanceled", err)
	}
	c, err := io.Dial(x, "tcp", l.Addr().String())
	if err != nil {
		stay.Cancel(x)
		t.Fatal(err)
	}
	defer c.Close(x)
	y, stop := canceledBy(x, within)
	s, err := stay.Await(y)
	stop()
	if err != nil {
		t.Fatalf("the Accept that was not canceled = %v", err)
	}
	defer s.Close(x)

	// Two readers of s.
	read := func(x io.Io) (string, error) {
		buf := make([]byte, 10)
		n, err := s.Read(x, buf)
		return string(buf[:n]), err
	}
	stayR, err := io.Concurrent(x, read)
	if err != nil {
		t.Fatal(err)
	}
	leaveR, err := io.Concurrent(x, read)
	if err != nil {
		stayR.Cancel(x)
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	if _, err := leaveR.Cancel(x); !errors.Is(err, io.ErrCanceled) {
		stayR.Cancel(x)
		t.Fatalf("canceled Read = %v, want ErrCanceled", err)
	}
	if _, err := c.Write(x, []byte("x")); err != nil {
		stayR.Cancel(x)
		t.Fatal(err)
	}
	y, stop = canceledBy(x, within)
	got, err := stayR.Await(y)
	stop()
	if err != nil || got != "x" {
		t.Fatalf("the Read that was not canceled = %q, %v", got, err)
	}
})
