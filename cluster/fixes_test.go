package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vkio/vkio/cluster/natstest"
)

// TestResultDataNotHTMLEscaped: handler data within InlineMax whose
// json.Marshal encoding would grow past max_payload (every < escaped as
// \u003c) is stored as it is; the job succeeds on its one run.
func TestResultDataNotHTMLEscaped(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AckWait = 300 * time.Millisecond; c.MaxDeliver = 2 })
	data := []byte(`"` + strings.Repeat("<&>", 100<<10) + `"`) // 300 KiB < InlineMax
	if len(data) > e.cfg.InlineMax {
		t.Fatalf("data %d > InlineMax %d", len(data), e.cfg.InlineMax)
	}
	var calls counter
	e.startWorker("w", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		calls.inc(job.ID)
		return data, nil
	}))
	e.submit("big-escaped", `{}`)
	r := e.wait("big-escaped")
	if r.Status != StatusOK {
		t.Fatalf("status %s after %d handler runs (%s); want ok", r.Status, calls.get("big-escaped"), r.Error)
	}
	if !bytes.Equal(r.Data, data) {
		t.Errorf("result data: %d bytes, want the handler's %d", len(r.Data), len(data))
	}
	if c := calls.get("big-escaped"); c != 1 {
		t.Errorf("handler ran %d times, want 1", c)
	}
}

// TestResultRecordTooLarge: data and output refs that fit one by one but
// not together in the server's max_payload end the job at once with a
// "failed" result naming the sizes (not a redelivery loop ending in a
// dead letter), and the run's output objects are deleted.
func TestResultRecordTooLarge(t *testing.T) {
	srv, err := natstest.New(natstest.Options{StoreDir: t.TempDir(), MaxPayload: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	e := newEnvOn(t, srv)
	if e.cfg.InlineMax != 60<<10 {
		t.Fatalf("InlineMax %d, want max_payload - 4 KiB", e.cfg.InlineMax)
	}
	data := []byte(`"` + strings.Repeat("x", e.cfg.InlineMax-2) + `"`)
	var calls counter
	e.startWorker("w", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		calls.inc(job.ID)
		for i := range 40 {
			name := fmt.Sprintf("%03d-%s", i, strings.Repeat("n", 120))
			if _, err := out.PutBytes(ctx, name, []byte("o")); err != nil {
				return nil, err
			}
		}
		return data, nil
	}))
	e.submit("too-big", `{}`)
	r := e.wait("too-big")
	if r.Status != StatusFailed || !strings.Contains(r.Error, "result record too large") || len(r.Outputs) != 0 || r.Data != nil {
		t.Fatalf("result %+v: want failed with \"result record too large\", no data, no outputs", r)
	}
	if c := calls.get("too-big"); c != 1 {
		t.Errorf("handler ran %d times, want 1", c)
	}
	eventually(t, "the run's outputs deleted", func() bool { return len(e.objectNames(e.client.q.objs, "out/too-big/")) == 0 })
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// gatedReader signals when first read, then waits for release.
type gatedReader struct {
	started, release chan struct{}
	r                io.Reader
	once             sync.Once
}

func (b *gatedReader) Read(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.started)
		<-b.release
	})
	return b.r.Read(p)
}

// TestLatePutCannotReplaceWinnersOutput: a run whose Put began before the
// winner's result was stored (so it passed the ErrAlreadyDone check) still
// cannot change the object the winner's Result refers to.
func TestLatePutCannotReplaceWinnersOutput(t *testing.T) {
	e := newEnv(t)
	w, err := NewWorker(t.Context(), e.srv.Connect(t), e.cfg, WorkerOptions{Handler: HandlerFunc(func(context.Context, *Job, *Output) ([]byte, error) { return nil, nil })})
	if err != nil {
		t.Fatal(err)
	}
	const id = "race1"
	loser := newOutput(w, id, 1)
	winner := newOutput(w, id, 2)
	br := &gatedReader{started: make(chan struct{}), release: make(chan struct{}), r: strings.NewReader("loser")}
	type put struct {
		ref ObjectRef
		err error
	}
	done := make(chan put, 1)
	go func() { ref, err := loser.Put(t.Context(), "x", br); done <- put{ref, err} }()
	waitClosed(t, br.started, "the late Put to start")
	ref, err := winner.PutBytes(t.Context(), "x", []byte("winner"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := encodeRecord(&Result{ID: id, Status: StatusOK, Outputs: map[string]ObjectRef{"x": ref}, Finished: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.q.publishResult(t.Context(), id, data); err != nil {
		t.Fatal(err)
	}
	close(br.release)
	late := <-done
	if late.err == nil && late.ref.Name == ref.Name {
		t.Fatalf("the late run stored under the winner's name %s", ref.Name)
	}
	r, err := e.client.Result(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.client.ObjectBytes(t.Context(), r.Outputs["x"])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(got)
	if d := "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:]); !bytes.Equal(got, []byte("winner")) || d != r.Outputs["x"].Digest {
		t.Fatalf("late Put returned %v; the result's output object now holds %q (digest %s, result says %s)", late.err, got, d, r.Outputs["x"].Digest)
	}
}

// TestLosingRunDropsItsOutputs: a run that stored outputs and then lost the
// race to store the job's result ends with its objects deleted (by itself,
// or already by the winner's cleanup); the winner's stay.
func TestLosingRunDropsItsOutputs(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	stored := make(chan struct{})
	late := e.startWorker("late", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		_, err := out.PutBytes(ctx, "out.txt", []byte("late"))
		close(stored)
		select {
		case <-release:
		case <-ctx.Done(): // the test failed early
		}
		return []byte(`"l"`), err
	}), func(w *Worker) {
		// No heartbeats reach the server: as if this worker were cut off.
		w.q.cfg.AckWait = time.Hour
	})
	e.submit("raced2", `{}`)
	waitClosed(t, stored, "the first run to store its output")
	e.startWorker("winner", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		_, err := out.PutBytes(ctx, "out.txt", []byte("winner"))
		return []byte(`"w"`), err
	}))
	r := e.wait("raced2")
	if r.Worker != "winner" {
		t.Fatalf("result %+v: want the winner's", r)
	}
	// (The winner's cleanup may already have deleted the late run's
	// object: a run still going then counts as one that never finished.)
	close(release)
	eventually(t, "the late run acked", func() bool { return late.Stats().Skipped == 1 })
	eventually(t, "the late run's output deleted", func() bool { return len(e.objectNames(e.client.q.objs, "out/raced2/")) == 1 })
	if names := e.objectNames(e.client.q.objs, "out/raced2/"); names[0] != r.Outputs["out.txt"].Name {
		t.Errorf("objects left %v, want the winner's %s", names, r.Outputs["out.txt"].Name)
	}
	got, err := e.client.ObjectBytes(t.Context(), r.Outputs["out.txt"])
	if err != nil || string(got) != "winner" {
		t.Errorf("output %q, %v", got, err)
	}
	eventually(t, "an empty work queue", func() bool { return e.jobsLeft() == 0 })
}

// TestResubmitKeepsQueuedBody: a job re-submitted with the same ID and
// another large body is a Duplicate and changes nothing: the queued job
// runs with its own body, and the duplicate's input object is deleted.
func TestResubmitKeepsQueuedBody(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.InlineMax = 16 })
	a := strings.Repeat("A", 100)
	b := strings.Repeat("B", 100)
	e.submit("dup-obj", a)
	r2, err := e.client.Submit(t.Context(), Job{ID: "dup-obj", ContentType: "text/plain", Body: []byte(b)})
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Duplicate {
		t.Errorf("second submit: %+v, want Duplicate", r2)
	}
	if names := e.objectNames(e.client.q.inputs, "in/dup-obj/"); len(names) != 1 {
		t.Errorf("input objects %v, want only the queued job's", names)
	}
	got := make(chan string, 1)
	e.startWorker("w", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		got <- string(job.Body)
		return nil, nil
	}))
	e.wait("dup-obj")
	if g := <-got; g != a {
		t.Fatalf("second submit Duplicate=%v, but the job ran with body %.10q...", r2.Duplicate, g)
	}
	eventually(t, "the input object deleted", func() bool { return len(e.objectNames(e.client.q.inputs, "in/dup-obj/")) == 0 })
}

// TestGracefulStopsKeepRetries: a long job whose workers are stopped
// gracefully MaxDeliver times (rolling restarts) goes back to the queue
// each time without using up its runs, and then succeeds.
func TestGracefulStopsKeepRetries(t *testing.T) {
	e := newEnv(t) // MaxDeliver 3
	var calls counter
	for i := 0; i < e.cfg.MaxDeliver; i++ {
		started := make(chan struct{})
		w, err := NewWorker(t.Context(), e.srv.Connect(t), e.cfg, WorkerOptions{Grace: 50 * time.Millisecond, FetchWait: 100 * time.Millisecond,
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
		if i == 0 {
			e.submit("rolling", `{"a":1,"b":1}`)
		}
		waitClosed(t, started, fmt.Sprintf("delivery %d", i+1))
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("worker %d did not stop", i)
		}
	}
	e.startWorker("next", 1, sumHandler(&calls, 0))
	r := e.wait("rolling")
	if r.Status != StatusOK || sumOf(t, r) != 2 {
		t.Fatalf("after %d graceful stops: status %s (%s)", e.cfg.MaxDeliver, r.Status, r.Error)
	}
	if c := calls.get("rolling"); c != e.cfg.MaxDeliver+1 {
		t.Errorf("handler ran %d times, want %d", c, e.cfg.MaxDeliver+1)
	}
	// The attempts record goes with the job.
	eventually(t, "the attempts record deleted", func() bool {
		_, err := e.client.q.tries.Get(t.Context(), "rolling")
		return err != nil
	})
}

// TestWaitSkipsMalformedResultMessage: a malformed message on a job's result
// subject (which the results stream did not store) does not end Wait or
// Watch; they return the job's real result.
func TestWaitSkipsMalformedResultMessage(t *testing.T) {
	e := newEnv(t, calm)
	nc := e.srv.Connect(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		forged, err := encodeRecord(&Result{ID: "noisy", Status: StatusOK, Data: json.RawMessage(`{"sum":99}`)})
		if err != nil {
			t.Error(err)
			return
		}
		for i := 0; ; i++ {
			// The stream refuses it (wrong expected stream); subscribers
			// get it: garbage, and a well-formed result that was never
			// stored (as a losing run's refused result would be).
			data := []byte("garbage")
			if i%2 == 1 {
				data = forged
			}
			m := &nats.Msg{Subject: e.cfg.resultSubject("noisy"), Data: data, Header: nats.Header{}}
			m.Header.Set("Nats-Expected-Stream", "not-"+e.cfg.resultsStream())
			_ = nc.PublishMsg(m)
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	type res struct {
		r   *Result
		err error
	}
	waited, watched := make(chan res, 1), make(chan res, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	go func() { r, err := e.client.Wait(ctx, "noisy"); waited <- res{r, err} }()
	go func() { r, err := e.client.Watch(ctx, "noisy", nil); watched <- res{r, err} }()
	time.Sleep(200 * time.Millisecond) // not needed for correctness: lets the watchers see garbage first
	var calls counter
	e.startWorker("w", 1, sumHandler(&calls, 0))
	e.submit("noisy", `{"a":2,"b":2}`)
	for _, ch := range []chan res{waited, watched} {
		got := <-ch
		if got.err != nil {
			t.Fatalf("Wait/Watch: %v", got.err)
		}
		if sumOf(t, got.r) != 4 {
			t.Errorf("result %+v", got.r)
		}
	}
}

// TestInputsOutliveRetention: input objects have no TTL (like queued jobs);
// outputs, results and attempt records expire after Retention.
func TestInputsOutliveRetention(t *testing.T) {
	e := newEnv(t)
	in, err := e.client.q.inputs.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.client.q.objs.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	kv, err := e.client.q.tries.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	js, err := e.client.q.jobs.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if in.TTL() != 0 || js.Config.MaxAge != 0 || out.TTL() != e.cfg.Retention || kv.TTL() != e.cfg.Retention {
		t.Errorf("TTLs: inputs %v, jobs %v, outputs %v, attempts %v; want 0, 0, %v, %v", in.TTL(), js.Config.MaxAge, out.TTL(), kv.TTL(), e.cfg.Retention, e.cfg.Retention)
	}
}

// TestCrashedRunOutputsDeleted: a worker dies after storing an output; the
// job finishes elsewhere, and the dead run's object of the same name is
// deleted with the job's attempts record: one save per output remains.
func TestCrashedRunOutputsDeleted(t *testing.T) {
	e := newEnv(t)
	stored := make(chan struct{})
	var once sync.Once
	dying := e.startWorker("dying", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		if _, err := out.PutBytes(ctx, "y.bin", []byte("partial")); err != nil {
			return nil, err
		}
		once.Do(func() { close(stored) })
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	e.submit("victim2", `{}`)
	waitClosed(t, stored, "the first run to store its output")
	dying.q.nc.Close() // the "process" dies: no ack, no cleanup
	dying.stop(t)
	if n := len(e.objectNames(e.client.q.objs, "out/victim2/")); n != 1 {
		t.Fatalf("%d output objects after the crash, want the dead run's 1", n)
	}
	e.startWorker("survivor", 1, HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		_, err := out.PutBytes(ctx, "y.bin", []byte("whole"))
		return nil, err
	}))
	r := e.wait("victim2")
	if r.Worker != "survivor" || r.Status != StatusOK {
		t.Fatalf("result %+v", r)
	}
	eventually(t, "the dead run's output deleted", func() bool { return len(e.objectNames(e.client.q.objs, "out/victim2/")) == 1 })
	if got, err := e.client.ObjectBytes(t.Context(), r.Outputs["y.bin"]); err != nil || string(got) != "whole" {
		t.Errorf("output %q, %v", got, err)
	}
	eventually(t, "the attempts record deleted", func() bool {
		_, err := e.client.q.tries.Get(t.Context(), "victim2")
		return err != nil
	})
}

// TestAttemptsRecord: the record round-trips and a malformed one counts as
// no runs.
func TestAttemptsRecord(t *testing.T) {
	a := attempts{n: 2, runs: []string{NewID(), NewID()}}
	got, ok := parseAttempts(a.encode())
	if !ok || got.n != 2 || len(got.runs) != 2 || got.runs[1] != a.runs[1] {
		t.Errorf("round trip of %q: %+v, %v", a.encode(), got, ok)
	}
	for _, bad := range []string{"", "x", "-1", "1 a.b", "1 " + strings.Repeat("r", MaxIDLen+1)} {
		if got, ok := parseAttempts([]byte(bad)); ok || got.n != 0 {
			t.Errorf("parseAttempts(%q) = %+v, %v; want refused", bad, got, ok)
		}
	}
}

// TestResultPublishFailureNaks: when the results stream refuses a final
// record (here: an operator lowered its max message size), the worker naks
// the job (with a delay) instead of leaving it to the ack wait; once the
// stream accepts it again the job ends with its result.
func TestResultPublishFailureNaks(t *testing.T) {
	e := newEnv(t, calm)
	var calls counter
	w := e.startWorker("w", 1, sumHandler(&calls, 0)) // its Setup first: it would undo the change below
	js := e.client.q.js
	st, err := js.Stream(t.Context(), e.cfg.resultsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	small := info.Config
	small.MaxMsgSize = 64
	if _, err := js.UpdateStream(t.Context(), small); err != nil {
		t.Fatal(err)
	}
	naks := make(chan *nats.Msg, 16)
	sub, err := e.srv.Connect(t).ChanSubscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED."+e.cfg.jobsStream()+"."+e.cfg.consumerName(), naks)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	e.submit("refused", `{"a":1,"b":2}`)
	select {
	case <-naks:
	case <-time.After(30 * time.Second): // AckWait is 15 s: without the nak, no advisory ever comes
		t.Fatalf("no nak after the result publish failed (worker stats %+v)", w.Stats())
	}
	if _, err := js.UpdateStream(t.Context(), info.Config); err != nil {
		t.Fatal(err)
	}
	if r := e.wait("refused"); sumOf(t, r) != 3 {
		t.Errorf("result %+v", r)
	}
	if s := w.Stats(); s.Errors == 0 {
		t.Errorf("stats %+v: the failed publish not counted", s)
	}
}

// waitClosed waits (bounded, so a hang fails the test) for ch to be closed.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestClientLeavesConsumer: a client with another AckWait does not change
// the workers' consumer (only workers and Setup set it up).
func TestClientLeavesConsumer(t *testing.T) {
	e := newEnv(t)
	if err := Setup(t.Context(), e.client.q.nc, e.cfg); err != nil {
		t.Fatal(err)
	}
	other := e.cfg
	other.AckWait = e.cfg.AckWait * 7
	c, err := NewClient(t.Context(), e.client.q.nc, other)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cons, err := e.client.q.js.Consumer(t.Context(), e.cfg.jobsStream(), e.cfg.consumerName())
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ci.Config.AckWait != e.cfg.AckWait {
		t.Errorf("a client changed the workers' AckWait: %v, want %v", ci.Config.AckWait, e.cfg.AckWait)
	}
	if _, err := c.Stats(t.Context()); err != nil {
		t.Errorf("Stats: %v", err)
	}
}
