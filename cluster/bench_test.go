package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/cluster/natstest"
)

var noop = HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) { return nil, nil })

// BenchmarkQueue measures jobs/s through the queue, submit to durable result,
// with a no-op handler: the queue's overhead per job. Compare with
// BenchmarkDirect (the same handler called in-process):
//
//	go test -run '^$' -bench 'Queue|Direct' -benchtime 2000x ./cluster/
func BenchmarkQueue(b *testing.B) {
	for _, workers := range []int{1, 3} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			srv := natstest.Start(b)
			cfg := Config{Prefix: "bench"}
			client, err := NewClient(b.Context(), srv.Connect(b), cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var ws []*Worker
			var wg sync.WaitGroup
			for i := range workers {
				w, err := NewWorker(b.Context(), srv.Connect(b), cfg, WorkerOptions{Name: fmt.Sprint("w", i), Concurrency: 4, Handler: noop, FetchWait: 200 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				ws = append(ws, w)
				wg.Go(func() { _ = w.Run(ctx) })
			}
			defer func() { cancel(); wg.Wait() }()
			done := func() int64 {
				var n int64
				for _, w := range ws {
					n += w.Stats().OK
				}
				return n
			}
			const submitters = 8
			b.ResetTimer()
			start := time.Now()
			var sg sync.WaitGroup
			for s := range submitters {
				sg.Go(func() {
					for i := s; i < b.N; i += submitters {
						if _, err := client.Submit(b.Context(), Job{ID: fmt.Sprintf("b-%d", i), Body: []byte(`{}`)}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			sg.Wait()
			for done() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "jobs/s")
		})
	}
}

// BenchmarkDirect is the baseline of BenchmarkQueue: the no-op handler
// called directly.
func BenchmarkDirect(b *testing.B) {
	job := &Job{ID: "x", Body: []byte(`{}`)}
	out := &Output{id: "x"}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := noop.Run(context.Background(), job, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}
