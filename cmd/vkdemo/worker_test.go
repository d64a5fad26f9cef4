package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	stdio "io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/shaders"
)

// runawayJob is an uploaded kernel that does not end in any useful time
// (testdata/runaway.comp over 65535x65535 workgroups).
func runawayJob(t testing.TB) (string, map[string][]byte) {
	t.Helper()
	spirv, err := os.ReadFile("testdata/runaway.spv")
	if err != nil {
		t.Fatal(err)
	}
	return `{"bind":{"0":"zeros:16"},"types":{"0":"u32"},"groups":[65535,65535,1]}`, map[string][]byte{"spirv": spirv}
}

// checkNormalJobs runs a built-in and an uploaded saxpy job and checks
// every number: what a server must still do after an attack.
func checkNormalJobs(t testing.TB, addr, after string) {
	t.Helper()
	r := rand.New(rand.NewPCG(11, 12))
	job, parts, a, x, y := saxpyJob(r, 3000, 2)
	res := postJob(t, addr, job, parts)
	if res.status != 200 || res.err != "" || len(res.frames) != 2 {
		t.Fatalf("built-in saxpy after %s: %+v", after, res)
	}
	checkSaxpy(t, "built-in saxpy after "+after, a, x, y, 2, f32s(res.frames[1].data))
	job, parts, a, x, y = saxpyJob(r, 1000, 1)
	job = strings.Replace(job, `"kernel":"saxpy",`, "", 1)
	parts["spirv"] = shaders.SAXPY()
	res = postJob(t, addr, job, parts)
	if res.status != 200 || res.err != "" || len(res.frames) != 1 {
		t.Fatalf("uploaded saxpy after %s: %+v", after, res)
	}
	checkSaxpy(t, "uploaded saxpy after "+after, a, x, y, 1, f32s(res.frames[0].data))
}

// waitRunning waits until the server runs n jobs.
func waitRunning(t testing.TB, addr string, n float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for getJSON(t, addr, "/healthz")["running"].(float64) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the server never ran %v job(s)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeWorkerRunaway: an uploaded kernel that does not end is killed
// at --job-timeout (504 or an error line), the server then runs normal
// jobs right; normal jobs run right beside a runaway, and with one
// running, SIGTERM ends the server with status 0 within --grace + 5 s.
func TestServeWorkerRunaway(t *testing.T) {
	srv := startServe(t, nil, "--job-timeout", "2s", "--grace", "1s")
	job, parts := runawayJob(t)
	start := time.Now()
	res := postJob(t, srv.addr, job, parts)
	took := time.Since(start)
	if !(res.status == 504 || res.status == 200 && res.done == nil) || !strings.Contains(res.err, "--job-timeout (2s)") {
		t.Fatalf("runaway job: %+v", res)
	}
	t.Logf("runaway job ended after %v: %d %s", took, res.status, res.err)
	if took > 30*time.Second {
		t.Errorf("runaway job took %v to end with --job-timeout 2s", took)
	}
	checkNormalJobs(t, srv.addr, "a runaway job")
	srv.stop(t)

	// A runaway whose client goes away is killed.
	srv = startServe(t, nil, "--job-timeout", "10m", "--grace", "1s")
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		req := multipartRequest(ctx, srv.addr, job, parts)
		resp, err := httpClient.Do(req)
		if err == nil {
			_, err = stdio.Copy(stdio.Discard, resp.Body)
			resp.Body.Close()
		}
		left <- err
	}()
	waitRunning(t, srv.addr, 1)
	cancel()
	<-left
	deadline := time.Now().Add(30 * time.Second)
	for getJSON(t, srv.addr, "/healthz")["running"].(float64) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the runaway job of a client that left still runs after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Normal jobs run beside a runaway, and SIGTERM ends it.
	type outcome struct {
		res jobResult
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		r, err := tryPostJob(srv.addr, job, parts)
		got <- outcome{r, err}
	}()
	waitRunning(t, srv.addr, 1)
	checkNormalJobs(t, srv.addr, "nothing, beside a runaway job")
	// The normal jobs' responses may end a moment before the server counts
	// them done: wait for the count to settle on the runaway alone.
	deadline = time.Now().Add(30 * time.Second)
	for h := getJSON(t, srv.addr, "/healthz"); h["running"].(float64) != 1; h = getJSON(t, srv.addr, "/healthz") {
		if h["running"].(float64) < 1 || time.Now().After(deadline) {
			t.Fatalf("the runaway job is not running: %v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sig := time.Now()
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.done:
	case <-time.After(6 * time.Second):
		t.Fatalf("SIGTERM with a runaway job and --grace 1s: still running after 6s\n%s%s", srv.stdout, srv.stderr)
	}
	t.Logf("exited %v after SIGTERM", time.Since(sig))
	srv.checkExit(t)
	o := <-got
	if o.err != nil || !(o.res.status == 503 || o.res.status == 200 && strings.Contains(o.res.err, "shutting down")) {
		t.Fatalf("runaway job at shutdown: %v %+v", o.err, o.res)
	}
}

// TestServeWorkerCrash: a worker that dies of SIGSEGV mid-stream (the
// test-only crash) gives its client an error line naming the signal; the
// server goes on serving.
func TestServeWorkerCrash(t *testing.T) {
	srv := startServe(t, []string{workerCrashEnv + "=666"})
	r := rand.New(rand.NewPCG(1, 2))
	for range 2 {
		job, parts, _, _, _ := saxpyJob(r, 512, 3)
		job = strings.Replace(job, `"kernel":"saxpy",`, `"seed":666,`, 1)
		parts["spirv"] = shaders.SAXPY()
		res := postJob(t, srv.addr, job, parts)
		if res.status != 200 || res.err != "worker crashed: signal SIGSEGV" || len(res.frames) != 1 {
			t.Fatalf("crashing job: status %d, error %q, %d frames", res.status, res.err, len(res.frames))
		}
		checkNormalJobs(t, srv.addr, "a worker crash")
	}
	// Before the stream: 500.
	job, parts, _, _, _ := saxpyJob(r, 512, 1)
	job = strings.Replace(job, `"kernel":"saxpy",`, `"seed":667,`, 1)
	parts["spirv"] = shaders.SAXPY()
	res := postJob(t, srv.addr, job, parts)
	if res.status != 500 || res.err != "worker crashed: signal SIGSEGV" {
		t.Fatalf("job crashing before its stream: status %d, error %q", res.status, res.err)
	}
	checkNormalJobs(t, srv.addr, "a worker crash before the stream")
	srv.stop(t)
	if !strings.Contains(srv.stdout.String(), "3 crashed") {
		t.Errorf("stop line does not count 3 crashes:\n%s", srv.stdout)
	}
}

// TestServeWorkerInvalidModule: the module that crashed the server (a
// compute shader reading BuiltIn Position), sent to the driver without the
// validation layer, and the runaway kernel at --job-timeout, leave the
// server serving.
func TestServeWorkerInvalidModule(t *testing.T) {
	pos, err := os.ReadFile("testdata/pos.spv")
	if err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, []string{"VKIO_VALIDATION=0"}, "--job-timeout", "5s")
	job := `{"push":"u32:16,u32:16,f32:-2,f32:-2,f32:0.25,f32:0.25,f32:0,f32:0,u32:64,u32:0","bind":{"0":"zeros:256"},"groups":[1,1,1]}`
	for i := range 2 {
		res, err := tryPostJob(srv.addr, job, map[string][]byte{"spirv": pos})
		if err != nil {
			t.Fatalf("pos.spv job %d: %v\n%s", i, err, srv.stderr)
		}
		t.Logf("pos.spv job %d: status %d, error %q, %d frames", i, res.status, res.err, len(res.frames))
		// SPIRV-Tools rejects it before admission: it never reaches a
		// worker, let alone the driver.
		if res.status != 400 || !strings.Contains(res.err, "invalid for vulkan") {
			t.Errorf("pos.spv job %d: status %d, error %q; want 400 from validation", i, res.status, res.err)
		}
		checkNormalJobs(t, srv.addr, "pos.spv")
	}
	srv.stop(t)
}

// TestServeWorkerHeavyBuiltin: a built-in job over inProcessMaxWork runs
// in a worker, a light one does not; an endless one obeys --job-timeout.
func TestServeWorkerHeavyBuiltin(t *testing.T) {
	srv := startServe(t, nil)
	checkNormalJobs(t, srv.addr, "nothing") // one worker, for the uploaded saxpy
	heavy := `{"kernel":"julia","bind":{"0":"zeros:65536"},"grid":[256,256],"push":"u32:256,u32:256,f32:-2,f32:-2,f32:0.015625,f32:0.015625,f32:-0.8,f32:0.156,u32:8192,u32:1"}`
	res := postJob(t, srv.addr, heavy, nil)
	if res.status != 200 || res.done == nil || len(res.frames) != 1 {
		t.Fatalf("heavy julia: %+v", res)
	}
	// A light job runs in-process; the same module uploaded runs in the
	// worker: the same pixels.
	light := strings.Replace(heavy, "u32:8192,u32:1", "u32:64,u32:1", 1)
	res2 := postJob(t, srv.addr, light, nil)
	res3 := postJob(t, srv.addr, strings.Replace(light, `"kernel":"julia",`, "", 1), map[string][]byte{"spirv": shaders.Julia()})
	if res2.status != 200 || res2.done == nil || res3.status != 200 || res3.done == nil || len(res2.frames) != 1 || len(res3.frames) != 1 {
		t.Fatalf("light julia: %+v, uploaded: %+v", res2, res3)
	}
	if !bytes.Equal(res2.frames[0].data, res3.frames[0].data) {
		t.Errorf("julia in-process and in a worker differ")
	}
	srv.stop(t)
	// The uploaded saxpy and the heavy julia needed a worker; reused.
	if !strings.Contains(srv.stdout.String(), "1 worker(s) started") {
		t.Errorf("want one worker started (for the uploaded and the heavy job):\n%s", srv.stdout)
	}

	// A built-in job that would run for hours (every pixel inside the
	// Mandelbrot set, maxIter 2^32-1, 1000 iterations) obeys --job-timeout.
	srv = startServe(t, nil, "--job-timeout", "2s")
	endless := `{"kernel":"julia","bind":{"0":"zeros:65536"},"grid":[256,256],"iterations":1000,"outputs":[],"push":"u32:256,u32:256,f32:-0.25,f32:-0.25,f32:0.001953125,f32:0.001953125,f32:0,f32:0,u32:4294967295,u32:0"}`
	start := time.Now()
	res = postJob(t, srv.addr, endless, nil)
	if !(res.status == 504 || res.status == 200 && res.done == nil) || !strings.Contains(res.err, "--job-timeout (2s)") {
		t.Fatalf("endless julia: %+v", res)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("endless julia took %v to end with --job-timeout 2s", took)
	}
	checkNormalJobs(t, srv.addr, "an endless built-in job")
	srv.stop(t)
}

// TestWorkerJobWork: the work estimate that picks the in-process path.
func TestWorkerJobWork(t *testing.T) {
	s := &server{cfg: serveConfig{maxRequest: 32 << 20}}
	for _, c := range []struct {
		job  string
		want uint64
	}{
		{`{"kernel":"saxpy","bind":{"0":"rand:1M","1":"zeros"},"push":"f32:1,u32:1048576"}`, 1 << 20},
		{`{"kernel":"saxpy","bind":{"0":"rand:1000","1":"zeros"},"push":"f32:1,u32:1000"}`, 1024},
		{`{"kernel":"saxpy","bind":{"0":"rand:1000","1":"zeros"},"push":"f32:1,u32:1000","spec":{"0":64}}`, 1024},
		{`{"kernel":"saxpy","bind":{"0":"rand:1000","1":"zeros"},"push":"f32:1,u32:1000","groups":[65535,100,1]}`, 65535 * 100 * 256},
		{`{"kernel":"saxpy","bind":{"0":"rand:1000","1":"zeros"},"push":"f32:1,u32:1000","groups":[65535,100,1],"spec":{"0":1}}`, 65535 * 100},
		{`{"kernel":"tiny","bind":{"0":"zeros:1"},"grid":[1000,1000,1]}`, 1000 * 1000},
		{`{"kernel":"reduce","bind":{"0":"iota:4096","1":"zeros:4"},"push":"u32:4096","spec":{"0":16}}`, 4096 * 16},
		{`{"kernel":"julia","bind":{"0":"zeros:65536"},"grid":[256,256],"push":"u32:256,u32:256,f32:-2,f32:-2,f32:0.015625,f32:0.015625,f32:-0.8,f32:0.156,u32:3000,u32:1"}`, 65536 * 3001},
	} {
		j, herr := s.parseJob(&request{req: jsonRequest(), body: []byte(c.job)})
		if herr != nil {
			t.Fatalf("%s: %v", c.job, herr)
		}
		if got := jobWork(j, s.cfg.maxRequest); got != c.want {
			t.Errorf("%s: work %d, want %d", c.job, got, c.want)
		}
	}
}

// TestWorkerProtocol: frames round-trip, and a frame over its cap is
// refused before its payload is read or allocated.
func TestWorkerProtocol(t *testing.T) {
	var b bytes.Buffer
	fw := newFrameWriter(&b)
	head := []byte(`{"iter":0}`)
	if err := fw.write(frameOut, lenPrefixed(head), head, []byte("data")); err != nil {
		t.Fatal(err)
	}
	typ, p, err := readFrame(bufio.NewReader(&b), func(byte) int64 { return 100 })
	if err != nil || typ != frameOut {
		t.Fatal(typ, err)
	}
	h, rest, err := splitPrefixed(p, 64)
	if err != nil || string(h) != string(head) || string(rest) != "data" {
		t.Fatalf("%q %q %v", h, rest, err)
	}
	// 4 GiB announced: refused from the header alone.
	huge := []byte{frameOut, 0xff, 0xff, 0xff, 0xff}
	if _, _, err := readFrame(bufio.NewReader(bytes.NewReader(huge)), func(byte) int64 { return 1 << 20 }); err == nil || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("4 GiB frame: %v", err)
	}
	if _, _, err := splitPrefixed([]byte{0, 0, 1, 0, 'x'}, 1<<20); err == nil {
		t.Fatal("head longer than its frame accepted")
	}
}

// FuzzWorkerProtocol: the frame reader and the head splitter never panic
// and never return more than their caps.
func FuzzWorkerProtocol(f *testing.F) {
	var b bytes.Buffer
	fw := newFrameWriter(&b)
	head := []byte(`{"iter":0,"binding":1,"type":"f32","count":1,"bytes":4}`)
	_ = fw.write(frameOut, lenPrefixed(head), head, []byte{0, 0, 128, 63})
	_ = fw.write(frameEnd, []byte(`{"done":{"done":true}}`))
	f.Add(b.Bytes())
	f.Add([]byte{frameOut, 0, 0, 0, 4, 0, 0, 0, 9})
	f.Add([]byte{frameStart, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		const c = 1 << 12
		br := bufio.NewReader(bytes.NewReader(data))
		for {
			_, p, err := readFrame(br, func(typ byte) int64 {
				if typ == frameJob {
					return 0
				}
				return c
			})
			if err != nil {
				return
			}
			if len(p) > c {
				t.Fatalf("payload of %d bytes over the cap %d", len(p), c)
			}
			if h, rest, err := splitPrefixed(p, 64); err == nil && (len(h) > 64 || len(h)+len(rest)+4 != len(p)) {
				t.Fatalf("split %d+%d of %d", len(h), len(rest), len(p))
			}
		}
	})
}

// TestRunTimeout: `vkdemo run --timeout 2s` on a runaway kernel exits 1
// with a message naming the timeout and the dispatch it gave up.
func TestRunTimeout(t *testing.T) {
	r := vkdemo(t, "", nil, "run", "testdata/runaway.spv", "--bind", "0=zeros:16", "--type", "0=u32", "--groups", "65535,65535", "--timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stderr, "--timeout 2s passed: waiting for the GPU to finish dispatch 1 (65535x65535x1 workgroups)") ||
		!strings.Contains(r.stderr, "vkdemo: run: --timeout 2s passed; the GPU did not finish dispatch 1") {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	// A run that ends in time is not affected.
	r = vkdemo(t, "", nil, "run", repo("shaders/saxpy.spv"), "--bind", "0=iota:64", "--bind", "1=ones", "--push", "f32:2,u32:64", "--timeout", "5m")
	if r.code != 0 || !strings.Contains(r.stdout, "[1 3 5 7") {
		t.Fatalf("saxpy with --timeout 5m: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// startRunaway starts `vkdemo run` on the runaway kernel and waits until
// its dispatch runs: after a first SIGINT, it must say that it waits for
// the GPU. An interrupt that came before the dispatch (a slow start) is
// retried with a longer delay.
func startRunaway(t *testing.T) (*exec.Cmd, *lockedBuf, chan struct{}) {
	t.Helper()
	for _, delay := range []time.Duration{2 * time.Second, 5 * time.Second, 15 * time.Second} {
		cmd := exec.Command(vkdemoBin, "run", "testdata/runaway.spv", "--bind", "0=zeros:16", "--type", "0=u32", "--groups", "65535,65535")
		cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1")
		var stderr lockedBuf
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(done)
		}()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-done
		})
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGINT)
		deadline := time.After(30 * time.Second)
		for !strings.Contains(stderr.String(), "Ctrl-C again to exit now") {
			select {
			case <-done:
			case <-deadline:
				t.Fatalf("no message 30s after SIGINT:\n%s", stderr.String())
			case <-time.After(20 * time.Millisecond):
				continue
			}
			break
		}
		if strings.Contains(stderr.String(), "Ctrl-C again to exit now") {
			return cmd, &stderr, done
		}
		t.Logf("SIGINT after %v came before the dispatch:\n%s", delay, stderr.String())
	}
	t.Fatal("the runaway dispatch never started")
	return nil, nil, nil
}

// TestRunInterrupt: the first Ctrl-C during a runaway dispatch says what
// run waits for and ends it within interruptWait (status 130); a second
// Ctrl-C ends it at once.
func TestRunInterrupt(t *testing.T) {
	t.Run("once", func(t *testing.T) {
		cmd, stderr, done := startRunaway(t)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("still running 60s after SIGINT (interruptWait %v):\n%s", interruptWait, stderr)
		}
		msg := "vkdemo: interrupted: waiting for the GPU to finish dispatch 1 (65535x65535x1 workgroups) (up to 5s); Ctrl-C again to exit now"
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(stderr.String(), msg) ||
			!strings.Contains(stderr.String(), "vkdemo: interrupted: the GPU did not finish dispatch 1") {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
	})
	t.Run("twice", func(t *testing.T) {
		cmd, stderr, done := startRunaway(t)
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("still running 60s after the second SIGINT:\n%s", stderr)
		}
		// It did not wait for interruptWait to pass: no word of it.
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || strings.Contains(stderr.String(), "did not finish") {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
	})
}

// FuzzWorker: mutated shipped shaders, uploaded to a real server (the
// validation layer off, so that they reach the driver), never take the
// server down: each gets a response (a stream, or an error) and the next
// normal job returns the right numbers.
//
//	go test -run '^$' -fuzz FuzzWorker -fuzztime 60s ./cmd/vkdemo/
func FuzzWorker(f *testing.F) {
	for _, m := range [][]byte{shaders.SAXPY(), shaders.Reduce(), shaders.Julia(), shaders.Tiny()} {
		f.Add(m)
	}
	for _, name := range []string{"testdata/pos.spv", "testdata/square.spv"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	srv := startServe(f, []string{"VKIO_VALIDATION=0"}, "--job-timeout", "5s", "--max-jobs", "2")
	f.Cleanup(func() { srv.stop(f) })
	f.Fuzz(func(t *testing.T, spirv []byte) {
		res, err := tryPostJob(srv.addr, fuzzJob(spirv), map[string][]byte{"spirv": spirv})
		if err != nil {
			select {
			case <-srv.done:
				t.Fatalf("the server died: exit %d\n%s", srv.code, srv.stderr)
			default:
			}
			t.Fatalf("no whole response: %v", err)
		}
		switch res.status {
		case 200, 400, 413, 500, 504:
			t.Logf("status %d, %d frames, error %.120q", res.status, len(res.frames), res.err)
		default:
			t.Fatalf("status %d: %s", res.status, res.err)
		}
		r := rand.New(rand.NewPCG(uint64(len(spirv)), 1))
		job, parts, a, x, y := saxpyJob(r, 256, 1)
		next, err := tryPostJob(srv.addr, job, parts)
		if err != nil || next.status != 200 || len(next.frames) != 1 {
			t.Fatalf("normal job after a fuzzed one: %v %+v", err, next)
		}
		checkSaxpy(t, "after a fuzzed module", a, x, y, 1, f32s(next.frames[0].data))
	})
}

// fuzzJob builds a job that fits what the module declares, when it can be
// reflected, so that mutants get past the job checks to the driver: zero
// push constants of the reflected size, one workgroup, 4 KiB bindings.
func fuzzJob(spirv []byte) string {
	push := 0
	if r, err := gpu.Reflect(spirv); err == nil && r.PushSize <= 256 {
		push = r.PushSize
	}
	var p []string
	for range push / 4 {
		p = append(p, "u32:0")
	}
	for range push % 4 {
		p = append(p, "u8:0")
	}
	pushJSON := ""
	if len(p) > 0 {
		pushJSON = fmt.Sprintf(`,"push":%q`, strings.Join(p, ","))
	}
	return fmt.Sprintf(`{"size":"4KiB","groups":[1,1,1]%s}`, pushJSON)
}

// multipartRequest builds POST /jobs with the job and parts as multipart.
func multipartRequest(ctx context.Context, addr, job string, parts map[string][]byte) *http.Request {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("job", job)
	for name, data := range parts {
		w, _ := mw.CreateFormFile(name, name+".bin")
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/jobs", bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// jsonRequest is the request of a job sent as JSON alone.
func jsonRequest() *http.Request {
	return &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}}
}

// TestServeWorkerSave: a job run in a worker saves under --out with the
// same confinement as the server: inside, atomically, never through a
// symbolic link.
func TestServeWorkerSave(t *testing.T) {
	tmp := t.TempDir()
	out, outside := filepath.Join(tmp, "out"), filepath.Join(tmp, "outside")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(out, "link")); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, nil, "--out", out)
	up := map[string][]byte{"spirv": shaders.SAXPY()}
	res := postJob(t, srv.addr, `{"bind":{"0":"iota:100","1":"ones"},"push":"f32:2,u32:100","save":{"1":"w/y.npy"}}`, up)
	if res.status != 200 || res.done == nil || len(res.frames) != 1 {
		t.Fatalf("save from a worker: %+v", res)
	}
	npy := readNpy(t, filepath.Join(out, "w", "y.npy"))
	if npy.descr != "<f4" || npy.shape != "100," || !bytes.Equal(npy.data, res.frames[0].data) || f32s(npy.data)[99] != 199 {
		t.Errorf("saved y.npy: %s %s, data differs from the stream", npy.descr, npy.shape)
	}
	res = postJob(t, srv.addr, `{"bind":{"0":"iota:8"},"push":"f32:2,u32:8","save":{"1":"link/evil.npy"}}`, up)
	if res.status != 200 || !strings.Contains(res.err, "symbolic link") {
		t.Errorf("save through a symbolic link from a worker: %d %q", res.status, res.err)
	}
	res = postJob(t, srv.addr, `{"bind":{"0":"iota:8"},"push":"f32:2,u32:8","save":{"1":"../evil.npy"}}`, up)
	if res.status != 400 || !strings.Contains(res.err, "'..' is not allowed") {
		t.Errorf("save ../evil.npy: %d %q", res.status, res.err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files escaped into %s: %v", outside, ents)
	}
	srv.stop(t)
	checkNoTempFiles(t, out)
}
