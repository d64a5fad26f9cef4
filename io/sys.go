package io

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// sysDriver implements time, files and sockets with blocking system calls and the
// Go runtime's network poller. Blocking and Threaded share it; they differ only in
// how they spawn tasks.
type sysDriver struct{}

func (sysDriver) now() time.Time { return time.Now() }

func (sysDriver) sleepUntil(t *task, deadline time.Time) error {
	d := time.Until(deadline)
	if d <= 0 {
		return nil
	}
	if t == nil {
		time.Sleep(d)
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-t.doneCh():
		return t.err()
	}
}

// Sockets go through the runtime's network poller; a cancel request interrupts a
// parked operation by moving the socket's deadline into the past.

func (sysDriver) listen(t *task, network, address string) (netListener, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	lc := net.ListenConfig{}
	l, err := lc.Listen(netContext{taskContext{x: Io{t: t}}}, network, address)
	if err != nil {
		return nil, canceledOr(t, err)
	}
	return &pollListener{l: l}, nil
}

func (sysDriver) dial(t *task, network, address string) (netConn, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	var ctx context.Context = context.Background()
	if t != nil {
		ctx = netContext{taskContext{x: Io{t: t}}}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, canceledOr(t, err)
	}
	return &pollConn{c: c}, nil
}

// canceledOr returns t.err() in place of err when err is the way t's
// cancellation showed up: the past deadline that interruptible set on the
// socket, or the done context (netContext) of a dial or listen. A timeout
// of the socket's own (a deadline on the net.Conn that nothing here set) on
// a task not canceled stays what it is.
//
// A timeout on a task whose deadline has passed but whose timer has not
// yet canceled it (a library handed x.Context() can see the deadline a
// moment before the timer fires) is the deadline too: ErrDeadlineExceeded.
func canceledOr(t *task, err error) error {
	if t == nil || err == nil {
		return err
	}
	stopped := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	if t.isCanceled() && stopped {
		return t.err()
	}
	var ne net.Error
	if stopped || errors.As(err, &ne) && ne.Timeout() {
		if d, ok := t.deadlineTime(); ok && !time.Now().Before(d) {
			if t.isCanceled() {
				return t.err()
			}
			return ErrDeadlineExceeded
		}
	}
	return err
}

type deadliner interface{ SetDeadline(time.Time) error }

// interruptible guards the blocking operations on a socket (one direction
// of it): see sharedDeadline (netshared.go).
type interruptible = sharedDeadline

var longAgo = time.Unix(1, 0)

type pollListener struct {
	l  net.Listener
	in interruptible
	mu sync.Once
}

func (p *pollListener) accept(t *task) (netConn, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	p.mu.Do(func() { p.in.d = p.l.(deadliner) })
	guard := p.in.guard(t)
	c, err := p.l.Accept()
	guard.release()
	if spurious(t, err) {
		return p.accept(t)
	}
	if err != nil {
		return nil, canceledOr(t, err)
	}
	return &pollConn{c: c}, nil
}

func (p *pollListener) addr() net.Addr { return p.l.Addr() }
func (p *pollListener) close() error   { return p.l.Close() }

type pollConn struct {
	c    net.Conn
	rd   interruptible // reads and writes are guarded separately: a task may
	wr   interruptible // read while another writes
	once sync.Once
}

func (p *pollConn) init() {
	p.once.Do(func() {
		p.rd.d = readDeadliner{p.c}
		p.wr.d = writeDeadliner{p.c}
	})
}

type readDeadliner struct{ c net.Conn }

func (r readDeadliner) SetDeadline(t time.Time) error { return r.c.SetReadDeadline(t) }

type writeDeadliner struct{ c net.Conn }

func (w writeDeadliner) SetDeadline(t time.Time) error { return w.c.SetWriteDeadline(t) }

func (p *pollConn) read(t *task, b []byte) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	p.init()
	guard := p.rd.guard(t)
	n, err := p.c.Read(b)
	guard.release()
	if n == 0 && spurious(t, err) {
		return p.read(t, b)
	}
	if err != nil {
		return n, canceledOr(t, err)
	}
	return n, nil
}

func (p *pollConn) write(t *task, b []byte) (int, error) {
	return p.writev(t, [][]byte{b})
}

func (p *pollConn) writev(t *task, bufs [][]byte) (int, error) {
	if t.isCanceled() {
		return 0, t.err()
	}
	p.init()
	guard := p.wr.guard(t)
	var n int64
	var err error
	if len(bufs) == 1 {
		var k int
		k, err = p.c.Write(bufs[0])
		n = int64(k)
	} else {
		nb := make(net.Buffers, len(bufs)) // WriteTo consumes its receiver
		copy(nb, bufs)
		n, err = nb.WriteTo(p.c)
	}
	guard.release()
	if spurious(t, err) { // what was written stays written; the rest goes now
		k, err := p.writev(t, advance(bufs, n))
		return int(n) + k, err
	}
	if err != nil {
		return int(n), canceledOr(t, err)
	}
	return int(n), nil
}

func (p *pollConn) closeWrite() error {
	if cw, ok := p.c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return ErrUnsupported
}

func (p *pollConn) close() error         { return p.c.Close() }
func (p *pollConn) localAddr() net.Addr  { return p.c.LocalAddr() }
func (p *pollConn) remoteAddr() net.Addr { return p.c.RemoteAddr() }
