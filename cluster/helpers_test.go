package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vkio/vkio/cluster/natstest"
)

// env is one embedded server, a Config and a Client for a test.
type env struct {
	t      *testing.T
	srv    *natstest.Server
	cfg    Config
	client *Client
}

// testConfig: short AckWait and retry delay so that redelivery tests finish
// quickly; warnings and errors go to the test log.
func testConfig(t *testing.T) Config {
	return Config{
		Prefix:     "t",
		AckWait:    time.Second,
		MaxDeliver: 3,
		RetryDelay: 10 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func newEnv(t *testing.T, tweak ...func(*Config)) *env {
	t.Helper()
	return newEnvOn(t, natstest.Start(t), tweak...)
}

// newEnvOn is newEnv on a server the test started.
func newEnvOn(t *testing.T, srv *natstest.Server, tweak ...func(*Config)) *env {
	t.Helper()
	cfg := testConfig(t)
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := NewClient(t.Context(), srv.Connect(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &env{t: t, srv: srv, cfg: c.Config(), client: c}
}

// runningWorker is a Worker running in a goroutine on its own connection.
type runningWorker struct {
	*Worker
	cancel context.CancelFunc
	done   chan error
}

// stop cancels the worker's Run and waits for it.
func (rw *runningWorker) stop(t *testing.T) {
	t.Helper()
	rw.cancel()
	select {
	case err := <-rw.done:
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("worker %s: Run: %v", rw.name, err)
		}
		rw.done <- err // for a second stop
	case <-time.After(30 * time.Second):
		t.Fatalf("worker %s did not stop", rw.name)
	}
}

func (e *env) startWorker(name string, conc int, h Handler, setup ...func(*Worker)) *runningWorker {
	e.t.Helper()
	w, err := NewWorker(e.t.Context(), e.srv.Connect(e.t), e.cfg, WorkerOptions{
		Name: name, Concurrency: conc, Handler: h, Grace: 5 * time.Second, FetchWait: 200 * time.Millisecond,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range setup {
		f(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWorker{Worker: w, cancel: cancel, done: make(chan error, 1)}
	go func() { rw.done <- w.Run(ctx) }()
	e.t.Cleanup(func() { rw.stop(e.t) })
	return rw
}

// submit submits a job, failing the test on error.
func (e *env) submit(id string, body string) Receipt {
	e.t.Helper()
	r, err := e.client.Submit(e.t.Context(), Job{ID: id, ContentType: "application/json", Body: []byte(body)})
	if err != nil {
		e.t.Fatalf("submit %s: %v", id, err)
	}
	return r
}

// wait waits for a job's result (bounded, so a lost job fails the test).
func (e *env) wait(id string) *Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	r, err := e.client.Wait(ctx, id)
	if err != nil {
		e.t.Fatalf("wait %s: %v", id, err)
	}
	return r
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jobsLeft is the number of messages in the jobs stream.
func (e *env) jobsLeft() uint64 {
	info, err := e.client.q.jobs.Info(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// objectNames lists the objects of store whose names start with prefix.
func (e *env) objectNames(store jetstream.ObjectStore, prefix string) []string {
	e.t.Helper()
	infos, err := listObjects(e.t.Context(), store)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, info := range infos {
		if strings.HasPrefix(info.Name, prefix) {
			names = append(names, info.Name)
		}
	}
	return names
}

// counter counts handler calls per job ID.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// sumHandler parses {"a":x,"b":y} and returns {"sum":x+y}.
func sumHandler(calls *counter, delay time.Duration) Handler {
	return HandlerFunc(func(ctx context.Context, job *Job, out *Output) ([]byte, error) {
		calls.inc(job.ID)
		var in struct{ A, B int }
		if err := json.Unmarshal(job.Body, &in); err != nil {
			return nil, Permanent(err)
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return fmt.Appendf(nil, `{"sum":%d}`, in.A+in.B), nil
	})
}

func sumOf(t *testing.T, r *Result) int {
	t.Helper()
	if r.Status != StatusOK {
		t.Fatalf("job %s: status %s (%s)", r.ID, r.Status, r.Error)
	}
	var out struct{ Sum int }
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatalf("job %s: result data %q: %v", r.ID, r.Data, err)
	}
	return out.Sum
}

var _ = atomic.Int64{}

// listObjects is store.List with each try bounded: nats.go's List waits for
// its watcher's initial entries to end, and a store changing under it (an
// object deleted as the listing starts) can leave it waiting until ctx
// ends. A try that times out is made again.
func listObjects(ctx context.Context, store jetstream.ObjectStore) ([]*jetstream.ObjectInfo, error) {
	var err error
	for range 10 {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var infos []*jetstream.ObjectInfo
		infos, err = store.List(lctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return infos, err
		}
	}
	return nil, err
}
