package io_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// Datagrams of 1200 bytes (a QUIC packet) on loopback, 64 per iteration:
// sent, then received, by the same goroutine. Each pairs with the standard
// library's net.UDPConn doing the same one datagram per call.
//
//	go test -run '^$' -bench 'UDP' -benchtime 2000x ./io/

const (
	udpBenchSize  = 1200
	udpBenchBatch = 64
)

// udpBenchIo returns two sockets with room for a whole batch in the
// receive buffer, and the Io of a cancelable task (as a task started with
// Async or Concurrent has; the root Io skips the cancel guard) or the root.
func udpBenchIo(b *testing.B, task bool) (x io.Io, src, dst *io.PacketConn) {
	b.Helper()
	bk := io.NewThreaded(io.ThreadedOptions{})
	x = bk.Io()
	cfg := io.ListenConfig{ReadBuffer: 4 << 20, WriteBuffer: 4 << 20}
	src, err := cfg.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dst, err = cfg.ListenPacket(x, "udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	// A lost datagram would leave a read waiting: give up after a while.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	y, stop := x.WithContext(ctx)
	if !task {
		y = x.WithoutCancel()
	}
	b.Cleanup(func() {
		stop()
		cancel()
		src.Close(x)
		dst.Close(x)
		bk.Close()
	})
	return y, src, dst
}

func BenchmarkUDPBatchIo(b *testing.B) {
	for _, task := range []bool{false, true} {
		b.Run(map[bool]string{false: "root", true: "task"}[task], func(b *testing.B) {
			x, src, dst := udpBenchIo(b, task)
			out := make([]io.Message, udpBenchBatch)
			in := make([]io.Message, udpBenchBatch)
			payload := make([]byte, udpBenchSize)
			bufs := make([][]byte, udpBenchBatch)
			for i := range out {
				out[i] = io.Message{Buffers: [][]byte{payload}, Addr: dst.LocalAddr()}
				bufs[i] = make([]byte, udpBenchSize+100)
			}
			b.SetBytes(udpBenchBatch * udpBenchSize)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if n, err := src.WriteBatch(x, out); n != udpBenchBatch || err != nil {
					b.Fatal(n, err)
				}
				for got := 0; got < udpBenchBatch; {
					for i := range in[got:] {
						in[got+i] = io.Message{Buffers: bufs[got+i : got+i+1]}
					}
					n, err := dst.ReadBatch(x, in[got:])
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
			}
		})
	}
}

func BenchmarkUDPOneByOneIo(b *testing.B) {
	for _, task := range []bool{false, true} {
		b.Run(map[bool]string{false: "root", true: "task"}[task], func(b *testing.B) {
			x, src, dst := udpBenchIo(b, task)
			payload := make([]byte, udpBenchSize)
			buf := make([]byte, udpBenchSize+100)
			to := dst.LocalAddr()
			b.SetBytes(udpBenchBatch * udpBenchSize)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for range udpBenchBatch {
					if _, err := src.WriteTo(x, payload, to); err != nil {
						b.Fatal(err)
					}
				}
				for range udpBenchBatch {
					if _, _, err := dst.ReadFrom(x, buf); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkUDPNet is the standard library's baseline: net.UDPConn, one
// datagram per call, with WriteTo/ReadFrom (net.Addr, as PacketConn) and
// with the allocation-free netip forms.
func BenchmarkUDPNet(b *testing.B) {
	for _, addrPort := range []bool{false, true} {
		b.Run(map[bool]string{false: "addr", true: "addrport"}[addrPort], func(b *testing.B) {
			listen := func() *net.UDPConn {
				c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					b.Fatal(err)
				}
				c.SetReadBuffer(4 << 20)
				c.SetWriteBuffer(4 << 20)
				return c
			}
			src, dst := listen(), listen()
			defer src.Close()
			defer dst.Close()
			dst.SetReadDeadline(time.Now().Add(time.Minute))
			to := dst.LocalAddr()
			toAP := dst.LocalAddr().(*net.UDPAddr).AddrPort()
			payload := make([]byte, udpBenchSize)
			buf := make([]byte, udpBenchSize+100)
			b.SetBytes(udpBenchBatch * udpBenchSize)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for range udpBenchBatch {
					var err error
					if addrPort {
						_, err = src.WriteToUDPAddrPort(payload, toAP)
					} else {
						_, err = src.WriteTo(payload, to)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				for range udpBenchBatch {
					var err error
					if addrPort {
						_, _, err = dst.ReadFromUDPAddrPort(buf)
					} else {
						_, _, err = dst.ReadFrom(buf)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
