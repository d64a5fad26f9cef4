package io

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// listenBacklog returns the backlog of l's socket as Linux reports it:
// TCP_INFO's tcpi_sacked holds sk_max_ack_backlog on a listening socket.
func listenBacklog(t *testing.T, l *Listener) int {
	t.Helper()
	rc, err := l.l.(*pollListener).l.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Skipf("TCP_INFO: %v", ierr)
	}
	return int(info.Sacked)
}

func TestListenBacklog(t *testing.T) {
	x := NewBlocking().Io()
	def, err := ListenConfig{}.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close(x)
	l, err := ListenConfig{Backlog: 3}.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	if got, dflt := listenBacklog(t, l), listenBacklog(t, def); got != 3 || dflt <= 3 {
		t.Fatalf("backlog = %d with Backlog 3, %d by default (somaxconn); want 3 and more", got, dflt)
	}
}

// A batch that has arrived is read with one call (recvmmsg), not one
// datagram per call.
func TestReadBatchOneCall(t *testing.T) {
	x := NewBlocking().Io()
	a, err := ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(x)
	b, err := ListenConfig{ReadBuffer: 1 << 20}.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(x)
	if b.c.(*pollPacket).batch == nil {
		t.Fatal("a UDP socket on Linux has no batcher")
	}
	const count = 16
	ms := make([]Message, count)
	for i := range ms {
		ms[i] = Message{Buffers: [][]byte{{byte(i)}}, Addr: b.LocalAddr()}
	}
	if n, err := a.WriteBatch(x, ms); n != count || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	for i := range ms {
		ms[i] = Message{Buffers: [][]byte{make([]byte, 4)}}
	}
	n, err := b.ReadBatch(x, ms)
	if err != nil || n < 2 {
		t.Fatalf("ReadBatch of %d waiting datagrams = %d, %v; want a batch", count, n, err)
	}
}
