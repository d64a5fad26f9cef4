package io

import (
	"errors"
	"net"
	"sync/atomic"

	stdio "io"
)

// Listener accepts stream connections: TCP ("tcp", "tcp4", "tcp6") or Unix
// ("unix") sockets.
type Listener struct {
	l       netListener
	network string
	name    string // the bound address, for observers and errors
	closed  atomic.Bool
}

// Listen listens on address, e.g. Listen(x, "tcp", "127.0.0.1:0") or
// Listen(x, "unix", "/tmp/vkio.sock").
func Listen(x Io, network, address string) (*Listener, error) {
	start := x.start()
	l, err := x.drv().listen(x.t, network, address)
	x.observe(start, "net", "listen", network+" "+address, 0, err)
	if err != nil {
		return nil, netErr("listen", network+" "+address, nil, dialAddr{network, address}, err)
	}
	return &Listener{l: l, network: network, name: addrString(l.addr())}, nil
}

// Addr returns the address the listener is bound to (with the port chosen when
// it asked for port 0).
func (l *Listener) Addr() net.Addr { return l.l.addr() }

// Accept waits for the next connection. It is a cancel point.
func (l *Listener) Accept(x Io) (*Conn, error) {
	start := x.start()
	c, err := l.l.accept(x.t)
	x.observe(start, "net", "accept", l.name, 0, err)
	if err != nil {
		if l.isClosed() {
			err = ErrClosed
		}
		return nil, l.err("accept", err)
	}
	return newConn(c), nil
}

func (l *Listener) isClosed() bool { return l.closed.Load() }

func (l *Listener) err(op string, err error) error {
	return netErr(op, l.name, nil, l.l.addr(), err)
}

// Close stops listening; a parked Accept returns an error wrapping ErrClosed.
// A Unix socket's file is removed.
func (l *Listener) Close(x Io) error {
	if !l.closed.CompareAndSwap(false, true) {
		return l.err("close", ErrClosed)
	}
	start := x.start()
	err := l.l.close()
	x.observe(start, "net", "close", l.name, 0, err)
	return l.err("close", err)
}

// Conn is a stream connection. One task may read while another writes.
type Conn struct {
	c      netConn
	name   string // the remote address, formatted once for observers and errors
	closed atomic.Bool
}

func newConn(c netConn) *Conn { return &Conn{c: c, name: addrString(c.remoteAddr())} }

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// Dial connects to address. It is a cancel point.
func Dial(x Io, network, address string) (*Conn, error) {
	start := x.start()
	c, err := x.drv().dial(x.t, network, address)
	x.observe(start, "net", "dial", address, 0, err)
	if err != nil {
		return nil, netErr("dial", network+" "+address, nil, dialAddr{network, address}, err)
	}
	return newConn(c), nil
}

// Name returns what errors about c name it: the network and address it
// was dialed or accepted with.
func (c *Conn) Name() string { return c.name }

// LocalAddr returns the local end's address.
func (c *Conn) LocalAddr() net.Addr { return c.c.localAddr() }

// RemoteAddr returns the remote end's address.
func (c *Conn) RemoteAddr() net.Addr { return c.c.remoteAddr() }

func (c *Conn) err(op string, err error) error {
	if c.closed.Load() && !errors.Is(err, ErrCanceled) {
		err = ErrClosed
	}
	return netErr(op, c.name, c.c.localAddr(), c.c.remoteAddr(), err)
}

// Read reads what has arrived, up to len(p) bytes, waiting for at least one. At
// the end of the stream it returns 0, io.EOF (the standard library's).
func (c *Conn) Read(x Io, p []byte) (int, error) {
	start := x.start()
	n, err := c.c.read(x.t, p)
	x.observe(start, "net", "read", c.name, int64(n), err)
	if err == stdio.EOF {
		return n, err
	}
	if err != nil {
		return n, c.err("read", err)
	}
	return n, nil
}

// Write writes all of p; it returns fewer bytes only with an error.
func (c *Conn) Write(x Io, p []byte) (int, error) {
	start := x.start()
	n, err := c.c.write(x.t, p)
	x.observe(start, "net", "write", c.name, int64(n), err)
	if err != nil {
		return n, c.err("write", err)
	}
	return n, nil
}

// WriteVec writes data[0], ..., data[len-2], then data[len-1] repeated splat
// times, with vectorized writes (writev).
func (c *Conn) WriteVec(x Io, data [][]byte, splat int) (int64, error) {
	v, err := newVecs(nil, data, splat)
	if err != nil {
		return 0, c.err("write", err)
	}
	start := x.start()
	total, err := v.writeAll(func(iov [][]byte) (int, error) { return c.c.writev(x.t, iov) })
	x.observe(start, "net", "write", c.name, total, err)
	if err != nil {
		return total, c.err("write", err)
	}
	return total, nil
}

// CloseWrite shuts down the writing side: the peer reads io.EOF.
func (c *Conn) CloseWrite(x Io) error {
	if err := c.c.closeWrite(); err != nil {
		return c.err("close write", err)
	}
	return nil
}

// Close closes the connection. Parked reads and writes return an error wrapping
// ErrClosed. It is not a cancel point.
func (c *Conn) Close(x Io) error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.err("close", ErrClosed)
	}
	start := x.start()
	err := c.c.close()
	x.observe(start, "net", "close", c.name, 0, err)
	if err != nil {
		return netErr("close", c.name, c.c.localAddr(), c.c.remoteAddr(), err)
	}
	return nil
}

// Writer returns a buffered writer on the connection for the task whose Io is x.
func (c *Conn) Writer(x Io, buf []byte) *Writer {
	return NewWriter(&connSink{c: c, x: x}, buf)
}

// Reader returns a buffered reader of the connection for the task whose Io is x.
func (c *Conn) Reader(x Io, buf []byte) *Reader {
	return NewReader(&connSource{c: c, x: x}, buf)
}

type connSink struct {
	c   *Conn
	x   Io
	vec vecs
}

// Drain writes the buffered bytes and data with one vectorized write.
func (s *connSink) Drain(w *Writer, data [][]byte, splat int) (int, error) {
	if err := s.vec.reset(w.Buffered(), data, splat); err != nil {
		return 0, s.c.err("write", err)
	}
	if s.vec.empty() {
		return 0, nil
	}
	start := s.x.start()
	n, err := s.c.c.writev(s.x.t, s.vec.iovecs())
	s.x.observe(start, "net", "write", s.c.name, int64(n), err)
	s.vec.clear()
	if err != nil {
		return n, s.c.err("write", err)
	}
	return n, nil
}

type connSource struct {
	c *Conn
	x Io
}

// ReadVec makes one socket read, which returns what has arrived: into the
// last slice, scattered into place, when it is larger than the others
// together (a small Read refills the Reader's buffer), otherwise into the
// first non-empty slice. See ReaderSource.
func (s *connSource) ReadVec(_ *Reader, data [][]byte) (int, error) {
	return readScatter(s, data)
}

// Read is one Conn.Read, for readScatter.
func (s *connSource) Read(p []byte) (int, error) { return s.c.Read(s.x, p) }
