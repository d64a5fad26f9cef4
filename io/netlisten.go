package io

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// NetListener returns l as a net.Listener whose Accept runs through x, for
// libraries that take one (net/http's Server.Serve): the connections it
// returns are Conn.NetConn(x). Canceling x makes a parked or later Accept
// fail with an error wrapping ErrCanceled; Close closes l (through x
// without its cancellation, so that it always happens).
func (l *Listener) NetListener(x Io) net.Listener { return &netListenerAdapter{l: l, x: x} }

type netListenerAdapter struct {
	l *Listener
	x Io
}

// Accept accepts the next connection through the Io.
func (a *netListenerAdapter) Accept() (net.Conn, error) {
	c, err := a.l.Accept(a.x)
	if err != nil {
		return nil, err
	}
	return c.NetConn(a.x), nil
}

// Close closes the listener.
func (a *netListenerAdapter) Close() error { return a.l.Close(a.x.WithoutCancel()) }

// Addr returns the bound address.
func (a *netListenerAdapter) Addr() net.Addr { return a.l.Addr() }

// NetConn returns c as a net.Conn whose Read, Write, CloseWrite and Close
// run through x, so that x's observer sees every socket operation and
// canceling x interrupts them (with an error wrapping ErrCanceled).
// Deadlines (SetDeadline, SetReadDeadline, SetWriteDeadline) cancel the
// operation in progress, or the next one, when they pass: the operation
// then fails with an error for which errors.Is(err, os.ErrDeadlineExceeded)
// holds and whose Timeout method reports true, as net.Conn requires.
// Close runs through x without its cancellation, so that it always happens.
func (c *Conn) NetConn(x Io) net.Conn { return &netConnAdapter{c: c, x: x} }

type netConnAdapter struct {
	c      *Conn
	x      Io
	rd, wr opDeadline
}

// Read reads what has arrived, through the Io, within the read deadline.
func (a *netConnAdapter) Read(p []byte) (int, error) {
	ox, end, err := a.rd.begin(a.x, a.c, "read")
	if err != nil {
		return 0, err
	}
	n, err := a.c.Read(ox, p)
	return n, end(err)
}

// Write writes all of p, through the Io, within the write deadline.
func (a *netConnAdapter) Write(p []byte) (int, error) {
	ox, end, err := a.wr.begin(a.x, a.c, "write")
	if err != nil {
		return 0, err
	}
	n, err := a.c.Write(ox, p)
	return n, end(err)
}

// CloseWrite shuts down the writing side.
func (a *netConnAdapter) CloseWrite() error { return a.c.CloseWrite(a.x) }

// Close closes the connection; operations in progress fail.
func (a *netConnAdapter) Close() error {
	err := a.c.Close(a.x.WithoutCancel())
	a.rd.stop()
	a.wr.stop()
	return err
}

// LocalAddr returns the local end's address.
func (a *netConnAdapter) LocalAddr() net.Addr { return a.c.LocalAddr() }

// RemoteAddr returns the remote end's address.
func (a *netConnAdapter) RemoteAddr() net.Addr { return a.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (a *netConnAdapter) SetDeadline(t time.Time) error {
	a.rd.set(t)
	a.wr.set(t)
	return nil
}

// SetReadDeadline sets the deadline of reads, the one in progress included.
func (a *netConnAdapter) SetReadDeadline(t time.Time) error { a.rd.set(t); return nil }

// SetWriteDeadline sets the deadline of writes, the one in progress included.
func (a *netConnAdapter) SetWriteDeadline(t time.Time) error { a.wr.set(t); return nil }

// opDeadline is the deadline of one direction of a netConnAdapter: each
// operation runs in a child task of the Io, which the deadline cancels
// when it passes, whether it was set before the operation or during it.
type opDeadline struct {
	mu       sync.Mutex
	deadline time.Time
	timer    *time.Timer
	ops      map[*deadlineOp]struct{}
}

// endpoint is a socket as deadline errors describe it: a *Conn or a
// *PacketConn.
type endpoint interface {
	Name() string
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
}

type deadlineOp struct {
	cancel   func()
	timedOut bool
}

// begin starts an operation: it returns the Io to run it through and the
// function that ends it and maps its error (a cancellation by the deadline
// becomes a timeout), or the timeout error when the deadline has passed.
func (d *opDeadline) begin(x Io, c endpoint, op string) (Io, func(error) error, error) {
	d.mu.Lock()
	if !d.deadline.IsZero() && !time.Now().Before(d.deadline) {
		d.mu.Unlock()
		return x, nil, &timeoutError{netErr(op, c.Name(), c.LocalAddr(), c.RemoteAddr(), os.ErrDeadlineExceeded)}
	}
	ox, cancel := x.WithCancel()
	o := &deadlineOp{cancel: cancel}
	if d.ops == nil {
		d.ops = make(map[*deadlineOp]struct{})
	}
	d.ops[o] = struct{}{}
	d.mu.Unlock()
	return ox, func(err error) error {
		d.mu.Lock()
		delete(d.ops, o)
		timedOut := o.timedOut
		d.mu.Unlock()
		cancel()
		if err != nil && timedOut && errors.Is(err, ErrCanceled) && !x.Canceled() {
			return &timeoutError{netErr(op, c.Name(), c.LocalAddr(), c.RemoteAddr(), os.ErrDeadlineExceeded)}
		}
		return err
	}, nil
}

// set sets the deadline: operations in progress are canceled when it
// passes (at once if it has).
func (d *opDeadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deadline = t
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if t.IsZero() {
		return
	}
	if wait := time.Until(t); wait > 0 {
		d.timer = time.AfterFunc(wait, d.expire)
		return
	}
	d.cancelAllLocked()
}

// expire cancels the operations in progress if the deadline has passed
// (it may have been moved since the timer was set).
func (d *opDeadline) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.deadline.IsZero() && !time.Now().Before(d.deadline) {
		d.cancelAllLocked()
	}
}

func (d *opDeadline) cancelAllLocked() {
	for o := range d.ops {
		o.timedOut = true
		o.cancel()
	}
}

// stop stops the timer.
func (d *opDeadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.mu.Unlock()
}

// timeoutError is an operation that passed its deadline: a net.Error whose
// Timeout reports true; errors.Is sees os.ErrDeadlineExceeded through it.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string   { return e.err.Error() }
func (e *timeoutError) Unwrap() error   { return e.err }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
