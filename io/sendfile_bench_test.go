package io_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// sendSize is the file BenchmarkSendFile sends per iteration: 1 GiB, or
// 64 MiB with -short.
func sendSize() int64 {
	if testing.Short() {
		return 64 << 20
	}
	return 1 << 30
}

// sendSource creates the file to send, in b.TempDir(), written for real (not
// sparse, so that the page cache holds real pages as for a saved result).
func sendSource(b *testing.B, size int64) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "send.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for n := int64(0); n < size; n += int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), size-n)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// drainPeer listens on loopback and reads everything every connection
// sends, with 1 MiB reads, until the benchmark ends: the same receiver for
// both sides of the comparison.
func drainPeer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1<<20)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// Sending a file to a loopback TCP socket: Writer.SendFile (sendfile(2)
// through the Io) against io.Copy from an *os.File to a *net.TCPConn,
// which the standard library also turns into sendfile(2).
func BenchmarkSendFile(b *testing.B) {
	size := sendSize()
	p := sendSource(b, size)
	addr := drainPeer(b)
	b.Run("baseline=io.Copy(TCPConn,os.File)", func(b *testing.B) {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(size)
		for b.Loop() {
			if _, err := f.Seek(0, stdio.SeekStart); err != nil {
				b.Fatal(err)
			}
			if n, err := stdio.Copy(c, f); n != size || err != nil {
				b.Fatalf("io.Copy = %d, %v", n, err)
			}
		}
	})
	for _, kind := range []string{"threaded", "evented"} {
		b.Run(kind, func(b *testing.B) {
			be, err := io.New(kind)
			if err != nil {
				b.Skip(err)
			}
			defer be.Close()
			x := be.Io()
			f, err := io.Cwd().OpenFile(x, p, io.ReadOnly)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close(x)
			c, err := io.Dial(x, "tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close(x)
			w := c.Writer(x, nil)
			b.SetBytes(size)
			for b.Loop() {
				if n, err := w.SendFile(x, f, 0, size); n != size || err != nil {
					b.Fatalf("SendFile = %d, %v", n, err)
				}
			}
		})
	}
}

// vecOp is the size of one positional operation in the pwritev/preadv
// benchmarks, and vecSlices the slices the vectored form splits it into.
const (
	vecOp     = 64 << 10
	vecSlices = 16
	vecFile   = 64 << 20 // operations cycle over this much of the file
)

// vecOf splits buf into n equal slices.
func vecOf(buf []byte, n int) [][]byte {
	vec := make([][]byte, n)
	for i := range vec {
		vec[i] = buf[i*len(buf)/n : (i+1)*len(buf)/n]
	}
	return vec
}

// Positional vectored writes (File.WriteVecAt: one pwritev) of 64 KiB in 1
// and in 16 slices, against os.File.WriteAt of the same bytes in one call
// and in 16 calls (the standard library has no pwritev), cycling over a
// 64 MiB file in the page cache.
func BenchmarkWriteVecAt(b *testing.B) {
	buf := make([]byte, vecOp)
	for _, n := range []int{1, vecSlices} {
		b.Run(fmt.Sprintf("baseline=os.File.WriteAt/slices=%d", n), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "w.bin"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			vec := vecOf(buf, n)
			b.SetBytes(vecOp)
			off := int64(0)
			for b.Loop() {
				o := off
				for _, p := range vec {
					if _, err := f.WriteAt(p, o); err != nil {
						b.Fatal(err)
					}
					o += int64(len(p))
				}
				off = (off + vecOp) % vecFile
			}
		})
		b.Run(fmt.Sprintf("threaded/slices=%d", n), func(b *testing.B) {
			x := io.NewThreaded(io.ThreadedOptions{}).Io()
			f, err := io.Cwd().CreateFile(x, filepath.Join(b.TempDir(), "w.bin"), io.CreateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close(x)
			vec := vecOf(buf, n)
			b.SetBytes(vecOp)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := f.WriteVecAt(x, vec, 1, off); err != nil {
					b.Fatal(err)
				}
				off = (off + vecOp) % vecFile
			}
		})
	}
}

// Positional vectored reads (File.ReadVecAt: one preadv) of 64 KiB into 1
// and 16 slices, against os.File.ReadAt of the same bytes in one call and
// in 16 calls, cycling over a 64 MiB file in the page cache.
func BenchmarkReadVecAt(b *testing.B) {
	p := sendSource(b, vecFile)
	buf := make([]byte, vecOp)
	for _, n := range []int{1, vecSlices} {
		b.Run(fmt.Sprintf("baseline=os.File.ReadAt/slices=%d", n), func(b *testing.B) {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			vec := vecOf(buf, n)
			b.SetBytes(vecOp)
			off := int64(0)
			for b.Loop() {
				o := off
				for _, p := range vec {
					if _, err := f.ReadAt(p, o); err != nil {
						b.Fatal(err)
					}
					o += int64(len(p))
				}
				off = (off + vecOp) % vecFile
			}
		})
		b.Run(fmt.Sprintf("threaded/slices=%d", n), func(b *testing.B) {
			x := io.NewThreaded(io.ThreadedOptions{}).Io()
			f, err := io.Cwd().OpenFile(x, p, io.ReadOnly)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close(x)
			vec := vecOf(buf, n)
			b.SetBytes(vecOp)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				if _, err := f.ReadVecAt(x, vec, off); err != nil {
					b.Fatal(err)
				}
				off = (off + vecOp) % vecFile
			}
		})
	}
}
