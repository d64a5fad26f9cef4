package io_test

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vkio/vkio/io"
)

// A UDP echo on loopback: a datagram waits in the kernel until it is read,
// so one task can send and then receive, on every implementation.
func ExamplePacketConn_ReadFrom() {
	x := io.NewBlocking().Io()
	server, err := io.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close(x)
	client, err := io.DialPacket(x, "udp", server.LocalAddr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(x)

	client.Write(x, []byte("ping"))
	buf := make([]byte, 1500)
	n, from, err := server.ReadFrom(x, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	server.WriteTo(x, append([]byte("echo "), buf[:n]...), from)
	n, err = client.Read(x, buf)
	fmt.Println(string(buf[:n]), err)
	// Output: echo ping <nil>
}

// Batches: on Linux one sendmmsg sends all the datagrams, and one recvmmsg
// receives those that have arrived.
func ExamplePacketConn_WriteBatch() {
	x := io.NewBlocking().Io()
	a, _ := io.ListenPacket(x, "udp", "127.0.0.1:0")
	defer a.Close(x)
	b, _ := io.ListenPacket(x, "udp", "127.0.0.1:0")
	defer b.Close(x)

	out := make([]io.Message, 3)
	for i := range out {
		out[i] = io.Message{Buffers: [][]byte{[]byte("datagram "), {'1' + byte(i)}}, Addr: b.LocalAddr()}
	}
	sent, err := a.WriteBatch(x, out)
	fmt.Println("sent", sent, err)

	in := make([]io.Message, 8)
	for got := 0; got < sent; {
		for i := range in {
			in[i] = io.Message{Buffers: [][]byte{make([]byte, 64)}}
		}
		n, err := b.ReadBatch(x, in)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, m := range in[:n] {
			fmt.Println(string(m.Buffers[0][:m.N]))
		}
		got += n
	}
	// Output:
	// sent 3 <nil>
	// datagram 1
	// datagram 2
	// datagram 3
}

// A library that takes a net.PacketConn gets one whose datagrams go
// through the Io; its deadlines work as net's do.
func ExamplePacketConn_NetPacketConn() {
	x := io.NewBlocking().Io()
	c, err := io.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	var pc net.PacketConn = c.NetPacketConn(x)
	defer pc.Close()

	pc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, _, err = pc.ReadFrom(make([]byte, 100)) // nobody sends
	var ne net.Error
	fmt.Println(errors.As(err, &ne) && ne.Timeout())
	// Output: true
}
