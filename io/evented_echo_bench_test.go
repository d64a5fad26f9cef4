//go:build linux

package io

import (
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vkio/vkio/io/internal/uring"
)

// The measurement behind the choice of the runtime's network poller for
// Evented's sockets: a loopback TCP echo (64-byte messages, one round trip per
// message, over 1 or 16 connections at once) through
//
//   - threaded: the Io's Conn on Threaded (the runtime's network poller);
//   - evented: the Io's Conn on Evented (the same poller, as shipped);
//   - evented-ring: a prototype of sockets on the ring: IORING_OP_SEND and
//     IORING_OP_RECV on the same Evented ring, blocking sockets set up with plain
//     system calls.
func BenchmarkEventedEcho(b *testing.B) {
	const msg = 64
	for _, conns := range []int{1, 16} {
		for _, kind := range []string{"threaded", "evented", "evented-ring"} {
			b.Run(fmt.Sprintf("%s/conns=%d", kind, conns), func(b *testing.B) {
				var be Backend
				if kind == "threaded" {
					be = NewThreaded(ThreadedOptions{})
				} else {
					e, err := NewEvented(EventedOptions{})
					if err != nil {
						b.Skipf("io_uring unavailable: %v", err)
					}
					be = e
				}
				defer be.Close()
				var client func(i int, rounds int)
				var stop func()
				if kind == "evented-ring" {
					client, stop = ringEcho(b, be.(*Evented), conns, msg)
				} else {
					client, stop = connEcho(b, be.Io(), conns, msg)
				}
				defer stop()
				b.SetBytes(2 * msg)
				b.ResetTimer()
				var wg sync.WaitGroup
				for i := range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						client(i, b.N/conns+1)
					}()
				}
				wg.Wait()
			})
		}
	}
}

// connEcho sets up conns echo connections through the Io's sockets.
func connEcho(b *testing.B, x Io, conns, msg int) (client func(i, rounds int), stop func()) {
	l, err := Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var srv sync.WaitGroup
	cs := make([]*Conn, conns)
	for i := range cs {
		c, err := Dial(x, "tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := l.Accept(x)
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
		srv.Add(1)
		go func() {
			defer srv.Done()
			defer s.Close(x)
			buf := make([]byte, msg)
			for {
				n, err := s.Read(x, buf)
				if err != nil {
					return
				}
				if _, err := s.Write(x, buf[:n]); err != nil {
					return
				}
			}
		}()
	}
	client = func(i, rounds int) {
		buf := make([]byte, msg)
		for range rounds {
			if _, err := cs[i].Write(x, buf); err != nil {
				b.Error(err)
				return
			}
			for got := 0; got < msg; {
				n, err := cs[i].Read(x, buf[got:])
				if err != nil {
					b.Error(err)
					return
				}
				got += n
			}
		}
	}
	stop = func() {
		for _, c := range cs {
			c.Close(x)
		}
		srv.Wait()
		l.Close(x)
	}
	return client, stop
}

// ringEcho sets up conns echo connections whose reads and writes are
// IORING_OP_RECV and IORING_OP_SEND requests on e's ring.
func ringEcho(b *testing.B, e *Evented, conns, msg int) (client func(i, rounds int), stop func()) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		b.Fatal(err)
	}
	if err := unix.Listen(lfd, 128); err != nil {
		b.Fatal(err)
	}
	sa, _ := unix.Getsockname(lfd)
	var srv sync.WaitGroup
	cfds := make([]int, conns)
	sfds := make([]int, conns)
	for i := range cfds {
		c, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err := unix.Connect(c, sa); err != nil {
			b.Fatal(err)
		}
		s, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			b.Fatal(err)
		}
		for _, fd := range []int{c, s} {
			unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		cfds[i], sfds[i] = c, s
		srv.Add(1)
		go func() {
			defer srv.Done()
			buf := make([]byte, msg)
			for {
				n, err := ringSock(e, uring.OpRecv, s, buf)
				if err != nil || n == 0 {
					return
				}
				if _, err := ringSock(e, uring.OpSend, s, buf[:n]); err != nil {
					return
				}
			}
		}()
	}
	client = func(i, rounds int) {
		buf := make([]byte, msg)
		for range rounds {
			if _, err := ringSock(e, uring.OpSend, cfds[i], buf); err != nil {
				b.Error(err)
				return
			}
			for got := 0; got < msg; {
				n, err := ringSock(e, uring.OpRecv, cfds[i], buf[got:])
				if err != nil {
					b.Error(err)
					return
				}
				got += n
			}
		}
	}
	stop = func() {
		for _, c := range cfds {
			unix.Shutdown(c, unix.SHUT_RDWR)
		}
		srv.Wait()
		for i := range cfds {
			unix.Close(cfds[i])
			unix.Close(sfds[i])
		}
		unix.Close(lfd)
	}
	return client, stop
}

func ringSock(e *Evented, opcode uint8, fd int, buf []byte) (int, error) {
	o := ringOps.Get().(*ringOp)
	defer o.release()
	addr := o.pinBytes(buf)
	res, err := e.run(nil, o, uring.SQE{Opcode: opcode, Fd: int32(fd), Addr: addr, Len: uint32(len(buf)), OpFlags: unix.MSG_NOSIGNAL})
	if err != nil {
		return 0, err
	}
	if res < 0 {
		return 0, unix.Errno(-res)
	}
	return int(res), nil
}
