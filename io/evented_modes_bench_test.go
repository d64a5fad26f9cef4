//go:build linux

package io

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Evented's policies on and off: lead (a lone waiter waits in io_uring_enter
// itself, instead of parking until the reaper goroutine wakes it) and the shared
// timer (sleeps multiplexed onto one timeout request, instead of one each):
// 20,000 pwrites of 4 KiB over 1 or 64 tasks, and 10,000 concurrent 1 ms sleeps.
func BenchmarkEventedModes(b *testing.B) {
	defer func(l bool) { eventedLead = l }(eventedLead)
	for _, lead := range []bool{false, true} {
		name := fmt.Sprintf("lead=%v", lead)
		eventedLead = lead
		e, err := NewEvented(EventedOptions{})
		if err != nil {
			b.Skip(err)
		}
		x := e.Io()
		for _, tasks := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/write4k/tasks=%d", name, tasks), func(b *testing.B) {
				const writes = 20_000
				f, err := Cwd().CreateFile(x, filepath.Join(b.TempDir(), "f"), CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close(x)
				data := make([]byte, 4096)
				b.SetBytes(writes * 4096)
				for b.Loop() {
					SpreadWrites(b, writes, tasks, func(_, i int) error {
						_, err := f.WriteAt(x, data, int64(i%4096)*4096)
						return err
					})
				}
			})
		}
		for _, shared := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/sleep-storm/shared-timer=%v", name, shared), func(b *testing.B) {
				defer func(s bool) { eventedSharedTimer = s }(eventedSharedTimer)
				eventedSharedTimer = shared
				for b.Loop() {
					var wg sync.WaitGroup
					for range 10_000 {
						wg.Add(1)
						go func() { defer wg.Done(); x.Sleep(time.Millisecond) }()
					}
					wg.Wait()
				}
			})
		}
		e.Close()
	}
}

// SpreadWrites runs write(w, i) for i in [0, writes), spread over tasks
// goroutines (w is the goroutine's index), and waits for them all. The first
// error stops that goroutine and fails the benchmark. (Exported for the
// external test package's benchmarks: this file is compiled into tests only.)
func SpreadWrites(b *testing.B, writes, tasks int, write func(w, i int) error) {
	var wg sync.WaitGroup
	for w := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < writes; i += tasks {
				if err := write(w, i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
