package io

import (
	"fmt"
	"net"
	"syscall"
	"time"
)

// Networking beyond Listen and Dial (issue 14, item 8): listen options,
// datagram sockets (udp.go), half-closing a connection, dialing with a
// timeout, and name lookups (lookup.go).
//
// On every implementation — Blocking, Threaded and Evented — sockets go
// through the Go runtime's network poller: a parked operation costs no
// thread, and a cancel request interrupts it by moving the socket's
// deadline into the past. Evented does not put sockets on its io_uring
// ring: measured on loopback (BENCHMARKS.md), ring sends and receives were
// no faster than the poller, which Go's scheduler already integrates.

// netExtDriver is the part of a driver that this file, udp.go and lookup.go
// add. sysDriver implements it for Blocking, Threaded and Evented; failing
// fails every method.
type netExtDriver interface {
	listenWith(t *task, cfg ListenConfig, network, address string) (netListener, error)
	listenPacket(t *task, cfg ListenConfig, network, address string) (packetConn, error)
	dialPacket(t *task, network, address string) (packetConn, error)
	lookupHost(t *task, host string) ([]string, error)
	lookupIP(t *task, network, host string) ([]net.IP, error)
}

// ListenConfig holds socket options for listening. The zero value is what
// Listen and ListenPacket use.
type ListenConfig struct {
	// Backlog bounds the connections that the kernel has accepted but
	// Listener.Accept has not taken yet; beyond it, new connection requests
	// are dropped (TCP on Linux: the client's SYN goes unanswered, and its
	// connect waits and retries). 0 keeps Go's default, the largest the
	// system allows (net.core.somaxconn on Linux, kern.ipc.somaxconn on the
	// BSDs); a larger value is cut to that limit by the kernel. Go's
	// net.ListenConfig has no backlog: after it listens, the socket is
	// listened on again with Backlog (listen(2) on a listening socket sets
	// its backlog on Linux and the BSDs). Windows ignores a second listen,
	// so there a Backlog other than 0 fails with an error matching
	// ErrUnsupported. Only stream listeners have a backlog:
	// ListenConfig.ListenPacket refuses one (ErrInvalid).
	Backlog int

	// ReuseAddr sets SO_REUSEADDR before binding: a listener may bind an
	// address that connections of an earlier one still hold (TIME_WAIT),
	// and datagram sockets may share a port. Go already sets it on stream
	// listeners on Unix, so false does not clear it there.
	ReuseAddr bool

	// ReusePort sets SO_REUSEPORT before binding: several sockets, each
	// with ReusePort, bind the same address and port, and the kernel
	// spreads incoming connections or datagrams among them (Linux; on the
	// BSDs and macOS datagrams go to the last one bound). Unix only: on
	// other systems it fails with an error matching ErrUnsupported.
	ReusePort bool

	// ReadBuffer and WriteBuffer set the socket's receive and send buffer
	// sizes in bytes (SO_RCVBUF, SO_SNDBUF) before binding; 0 keeps the
	// system's default. The kernel may round or cut them (Linux doubles
	// the value, up to net.core.rmem_max / wmem_max).
	ReadBuffer, WriteBuffer int
}

// check reports a ListenConfig that no system accepts.
func (cfg ListenConfig) check(stream bool) error {
	switch {
	case cfg.Backlog < 0:
		return fmt.Errorf("%w: ListenConfig.Backlog %d is negative", ErrInvalid, cfg.Backlog)
	case cfg.Backlog > 0 && !stream:
		return fmt.Errorf("%w: ListenConfig.Backlog applies to stream listeners, not datagram sockets", ErrInvalid)
	case cfg.ReadBuffer < 0 || cfg.WriteBuffer < 0:
		return fmt.Errorf("%w: ListenConfig.ReadBuffer %d, WriteBuffer %d: negative size", ErrInvalid, cfg.ReadBuffer, cfg.WriteBuffer)
	}
	return nil
}

// Listen listens on address with the options of cfg, as Listen does
// without them. It is a cancel point.
func (cfg ListenConfig) Listen(x Io, network, address string) (*Listener, error) {
	start := x.start()
	var l netListener
	err := cfg.check(true)
	if err == nil {
		l, err = x.drv().listenWith(x.t, cfg, network, address)
	}
	if err := x.done(start, "net", "listen", network+" "+address, err); err != nil {
		return nil, err
	}
	return &Listener{l: l, network: network, name: addrString(l.addr())}, nil
}

// netConfig returns the net.ListenConfig that applies cfg's options before
// the socket is bound.
func netConfig(cfg ListenConfig) net.ListenConfig {
	if !cfg.ReuseAddr && !cfg.ReusePort && cfg.ReadBuffer == 0 && cfg.WriteBuffer == 0 {
		return net.ListenConfig{}
	}
	return net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = setListenOptions(fd, cfg) }); cerr != nil {
			return cerr
		}
		return err
	}}
}

func (sysDriver) listenWith(t *task, cfg ListenConfig, network, address string) (netListener, error) {
	if t.isCanceled() {
		return nil, t.err()
	}
	lc := netConfig(cfg)
	l, err := lc.Listen(netContext{taskContext{x: Io{t: t}}}, network, address)
	if err != nil {
		return nil, canceledOr(t, err)
	}
	if cfg.Backlog > 0 {
		if err := setBacklog(l, cfg.Backlog); err != nil {
			l.Close()
			return nil, err
		}
	}
	return &pollListener{l: l}, nil
}

// setBacklog listens on l's socket again, with backlog.
func setBacklog(l net.Listener, backlog int) error {
	sc, ok := l.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%w: backlog of a %T", ErrUnsupported, l)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = relisten(fd, backlog) }); err != nil {
		return err
	}
	return lerr
}

// ShutdownHow says which side of a connection Conn.Shutdown shuts down.
type ShutdownHow int

// The sides of a connection, for Conn.Shutdown (shutdown(2)'s SHUT_RD,
// SHUT_WR and SHUT_RDWR).
const (
	ShutdownRead  ShutdownHow = iota + 1 // no more reads: Read returns io.EOF
	ShutdownWrite                        // no more writes: the peer reads io.EOF
	ShutdownBoth                         // both
)

// String returns "read", "write" or "both".
func (h ShutdownHow) String() string {
	switch h {
	case ShutdownRead:
		return "read"
	case ShutdownWrite:
		return "write"
	case ShutdownBoth:
		return "both"
	}
	return fmt.Sprintf("ShutdownHow(%d)", int(h))
}

// Shutdown shuts down one side of the connection, or both, without
// closing it. After ShutdownRead, a Read that finds nothing received
// returns io.EOF instead of waiting — a Read parked in another task
// included (what the peer sends afterwards depends on the system: Linux
// still delivers it, the BSDs discard it). After ShutdownWrite, Write fails and the peer reads io.EOF once it has
// read what was sent (CloseWrite is Shutdown(x, ShutdownWrite)). It does
// not wait, and is not a cancel point; Close is still needed to release
// the socket. An unknown how is an error wrapping ErrInvalid.
func (c *Conn) Shutdown(x Io, how ShutdownHow) error {
	start := x.start()
	var err error
	switch how {
	case ShutdownRead:
		err = c.closeRead()
	case ShutdownWrite:
		err = c.c.closeWrite()
	case ShutdownBoth:
		err = c.closeRead()
		if werr := c.c.closeWrite(); err == nil {
			err = werr
		}
	default:
		err = fmt.Errorf("%w: shutdown how %d (want ShutdownRead, ShutdownWrite or ShutdownBoth)", ErrInvalid, int(how))
	}
	x.observe(start, "net", "shutdown", c.name, 0, err)
	if err != nil {
		return c.err("shutdown "+how.String(), err)
	}
	return nil
}

func (c *Conn) closeRead() error {
	if r, ok := c.c.(interface{ closeRead() error }); ok {
		return r.closeRead()
	}
	return ErrUnsupported
}

func (p *pollConn) closeRead() error {
	if cr, ok := p.c.(interface{ CloseRead() error }); ok {
		return cr.CloseRead()
	}
	return ErrUnsupported
}

// DialTimeout is Dial that gives up after d: Dial through x.WithTimeout(d),
// so that it fails with an error matching ErrDeadlineExceeded,
// os.ErrDeadlineExceeded and context.DeadlineExceeded, whose Timeout method
// reports true (a net.Error). Canceling x cancels it too, with an error
// matching ErrCanceled. d <= 0 means no timeout. It is a cancel point.
func DialTimeout(x Io, network, address string, d time.Duration) (*Conn, error) {
	if d <= 0 {
		return Dial(x, network, address)
	}
	y, cancel := x.WithTimeout(d)
	defer cancel()
	return Dial(y, network, address)
}

func (f failing) listenWith(*task, ListenConfig, string, string) (netListener, error) {
	return nil, f.fail("listen")
}
func (f failing) listenPacket(*task, ListenConfig, string, string) (packetConn, error) {
	return nil, f.fail("listen")
}
func (f failing) dialPacket(*task, string, string) (packetConn, error) {
	return nil, f.fail("dial")
}
func (f failing) lookupHost(*task, string) ([]string, error) { return nil, f.fail("lookup") }
func (f failing) lookupIP(*task, string, string) ([]net.IP, error) {
	return nil, f.fail("lookup")
}
