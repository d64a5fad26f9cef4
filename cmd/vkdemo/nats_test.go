package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vkio/vkio/cluster"
	"github.com/vkio/vkio/cluster/natstest"
	"github.com/vkio/vkio/shaders"
)

// The NATS tests run a real embedded nats-server (cluster/natstest: loopback,
// JetStream on a temporary file store) in the test process, and real
// `vkdemo worker` processes (the built binary, validation layer on) that
// pull jobs from it. The test submits jobs with the cluster Client and
// checks every result.

// testAckWait is the queue's ack wait in these tests: short, so that a
// killed worker's job is redelivered soon.
const testAckWait = 2 * time.Second

// testQueue is the queue Config the tests' clients use; the workers get
// the same through their flags (natsWorkerArgs).
func testQueue() cluster.Config {
	return cluster.Config{AckWait: testAckWait, MaxDeliver: 3}
}

// natsWorkerProc is a `vkdemo worker` process.
type natsWorkerProc struct {
	name   string
	cmd    *exec.Cmd
	stdout *lockedBuf
	stderr *lockedBuf
	done   chan struct{}
	code   int
}

// startNATSWorker starts `vkdemo worker --nats url --name name` with args,
// the validation layer on and env added, and waits until it pulls jobs.
func startNATSWorker(t testing.TB, url, name string, env []string, args ...string) *natsWorkerProc {
	t.Helper()
	p := &natsWorkerProc{name: name, stdout: &lockedBuf{}, stderr: &lockedBuf{}, done: make(chan struct{})}
	all := append([]string{"worker", "--nats", url, "--name", name, "--ack-wait", testAckWait.String(), "--max-deliver", "3"}, args...)
	p.cmd = exec.Command(vkdemoBin, all...)
	p.cmd.Env = append(append(os.Environ(), "VKIO_VALIDATION=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = -int(ws.Signal())
			}
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	p.waitOutput(t, p.stdout, "pulling jobs from", 90*time.Second)
	return p
}

// waitOutput waits until buf (the worker's stdout or stderr) contains s.
func (p *natsWorkerProc) waitOutput(t testing.TB, buf *lockedBuf, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(buf.String(), s) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("worker %s exited %d before %q:\n%s%s", p.name, p.code, s, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("worker %s: no %q within %s:\n%s%s", p.name, s, d, p.stdout, p.stderr)
}

// stop sends SIGINT and checks a clean exit: status 0, no validation
// message, race or panic.
func (p *natsWorkerProc) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	p.stopped(t)
}

// stopped waits for the worker to exit after a SIGINT and checks that it
// exited cleanly.
func (p *natsWorkerProc) stopped(t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %s did not stop on SIGINT:\n%s%s", p.name, p.stdout, p.stderr)
	}
	errs := p.stderr.String()
	if p.code != 0 || strings.Contains(errs, "validation layer") || strings.Contains(errs, "DATA RACE") || strings.Contains(errs, "panic") {
		t.Fatalf("worker %s: exit %d\nstdout:\n%s\nstderr:\n%s", p.name, p.code, p.stdout, errs)
	}
	if !strings.Contains(p.stdout.String(), "vkdemo worker: stopped:") {
		t.Fatalf("worker %s: no stop line:\n%s", p.name, p.stdout)
	}
}

// testJob is a job the tests submit, with what its result must be.
type testJob struct {
	id     string
	ct     string
	body   []byte
	want   []float32 // binding 1 after the job
	save   string    // the job's save path of binding 1, or ""
	result *cluster.Result
}

// newTestJob makes job i: saxpy on n elements, distinct per job. Even jobs
// are JSON with generated inputs (x = iota, y = fill:i), odd ones multipart
// with random x and y parts (seeded by i). seed and save, when set, go
// into the job.
func newTestJob(prefix string, i, n, iters int, seed *uint64, save string) *testJob {
	tj := &testJob{id: fmt.Sprintf("%s-%d", prefix, i), save: save}
	a := float32(i%97) + 0.5
	extra := ""
	if seed != nil {
		extra += fmt.Sprintf(`,"seed":%d`, *seed)
	}
	if save != "" {
		extra += fmt.Sprintf(`,"save":{"1":%q}`, save)
	}
	var x, y []float32
	if i%2 == 0 {
		x, y = make([]float32, n), make([]float32, n)
		for k := range x {
			x[k], y[k] = float32(k), float32(i)
		}
		tj.ct = "application/json"
		tj.body = fmt.Appendf(nil, `{"kernel":"saxpy","bind":{"0":"iota:%d","1":"fill:%d"},"push":"f32:%g,u32:%d","iterations":%d%s}`, n, i, a, n, iters, extra)
	} else {
		r := rand.New(rand.NewPCG(uint64(i), 17))
		x, y = make([]float32, n), make([]float32, n)
		for k := range x {
			x[k], y[k] = r.Float32()*2-1, r.Float32()*100
		}
		spec := fmt.Sprintf(`{"kernel":"saxpy","push":"f32:%g,u32:%d","iterations":%d%s}`, a, n, iters, extra)
		tj.ct, tj.body = jobMultipart(spec, map[string][]byte{"binding0": f32Bytes(x), "binding1": f32Bytes(y)})
	}
	tj.want = make([]float32, n)
	for k := range y {
		v := y[k]
		for range iters {
			v = a*x[k] + v
		}
		tj.want[k] = v
	}
	return tj
}

// jobMultipart is a multipart/form-data body with the job and parts.
func jobMultipart(job string, parts map[string][]byte) (string, []byte) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("job", job)
	for _, name := range []string{"spirv", "binding0", "binding1", "binding2"} {
		if data, ok := parts[name]; ok {
			w, _ := mw.CreateFormFile(name, name+".bin")
			_, _ = w.Write(data)
		}
	}
	_ = mw.Close()
	return mw.FormDataContentType(), body.Bytes()
}

// check checks the job's result: ok, binding 1 as computed, and its save.
func (tj *testJob) check(ctx context.Context, c *cluster.Client, res *cluster.Result) error {
	if res.Status != cluster.StatusOK {
		return fmt.Errorf("job %s: status %s: %s", tj.id, res.Status, res.Error)
	}
	var data natsJobResult
	if err := json.Unmarshal(res.Data, &data); err != nil {
		return fmt.Errorf("job %s: result data: %v", tj.id, err)
	}
	if data.Done == nil || data.Done.Iterations < 1 {
		return fmt.Errorf("job %s: no done line in %s", tj.id, res.Data)
	}
	var got []byte
	for _, o := range data.Outputs {
		if o.Binding == 1 {
			got = o.Data
		}
	}
	if err := compareF32(got, tj.want); err != nil {
		return fmt.Errorf("job %s: binding 1: %v", tj.id, err)
	}
	if tj.save == "" {
		return nil
	}
	name, ok := data.Saves[tj.save]
	if !ok {
		return fmt.Errorf("job %s: save %s missing from %s", tj.id, tj.save, res.Data)
	}
	b, err := c.ObjectBytes(ctx, res.Outputs[name])
	if err != nil {
		return fmt.Errorf("job %s: save object: %v", tj.id, err)
	}
	if !bytes.HasPrefix(b, []byte("\x93NUMPY")) || len(b) < 4*len(tj.want) {
		return fmt.Errorf("job %s: save object is not a .npy file: %q", tj.id, b[:min(len(b), 16)])
	}
	return compareF32(b[len(b)-4*len(tj.want):], tj.want)
}

// compareF32 compares little-endian float32s with want (relative 1e-6: the
// GPU may fuse the multiply-add).
func compareF32(got []byte, want []float32) error {
	if len(got) != 4*len(want) {
		return fmt.Errorf("%d bytes, want %d", len(got), 4*len(want))
	}
	for k, w := range want {
		g := math.Float32frombits(binary.LittleEndian.Uint32(got[4*k:]))
		if d := math.Abs(float64(g - w)); d > 1e-6*math.Max(1, math.Abs(float64(w))) {
			return fmt.Errorf("element %d = %g, want %g", k, g, w)
		}
	}
	return nil
}

// natsTestEnv is an embedded server and a client of its queue.
type natsTestEnv struct {
	srv *natstest.Server
	nc  *nats.Conn
	c   *cluster.Client
	js  jetstream.JetStream
}

func newNATSTestEnv(t testing.TB) *natsTestEnv {
	t.Helper()
	srv := natstest.Start(t)
	nc := srv.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cluster.NewClient(ctx, nc, testQueue())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &natsTestEnv{srv: srv, nc: nc, c: c, js: js}
}

// submit queues the jobs, 4 at a time.
func (e *natsTestEnv) submit(t testing.TB, ctx context.Context, jobs []*testJob) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				tj := jobs[i]
				rc, err := e.c.Submit(ctx, cluster.Job{ID: tj.id, ContentType: tj.ct, Body: tj.body})
				if err == nil && (rc.ID != tj.id || rc.Duplicate) {
					err = fmt.Errorf("receipt %+v", rc)
				}
				if err != nil {
					errs <- fmt.Errorf("submit %s: %v", tj.id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// waitAll waits for every job's result (retrying through a server restart)
// and checks it; onResult, if set, is called after each.
func (e *natsTestEnv) waitAll(t testing.TB, ctx context.Context, jobs []*testJob, onResult func(n int)) {
	t.Helper()
	var next, finished atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				tj := jobs[i]
				var res *cluster.Result
				var err error
				for {
					// Each wait bounded: a JetStream request lost in a
					// server restart is waited out to its context's
					// deadline, so a client retries with short ones.
					wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					res, err = e.c.Wait(wctx, tj.id)
					cancel()
					if err == nil || ctx.Err() != nil {
						break
					}
					time.Sleep(100 * time.Millisecond) // the server restarting
				}
				if err == nil {
					tj.result = res
					err = tj.check(ctx, e.c, res)
				}
				if err != nil {
					errs <- err
					continue
				}
				if onResult != nil {
					onResult(int(finished.Add(1)))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// streamMsgs is the number of messages in the queue's stream name
// ("results", "jobs", "dead").
func (e *natsTestEnv) streamMsgs(t testing.TB, ctx context.Context, name string) uint64 {
	t.Helper()
	s, err := e.js.Stream(ctx, cluster.DefaultPrefix+"_"+name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// checkOnce checks that the results stream holds exactly one result per
// job, and that the jobs stream is empty (every job acked).
func (e *natsTestEnv) checkOnce(t testing.TB, ctx context.Context, jobs []*testJob) {
	t.Helper()
	if n := e.streamMsgs(t, ctx, "results"); n != uint64(len(jobs)) {
		t.Errorf("results stream holds %d results for %d jobs", n, len(jobs))
	}
	if n := e.waitJobsDrained(t, ctx); n != 0 {
		st, err := e.c.Stats(ctx)
		t.Errorf("jobs stream still holds %d jobs after every result (queue %+v, %v)", n, st, err)
	}
}

// waitJobsDrained waits up to 10 s for the jobs stream to be empty (a
// job's message is removed when its ack lands, after its result) and
// returns the messages left.
func (e *natsTestEnv) waitJobsDrained(t testing.TB, ctx context.Context) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.streamMsgs(t, ctx, "jobs") != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return e.streamMsgs(t, ctx, "jobs")
}

// jobObjects lists the names of job id's output objects.
func (e *natsTestEnv) jobObjects(t testing.TB, ctx context.Context, id string) []string {
	t.Helper()
	obs, err := e.js.ObjectStore(ctx, cluster.DefaultPrefix+"_objects")
	if err != nil {
		t.Fatal(err)
	}
	// Each List bounded and tried again: nats.go's List can wait for ctx
	// when the store changes as the listing starts.
	var list []*jetstream.ObjectInfo
	for range 10 {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		list, err = obs.List(lctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			break
		}
	}
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list {
		if strings.HasPrefix(o.Name, "out/"+id+"/") {
			names = append(names, o.Name)
		}
	}
	return names
}

// TestNATSWorkers: 3 worker processes and 1000 small jobs (saxpy on 4 or 8
// elements, each with its own inputs, half JSON, half multipart): every job
// has exactly one result, and it is correct; every worker ran some.
func TestNATSWorkers(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var ws []*natsWorkerProc
	for i := range 3 {
		ws = append(ws, startNATSWorker(t, e.srv.URL(), fmt.Sprintf("w%d", i), nil, "--jobs", "2"))
	}
	const n = 1000
	jobs := make([]*testJob, n)
	for i := range jobs {
		jobs[i] = newTestJob("j", i, 4+4*(i%2), 1, nil, "")
	}
	start := time.Now()
	e.submit(t, ctx, jobs)
	e.waitAll(t, ctx, jobs, nil)
	t.Logf("%d jobs on 3 workers in %s", n, time.Since(start).Round(time.Millisecond))
	e.checkOnce(t, ctx, jobs)
	ran := map[string]int{}
	for _, tj := range jobs {
		ran[tj.result.Worker]++
	}
	for _, w := range ws {
		if ran[w.name] == 0 {
			t.Errorf("worker %s ran no job (%v)", w.name, ran)
		}
	}
	t.Logf("jobs per worker: %v", ran)
	for _, w := range ws {
		w.stop(t)
	}
}

// TestNATSWorkerKilled: a worker is killed (SIGKILL) in the middle of a job
// whose save is already stored: the job is delivered again and finishes on
// another worker; nothing is lost, the save is one object, each job has one
// result.
func TestNATSWorkerKilled(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seed := uint64(777)
	never := filepath.Join(t.TempDir(), "never")
	a := startNATSWorker(t, e.srv.URL(), "doomed", []string{natsHoldEnv + "=777:" + never}, "--jobs", "1")
	slow := newTestJob("slow", 0, 64, 3, &seed, "kill/y.npy")
	e.submit(t, ctx, []*testJob{slow})
	a.waitOutput(t, a.stderr, "test hold: job "+slow.id, time.Minute)
	small := make([]*testJob, 30)
	for i := range small {
		small[i] = newTestJob("k", i+1, 8, 1, nil, fmt.Sprintf("k/%d.npy", i))
	}
	e.submit(t, ctx, small)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
	b := startNATSWorker(t, e.srv.URL(), "b", nil, "--jobs", "2")
	c := startNATSWorker(t, e.srv.URL(), "c", nil, "--jobs", "2")
	all := append([]*testJob{slow}, small...)
	e.waitAll(t, ctx, all, nil)
	if r := slow.result; r.Worker == "doomed" || r.Deliveries < 2 {
		t.Errorf("the killed worker's job: worker %s, delivery %d; want another worker, delivery >= 2", r.Worker, r.Deliveries)
	}
	e.checkOnce(t, ctx, all)
	for _, tj := range all {
		if objs := e.jobObjects(t, ctx, tj.id); len(objs) != 1 {
			t.Errorf("job %s: %d output objects %v, want its one save", tj.id, len(objs), objs)
		}
	}
	if n := e.streamMsgs(t, ctx, "dead"); n != 0 {
		t.Errorf("%d dead-letter records", n)
	}
	b.stop(t)
	c.stop(t)
}

// TestNATSServerRestart: the NATS server restarts (on its file store) while
// two workers run 300 jobs: no job is lost, each has one correct result.
func TestNATSServerRestart(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	w1 := startNATSWorker(t, e.srv.URL(), "r1", nil, "--jobs", "2", "-v")
	w2 := startNATSWorker(t, e.srv.URL(), "r2", nil, "--jobs", "2", "-v")
	jobs := make([]*testJob, 300)
	for i := range jobs {
		jobs[i] = newTestJob("r", i, 8, 1, nil, "")
	}
	t.Cleanup(func() { // before the workers are killed
		if !t.Failed() {
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := e.c.Stats(sctx)
		t.Logf("queue: %+v %v", st, err)
		for _, tj := range jobs {
			if tj.result != nil {
				continue
			}
			_, rerr := e.c.Result(sctx, tj.id)
			found := "not read"
			if s, err := e.js.Stream(sctx, cluster.DefaultPrefix+"_results"); err == nil {
				if oc, err := s.OrderedConsumer(sctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{cluster.DefaultPrefix + ".results." + tj.id}}); err == nil {
					if m, err := oc.Next(jetstream.FetchMaxWait(2 * time.Second)); err == nil {
						md, _ := m.Metadata()
						found = fmt.Sprintf("found by a consumer at stream seq %d", md.Sequence.Stream)
					} else {
						found = "consumer: " + err.Error()
					}
				}
			}
			t.Logf("job %s has no result read: Result: %v; %s", tj.id, rerr, found)
		}
		for _, w := range []*natsWorkerProc{w1, w2} {
			errs := w.stderr.String()
			t.Logf("worker %s stderr (tail):\n%s", w.name, errs[max(0, len(errs)-8000):])
		}
	})
	e.submit(t, ctx, jobs)
	var restarted sync.Once
	restartErr := make(chan error, 1)
	e.waitAll(t, ctx, jobs, func(n int) {
		if n == 50 {
			restarted.Do(func() { restartErr <- e.srv.Restart(300 * time.Millisecond) })
		}
	})
	select {
	case err := <-restartErr:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("the server was not restarted")
	}
	e.checkOnce(t, ctx, jobs)
	for _, w := range []*natsWorkerProc{w1, w2} {
		if !strings.Contains(w.stderr.String(), "reconnected") {
			t.Errorf("worker %s did not report reconnecting:\n%s", w.name, w.stderr)
		}
		w.stop(t)
	}
}

// TestNATSSlowWorker: a worker busy with a long job (held past several ack
// waits, kept alive by in-progress acks) takes no other job: the 40 jobs
// queued behind it all run on the other worker meanwhile. Then it gets
// SIGINT: it takes no new job, finishes the long one (delivered once), acks
// it and exits 0.
func TestNATSSlowWorker(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seed := uint64(555)
	release := filepath.Join(t.TempDir(), "release")
	slowW := startNATSWorker(t, e.srv.URL(), "slow", []string{natsHoldEnv + "=555:" + release}, "--jobs", "1")
	slow := newTestJob("long", 0, 16, 2, &seed, "")
	e.submit(t, ctx, []*testJob{slow})
	slowW.waitOutput(t, slowW.stderr, "test hold: job "+slow.id, time.Minute)
	held := time.Now()
	fast := startNATSWorker(t, e.srv.URL(), "fast", nil, "--jobs", "2")
	jobs := make([]*testJob, 40)
	for i := range jobs {
		jobs[i] = newTestJob("s", i+1, 8, 1, nil, "")
	}
	e.submit(t, ctx, jobs)
	e.waitAll(t, ctx, jobs, nil)
	for _, tj := range jobs {
		if tj.result.Worker != "fast" {
			t.Errorf("job %s ran on %s, the busy worker", tj.id, tj.result.Worker)
		}
	}
	// Hold the long job past two ack waits: only its in-progress acks keep
	// it from being delivered to the other worker.
	if d := 2*testAckWait + time.Second - time.Since(held); d > 0 {
		time.Sleep(d)
	}
	if _, err := e.c.Result(ctx, slow.id); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("the held job has a result (%v) before it was released", err)
	}
	// SIGINT while the job runs: the worker takes no more jobs, finishes
	// the running one, acks it and exits 0.
	_ = slowW.cmd.Process.Signal(syscall.SIGINT)
	slowW.waitOutput(t, slowW.stdout, "stopping: no more jobs taken; 1 running", time.Minute)
	late := newTestJob("late", 99, 8, 1, nil, "")
	e.submit(t, ctx, []*testJob{late})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitAll(t, ctx, []*testJob{slow, late}, nil)
	if r := slow.result; r.Worker != "slow" || r.Deliveries != 1 {
		t.Errorf("the long job: worker %s, delivery %d; want slow, 1", r.Worker, r.Deliveries)
	}
	if late.result.Worker != "fast" {
		t.Errorf("a job queued after the slow worker's SIGINT ran on %s", late.result.Worker)
	}
	slowW.stopped(t)
	e.checkOnce(t, ctx, append(jobs, slow, late))
	fast.stop(t)
}

// natsQueueArgs are the queue flags of the tests' gateway and submit runs
// (the same queue settings as the workers').
func natsQueueArgs(url string) []string {
	return []string{"--nats", url, "--ack-wait", testAckWait.String(), "--max-deliver", "3"}
}

// postGateway posts a job body to a gateway, with a job ID when id is not "".
func postGateway(t *testing.T, addr, id, ct string, body []byte) jobResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/jobs", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if id != "" {
		req.Header.Set(jobIDHeader, id)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r, err := readJobResponse(resp)
	if err != nil {
		t.Fatalf("POST /jobs (gateway): %v", err)
	}
	return r
}

// TestNATSGateway: `vkdemo serve --nats` answers POST /jobs in serve's
// format with the results of a NATS worker: a multipart job's iterations
// streamed and correct; a bad job a 400 from the gateway's parser (nothing
// queued); a job the worker's device refuses a 400 from the worker; a job
// posted twice with one X-Vkio-Job-Id runs once, the second response made
// from its durable result.
func TestNATSGateway(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := startNATSWorker(t, e.srv.URL(), "gw", nil, "--jobs", "2")
	srv := startServe(t, nil, natsQueueArgs(e.srv.URL())...)

	r := rand.New(rand.NewPCG(3, 4))
	job, parts, a, x, y := saxpyJob(r, 256, 3)
	res := postJob(t, srv.addr, job, parts)
	if res.status != 200 || res.err != "" || res.done == nil || len(res.frames) != 3 {
		t.Fatalf("gateway job: status %d, error %q, %d frames, done %v", res.status, res.err, len(res.frames), res.done)
	}
	for it, f := range res.frames {
		checkSaxpy(t, fmt.Sprintf("gateway iteration %d", it), a, x, y, it+1, f32s(f.data))
	}
	if res.header.Get(jobIDHeader) == "" {
		t.Errorf("no %s header", jobIDHeader)
	}

	// A large job: its body (2 MiB) goes through the object store, its
	// output (1 MiB) streams in pieces and is stored as an object.
	big, bigParts, ba, bx, by := saxpyJob(r, 1<<18, 1)
	res = postJob(t, srv.addr, big, bigParts)
	if res.status != 200 || res.done == nil || len(res.frames) != 1 {
		t.Fatalf("large gateway job: status %d, error %q, %d frames", res.status, res.err, len(res.frames))
	}
	checkSaxpy(t, "large gateway job", ba, bx, by, 1, f32s(res.frames[0].data))
	bigRes, err := e.c.Result(ctx, res.header.Get(jobIDHeader))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bigRes.Outputs[outputObjectName(1)]; !ok {
		t.Errorf("large job: no output object %s in %v", outputObjectName(1), bigRes.Outputs)
	}

	bad := postJob(t, srv.addr, `{"kernel":"nope"}`, nil)
	if bad.status != 400 || !strings.Contains(bad.err, "no built-in kernel") {
		t.Errorf("bad job: %d %q", bad.status, bad.err)
	}
	tooMany := postJob(t, srv.addr, `{"kernel":"saxpy","bind":{"0":"iota:4","1":"ones"},"push":"f32:2,u32:4","groups":[4000000000,1,1]}`, nil)
	if tooMany.status != 400 || !strings.Contains(tooMany.err, "workgroups") {
		t.Errorf("job over the device's limits: %d %q", tooMany.status, tooMany.err)
	}

	tj := newTestJob("gw", 2, 16, 1, nil, "gw/y.npy")
	for i := range 2 {
		res := postGateway(t, srv.addr, tj.id, tj.ct, tj.body)
		if res.status != 200 || res.done == nil || len(res.frames) != 1 {
			t.Fatalf("job %s, post %d: status %d, error %q, %d frames", tj.id, i, res.status, res.err, len(res.frames))
		}
		if err := compareF32(res.frames[0].data, tj.want); err != nil {
			t.Fatalf("job %s, post %d: %v", tj.id, i, err)
		}
		if saved, _ := res.done["saved"].([]any); len(saved) != 1 || saved[0] != "gw/y.npy" {
			t.Errorf("job %s, post %d: saved %v", tj.id, i, res.done["saved"])
		}
	}
	if n := e.streamMsgs(t, ctx, "results"); n != 4 { // the saxpy jobs and the one the worker refused
		t.Errorf("%d results, want 4", n)
	}
	if q, _ := getJSON(t, srv.addr, "/healthz")["queue"].(map[string]any); q == nil || q["results"] != float64(4) || q["pending"] != float64(0) {
		t.Errorf("gateway /healthz queue: %v", q)
	}
	srv.stop(t)
	w.stop(t)
}

// TestNATSSubmit: `vkdemo submit` queues a job file (with --attach parts),
// waits or watches, prints the result and writes the outputs and saves
// under --out; bad input is one line and exit status 2, nothing queued.
func TestNATSSubmit(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := startNATSWorker(t, e.srv.URL(), "sw", nil, "--jobs", "2")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	q := natsQueueArgs(e.srv.URL())

	// --wait --out with generated inputs and a save.
	jobFile := write("job.json", []byte(`{"kernel":"saxpy","bind":{"0":"iota:8","1":"ones"},"push":"f32:2,u32:8","save":{"1":"sub/y.npy"}}`))
	out := filepath.Join(dir, "out")
	res := vkdemo(t, dir, nil, append([]string{"submit", "--id", "sub-1", "--wait", "--out", out, jobFile}, q...)...)
	if res.code != 0 || !strings.Contains(res.stdout, "job sub-1: done on sw") || !strings.Contains(res.stdout, "binding 1: f32 ×8: 1 3 5 7") {
		t.Fatalf("submit --wait: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	want := []float32{1, 3, 5, 7, 9, 11, 13, 15}
	for _, p := range []string{"binding1.npy", "sub/y.npy"} {
		f := readNpy(t, filepath.Join(out, p))
		if f.descr != "<f4" || f.shape != "8," {
			t.Errorf("%s: %s %s", p, f.descr, f.shape)
		}
		if err := compareF32(f.data, want); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	checkNoTempFiles(t, out)

	// A save named like an output's file: refused before --out is written.
	clashFile := write("clash.json", []byte(`{"kernel":"saxpy","bind":{"0":"iota:8","1":"ones"},"push":"f32:2,u32:8","save":{"1":"binding1.npy"}}`))
	clashOut := filepath.Join(dir, "clash")
	clash := vkdemo(t, dir, nil, append([]string{"submit", "--wait", "--out", clashOut, clashFile}, q...)...)
	if clash.code != 1 || !strings.Contains(clash.stderr, "the name its output binding 1 is written as") {
		t.Errorf("submit --out of a clashing save: exit %d\n%s%s", clash.code, clash.stdout, clash.stderr)
	}
	if _, err := os.Stat(clashOut); !os.IsNotExist(err) {
		t.Errorf("--out was written for a clashing save: %v", err)
	}

	// The same ID again: nothing queued, the one result printed.
	again := vkdemo(t, dir, nil, append([]string{"submit", "--id", "sub-1", "--wait", jobFile}, q...)...)
	if again.code != 0 || !strings.Contains(again.stderr, "already queued") || !strings.Contains(again.stdout, "job sub-1: done") {
		t.Errorf("submit of the same ID: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}

	// --watch with parts: the iterations stream, then the result.
	x, y := []float32{1, 2, 3, 4}, []float32{10, 20, 30, 40}
	xf, yf := write("x.bin", f32Bytes(x)), write("y.bin", f32Bytes(y))
	partsJob := write("parts.json", []byte(`{"kernel":"saxpy","push":"f32:0.5,u32:4","iterations":3}`))
	watch := vkdemo(t, dir, nil, append([]string{"submit", "--watch", "--attach", "binding0=" + xf, "--attach", "binding1=" + yf, partsJob}, q...)...)
	if watch.code != 0 || !strings.Contains(watch.stdout, "binding 1: f32 ×4: 11.5 23 34.5 46") {
		t.Errorf("submit --watch: exit %d\n%s%s", watch.code, watch.stdout, watch.stderr)
	}
	if !strings.Contains(watch.stdout, "iter 0 binding 1") {
		t.Logf("submit --watch saw no live frame (they are best effort):\n%s", watch.stdout)
	}

	// Without --wait: the ID alone.
	queued := vkdemo(t, dir, nil, append([]string{"submit", jobFile}, q...)...)
	id := strings.TrimSpace(queued.stdout)
	if queued.code != 0 || cluster.ValidateID(id) != nil {
		t.Fatalf("submit: exit %d, stdout %q\n%s", queued.code, queued.stdout, queued.stderr)
	}
	if r, err := e.c.Wait(ctx, id); err != nil || r.Status != cluster.StatusOK {
		t.Errorf("job %s: %v %+v", id, err, r)
	}

	// Bad input: one line, exit 2, nothing queued. (The last job's message
	// leaves the jobs stream when its ack lands, just after its result.)
	e.waitJobsDrained(t, ctx)
	before := e.streamMsgs(t, ctx, "results")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{write("bad.json", []byte(`{"kernel":"nope"}`))}, "no built-in kernel"},
		{[]string{write("bad2.json", []byte(`{"kernel":`))}, "bad2.json"},
		{[]string{filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"--id", "a/b", jobFile}, "--id"},
		{[]string{"--attach", "spirv", jobFile}, "--attach"},
		{[]string{"--attach", "nope=" + xf, jobFile}, "the parts are"},
		{[]string{"--wait", "--watch", jobFile}, "--wait and --watch"},
	} {
		r := vkdemo(t, dir, nil, append(append([]string{"submit"}, c.args...), q...)...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("submit %v: exit %d, stderr %q; want 2 and one line naming %q", c.args, r.code, r.stderr, c.msg)
		}
	}
	if after, queued := e.streamMsgs(t, ctx, "results"), e.streamMsgs(t, ctx, "jobs"); after != before || queued != 0 {
		t.Errorf("bad submissions queued jobs: %d results, then %d; %d jobs queued", before, after, queued)
	}
	// A job the worker refuses: exit 1 with its reason.
	refused := vkdemo(t, dir, nil, append([]string{"submit", "--wait", write("big.json", []byte(`{"kernel":"saxpy","bind":{"0":"iota:4","1":"ones"},"push":"f32:2,u32:4","groups":[4000000000,1,1]}`))}, q...)...)
	if refused.code != 1 || !strings.Contains(refused.stderr, "workgroups") {
		t.Errorf("refused job: exit %d\n%s", refused.code, refused.stderr)
	}
	w.stop(t)
}

// TestNATSWorkerChild: jobs with their own SPIR-V run in worker child
// processes, as in serve: their outputs and saves come back through the
// child's pipe (save frames) into the object store; a module that crashes
// its child every time is retried up to --max-deliver, then dead-lettered,
// and the worker goes on.
func TestNATSWorkerChild(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := startNATSWorker(t, e.srv.URL(), "iso", []string{workerCrashEnv + "=99"}, "--jobs", "2")
	r := rand.New(rand.NewPCG(9, 9))
	x, y := make([]float32, 100), make([]float32, 100)
	for k := range x {
		x[k], y[k] = r.Float32(), r.Float32()*10
	}
	parts := map[string][]byte{"spirv": shaders.SAXPY(), "binding0": f32Bytes(x), "binding1": f32Bytes(y)}
	up := &testJob{id: "upload", save: "up/y.npy", want: make([]float32, 100)}
	up.ct, up.body = jobMultipart(`{"push":"f32:1.5,u32:100","iterations":2,"save":{"1":"up/y.npy"}}`, parts)
	for k := range y {
		up.want[k] = 1.5*x[k] + (1.5*x[k] + y[k])
	}
	crash := &testJob{id: "crash"}
	crash.ct, crash.body = jobMultipart(`{"push":"f32:1.5,u32:100","iterations":2,"seed":99}`, parts)
	e.submit(t, ctx, []*testJob{up, crash})
	e.waitAll(t, ctx, []*testJob{up}, nil)
	var data natsJobResult
	if err := json.Unmarshal(up.result.Data, &data); err != nil || data.Done.Kernel != "uploaded SPIR-V" {
		t.Errorf("uploaded job: %v %s", err, up.result.Data)
	}
	res, err := e.c.Wait(ctx, crash.id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != cluster.StatusDeadLetter || res.Deliveries != 3 || !strings.Contains(res.Error, "worker crashed: signal SIGSEGV") {
		t.Errorf("crashing job: %s after %d deliveries: %s", res.Status, res.Deliveries, res.Error)
	}
	if !errors.Is(res.Err(), cluster.ErrDeadLetter) {
		t.Errorf("crashing job: Err() = %v", res.Err())
	}
	if dl, err := e.c.DeadLetter(ctx, crash.id); err != nil || dl.Deliveries != 3 {
		t.Errorf("dead-letter record: %+v, %v", dl, err)
	}
	// The worker still runs jobs.
	after := newTestJob("after", 3, 8, 1, nil, "")
	e.submit(t, ctx, []*testJob{after})
	e.waitAll(t, ctx, []*testJob{after}, nil)
	w.stop(t)
	if !strings.Contains(w.stdout.String(), "3 crashed") {
		t.Errorf("the stop line does not count 3 crashed children:\n%s", w.stdout)
	}
}

// TestNATSWorkerDevices: a worker with --devices runs its jobs on two
// logical devices; one is lost mid-run (the drill), its jobs run again on the
// other, and every job has one correct result.
func TestNATSWorkerDevices(t *testing.T) {
	e := newNATSTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := startNATSWorker(t, e.srv.URL(), "duo", nil, "--jobs", "4", "--devices", "0,0", "--inject-fault", "1:device-lost:5")
	if out := w.stdout.String(); !strings.Contains(out, "2 devices") {
		t.Errorf("worker's first line names no set of 2 devices: %q", out)
	}
	jobs := make([]*testJob, 60)
	for i := range jobs {
		jobs[i] = newTestJob("d", i, 8, 2, nil, "")
	}
	e.submit(t, ctx, jobs)
	e.waitAll(t, ctx, jobs, nil)
	e.checkOnce(t, ctx, jobs)
	w.waitOutput(t, w.stderr, "member taken out", 10*time.Second)
	w.stop(t)
}
