package io

import (
	"net"
	"time"
)

// NetPacketConn returns c as a net.PacketConn whose ReadFrom, WriteTo and
// Close run through x, for libraries that take one (DNS, QUIC): x's
// observer sees every datagram, and canceling x interrupts a parked
// operation (with an error wrapping ErrCanceled). Deadlines cancel the
// operation in progress, or the next one, when they pass, as with
// Conn.NetConn: it fails with an error matching os.ErrDeadlineExceeded
// whose Timeout method reports true. Close runs through x without its
// cancellation, so that it always happens.
func (c *PacketConn) NetPacketConn(x Io) net.PacketConn {
	return &netPacketAdapter{c: c, x: x}
}

type netPacketAdapter struct {
	c      *PacketConn
	x      Io
	rd, wr opDeadline
}

// ReadFrom reads a datagram through the Io, within the read deadline.
func (a *netPacketAdapter) ReadFrom(p []byte) (int, net.Addr, error) {
	ox, end, err := a.rd.begin(a.x, a.c, "read")
	if err != nil {
		return 0, nil, err
	}
	n, addr, err := a.c.ReadFrom(ox, p)
	return n, addr, end(err)
}

// WriteTo sends a datagram through the Io, within the write deadline.
func (a *netPacketAdapter) WriteTo(p []byte, addr net.Addr) (int, error) {
	ox, end, err := a.wr.begin(a.x, a.c, "write")
	if err != nil {
		return 0, err
	}
	n, err := a.c.WriteTo(ox, p, addr)
	return n, end(err)
}

// Close closes the socket; operations in progress fail.
func (a *netPacketAdapter) Close() error {
	err := a.c.Close(a.x.WithoutCancel())
	a.rd.stop()
	a.wr.stop()
	return err
}

// LocalAddr returns the local address.
func (a *netPacketAdapter) LocalAddr() net.Addr { return a.c.LocalAddr() }

// SetDeadline sets the read and write deadlines.
func (a *netPacketAdapter) SetDeadline(t time.Time) error {
	a.rd.set(t)
	a.wr.set(t)
	return nil
}

// SetReadDeadline sets the deadline of reads, the one in progress included.
func (a *netPacketAdapter) SetReadDeadline(t time.Time) error { a.rd.set(t); return nil }

// SetWriteDeadline sets the deadline of writes, the one in progress included.
func (a *netPacketAdapter) SetWriteDeadline(t time.Time) error { a.wr.set(t); return nil }
