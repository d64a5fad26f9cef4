package io_test

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	vio "github.com/vkio/vkio/io"
)

// loopback returns both ends of a TCP connection on 127.0.0.1, made without
// concurrency (the kernel completes the handshake before Accept), so it
// works on every implementation, Blocking included.
func loopback(t *testing.T, x vio.Io) (client, server *vio.Conn) {
	t.Helper()
	l, err := vio.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	client, err = vio.Dial(x, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept(x)
	if err != nil {
		client.Close(x)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close(x)
		server.Close(x)
	})
	return client, server
}

// countReads counts the socket reads an Io makes.
type countReads struct{ reads atomic.Int64 }

func (c *countReads) ObserveOp(op vio.Op) {
	if op.Class == "net" && op.Name == "read" {
		c.reads.Add(1)
	}
}

// A buffered Conn reader refills its buffer on a small read: many small
// ReadFulls cost a few socket reads, not one each.
func TestConnReaderRefillsBuffer(t *testing.T) {
	x := vio.NewBlocking().Io()
	client, server := loopback(t, x)
	const msgs, size = 1000, 4
	data := make([]byte, msgs*size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	// Everything is in the receive buffer before the first read.
	if _, err := client.Write(x, data); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(x); err != nil {
		t.Fatal(err)
	}
	var obs countReads
	y := x.WithObserver(&obs)
	r := server.Reader(y, make([]byte, 4096))
	got := make([]byte, 0, len(data))
	p := make([]byte, size)
	for range msgs {
		if _, err := r.ReadFull(p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("read bytes differ from those written")
	}
	// 4000 bytes fit in the 4 KiB buffer: one read takes them all, unless the
	// loopback splits them; a few reads at most.
	n := obs.reads.Load()
	t.Logf("%d ReadFulls of %d bytes: %d socket reads", msgs, size, n)
	if n > 8 {
		t.Fatalf("%d ReadFulls of %d bytes made %d socket reads; want a few", msgs, size, n)
	}
}

// Without an observer, Conn.Write and Conn.Read allocate nothing: not for the
// connection's address (formatting it cost 3 allocations per operation), nor
// for Write's one-slice vector (it escaped through the driver's writev; the
// driver's write builds it where it does not).
func TestConnReadWriteAllocs(t *testing.T) {
	for _, b := range []vio.Backend{vio.NewBlocking(), vio.NewThreaded(vio.ThreadedOptions{})} {
		t.Run(string(b.Kind()), func(t *testing.T) {
			x := b.Io()
			client, server := loopback(t, x)
			msg, buf := []byte("ping"), make([]byte, 4)
			allocs := testing.AllocsPerRun(200, func() {
				if _, err := client.Write(x, msg); err != nil {
					t.Fatal(err)
				}
				if n, err := server.Read(x, buf); err != nil || n != len(msg) {
					t.Fatalf("Read = %d, %v", n, err)
				}
			})
			t.Logf("%v allocs per Write+Read", allocs)
			if allocs > 0 {
				t.Fatalf("Write+Read = %v allocs, want 0", allocs)
			}
		})
	}
}

type opPaths struct {
	mu    sync.Mutex
	paths map[string]string // "class name" -> Path
}

func (o *opPaths) ObserveOp(op vio.Op) {
	o.mu.Lock()
	o.paths[op.Class+" "+op.Name] = op.Path
	o.mu.Unlock()
}

// Observers and errors name a connection by its remote address, a listener
// by its bound address.
func TestConnNames(t *testing.T) {
	x := vio.NewBlocking().Io()
	obs := &opPaths{paths: map[string]string{}}
	y := x.WithObserver(obs)
	l, err := vio.Listen(y, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	laddr := l.Addr().String()
	client, err := vio.Dial(y, "tcp", laddr)
	if err != nil {
		t.Fatal(err)
	}
	server, err := l.Accept(y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write(y, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Read(y, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	w := server.Writer(y, make([]byte, 8))
	w.Write([]byte("0123456789"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"net dial":   laddr,
		"net accept": laddr,
		"net read":   client.LocalAddr().String(), // the server reads from the client
		"net write":  client.LocalAddr().String(), // the Writer's drain, last
	}
	for k, v := range want {
		if got := obs.paths[k]; got != v {
			t.Errorf("%s observed with Path %q, want %q", k, got, v)
		}
	}
	server.Close(x)
	var e *vio.Error
	if err := server.Close(x); !errors.As(err, &e) || e.Path != client.LocalAddr().String() || !errors.Is(err, vio.ErrClosed) {
		t.Errorf("second Close = %v; want ErrClosed naming the remote address", err)
	}
	if _, err := server.Read(x, make([]byte, 1)); !errors.As(err, &e) || e.Path != client.LocalAddr().String() {
		t.Errorf("Read after Close = %v; want an error naming the remote address", err)
	}
	client.Close(x)
	l.Close(x)
	if err := l.Close(x); !errors.As(err, &e) || e.Path != laddr || !errors.Is(err, vio.ErrClosed) {
		t.Errorf("second listener Close = %v; want ErrClosed naming its address", err)
	}
}
