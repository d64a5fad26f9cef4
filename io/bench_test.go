package io_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/vkio/vkio/io"
)

// Async+Await of a no-op against the bare Go equivalent: a goroutine and a channel.
func BenchmarkAsyncAwait(b *testing.B) {
	b.Run("baseline=goroutine+chan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ch := make(chan int, 1)
			go func() { ch <- 1 }()
			<-ch
		}
	})
	for _, backend := range []io.Backend{io.NewThreaded(io.ThreadedOptions{}), io.NewBlocking()} {
		x := backend.Io()
		b.Run(string(x.Kind()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f := io.Async(x, func(io.Io) (int, error) { return 1, nil })
				if _, err := f.Await(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The same inside a cancelable task, where each child links to its parent.
	x, cancel := io.NewThreaded(io.ThreadedOptions{}).Io().WithCancel()
	defer cancel()
	b.Run("threaded-in-task", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f := io.Async(x, func(io.Io) (int, error) { return 1, nil })
			if _, err := f.Await(x); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A Group of 1000 no-op tasks against errgroup.
func BenchmarkGroup1000(b *testing.B) {
	const n = 1000
	b.Run("baseline=errgroup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			g, _ := errgroup.WithContext(context.Background())
			for range n {
				g.Go(func() error { return nil })
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("threaded", func(b *testing.B) {
		// A pool as wide as errgroup's (unbounded) goroutines, to compare like with like.
		x := io.NewThreaded(io.ThreadedOptions{AsyncLimit: n}).Io()
		b.ReportAllocs()
		for b.Loop() {
			var g io.Group
			for range n {
				g.Async(x, func(io.Io) error { return nil })
			}
			if err := g.Wait(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("threaded-default-pool", func(b *testing.B) {
		x := io.NewThreaded(io.ThreadedOptions{}).Io()
		b.ReportAllocs()
		for b.Loop() {
			var g io.Group
			for range n {
				g.Async(x, func(io.Io) error { return nil })
			}
			if err := g.Wait(x); err != nil {
				b.Fatal(err)
			}
		}
	})
}

const fileBytes = 16 << 20 // each iteration writes one 16 MiB file

// File write throughput through the Io's Writer against os.File + bufio.Writer,
// at several chunk sizes; both create, write and close one 16 MiB file per
// iteration (no fsync: this measures the write path, not the disk).
//
// VKIO_BENCH_DIR puts the files elsewhere (e.g. /dev/shm, away from the disk's
// writeback, which makes ext4 figures swing by ±30 %).
func BenchmarkFileWrite(b *testing.B) {
	dir := benchDir(b)
	for _, chunk := range []int{4 << 10, 64 << 10, 1 << 20} {
		data := make([]byte, chunk)
		for i := range data {
			data[i] = byte(i)
		}
		name := fmt.Sprintf("chunk=%dKiB", chunk>>10)
		b.Run(name+"/baseline=os+bufio", func(b *testing.B) {
			b.SetBytes(fileBytes)
			for b.Loop() {
				f, err := os.Create(filepath.Join(dir, "os.bin"))
				if err != nil {
					b.Fatal(err)
				}
				w := bufio.NewWriterSize(f, 64<<10)
				for n := 0; n < fileBytes; n += chunk {
					if _, err := w.Write(data); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		for _, backend := range []io.Backend{io.NewThreaded(io.ThreadedOptions{}), io.NewBlocking()} {
			x := backend.Io()
			b.Run(name+"/"+string(x.Kind()), func(b *testing.B) {
				b.SetBytes(fileBytes)
				buf := make([]byte, 64<<10)
				for b.Loop() {
					f, err := io.Cwd().CreateFile(x, filepath.Join(dir, "io.bin"), io.CreateOptions{})
					if err != nil {
						b.Fatal(err)
					}
					w := f.Writer(x, buf)
					for n := 0; n < fileBytes; n += chunk {
						if _, err := w.Write(data); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
					f.Close(x)
				}
			})
		}
	}
}

// Writing 64 slices of 1 KiB: one vectorized write (writev) against one write
// per slice, both through the Io's unbuffered Writer.
func BenchmarkVectorizedWrite(b *testing.B) {
	dir := b.TempDir()
	x := io.NewThreaded(io.ThreadedOptions{}).Io()
	slices := make([][]byte, 64)
	for i := range slices {
		slices[i] = make([]byte, 1024)
	}
	const perFile = 256 // writes per file, to keep the file small
	run := func(b *testing.B, vectorized bool) {
		b.SetBytes(64 * 1024)
		var f *io.File
		var w *io.Writer
		i := 0
		for b.Loop() {
			if i%perFile == 0 {
				if f != nil {
					f.Close(x)
				}
				var err error
				f, err = io.Cwd().CreateFile(x, filepath.Join(dir, "v.bin"), io.CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if vectorized {
					w = f.Writer(x, nil)
				} else {
					w = io.NewWriter(io.WriterSink(osWriter{f: f, x: x}), nil)
				}
			}
			i++
			if _, err := w.WriteVec(slices); err != nil {
				b.Fatal(err)
			}
		}
		if f != nil {
			f.Close(x)
		}
	}
	b.Run("baseline=write-per-slice", func(b *testing.B) { run(b, false) })
	b.Run("writev", func(b *testing.B) { run(b, true) })
}

// osWriter is a plain io.Writer on a File: one write system call per Write.
type osWriter struct {
	f *io.File
	x io.Io
}

func (w osWriter) Write(p []byte) (int, error) { return w.f.Write(w.x, p) }

// benchDir returns $VKIO_BENCH_DIR when set, else a fresh temporary directory.
func benchDir(b *testing.B) string {
	if d := os.Getenv("VKIO_BENCH_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "vkio-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}
