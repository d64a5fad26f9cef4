package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkServe measures `vkdemo serve` on loopback: b.N saxpy jobs
// (4096 random floats in each of x and y sent as multipart parts, y
// streamed back: 32 KiB up, 16 KiB down) spread over 1, 8 and 64
// concurrent clients, each on a fresh connection. It reports jobs/s and the
// p50/p99 latency of a job (request sent to last line read). The server is
// the built binary without the validation layer, with --max-jobs 8.
//
//	go test -run '^$' -bench Serve -benchtime 200x ./cmd/vkdemo/
func BenchmarkServe(b *testing.B) {
	srv := startServe(b, []string{"VKIO_VALIDATION=0"}, "--max-jobs", "8", "--max-conns", "128", "--max-queue", "128")
	defer srv.stop(b)
	const n = 4096
	r := rand.New(rand.NewPCG(5, 6))
	job, parts, a, x, y := saxpyJob(r, n, 1)
	for _, clients := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						t0 := time.Now()
						res, err := tryPostJob(srv.addr, job, parts)
						lat[i] = time.Since(t0)
						if err != nil || res.status != 200 || len(res.frames) != 1 {
							failed.Add(1)
							continue
						}
						if i%16 == 0 {
							checkSaxpy(b, "bench", a, x, y, 1, f32s(res.frames[0].data))
						}
					}
				}()
			}
			wg.Wait()
			wall := time.Since(start)
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d of %d jobs failed", f, b.N)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1e3
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "jobs/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
	h := getJSON(b, srv.addr, "/healthz")
	b.Logf("server: %v jobs in %v GPU submissions", h["done"], h["gpu_submissions"])
}
