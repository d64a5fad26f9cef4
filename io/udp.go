package io

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
)

// PacketConn is a datagram socket: UDP ("udp", "udp4", "udp6") or a Unix
// datagram socket ("unixgram"). Each read returns one datagram, each write
// sends one. One task may read while another writes. Get one from
// ListenPacket (bound to a local address, for ReadFrom and WriteTo) or
// DialPacket (connected to one peer, for Read and Write).
//
// On every implementation, Evented included, datagram sockets are on the
// Go runtime's network poller, as stream sockets are: a parked read holds
// no OS thread, and a cancel request interrupts it through the socket's
// deadline. Evented does not submit socket operations to its io_uring
// ring: a loopback echo benchmark showed no gain from it (BENCHMARKS.md);
// batches (ReadBatch, WriteBatch) are how to save system calls here.
type PacketConn struct {
	c      packetConn
	name   string // the local address, or the peer's when connected
	closed atomic.Bool
}

// Message is one datagram of PacketConn.ReadBatch or WriteBatch.
type Message struct {
	// Buffers holds the datagram: ReadBatch scatters what it receives into
	// them in order (what does not fit is lost, as with ReadFrom);
	// WriteBatch sends them, gathered, as one datagram.
	Buffers [][]byte
	// Addr is the sender, set by ReadBatch; for WriteBatch, the destination
	// (nil on a socket from DialPacket, which sends to its peer).
	Addr net.Addr
	// N is the number of bytes received or sent.
	N int
}

// packetConn is a driver's datagram socket.
type packetConn interface {
	readFrom(t *task, p []byte) (int, net.Addr, error)
	writeTo(t *task, p []byte, addr net.Addr) (int, error)
	readBatch(t *task, ms []Message) (int, error)
	writeBatch(t *task, ms []Message) (int, error)
	localAddr() net.Addr
	remoteAddr() net.Addr
	close() error
}

// ListenPacket opens a datagram socket bound to address, e.g.
// ListenPacket(x, "udp", "127.0.0.1:0"). It is a cancel point.
func ListenPacket(x Io, network, address string) (*PacketConn, error) {
	return ListenConfig{}.ListenPacket(x, network, address)
}

// ListenPacket is ListenPacket with the options of cfg (ReuseAddr,
// ReusePort, buffer sizes; Backlog must be 0). It is a cancel point.
func (cfg ListenConfig) ListenPacket(x Io, network, address string) (*PacketConn, error) {
	start := x.start()
	var c packetConn
	err := cfg.check(false)
	if err == nil {
		c, err = x.drv().listenPacket(x.t, cfg, network, address)
	}
	if err := x.done(start, "net", "listen", network+" "+address, err); err != nil {
		return nil, err
	}
	return &PacketConn{c: c, name: addrString(c.localAddr())}, nil
}

// DialPacket opens a datagram socket connected to address: Write sends to
// it, Read receives only from it (the system drops datagrams from other
// senders). It is Go's net.Dial("udp", ...), the DialUDP of other
// libraries. It is a cancel point (a name in address is looked up).
func DialPacket(x Io, network, address string) (*PacketConn, error) {
	start := x.start()
	c, err := x.drv().dialPacket(x.t, network, address)
	x.observe(start, "net", "dial", address, 0, err)
	if err != nil {
		return nil, opErr("dial", network+" "+address, err)
	}
	return &PacketConn{c: c, name: addrString(c.remoteAddr())}, nil
}

// Name returns what errors about c name it: the network and address it
// was made with.
func (c *PacketConn) Name() string { return c.name }

// LocalAddr returns the local address (with the port chosen when it asked
// for port 0).
func (c *PacketConn) LocalAddr() net.Addr { return c.c.localAddr() }

// RemoteAddr returns the peer of a socket from DialPacket, and nil for one
// from ListenPacket.
func (c *PacketConn) RemoteAddr() net.Addr { return c.c.remoteAddr() }

func (c *PacketConn) err(op string, err error) error {
	if c.closed.Load() && errors.Is(err, net.ErrClosed) {
		err = ErrClosed
	}
	return opErr(op, c.name, err)
}

// ReadFrom waits for a datagram and copies it into p; it returns its size
// (at most len(p): the rest of a longer datagram is lost) and its sender.
// It is a cancel point.
func (c *PacketConn) ReadFrom(x Io, p []byte) (int, net.Addr, error) {
	start := x.start()
	n, addr, err := c.c.readFrom(x.t, p)
	x.observe(start, "net", "read", c.name, int64(n), err)
	if err != nil {
		return n, addr, c.err("read", err)
	}
	return n, addr, nil
}

// WriteTo sends p as one datagram to addr. It is a cancel point (it waits
// while the socket's send buffer is full).
func (c *PacketConn) WriteTo(x Io, p []byte, addr net.Addr) (int, error) {
	if addr == nil {
		return 0, c.err("write", fmt.Errorf("%w: WriteTo with a nil address (use Write on a socket from DialPacket)", ErrInvalid))
	}
	start := x.start()
	n, err := c.c.writeTo(x.t, p, addr)
	x.observe(start, "net", "write", c.name, int64(n), err)
	if err != nil {
		return n, c.err("write", err)
	}
	return n, nil
}

// Read waits for a datagram from the peer of a socket from DialPacket and
// copies it into p (the rest of a longer datagram is lost). It is a cancel
// point.
func (c *PacketConn) Read(x Io, p []byte) (int, error) {
	n, _, err := c.ReadFrom(x, p)
	return n, err
}

// Write sends p as one datagram to the peer of a socket from DialPacket.
// It is a cancel point.
func (c *PacketConn) Write(x Io, p []byte) (int, error) {
	start := x.start()
	n, err := c.c.writeTo(x.t, p, nil)
	x.observe(start, "net", "write", c.name, int64(n), err)
	if err != nil {
		return n, c.err("write", err)
	}
	return n, nil
}

// ReadBatch waits for at least one datagram, then receives as many as have
// arrived, up to len(ms), into ms[0], ms[1], ...; it returns how many it
// received, each with its N and Addr set. On Linux, UDP sockets receive a
// batch with one recvmmsg(2) call; elsewhere, and for Unix datagram
// sockets, it receives one datagram per call. It is a cancel point.
func (c *PacketConn) ReadBatch(x Io, ms []Message) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	start := x.start()
	n, err := c.c.readBatch(x.t, ms)
	x.observe(start, "net", "read", c.name, messageBytes(ms[:n]), err)
	if err != nil {
		return n, c.err("read", err)
	}
	return n, nil
}

// WriteBatch sends every message of ms as one datagram, to its Addr (nil
// on a socket from DialPacket); it returns how many it sent, len(ms) unless
// there is an error, and sets each one's N. On Linux, UDP sockets send with
// sendmmsg(2), many datagrams per call; elsewhere, one per call. It is a
// cancel point (it waits while the socket's send buffer is full).
func (c *PacketConn) WriteBatch(x Io, ms []Message) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	start := x.start()
	n, err := c.c.writeBatch(x.t, ms)
	x.observe(start, "net", "write", c.name, messageBytes(ms[:n]), err)
	if err != nil {
		return n, c.err("write", err)
	}
	return n, nil
}

func messageBytes(ms []Message) int64 {
	var n int64
	for i := range ms {
		n += int64(ms[i].N)
	}
	return n
}

// Close closes the socket. Parked reads and writes return an error wrapping
// ErrClosed. It is not a cancel point.
func (c *PacketConn) Close(x Io) error {
	if !c.closed.CompareAndSwap(false, true) {
		return opErr("close", c.name, ErrClosed)
	}
	start := x.start()
	return x.done(start, "net", "close", c.name, c.c.close())
}

// packetSock is what net gives for a datagram socket: *net.UDPConn,
// *net.UnixConn.
type packetSock interface {
	net.Conn
	net.PacketConn
}

// pollPacket is sysDriver's datagram socket, on the runtime's poller, as
// pollConn is for streams.
type pollPacket struct {
	c      packetSock
	rd, wr sharedDeadline
	batch  batcher // nil: one datagram per system call
}

func newPollPacket(c any) (*pollPacket, error) {
	s, ok := c.(packetSock)
	if !ok {
		if cl, ok := c.(interface{ Close() error }); ok {
			cl.Close()
		}
		return nil, fmt.Errorf("%w: %T is not a datagram socket", ErrUnsupported, c)
	}
	p := &pollPacket{c: s}
	p.rd.d = readDeadliner{s}
	p.wr.d = writeDeadliner{s}
	p.batch = newBatcher(s)
	return p, nil
}

func (sysDriver) listenPacket(t *task, cfg ListenConfig, network, address string) (packetConn, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	lc := netConfig(cfg)
	c, err := lc.ListenPacket(netContext{taskContext{x: Io{t: t}}}, network, address)
	if err != nil {
		return nil, canceledOr(t, err)
	}
	return newPollPacket(c)
}

func (sysDriver) dialPacket(t *task, network, address string) (packetConn, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	switch network {
	case "udp", "udp4", "udp6", "unixgram":
	default:
		return nil, fmt.Errorf("%w: DialPacket network %q (want udp, udp4, udp6 or unixgram)", ErrInvalid, network)
	}
	var d net.Dialer
	c, err := d.DialContext(netContext{taskContext{x: Io{t: t}}}, network, address)
	if err != nil {
		return nil, canceledOr(t, err)
	}
	return newPollPacket(c)
}

func (p *pollPacket) readFrom(t *task, b []byte) (int, net.Addr, error) {
	if t.isCanceled() {
		return 0, nil, t.err()
	}
	for {
		guard := p.rd.guard(t)
		n, addr, err := p.c.ReadFrom(b)
		guard.release()
		if spurious(t, err) {
			continue
		}
		if err != nil {
			return n, addr, canceledOr(t, err)
		}
		return n, addr, nil
	}
}

// writeTo sends b to addr, or to the peer when addr is nil.
func (p *pollPacket) writeTo(t *task, b []byte, addr net.Addr) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	for {
		guard := p.wr.guard(t)
		var n int
		var err error
		if addr == nil {
			n, err = p.c.Write(b)
		} else {
			n, err = p.c.WriteTo(b, addr)
		}
		guard.release()
		if spurious(t, err) {
			continue // a datagram is sent whole or not at all
		}
		if err != nil {
			return n, canceledOr(t, err)
		}
		return n, nil
	}
}

func (p *pollPacket) readBatch(t *task, ms []Message) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	if p.batch == nil {
		return p.readOne(t, &ms[0])
	}
	for {
		guard := p.rd.guard(t)
		n, err := p.batch.readBatch(ms)
		guard.release()
		if n == 0 && spurious(t, err) {
			continue
		}
		if err != nil {
			return n, canceledOr(t, err)
		}
		return n, nil
	}
}

func (p *pollPacket) writeBatch(t *task, ms []Message) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	if p.batch == nil {
		for i := range ms {
			if err := p.writeOne(t, &ms[i]); err != nil {
				return i, err
			}
		}
		return len(ms), nil
	}
	sent := 0
	for {
		guard := p.wr.guard(t)
		n, err := p.batch.writeBatch(ms[sent:])
		guard.release()
		sent += n
		if spurious(t, err) {
			continue // the datagrams sent stay sent; the rest go now
		}
		if err != nil {
			return sent, canceledOr(t, err)
		}
		return sent, nil
	}
}

// readOne receives one datagram into m: directly into its one buffer, or
// through a scratch buffer scattered into several.
func (p *pollPacket) readOne(t *task, m *Message) (int, error) {
	var n int
	var addr net.Addr
	var err error
	if len(m.Buffers) == 1 {
		n, addr, err = p.readFrom(t, m.Buffers[0])
	} else {
		size := 0
		for _, b := range m.Buffers {
			size += len(b)
		}
		buf := make([]byte, size)
		n, addr, err = p.readFrom(t, buf)
		rest := buf[:n]
		for _, b := range m.Buffers {
			rest = rest[copy(b, rest):]
		}
	}
	if err != nil {
		return 0, err
	}
	m.N, m.Addr = n, addr
	return 1, nil
}

// writeOne sends m as one datagram, gathering its buffers when it has
// several.
func (p *pollPacket) writeOne(t *task, m *Message) error {
	b := gather(m.Buffers)
	n, err := p.writeTo(t, b, m.Addr)
	m.N = n
	return err
}

func gather(bufs [][]byte) []byte {
	switch len(bufs) {
	case 0:
		return nil
	case 1:
		return bufs[0]
	}
	size := 0
	for _, b := range bufs {
		size += len(b)
	}
	out := make([]byte, 0, size)
	for _, b := range bufs {
		out = append(out, b...)
	}
	return out
}

func (p *pollPacket) localAddr() net.Addr  { return p.c.LocalAddr() }
func (p *pollPacket) remoteAddr() net.Addr { return p.c.RemoteAddr() }
func (p *pollPacket) close() error         { return p.c.Close() }

// batcher receives and sends batches of datagrams with one system call
// (recvmmsg, sendmmsg); see udp_linux.go.
type batcher interface {
	readBatch(ms []Message) (int, error)
	writeBatch(ms []Message) (int, error)
}
