//go:build linux

package io_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
)

// evBackends returns Threaded and Evented, side by side, for one benchmark run.
func evBackends(b *testing.B, opts io.EventedOptions) []io.Backend {
	b.Helper()
	e, err := io.NewEvented(opts)
	if err != nil {
		b.Skipf("io_uring unavailable: %v", err)
	}
	b.Cleanup(func() { e.Close() })
	return []io.Backend{io.NewThreaded(io.ThreadedOptions{}), e}
}

// reportRing adds requests per submitting io_uring_enter to an Evented benchmark's output.
func reportRing(b *testing.B, be io.Backend, before io.EventedStats) {
	if e, ok := be.(*io.Evented); ok {
		st := e.Stats()
		if flushes := st.Flushes - before.Flushes; flushes > 0 {
			b.ReportMetric(float64(st.Submitted-before.Submitted)/float64(flushes), "reqs/submit")
		}
	}
}

func statsOf(be io.Backend) io.EventedStats {
	if e, ok := be.(*io.Evented); ok {
		return e.Stats()
	}
	return io.EventedStats{}
}

// 100,000 writes of 4 KiB (pwrite at distinct offsets of a 64 MiB file, so the
// page cache, not the disk, is measured), spread over 1, 16 or 256 tasks.
// Batching can only help when several tasks have writes outstanding at once.
func BenchmarkEventedWrite4K(b *testing.B) {
	const writes, size, span = 100_000, 4 << 10, 64 << 20
	dir := b.TempDir()
	for _, be := range evBackends(b, io.EventedOptions{}) {
		x := be.Io()
		for _, tasks := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/tasks=%d", be.Kind(), tasks), func(b *testing.B) {
				f, err := io.Cwd().CreateFile(x, filepath.Join(dir, "w4k-"+string(be.Kind())), io.CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close(x)
				data := make([]byte, size)
				b.SetBytes(writes * size)
				before := statsOf(be)
				for b.Loop() {
					io.SpreadWrites(b, writes, tasks, func(_, i int) error {
						_, err := f.WriteAt(x, data, int64(i)*size%span)
						return err
					})
				}
				reportRing(b, be, before)
			})
		}
	}
}

// The same 100,000 writes of 4 KiB with O_DIRECT (CreateOptions.Direct): each
// goes to the disk, not the page cache, so the kernel completes them from the
// device's interrupts instead of an io-wq worker, and Evented keeps up to 256
// in flight from one thread where Threaded blocks one OS thread per write. The
// 64 MiB file is written once before the timer starts (direct overwrites of
// allocated blocks need no block allocation). The directory is VKIO_BENCH_DIR
// if set (it must support O_DIRECT: tmpfs does not), else a temporary one.
func BenchmarkEventedWrite4KDirect(b *testing.B) {
	const writes, size, span = 100_000, 4 << 10, 64 << 20
	dir := os.Getenv("VKIO_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	for _, be := range evBackends(b, io.EventedOptions{}) {
		x := be.Io()
		name := filepath.Join(dir, "w4kd-"+string(be.Kind()))
		if err := os.WriteFile(name, make([]byte, span), 0o666); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.Remove(name) })
		for _, tasks := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/tasks=%d", be.Kind(), tasks), func(b *testing.B) {
				f, err := io.Cwd().CreateFile(x, name, io.CreateOptions{Keep: true, Direct: true})
				if err != nil {
					b.Skipf("O_DIRECT refused in %s: %v", dir, err)
				}
				defer f.Close(x)
				b.SetBytes(writes * size)
				before := statsOf(be)
				bufs := make([][]byte, tasks) // direct I/O wants aligned buffers
				for w := range bufs {
					bufs[w] = io.AlignedBuffer(size)
				}
				for b.Loop() {
					io.SpreadWrites(b, writes, tasks, func(w, i int) error {
						// Offsets scattered over the file (a stride coprime to
						// its 16,384 blocks), so the disk sees random writes.
						_, err := f.WriteAt(x, bufs[w], int64(i)*7919%(span/size)*size)
						return err
					})
				}
				reportRing(b, be, before)
			})
		}
	}
}

// 1 GiB written in 1 MiB chunks to a new file (no fsync), against dd with the
// same block size. dd also reads /dev/zero, which costs it a little extra. The
// file goes to VKIO_BENCH_DIR if set (e.g. /dev/shm, to leave the disk's
// writeback out of the comparison), else to a temporary directory.
func BenchmarkEvented1GiB(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 1 GiB per iteration")
	}
	const total, chunk = 1 << 30, 1 << 20
	dir := os.Getenv("VKIO_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, "vkio-bench-1gib")
	b.Cleanup(func() { os.Remove(path) })
	if dd, err := exec.LookPath("dd"); err == nil {
		b.Run("dd", func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				out, err := exec.Command(dd, "if=/dev/zero", "of="+path, "bs=1M", "count=1024", "status=none").CombinedOutput()
				if err != nil {
					b.Fatalf("dd: %v: %s", err, out)
				}
			}
		})
	}
	for _, be := range evBackends(b, io.EventedOptions{}) {
		x := be.Io()
		b.Run(string(be.Kind()), func(b *testing.B) {
			data := make([]byte, chunk)
			b.SetBytes(total)
			for b.Loop() {
				f, err := io.Cwd().CreateFile(x, path, io.CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for n := 0; n < total; n += chunk {
					if _, err := f.Write(x, data); err != nil {
						b.Fatal(err)
					}
				}
				if err := f.Close(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A timer storm: 10,000 tasks sleep 1 ms at once; one iteration is the whole storm.
func BenchmarkEventedSleepStorm(b *testing.B) {
	const sleepers = 10_000
	for _, be := range evBackends(b, io.EventedOptions{}) {
		x := be.Io()
		b.Run(string(be.Kind()), func(b *testing.B) {
			before := statsOf(be)
			for b.Loop() {
				var wg sync.WaitGroup
				for range sleepers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := x.Sleep(time.Millisecond); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/sleepers, "ns/sleep")
			if e, ok := be.(*io.Evented); ok {
				b.ReportMetric(float64(e.Stats().Submitted-before.Submitted)/float64(b.N), "ring-reqs/storm")
			}
		})
	}
}
