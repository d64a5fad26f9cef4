package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// calm is for tests that count runs but need no redelivery: an AckWait long
// enough that a stalled test machine cannot cause one.
func calm(c *Config) { c.AckWait = 15 * time.Second }

// TestManyJobsThreeWorkers: N jobs through 3 workers; every result present
// once, correct, and each job ran once; the work queue ends empty.
func TestManyJobsThreeWorkers(t *testing.T) {
	e := newEnv(t, calm)
	var calls counter
	var ws []*runningWorker
	for i := range 3 {
		ws = append(ws, e.startWorker(fmt.Sprintf("w%d", i), 2, sumHandler(&calls, time.Millisecond)))
	}
	const n = 300
	for i := range n {
		e.submit(fmt.Sprintf("job-%03d", i), fmt.Sprintf(`{"a":%d,"b":%d}`, i, 2*i))
	}
	byWorker := map[string]int{}
	for i := range n {
		id := fmt.Sprintf("job-%03d", i)
		r := e.wait(id)
		if got := sumOf(t, r); got != 3*i {
			t.Errorf("job %s: sum %d, want %d", id, got, 3*i)
		}
		if r.Queued.IsZero() || r.Started.Before(r.Queued.Add(-time.Second)) || r.Finished.Before(r.Started) {
			t.Errorf("job %s: times queued %v started %v finished %v", id, r.Queued, r.Started, r.Finished)
		}
		if c := calls.get(id); c != 1 {
			t.Errorf("job %s ran %d times", id, c)
		}
		byWorker[r.Worker]++
	}
	t.Logf("jobs per worker: %v", byWorker)
	// Counters move just after the result is durable.
	eventually(t, "the workers' counters", func() bool {
		var ok int64
		for _, w := range ws {
			ok += w.Stats().OK
		}
		return ok == n
	})
	st, err := e.client.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Results != n || st.DeadLetters != 0 || st.Pending != 0 {
		t.Errorf("queue stats %+v: want %d results, nothing pending", st, n)
	}
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// TestWorkerDiesMidJob: a worker's connection closes while it runs a job
// (as when its process is killed); the job is redelivered after AckWait and
// finishes on another worker, with one result.
func TestWorkerDiesMidJob(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	var once sync.Once
	var calls counter
	dying := e.startWorker("dying", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		calls.inc(job.ID)
		once.Do(func() { close(started) })
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	e.submit("victim", `{"a":1,"b":2}`)
	<-started
	dying.q.nc.Close() // the "process" dies: no ack, no more heartbeats
	dying.stop(t)
	e.startWorker("survivor", 1, sumHandler(&calls, 0))
	r := e.wait("victim")
	if sumOf(t, r) != 3 || r.Worker != "survivor" || r.Deliveries != 2 {
		t.Errorf("result %+v: want sum 3 by survivor on delivery 2", r)
	}
	if c := calls.get("victim"); c != 2 {
		t.Errorf("handler ran %d times, want 2 (dying, survivor)", c)
	}
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// TestRedeliveryAfterResultNotRerun: a worker stores the result but dies
// before acking; the redelivery finds the result and acks without running.
func TestRedeliveryAfterResultNotRerun(t *testing.T) {
	e := newEnv(t)
	var calls counter
	var crashed sync.Once
	w := e.startWorker("w", 1, sumHandler(&calls, 0), func(w *Worker) {
		w.afterResult = func(id string) (crash bool) {
			crashed.Do(func() { crash = true })
			return crash
		}
	})
	e.submit("once", `{"a":2,"b":3}`)
	if r := e.wait("once"); sumOf(t, r) != 5 {
		t.Fatalf("result %+v", r)
	}
	eventually(t, "the redelivery acked", func() bool { return e.jobsLeft() == 0 })
	if c := calls.get("once"); c != 1 {
		t.Errorf("handler ran %d times, want 1", c)
	}
	if s := w.Stats(); s.Skipped != 1 || s.OK != 1 {
		t.Errorf("stats %+v: want OK 1, Skipped 1", s)
	}
}

// TestServerRestartMidRun: the server restarts (file store) while jobs are
// queued and running; every job still gets its correct result.
func TestServerRestartMidRun(t *testing.T) {
	e := newEnv(t)
	var calls counter
	e.startWorker("w0", 2, sumHandler(&calls, 2*time.Millisecond))
	e.startWorker("w1", 2, sumHandler(&calls, 2*time.Millisecond))
	const n = 150
	submit := func(i int) {
		id := fmt.Sprintf("r-%03d", i)
		for try := 0; ; try++ {
			_, err := e.client.Submit(t.Context(), Job{ID: id, Body: fmt.Appendf(nil, `{"a":%d,"b":1}`, i)})
			if err == nil {
				return
			}
			if try > 200 {
				t.Fatalf("submit %s: %v", id, err)
			}
			time.Sleep(50 * time.Millisecond) // the server is restarting
		}
	}
	for i := range n / 2 {
		submit(i)
	}
	eventually(t, "some results", func() bool { return calls.get("r-010") > 0 })
	if err := e.srv.Restart(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for i := n / 2; i < n; i++ {
		submit(i)
	}
	reruns := 0
	for i := range n {
		id := fmt.Sprintf("r-%03d", i)
		if got := sumOf(t, e.wait(id)); got != i+1 {
			t.Errorf("job %s: sum %d, want %d", id, got, i+1)
		}
		reruns += calls.get(id) - 1
	}
	t.Logf("jobs re-run because of the restart: %d", reruns)
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// TestPoisonJob: a job that always fails is dead-lettered after MaxDeliver
// runs: a dead-letter record and a final "dead-letter" result.
func TestPoisonJob(t *testing.T) {
	e := newEnv(t)
	var calls counter
	e.startWorker("w", 2, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		calls.inc(job.ID)
		if job.ID == "poison" {
			return nil, errors.New("always fails")
		}
		return []byte(`{}`), nil
	}))
	e.submit("poison", `{}`)
	e.submit("fine", `{}`)
	r := e.wait("poison")
	if r.Status != StatusDeadLetter || r.Deliveries != 3 || !errors.Is(r.Err(), ErrDeadLetter) {
		t.Errorf("result %+v: want dead-letter after 3 deliveries", r)
	}
	d, err := e.client.DeadLetter(t.Context(), "poison")
	if err != nil {
		t.Fatal(err)
	}
	if d.Deliveries != 3 || d.Error != "always fails" || d.Worker != "w" {
		t.Errorf("dead letter %+v", d)
	}
	if c := calls.get("poison"); c != 3 {
		t.Errorf("poison ran %d times, want 3", c)
	}
	if r := e.wait("fine"); r.Status != StatusOK {
		t.Errorf("fine: %+v", r)
	}
	if _, err := e.client.DeadLetter(t.Context(), "fine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeadLetter(fine): %v, want ErrNotFound", err)
	}
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// TestCrashLoopDeadLetter: every worker that takes a job dies mid-run; after
// MaxDeliver deliveries the next worker dead-letters it without running it.
func TestCrashLoopDeadLetter(t *testing.T) {
	e := newEnv(t)
	var calls counter
	e.submit("crasher", `{}`)
	for i := range e.cfg.MaxDeliver {
		started := make(chan struct{})
		var once sync.Once
		w := e.startWorker(fmt.Sprintf("doomed%d", i), 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
			calls.inc(job.ID)
			once.Do(func() { close(started) })
			<-ctx.Done()
			return nil, ctx.Err()
		}))
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatalf("delivery %d never came", i+1)
		}
		w.q.nc.Close()
		w.stop(t)
	}
	last := e.startWorker("last", 1, sumHandler(&calls, 0))
	r := e.wait("crasher")
	if r.Status != StatusDeadLetter || r.Deliveries != e.cfg.MaxDeliver+1 || r.Worker != "last" {
		t.Errorf("result %+v: want dead-letter on delivery %d by last", r, e.cfg.MaxDeliver+1)
	}
	if c := calls.get("crasher"); c != e.cfg.MaxDeliver {
		t.Errorf("handler ran %d times, want %d", c, e.cfg.MaxDeliver)
	}
	if d, err := e.client.DeadLetter(t.Context(), "crasher"); err != nil || d.Deliveries != e.cfg.MaxDeliver+1 {
		t.Errorf("dead letter %+v, %v", d, err)
	}
	eventually(t, "the queue's counters", func() bool {
		st, err := e.client.Stats(t.Context())
		return err == nil && st.DeadLetters == 1 && st.Results == 1 && st.Pending == 0 && st.Running == 0
	})
	eventually(t, "the dead letter counted", func() bool { return last.Stats().DeadLettered == 1 })
	eventually(t, "the terminated job gone from the work queue", func() bool { return e.jobsLeft() == 0 })
	if s := last.Stats(); s.Runs != 0 {
		t.Errorf("last worker stats %+v: want no runs", s)
	}
}

// TestSlowWorkerDoesNotHoldOthers: while one worker is stuck on a slow job,
// every other job goes to the other worker; the slow worker fetched nothing
// beyond its one slot.
func TestSlowWorkerDoesNotHoldOthers(t *testing.T) {
	e := newEnv(t, calm)
	release := make(chan struct{})
	started := make(chan struct{})
	var calls counter
	slow := e.startWorker("slow", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		calls.inc(job.ID)
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []byte(`"slow"`), nil
	}))
	e.submit("slow", `{}`)
	<-started
	fast := e.startWorker("fast", 1, sumHandler(&calls, 0))
	for i := range 20 {
		e.submit(fmt.Sprintf("fast-%02d", i), `{"a":1,"b":1}`)
	}
	for i := range 20 {
		r := e.wait(fmt.Sprintf("fast-%02d", i))
		if r.Worker != "fast" || sumOf(t, r) != 2 {
			t.Errorf("result %+v: want sum 2 from the fast worker", r)
		}
	}
	select {
	case <-release:
	default:
	}
	if _, err := e.client.Result(t.Context(), "slow"); !errors.Is(err, ErrNotFound) {
		t.Errorf("slow job finished early: %v", err)
	}
	close(release)
	if r := e.wait("slow"); r.Worker != "slow" {
		t.Errorf("slow: %+v", r)
	}
	if s := slow.Stats(); s.Runs != 1 {
		t.Errorf("slow worker ran %d jobs, want 1", s.Runs)
	}
	eventually(t, "the fast worker's counters", func() bool { return fast.Stats().OK == 20 })
}

// TestDuplicateSubmit: the same ID submitted again, before and after it ran,
// runs once; after the duplicate window the worker finds the stored result.
func TestDuplicateSubmit(t *testing.T) {
	e := newEnv(t, calm, func(c *Config) { c.DuplicateWindow = 500 * time.Millisecond })
	if r := e.submit("dup", `{"a":1,"b":1}`); r.Duplicate || r.Seq == 0 {
		t.Errorf("first submit: %+v", r)
	}
	for range 2 {
		if r := e.submit("dup", `{"a":1,"b":1}`); !r.Duplicate {
			t.Errorf("second submit not a duplicate: %+v", r)
		}
	}
	var calls counter
	w := e.startWorker("w", 1, sumHandler(&calls, 0))
	e.wait("dup")
	if r := e.submit("dup", `{"a":1,"b":1}`); !r.Duplicate {
		t.Errorf("submit after the run, within the window, not a duplicate: %+v", r)
	}
	// Past the duplicate window (the server forgets IDs on a timer) the
	// server queues the job again.
	eventually(t, "the duplicate window to pass", func() bool {
		time.Sleep(100 * time.Millisecond)
		return !e.submit("dup", `{"a":1,"b":1}`).Duplicate
	})
	eventually(t, "the late duplicate acked", func() bool { return w.Stats().Skipped == 1 })
	if c := calls.get("dup"); c != 1 {
		t.Errorf("handler ran %d times, want 1", c)
	}
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// TestLargeBodyObjectStore: a body over InlineMax travels through the object
// store; an output object round-trips; the input object is removed after.
func TestLargeBodyObjectStore(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.InlineMax = 4 << 10 })
	body := make([]byte, 300<<10)
	rand.Read(body)
	e.startWorker("w", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		sum := sha256.Sum256(job.Body)
		rev := bytes.Clone(job.Body)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if _, err := out.PutBytes(ctx, "reversed.bin", rev); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"sha256": hex.EncodeToString(sum[:]), "type": job.ContentType})
	}))
	if _, err := e.client.Submit(t.Context(), Job{ID: "big", ContentType: "application/octet-stream", Body: body}); err != nil {
		t.Fatal(err)
	}
	r := e.wait("big")
	sum := sha256.Sum256(body)
	var data struct{ SHA256, Type string }
	if err := json.Unmarshal(r.Data, &data); err != nil || data.SHA256 != hex.EncodeToString(sum[:]) || data.Type != "application/octet-stream" {
		t.Fatalf("result %+v (%v): the worker saw a different body", r, err)
	}
	ref, ok := r.Outputs["reversed.bin"]
	if !ok || ref.Size != int64(len(body)) || !strings.HasPrefix(ref.Name, "out/big/") || !strings.HasSuffix(ref.Name, "/reversed.bin") || ref.Bucket != e.cfg.bucket() {
		t.Fatalf("outputs %+v", r.Outputs)
	}
	got, err := e.client.ObjectBytes(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		if got[len(got)-1-i] != body[i] {
			t.Fatalf("output byte %d differs", i)
		}
	}
	var buf bytes.Buffer
	if n, err := e.client.GetObject(t.Context(), ref, &buf); err != nil || n != int64(len(body)) {
		t.Fatalf("GetObject: %d, %v", n, err)
	}
	eventually(t, "the input object removed", func() bool { return len(e.objectNames(e.client.q.inputs, "in/big/")) == 0 })
	// A re-submit of a finished large job stores nothing and queues nothing.
	if rc, err := e.client.Submit(t.Context(), Job{ID: "big", Body: body}); err != nil || !rc.Duplicate {
		t.Errorf("re-submit: %+v, %v", rc, err)
	}
	if names := e.objectNames(e.client.q.inputs, "in/big/"); len(names) != 0 {
		t.Errorf("re-submit stored the input again: %v", names)
	}
}

// TestTooLarge: bodies and objects over MaxBodySize fail with ErrTooLarge,
// on submit and on reading an output back.
func TestTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.InlineMax = 1 << 10; c.MaxBodySize = 64 << 10 })
	_, err := e.client.Submit(t.Context(), Job{ID: "huge", Body: make([]byte, 64<<10+1)})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Submit: %v, want ErrTooLarge", err)
	}
	if _, err := e.client.Result(t.Context(), "huge"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the oversize job was queued: %v", err)
	}
	// An output over the limit is refused by Put; a job storing one fails.
	e.startWorker("w", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		_, err := out.Put(ctx, "big", io.LimitReader(zeros{}, 64<<10+1))
		if !errors.Is(err, ErrTooLarge) {
			return nil, Permanent(fmt.Errorf("Put of an oversize output: %v, want ErrTooLarge", err))
		}
		return []byte(`"refused"`), nil
	}))
	e.submit("put-big", `{}`)
	if r := e.wait("put-big"); r.Status != StatusOK {
		t.Errorf("%+v", r)
	}
	// An object put behind the queue's back is refused before it is read.
	info, err := e.client.q.objs.PutBytes(t.Context(), "out/x/big", make([]byte, 64<<10+1))
	if err != nil {
		t.Fatal(err)
	}
	ref := ObjectRef{Bucket: info.Bucket, Name: info.Name}
	if _, err := e.client.ObjectBytes(t.Context(), ref); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ObjectBytes: %v, want ErrTooLarge", err)
	}
	if _, err := e.client.ObjectBytes(t.Context(), ObjectRef{Bucket: "other", Name: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ObjectBytes of another bucket: %v, want ErrNotFound", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestWatchStreamsChunks: Watch sees the handler's live chunks in order, then
// the final result.
func TestWatchStreamsChunks(t *testing.T) {
	e := newEnv(t, calm)
	go1 := make(chan struct{})
	e.startWorker("w", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		<-go1
		for _, s := range []string{"a", "b", "c"} {
			if _, err := io.WriteString(out, s); err != nil {
				return nil, err
			}
		}
		return []byte(`{"done":true}`), nil
	}))
	e.submit("watched", `{}`)
	type got struct {
		events []Event
		res    *Result
		err    error
	}
	ch := make(chan got, 1)
	subsBefore := e.client.q.nc.NumSubscriptions()
	go func() {
		var g got
		g.res, g.err = e.client.Watch(t.Context(), "watched", func(ev Event) { g.events = append(g.events, ev) })
		ch <- g
	}()
	eventually(t, "the watcher subscribed", func() bool { return e.client.q.nc.NumSubscriptions() >= subsBefore+2 })
	if err := e.client.q.nc.Flush(); err != nil { // the server has the subscriptions
		t.Fatal(err)
	}
	close(go1)
	g := <-ch
	if g.err != nil {
		t.Fatal(g.err)
	}
	var s string
	for i, ev := range g.events[:len(g.events)-1] {
		if ev.Kind != EventChunk || ev.Seq != uint64(i+1) || ev.Attempt != 1 {
			t.Errorf("event %d: %+v", i, ev)
		}
		s += string(ev.Data)
	}
	last := g.events[len(g.events)-1]
	if s != "abc" || last.Kind != EventResult || last.Result.Status != StatusOK || g.res.Status != StatusOK {
		t.Errorf("chunks %q, last event %+v, result %+v", s, last, g.res)
	}
	// A watcher that comes after the job finished gets the result at once.
	var evs []Event
	if r, err := e.client.Watch(t.Context(), "watched", func(ev Event) { evs = append(evs, ev) }); err != nil || r.Status != StatusOK || len(evs) != 1 {
		t.Errorf("late watch: %+v %v %d events", r, err, len(evs))
	}
}

// TestPermanentFailure: a handler error marked Permanent ends the job at
// once with status failed.
func TestPermanentFailure(t *testing.T) {
	e := newEnv(t, calm)
	var calls counter
	e.startWorker("w", 1, sumHandler(&calls, 0))
	e.submit("bad-json", `not json`)
	r := e.wait("bad-json")
	if r.Status != StatusFailed || !errors.Is(r.Err(), ErrFailed) || r.Error == "" {
		t.Errorf("result %+v", r)
	}
	if c := calls.get("bad-json"); c != 1 {
		t.Errorf("handler ran %d times, want 1", c)
	}
	if _, err := e.client.DeadLetter(t.Context(), "bad-json"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed job was dead-lettered: %v", err)
	}
}

// TestHandlerPanicsAndBadData: a panic is an error (retried, then
// dead-lettered); data that is not JSON fails the job.
func TestHandlerPanicsAndBadData(t *testing.T) {
	e := newEnv(t)
	e.startWorker("w", 2, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		if job.ID == "panics" {
			panic("boom")
		}
		return []byte("{not json"), nil
	}))
	e.submit("panics", `{}`)
	e.submit("notjson", `{}`)
	if r := e.wait("panics"); r.Status != StatusDeadLetter || !bytes.Contains([]byte(r.Error), []byte("boom")) {
		t.Errorf("panics: %+v", r)
	}
	if r := e.wait("notjson"); r.Status != StatusFailed {
		t.Errorf("notjson: %+v", r)
	}
}

// TestGracefulStop: canceling Run lets the running job finish and ack.
func TestGracefulStop(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	w := e.startWorker("w", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		return []byte(`1`), ctx.Err()
	}))
	e.submit("graceful", `{}`)
	<-started
	w.stop(t)
	r, err := e.client.Result(t.Context(), "graceful")
	if err != nil || r.Status != StatusOK {
		t.Fatalf("after stop: %+v, %v", r, err)
	}
	if e.jobsLeft() != 0 {
		t.Errorf("job not acked before Run returned")
	}
	if err := w.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Run: %v, want ErrClosed", err)
	}
}

// TestGraceExpires: a job still running when the grace period ends has its
// context canceled and goes back to the queue for another worker.
func TestGraceExpires(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	var calls counter
	w, err := NewWorker(t.Context(), e.srv.Connect(t), e.cfg, WorkerOptions{Name: "short", Grace: 100 * time.Millisecond,
		Handler: HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
			calls.inc(job.ID)
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	e.submit("long", `{"a":1,"b":1}`)
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.startWorker("next", 1, sumHandler(&calls, 0))
	if r := e.wait("long"); r.Worker != "next" || sumOf(t, r) != 2 {
		t.Errorf("%+v", r)
	}
}

// TestHeartbeatKeepsLongJob: a job running several AckWaits is not
// redelivered while its worker heartbeats.
func TestHeartbeatKeepsLongJob(t *testing.T) {
	e := newEnv(t)
	var calls counter
	// 2.5 AckWaits; heartbeats every AckWait/3.
	e.startWorker("a", 1, sumHandler(&calls, 2500*time.Millisecond))
	e.startWorker("b", 1, sumHandler(&calls, 2500*time.Millisecond))
	e.submit("long", `{"a":1,"b":1}`)
	e.wait("long")
	if c := calls.get("long"); c != 1 {
		t.Errorf("a heartbeated job ran %d times, want 1", c)
	}
}

// TestBadInput: bad IDs, content types and configs are refused with the
// package's errors; an unknown ID has no result.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"a.b", "a b", "*", ">", string(make([]byte, MaxIDLen+1))} {
		if _, err := e.client.Submit(t.Context(), Job{ID: id}); !errors.Is(err, ErrBadID) {
			t.Errorf("Submit(ID %q): %v, want ErrBadID", id, err)
		}
		if _, err := e.client.Result(t.Context(), id); !errors.Is(err, ErrBadID) {
			t.Errorf("Result(%q): %v, want ErrBadID", id, err)
		}
	}
	if _, err := e.client.Submit(t.Context(), Job{ID: "x", ContentType: "a\r\nb"}); err == nil {
		t.Error("Submit with CR LF in the content type succeeded")
	}
	_, err := e.client.Result(t.Context(), "never-submitted")
	var ce *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ce) || ce.Op != "result" || ce.ID != "never-submitted" {
		t.Errorf("Result of an unknown ID: %v", err)
	}
	for _, cfg := range []Config{{Prefix: "a.b"}, {MaxDeliver: -1}, {AckWait: time.Nanosecond}, {InlineMax: 2 << 20}, {DuplicateWindow: time.Hour, Retention: time.Minute}} {
		if _, err := NewClient(t.Context(), e.client.q.nc, cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewClient(%+v): %v, want ErrBadConfig", cfg, err)
		}
	}
	if _, err := NewWorker(t.Context(), e.client.q.nc, e.cfg, WorkerOptions{}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("NewWorker without a handler: %v", err)
	}
	e.client.Close()
	if _, err := e.client.Submit(t.Context(), Job{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
}

// TestSetupIdempotent: Setup twice, and by a client and a worker, agrees.
func TestSetupIdempotent(t *testing.T) {
	e := newEnv(t)
	for range 2 {
		if err := Setup(t.Context(), e.client.q.nc, e.cfg); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := e.client.q.js.Consumer(t.Context(), e.cfg.jobsStream(), e.cfg.consumerName())
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ci.Config.AckWait != e.cfg.AckWait || ci.Config.AckPolicy != jetstream.AckExplicitPolicy || ci.Config.MaxDeliver != -1 {
		t.Errorf("consumer config %+v", ci.Config)
	}
	si, err := e.client.q.jobs.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if si.Config.Retention != jetstream.WorkQueuePolicy || si.Config.Storage != jetstream.FileStorage {
		t.Errorf("jobs stream config %+v", si.Config)
	}
}

// TestNewID: IDs are valid, unique and sorted in creation order.
func TestNewID(t *testing.T) {
	prev := ""
	for range 10000 {
		id := NewID()
		if err := ValidateID(id); err != nil || len(id) != 26 {
			t.Fatalf("NewID %q: %v", id, err)
		}
		if id <= prev {
			t.Fatalf("NewID %q after %q: not increasing", id, prev)
		}
		prev = id
	}
}

// TestErrorText: errors name the operation, the job and the cause.
func TestErrorText(t *testing.T) {
	err := (&Result{ID: "j", Status: StatusDeadLetter, Deliveries: 5, Error: "boom"}).Err()
	if got, want := err.Error(), "cluster: job j: job dead-lettered after 5 deliveries: boom"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if (&Result{Status: StatusOK}).Err() != nil {
		t.Error("ok result has an error")
	}
	_ = context.Canceled
}

// TestQueueLostAndRepaired: the server loses the queue's streams and
// consumer (as a server restarted without its store would); a running worker
// and a client each set them up again, and jobs flow.
func TestQueueLostAndRepaired(t *testing.T) {
	e := newEnv(t)
	var calls counter
	w := e.startWorker("w", 1, sumHandler(&calls, 0))
	e.submit("before", `{"a":1,"b":1}`)
	e.wait("before")
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
	js := e.client.q.js
	lose := func() {
		// The jobs stream last: the worker notices its loss.
		for _, s := range []string{e.cfg.deadStream(), e.cfg.resultsStream(), e.cfg.jobsStream()} {
			if err := js.DeleteStream(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
	}
	lose()
	// The worker's pulls fail; it notices and sets the queue up again.
	eventually(t, "the worker to repair the queue", func() bool {
		_, err := js.Consumer(t.Context(), e.cfg.jobsStream(), e.cfg.consumerName())
		_, err2 := js.Stream(t.Context(), e.cfg.deadStream())
		return err == nil && err2 == nil
	})
	e.submit("after", `{"a":2,"b":2}`)
	if r := e.wait("after"); sumOf(t, r) != 4 {
		t.Errorf("%+v", r)
	}
	w.stop(t)
	// With no worker running, the client's Submit repairs it.
	lose()
	e.submit("late", `{"a":3,"b":3}`)
	e.startWorker("w2", 1, sumHandler(&calls, 0))
	if r := e.wait("late"); sumOf(t, r) != 6 {
		t.Errorf("%+v", r)
	}
}

// TestClipError: long error texts are cut to valid UTF-8 with a note.
func TestClipError(t *testing.T) {
	if clipError("short") != "short" {
		t.Error("short text changed")
	}
	long := strings.Repeat("é", maxErrorText) // 2 bytes each: the cut falls mid-rune
	got := clipError(long)
	if len(got) > maxErrorText+40 || !utf8.ValidString(got) || !strings.HasSuffix(got, fmt.Sprintf("(%d bytes cut)", len(long)-maxErrorText)) {
		t.Errorf("clipped to %d bytes, valid %v, tail %q", len(got), utf8.ValidString(got), got[len(got)-30:])
	}
}

// TestLateRunKeepsWinnersOutputs: a run still going when its job was
// redelivered and finished elsewhere cannot replace the winner's outputs,
// and its delivery is acked without a second result.
func TestLateRunKeepsWinnersOutputs(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	started := make(chan struct{})
	var lateErr error
	late := e.startWorker("late", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		close(started)
		<-release
		_, lateErr = out.PutBytes(ctx, "out.txt", []byte("late"))
		return nil, lateErr
	}), func(w *Worker) {
		// No heartbeats reach the server: as if this worker were cut off.
		w.q.cfg.AckWait = time.Hour
	})
	e.submit("raced", `{}`)
	<-started
	e.startWorker("winner", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		_, err := out.PutBytes(ctx, "out.txt", []byte("winner"))
		return []byte(`"w"`), err
	}))
	r := e.wait("raced")
	close(release)
	eventually(t, "the late run acked", func() bool { return late.Stats().Skipped == 1 })
	if !errors.Is(lateErr, ErrAlreadyDone) {
		t.Errorf("late Put: %v, want ErrAlreadyDone", lateErr)
	}
	got, err := e.client.ObjectBytes(t.Context(), r.Outputs["out.txt"])
	if err != nil || string(got) != "winner" || r.Worker != "winner" {
		t.Errorf("result %+v, output %q, %v", r, got, err)
	}
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// TestMalformedMessages: a job message not made by Submit, and a malformed
// result record, neither crash a worker nor loop forever.
func TestMalformedMessages(t *testing.T) {
	e := newEnv(t)
	var calls counter
	w := e.startWorker("w", 1, sumHandler(&calls, 0))
	js := e.client.q.js
	// A job message with an ID that does not match its subject: dropped.
	m := &nats.Msg{Subject: e.cfg.jobSubject("x1"), Header: nats.Header{hdrMsgID: []string{"other"}}}
	if _, err := js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	// A job message with a bad body size header: a "failed" result.
	m = &nats.Msg{Subject: e.cfg.jobSubject("x2"), Header: nats.Header{hdrMsgID: []string{"x2"}, hdrBodyObject: []string{"in/x2/n1"}, hdrBodySize: []string{"lots"}}}
	if _, err := js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if r := e.wait("x2"); r.Status != StatusFailed || !strings.Contains(r.Error, "Vkio-Body-Size") {
		t.Errorf("x2: %+v", r)
	}
	// A garbage result record for a job: the job is acked, not run.
	if _, err := js.Publish(t.Context(), e.cfg.resultSubject("x3"), []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	e.submit("x3", `{"a":1,"b":1}`)
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
	if _, err := e.client.Result(t.Context(), "x3"); !errors.Is(err, ErrBadMessage) {
		t.Errorf("Result(x3): %v, want ErrBadMessage", err)
	}
	if calls.get("x3") != 0 || w.Stats().Runs != 0 {
		t.Errorf("a job ran: %+v", w.Stats())
	}
}
