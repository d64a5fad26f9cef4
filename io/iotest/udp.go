package iotest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Datagram sockets (io.PacketConn) on loopback. A datagram is queued by the
// kernel until it is read, so one task sends and then receives: these cases
// need no Concurrent, and run on Blocking too.

func listenUDP(t *testing.T, x io.Io) *io.PacketConn {
	t.Helper()
	// A receive buffer large enough for the batches below, so that the
	// kernel drops none of them before they are read.
	c, err := io.ListenConfig{ReadBuffer: 1 << 20}.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sameAddr(a, b net.Addr) bool { return a != nil && b != nil && a.String() == b.String() }

var _ = register("UDPEcho", func(t *testing.T, x io.Io) {
	a, b := listenUDP(t, x), listenUDP(t, x)
	defer a.Close(x)
	defer b.Close(x)
	if a.RemoteAddr() != nil {
		t.Fatalf("RemoteAddr of a listening socket = %v, want nil", a.RemoteAddr())
	}
	msg := randomBytes(1200)
	if n, err := a.WriteTo(x, msg, b.LocalAddr()); err != nil || n != len(msg) {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	buf := make([]byte, 2000)
	n, from, err := b.ReadFrom(x, buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		t.Fatalf("ReadFrom = %d bytes, %v; want the %d sent", n, err, len(msg))
	}
	if !sameAddr(from, a.LocalAddr()) {
		t.Fatalf("ReadFrom sender = %v, want %v", from, a.LocalAddr())
	}
	// Echo it back to the sender.
	if _, err := b.WriteTo(x, buf[:n], from); err != nil {
		t.Fatal(err)
	}
	n, from, err = a.ReadFrom(x, buf)
	if err != nil || !bytes.Equal(buf[:n], msg) || !sameAddr(from, b.LocalAddr()) {
		t.Fatalf("echo: ReadFrom = %d bytes from %v, %v", n, from, err)
	}
	// A datagram longer than the buffer is cut to it.
	if _, err := a.WriteTo(x, msg, b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := b.ReadFrom(x, buf[:10]); err != nil || !bytes.Equal(buf[:n], msg[:10]) {
		t.Fatalf("short ReadFrom = %d, %v; want the first 10 bytes", n, err)
	}

	// A connected socket: Write and Read, with its peer b.
	c, err := io.DialPacket(x, "udp", b.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(x)
	if !sameAddr(c.RemoteAddr(), b.LocalAddr()) {
		t.Fatalf("RemoteAddr = %v, want %v", c.RemoteAddr(), b.LocalAddr())
	}
	if _, err := c.Write(x, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	n, from, err = b.ReadFrom(x, buf)
	if err != nil || string(buf[:n]) != "ping" || !sameAddr(from, c.LocalAddr()) {
		t.Fatalf("ReadFrom a connected sender = %q from %v, %v", buf[:n], from, err)
	}
	if _, err := b.WriteTo(x, []byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(x, buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
})

// batchOf returns count messages of two buffers each: a 4-byte index, then
// size bytes of payload that depend on it.
func batchOf(count, size int, to net.Addr) []io.Message {
	ms := make([]io.Message, count)
	for i := range ms {
		head := binary.BigEndian.AppendUint32(nil, uint32(i))
		ms[i] = io.Message{Buffers: [][]byte{head, bytes.Repeat([]byte{byte(i)}, size)}, Addr: to}
	}
	return ms
}

// readBatch receives count datagrams with ReadBatch, each into two buffers,
// checks that they are batchOf(count, size, ...) from want, and returns
// them. Datagrams the kernel dropped would make it wait: it is canceled
// after a long while, and fails then.
func readBatch(t *testing.T, x io.Io, c *io.PacketConn, count, size int, want net.Addr) []io.Message {
	t.Helper()
	y, stop := canceledBy(x, within)
	defer stop()
	got := make([]io.Message, 0, count)
	seen := make([]bool, count)
	for len(got) < count {
		ms := make([]io.Message, count-len(got))
		for i := range ms {
			ms[i].Buffers = [][]byte{make([]byte, 4), make([]byte, size+10)}
		}
		n, err := c.ReadBatch(y, ms)
		if err != nil {
			t.Fatalf("ReadBatch after %d of %d datagrams: %v", len(got), count, err)
		}
		if n < 1 || n > len(ms) {
			t.Fatalf("ReadBatch = %d of %d", n, len(ms))
		}
		for _, m := range ms[:n] {
			i := int(binary.BigEndian.Uint32(m.Buffers[0]))
			if m.N != 4+size || i >= count || seen[i] {
				t.Fatalf("datagram of %d bytes, index %d (seen before: %v)", m.N, i, i < count && seen[i])
			}
			seen[i] = true
			if !bytes.Equal(m.Buffers[1][:size], bytes.Repeat([]byte{byte(i)}, size)) {
				t.Fatalf("datagram %d: wrong payload", i)
			}
			if !sameAddr(m.Addr, want) {
				t.Fatalf("datagram %d from %v, want %v", i, m.Addr, want)
			}
			got = append(got, m)
		}
	}
	return got
}

var _ = register("UDPBatch", func(t *testing.T, x io.Io) {
	a, b := listenUDP(t, x), listenUDP(t, x)
	defer a.Close(x)
	defer b.Close(x)
	batchEcho(t, x, a, b, 64)

	// A batch on a connected socket goes to its peer.
	c, err := io.DialPacket(x, "udp", b.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(x)
	if n, err := c.WriteBatch(x, batchOf(8, 100, nil)); err != nil || n != 8 {
		t.Fatalf("connected WriteBatch = %d, %v", n, err)
	}
	readBatch(t, x, b, 8, 100, c.LocalAddr())
	if n, err := b.ReadBatch(x, nil); n != 0 || err != nil {
		t.Fatalf("ReadBatch of no messages = %d, %v", n, err)
	}
})

// IPv6, where loopback has it.
var _ = register("UDP6Batch", func(t *testing.T, x io.Io) {
	cfg := io.ListenConfig{ReadBuffer: 1 << 20}
	a, err := cfg.ListenPacket(x, "udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer a.Close(x)
	b, err := cfg.ListenPacket(x, "udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(x)
	batchEcho(t, x, a, b, 64)
})

// Unix datagram sockets: batches of one datagram per system call, with
// the buffers of each message gathered and scattered. Linux queues at most
// net.unix.max_dgram_qlen (10 by default) datagrams on a Unix socket, and
// the sender waits beyond: a batch of 8.
var _ = register("UnixgramBatch", func(t *testing.T, x io.Io) {
	dir := t.TempDir()
	cfg := io.ListenConfig{ReadBuffer: 1 << 20}
	a, err := cfg.ListenPacket(x, "unixgram", filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(x)
	b, err := cfg.ListenPacket(x, "unixgram", filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(x)
	batchEcho(t, x, a, b, 8)
})

// batchEcho sends a batch of count datagrams from a to b, and b echoes them
// back with one batch. The receiver must have room for all of them: the
// sender waits otherwise, and nobody reads until it is done.
func batchEcho(t *testing.T, x io.Io, a, b *io.PacketConn, count int) {
	t.Helper()
	const size = 100
	ms := batchOf(count, size, b.LocalAddr())
	if n, err := a.WriteBatch(x, ms); err != nil || n != count {
		t.Fatalf("WriteBatch = %d, %v; want %d", n, err, count)
	}
	for i, m := range ms {
		if m.N != 4+size {
			t.Fatalf("message %d: N = %d, want %d", i, m.N, 4+size)
		}
	}
	got := readBatch(t, x, b, count, size, a.LocalAddr())
	// Echo the batch back, each datagram to its sender.
	back := make([]io.Message, len(got))
	for i, m := range got {
		back[i] = io.Message{Buffers: [][]byte{m.Buffers[0], m.Buffers[1][:size]}, Addr: m.Addr}
	}
	if n, err := b.WriteBatch(x, back); err != nil || n != count {
		t.Fatalf("echo WriteBatch = %d, %v", n, err)
	}
	readBatch(t, x, a, count, size, b.LocalAddr())
}

var _ = register("UDPReadCanceled", func(t *testing.T, x io.Io) {
	a, b := listenUDP(t, x), listenUDP(t, x)
	defer a.Close(x)
	defer b.Close(x)
	for _, batch := range []bool{false, true} {
		y, stop := canceledBy(x, 20*time.Millisecond)
		start := time.Now()
		var err error
		if batch {
			ms := []io.Message{{Buffers: [][]byte{make([]byte, 100)}}}
			_, err = b.ReadBatch(y, ms) // nothing sent: only the cancel ends it
		} else {
			_, _, err = b.ReadFrom(y, make([]byte, 100))
		}
		stop()
		isCanceled(t, err)
		if time.Since(start) > within {
			t.Fatalf("read (batch %v) not interrupted promptly", batch)
		}
		// The socket still works for a task that was not canceled.
		msg := fmt.Sprintf("after cancel %v", batch)
		if _, err := a.WriteTo(x, []byte(msg), b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		if n, _, err := b.ReadFrom(x, buf); err != nil || string(buf[:n]) != msg {
			t.Fatalf("ReadFrom after a canceled read = %q, %v", buf[:n], err)
		}
	}
	// An already canceled task does not read at all.
	y, cancel := x.WithCancel()
	cancel()
	_, _, err := b.ReadFrom(y, make([]byte, 10))
	isCanceled(t, err)
	_, err = a.WriteTo(y, []byte("x"), b.LocalAddr())
	isCanceled(t, err)
})

var _ = register("UDPErrors", func(t *testing.T, x io.Io) {
	a := listenUDP(t, x)
	if _, err := a.WriteTo(x, []byte("x"), nil); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("WriteTo a nil address = %v, want ErrInvalid", err)
	}
	if _, err := io.DialPacket(x, "tcp", "127.0.0.1:1"); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("DialPacket tcp = %v, want ErrInvalid", err)
	}
	if _, err := (io.ListenConfig{Backlog: 5}).ListenPacket(x, "udp", "127.0.0.1:0"); !errors.Is(err, io.ErrInvalid) {
		t.Fatalf("ListenPacket with a Backlog = %v, want ErrInvalid", err)
	}
	if _, err := io.ListenPacket(x, "udp", "256.0.0.1:0"); err == nil {
		t.Fatal("ListenPacket on a bad address succeeded")
	}
	// Closing wakes a parked read, where another task can park one.
	if f, err := io.Concurrent(x, func(x io.Io) (int, error) {
		n, _, err := a.ReadFrom(x, make([]byte, 10))
		return n, err
	}); err == nil {
		time.Sleep(10 * time.Millisecond) // most likely parked by now; either way it fails
		if err := a.Close(x); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Await(x); !errors.Is(err, io.ErrClosed) {
			t.Fatalf("parked ReadFrom after Close = %v, want ErrClosed", err)
		}
	} else if err := a.Close(x); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.ReadFrom(x, make([]byte, 10)); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("ReadFrom after Close = %v, want ErrClosed", err)
	}
	if err := a.Close(x); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
})

// A write that waits for room is a cancel point: a Unix datagram socket
// whose receiver reads nothing fills up (Linux queues 10 datagrams), and
// the next write waits until its task is canceled.
var _ = register("UnixgramWriteCanceled", func(t *testing.T, x io.Io) {
	dir := t.TempDir()
	a, err := io.ListenPacket(x, "unixgram", filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(x)
	b, err := io.ListenPacket(x, "unixgram", filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(x)
	msg := make([]byte, 1000)
	for i := range 4096 {
		y, stop := canceledBy(x, 20*time.Millisecond)
		start := time.Now()
		var err error
		if i%2 == 0 {
			_, err = a.WriteTo(y, msg, b.LocalAddr())
		} else {
			_, err = a.WriteBatch(y, []io.Message{{Buffers: [][]byte{msg}, Addr: b.LocalAddr()}})
		}
		stop()
		if err == nil {
			continue
		}
		isCanceled(t, err)
		if time.Since(start) > within {
			t.Fatal("write not interrupted promptly")
		}
		// The socket still works once the receiver has read.
		if _, _, err := b.ReadFrom(x, make([]byte, 2000)); err != nil {
			t.Fatal(err)
		}
		if _, err := a.WriteTo(x, msg, b.LocalAddr()); err != nil {
			t.Fatalf("WriteTo after a canceled one: %v", err)
		}
		return
	}
	t.Skip("4096 datagrams queued on a Unix socket that nobody reads")
})

// The net.PacketConn adapter: datagrams through the Io, deadlines that
// interrupt a parked read, and the task's cancellation.
var _ = register("NetPacketConn", func(t *testing.T, x io.Io) {
	a, b := listenUDP(t, x), listenUDP(t, x)
	pa, pb := a.NetPacketConn(x), b.NetPacketConn(x)
	defer pa.Close()
	defer pb.Close()
	if !sameAddr(pa.LocalAddr(), a.LocalAddr()) {
		t.Fatalf("LocalAddr = %v, want %v", pa.LocalAddr(), a.LocalAddr())
	}
	buf := make([]byte, 100)
	if _, err := pa.WriteTo([]byte("hello"), pb.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n, from, err := pb.ReadFrom(buf); err != nil || string(buf[:n]) != "hello" || !sameAddr(from, pa.LocalAddr()) {
		t.Fatalf("ReadFrom = %q from %v, %v", buf[:n], from, err)
	}
	// A deadline set before the read.
	_ = pb.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err := pb.ReadFrom(buf)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("ReadFrom past its deadline = %v, want a timeout", err)
	}
	// A deadline moved into the past while a read is parked interrupts it.
	_ = pb.SetDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, _, err := pb.ReadFrom(buf); done <- err }()
	time.Sleep(10 * time.Millisecond)
	_ = pb.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("parked ReadFrom = %v, want a timeout", err)
		}
	case <-time.After(within):
		t.Fatal("parked ReadFrom not interrupted by SetReadDeadline")
	}
	// Cleared, the socket reads again; a past write deadline fails writes.
	_ = pb.SetReadDeadline(time.Time{})
	if _, err := pa.WriteTo([]byte("again"), pb.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := pb.ReadFrom(buf); err != nil || string(buf[:n]) != "again" {
		t.Fatalf("ReadFrom after clearing the deadline = %q, %v", buf[:n], err)
	}
	_ = pa.SetWriteDeadline(time.Unix(1, 0))
	if _, err := pa.WriteTo([]byte("late"), pb.LocalAddr()); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WriteTo past its deadline = %v", err)
	}
	// Through a canceled Io: reads fail with the cancellation, Close works.
	c := listenUDP(t, x)
	y, cancel := x.WithCancel()
	cancel()
	pc := c.NetPacketConn(y)
	if _, _, err := pc.ReadFrom(buf); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("ReadFrom through a canceled Io = %v", err)
	}
	if err := pc.Close(); err != nil {
		t.Fatalf("Close through a canceled Io = %v", err)
	}
})

// Canceling one of two tasks parked on the same socket interrupts that one
// only: the other goes on waiting, and receives the next datagram.
var _ = register("UDPReadersCancelOne", func(t *testing.T, x io.Io) {
	a, b := listenUDP(t, x), listenUDP(t, x)
	defer a.Close(x)
	defer b.Close(x)
	for round := range 20 {
		stay, err := io.Concurrent(x, func(x io.Io) (string, error) {
			buf := make([]byte, 100)
			n, _, err := b.ReadFrom(x, buf)
			return string(buf[:n]), err
		})
		if errors.Is(err, io.ErrConcurrencyUnavailable) {
			t.Skip("needs two tasks at once")
		}
		if err != nil {
			t.Fatal(err)
		}
		leave, err := io.Concurrent(x, func(x io.Io) (int, error) {
			n, _, err := b.ReadFrom(x, make([]byte, 100))
			return n, err
		})
		if err != nil {
			stay.Cancel(x)
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // both most likely parked; either way the checks hold
		if _, err := leave.Cancel(x); !errors.Is(err, io.ErrCanceled) {
			// It may have won the datagram of no one: there is none yet.
			stay.Cancel(x)
			t.Fatalf("round %d: canceled reader = %v, want ErrCanceled", round, err)
		}
		msg := fmt.Sprint("round ", round)
		if _, err := a.WriteTo(x, []byte(msg), b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		y, stop := canceledBy(x, within)
		got, err := stay.Await(y)
		stop()
		if err != nil || got != msg {
			stay.Cancel(x)
			t.Fatalf("round %d: the reader that was not canceled got %q, %v; want %q", round, got, err, msg)
		}
	}
})
