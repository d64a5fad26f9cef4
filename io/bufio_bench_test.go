package io_test

import (
	"bufio"
	"bytes"
	"fmt"
	stdio "io"
	"testing"

	vio "github.com/vkio/vkio/io"
)

// benchBufSize is the buffer size both writers get.
const benchBufSize = 64 << 10

var benchChunks = []int{64, 4 << 10, 64 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkWriter writes chunks of each size through a vkio Writer over
// WriterSink(io.Discard) and through a bufio.Writer over io.Discard, both
// with a 64 KiB buffer.
func BenchmarkWriter(b *testing.B) {
	for _, chunk := range benchChunks {
		p := bytes.Repeat([]byte{'x'}, chunk)
		b.Run("chunk="+sizeName(chunk)+"/impl=vkio", func(b *testing.B) {
			w := vio.NewWriter(vio.WriterSink(stdio.Discard), make([]byte, benchBufSize))
			b.SetBytes(int64(chunk))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.Write(p); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
		})
		b.Run("chunk="+sizeName(chunk)+"/impl=bufio", func(b *testing.B) {
			w := bufio.NewWriterSize(stdio.Discard, benchBufSize)
			b.SetBytes(int64(chunk))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.Write(p); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
		})
	}
}

// countWriter counts Write calls, so that the benchmark reports how many
// writes (system calls, for a file) each implementation makes.
type countWriter struct{ calls int }

func (c *countWriter) Write(p []byte) (int, error) { c.calls++; return len(p), nil }

// BenchmarkWriterVec writes a 3-slice vector (a 16-byte header, a payload,
// a 2-byte trailer) per op: one WriteVec for vkio, three Writes for bufio.
// It reports the underlying Write calls per op.
func BenchmarkWriterVec(b *testing.B) {
	hdr, trl := bytes.Repeat([]byte{'h'}, 16), []byte("\r\n")
	for _, chunk := range benchChunks[1:] {
		body := bytes.Repeat([]byte{'x'}, chunk)
		n := int64(len(hdr) + chunk + len(trl))
		b.Run("chunk="+sizeName(chunk)+"/impl=vkio", func(b *testing.B) {
			cw := &countWriter{}
			w := vio.NewWriter(vio.WriterSink(cw), make([]byte, benchBufSize))
			vec := [][]byte{hdr, body, trl}
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.WriteVec(vec); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
			b.ReportMetric(float64(cw.calls)/float64(b.N), "writes/op")
		})
		b.Run("chunk="+sizeName(chunk)+"/impl=bufio", func(b *testing.B) {
			cw := &countWriter{}
			w := bufio.NewWriterSize(cw, benchBufSize)
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				w.Write(hdr)
				w.Write(body)
				if _, err := w.Write(trl); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
			b.ReportMetric(float64(cw.calls)/float64(b.N), "writes/op")
		})
	}
}

// BenchmarkWriterSplatByte writes 1 MiB of one byte: SplatByte against a
// loop of WriteByte on bufio.Writer.
func BenchmarkWriterSplatByte(b *testing.B) {
	const n = 1 << 20
	b.Run("impl=vkio", func(b *testing.B) {
		w := vio.NewWriter(vio.WriterSink(stdio.Discard), make([]byte, benchBufSize))
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := w.SplatByte('-', n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=bufio", func(b *testing.B) {
		w := bufio.NewWriterSize(stdio.Discard, benchBufSize)
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			for range n {
				w.WriteByte('-')
			}
		}
	})
}

// endless is an io.Reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

// BenchmarkReader reads chunks of each size through a vkio Reader over
// ReaderSource and through a bufio.Reader, both with a 64 KiB buffer.
func BenchmarkReader(b *testing.B) {
	for _, chunk := range benchChunks {
		p := make([]byte, chunk)
		b.Run("chunk="+sizeName(chunk)+"/impl=vkio", func(b *testing.B) {
			r := vio.NewReader(vio.ReaderSource(endless{}), make([]byte, benchBufSize))
			b.SetBytes(int64(chunk))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadFull(p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("chunk="+sizeName(chunk)+"/impl=bufio", func(b *testing.B) {
			r := bufio.NewReaderSize(endless{}, benchBufSize)
			b.SetBytes(int64(chunk))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := stdio.ReadFull(r, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
