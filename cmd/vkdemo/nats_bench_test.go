package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/cluster"
)

// BenchmarkNATS measures jobs/s of small jobs (saxpy on 8 floats, each with
// its own inputs, half JSON and half multipart, as in TestNATSWorkers) run
// by 1, 2 and 3 `vkdemo worker` processes pulling from an embedded NATS
// JetStream server, against the same jobs posted to one `vkdemo serve`
// process (the in-process serve path), and through a gateway (`vkdemo
// serve --nats`) to 3 workers. 16 clients each keep one job in flight
// (submit, then wait for its result / POST and read the response). It
// reports jobs/s, the p50/p99 latency and x-serve, the ratio to the serve
// baseline. Processes run without the validation layer; each worker with
// --jobs 4, serve with --max-jobs 8.
//
//	go test -run '^$' -bench 'NATS|Cluster' -benchtime 1000x ./cmd/vkdemo/
func BenchmarkNATS(b *testing.B) {
	const clients = 16
	noValidation := []string{"VKIO_VALIDATION=0"}
	var serveRate float64
	var run atomic.Int64 // job ID prefixes unique across runs
	report := func(b *testing.B, lat []time.Duration, wall time.Duration) float64 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1e3
		}
		rate := float64(b.N) / wall.Seconds()
		b.ReportMetric(rate, "jobs/s")
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		if serveRate > 0 {
			b.ReportMetric(rate/serveRate, "x-serve")
		}
		b.ReportMetric(0, "ns/op")
		return rate
	}
	// drive runs b.N jobs over the clients with do, checking each result.
	drive := func(b *testing.B, do func(tj *testJob) error) float64 {
		prefix := fmt.Sprintf("b%d", run.Add(1))
		jobs := make([]*testJob, b.N)
		for i := range jobs {
			jobs[i] = newTestJob(prefix, i, 8, 1, nil, "")
		}
		lat := make([]time.Duration, b.N)
		var next, failed atomic.Int64
		var firstErr atomic.Value
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
					err := do(jobs[i])
					lat[i] = time.Since(t0)
					if err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		b.StopTimer()
		if f := failed.Load(); f > 0 {
			b.Fatalf("%d of %d jobs failed; first: %v", f, b.N, firstErr.Load())
		}
		return report(b, lat, wall)
	}
	post := func(addr string) func(tj *testJob) error {
		return func(tj *testJob) error {
			resp, err := httpClient.Post("http://"+addr+"/jobs", tj.ct, bytes.NewReader(tj.body))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			res, err := readJobResponse(resp)
			if err != nil {
				return err
			}
			if res.status != 200 || len(res.frames) != 1 {
				return fmt.Errorf("job %s: status %d %q", tj.id, res.status, res.err)
			}
			return compareF32(res.frames[0].data, tj.want)
		}
	}

	b.Run("serve", func(b *testing.B) {
		srv := startServe(b, noValidation, "--max-jobs", "8", "--max-conns", "128", "--max-queue", "128")
		defer srv.stop(b)
		serveRate = 0 // not a ratio to itself (nor to its own N=1 run)
		serveRate = drive(b, post(srv.addr))
	})

	e := newNATSTestEnv(b)
	ctx := context.Background()
	startWorkers := func(b *testing.B, k int) []*natsWorkerProc {
		var ws []*natsWorkerProc
		for i := range k {
			ws = append(ws, startNATSWorker(b, e.srv.URL(), fmt.Sprintf("bench%d-%d", run.Load(), i), noValidation, "--jobs", "4"))
		}
		return ws
	}
	for _, k := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", k), func(b *testing.B) {
			ws := startWorkers(b, k)
			defer func() {
				for _, w := range ws {
					w.stop(b)
				}
			}()
			drive(b, func(tj *testJob) error {
				if _, err := e.c.Submit(ctx, cluster.Job{ID: tj.id, ContentType: tj.ct, Body: tj.body}); err != nil {
					return err
				}
				res, err := e.c.Wait(ctx, tj.id)
				if err != nil {
					return err
				}
				return tj.check(ctx, e.c, res)
			})
		})
	}
	b.Run("gateway+workers=3", func(b *testing.B) {
		ws := startWorkers(b, 3)
		defer func() {
			for _, w := range ws {
				w.stop(b)
			}
		}()
		gw := startServe(b, noValidation, append(natsQueueArgs(e.srv.URL()), "--max-jobs", "64", "--max-conns", "128", "--max-queue", "128")...)
		defer gw.stop(b)
		drive(b, post(gw.addr))
	})
}
