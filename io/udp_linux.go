package io

import (
	"net"

	stdio "io"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// On Linux, batches of UDP datagrams go through recvmmsg(2) and sendmmsg(2),
// as golang.org/x/net/ipv4 and ipv6 call them: through the socket's
// syscall.RawConn, so that the runtime's poller parks a batch that must
// wait and the socket's deadline (how a cancel request interrupts it)
// applies, as it does to ReadFrom and WriteTo.

// mmsgBatcher is a batcher on x/net's PacketConn (ipv4 or ipv6: both call
// the same system calls; the family decides how addresses are read).
type mmsgBatcher struct {
	read  func([]ipv4.Message, int) (int, error)
	write func([]ipv4.Message, int) (int, error)
}

// newBatcher returns the batcher of a UDP socket, and nil (one datagram per
// call) for other sockets.
func newBatcher(c packetSock) batcher {
	u, ok := c.(*net.UDPConn)
	if !ok {
		return nil
	}
	if a, ok := u.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && a.IP != nil {
		p := ipv6.NewPacketConn(u)
		return &mmsgBatcher{read: p.ReadBatch, write: p.WriteBatch}
	}
	p := ipv4.NewPacketConn(u)
	return &mmsgBatcher{read: p.ReadBatch, write: p.WriteBatch}
}

// msgPool holds scratch message slices.
var msgPool sync.Pool

// messages returns a scratch []ipv4.Message of length n holding ms's buffers
// and addresses.
func messages(ms []Message) *[]ipv4.Message {
	sp, _ := msgPool.Get().(*[]ipv4.Message)
	if sp == nil {
		sp = new([]ipv4.Message)
	}
	if cap(*sp) < len(ms) {
		*sp = make([]ipv4.Message, len(ms))
	}
	*sp = (*sp)[:len(ms)]
	for i := range ms {
		(*sp)[i] = ipv4.Message{Buffers: ms[i].Buffers, Addr: ms[i].Addr}
	}
	return sp
}

// release clears the scratch messages (they hold the caller's buffers) and
// returns them to the pool.
func releaseMessages(sp *[]ipv4.Message) {
	clear(*sp)
	msgPool.Put(sp)
}

func (b *mmsgBatcher) readBatch(ms []Message) (int, error) {
	sp := messages(ms)
	defer releaseMessages(sp)
	n, err := b.read(*sp, 0)
	n = max(n, 0) // recvmmsg's -1 on an error
	for i := 0; i < n; i++ {
		ms[i].N, ms[i].Addr = (*sp)[i].N, (*sp)[i].Addr
	}
	return n, err
}

// writeBatch sends all of ms: sendmmsg may send fewer than asked.
func (b *mmsgBatcher) writeBatch(ms []Message) (int, error) {
	sp := messages(ms)
	defer releaseMessages(sp)
	sent := 0
	for sent < len(ms) {
		n, err := b.write((*sp)[sent:], 0)
		n = max(n, 0) // sendmmsg's -1 on an error
		for i := sent; i < sent+n; i++ {
			ms[i].N = (*sp)[i].N
		}
		sent += n
		if err != nil {
			return sent, err
		}
		if n == 0 {
			return sent, stdio.ErrShortWrite
		}
	}
	return sent, nil
}
