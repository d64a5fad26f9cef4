package main

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// The cost of isolation per job: the same tiny saxpy job (1024 floats in x
// and y as multipart parts, y streamed back) through a real server, run in
// the server process (the built-in kernel) or in a warm worker (the same
// module uploaded as SPIR-V). The difference is the process hop: the
// request body over a pipe to the worker, its re-parse there, the outputs
// back over a pipe. The validation layer is off, as in BenchmarkServe.
//
//	go test -run '^$' -bench 'Job(InProcess|Worker|Isolation)$|WorkerColdStart' -benchtime 200x ./cmd/vkdemo/
func BenchmarkJobInProcess(b *testing.B) { benchJob(b, false) }

// BenchmarkJobWorker: see BenchmarkJobInProcess.
func BenchmarkJobWorker(b *testing.B) { benchJob(b, true) }

func benchJob(b *testing.B, upload bool) {
	srv := startServe(b, []string{"VKIO_VALIDATION=0"}, "--max-jobs", "1")
	r := rand.New(rand.NewPCG(5, 6))
	job, parts, a, x, y := saxpyJob(r, 1024, 1)
	if upload {
		job = strings.Replace(job, `"kernel":"saxpy",`, "", 1)
		parts["spirv"] = shaders.SAXPY()
	}
	// Warm: the kernel cache, and the worker.
	res := postJob(b, srv.addr, job, parts)
	if res.status != 200 || len(res.frames) != 1 {
		b.Fatalf("warm-up job: %+v", res)
	}
	checkSaxpy(b, "bench", a, x, y, 1, f32s(res.frames[0].data))
	b.ResetTimer()
	for range b.N {
		res, err := tryPostJob(srv.addr, job, parts)
		if err != nil || res.status != 200 || len(res.frames) != 1 {
			b.Fatalf("job: %v %+v", err, res)
		}
	}
	b.StopTimer()
	srv.stop(b)
	want := "0 worker(s) started"
	if upload {
		want = "1 worker(s) started"
	}
	if !strings.Contains(srv.stdout.String(), want) {
		b.Fatalf("want %q:\n%s", want, srv.stdout)
	}
}

// BenchmarkJobIsolation runs the jobs of BenchmarkJobInProcess and
// BenchmarkJobWorker alternately on one server, so that both see the same
// machine load, and reports their ratio (worker/in-process) and each one's
// mean time per job.
func BenchmarkJobIsolation(b *testing.B) {
	srv := startServe(b, []string{"VKIO_VALIDATION=0"}, "--max-jobs", "1")
	defer srv.stop(b)
	r := rand.New(rand.NewPCG(5, 6))
	job, parts, _, _, _ := saxpyJob(r, 1024, 1)
	upJob := strings.Replace(job, `"kernel":"saxpy",`, "", 1)
	upParts := map[string][]byte{"spirv": shaders.SAXPY(), "binding0": parts["binding0"], "binding1": parts["binding1"]}
	post := func(job string, parts map[string][]byte) time.Duration {
		t0 := time.Now()
		res, err := tryPostJob(srv.addr, job, parts)
		if err != nil || res.status != 200 || len(res.frames) != 1 {
			b.Fatalf("job: %v %+v", err, res)
		}
		return time.Since(t0)
	}
	post(job, parts)
	post(upJob, upParts)
	var in, wk time.Duration
	b.ResetTimer()
	for range b.N {
		in += post(job, parts)
		wk += post(upJob, upParts)
	}
	b.StopTimer()
	b.ReportMetric(float64(wk)/float64(in), "worker/in-process")
	b.ReportMetric(float64(in.Microseconds())/float64(b.N), "in-process-us/job")
	b.ReportMetric(float64(wk.Microseconds())/float64(b.N), "worker-us/job")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWorkerColdStart: starting a worker process until its device is
// open (exec, Vulkan instance and device, the ready frame), then stopping
// it: what the first job of a fresh worker waits for, once.
func BenchmarkWorkerColdStart(b *testing.B) {
	be, err := io.New("threaded")
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	x := be.Io()
	env := append(os.Environ(), "VKIO_VALIDATION=0")
	p := newWorkerPool(vkdemoBin, []string{workerCommand, "--max-request", "1048576"}, env, os.Stderr)
	defer p.close()
	for range b.N {
		w, err := p.get(x)
		if err != nil {
			b.Fatal(err)
		}
		p.discard(w)
	}
}
