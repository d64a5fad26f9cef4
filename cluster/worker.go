package cluster

import (
	"context"
	"io"
	"time"

	"github.com/nats-io/nats.go"
)

// Handler runs jobs for a Worker.
type Handler interface {
	// Run executes job and returns its result data: JSON (stored in
	// Result.Data) or nil. It may stream live output through out and store
	// output objects with out.Put. An error is retried (redelivery after
	// Config.RetryDelay, up to Config.MaxDeliver deliveries, then the job is
	// dead-lettered) unless wrapped with Permanent, which ends the job at once
	// with StatusFailed. ctx is canceled when the worker's grace period after
	// a stop runs out; a job that returns ctx's error then is redelivered.
	// Run may be called again for the same job ID (after a crash, a failure),
	// so it must be safe to re-run; outputs it stores under the same names
	// replace the earlier ones.
	Run(ctx context.Context, job *Job, out *Output) ([]byte, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job *Job, out *Output) ([]byte, error)

// Run calls f.
func (f HandlerFunc) Run(ctx context.Context, job *Job, out *Output) ([]byte, error) {
	return f(ctx, job, out)
}

// Output is a running job's output: live chunks and stored objects. Its
// methods are safe for concurrent use during Handler.Run and fail after.
type Output struct {
	w       *Worker
	id      string
	attempt int
}

// Attempt is the delivery number of this run of the job, from 1.
func (o *Output) Attempt() int { return o.attempt }

// Worker is the name of the worker running the job.
func (o *Output) Worker() string { return o.w.name }

// Write publishes p as one live output chunk on <prefix>.events.<id> (core
// NATS: best effort, seen only by current watchers). It copies p.
func (o *Output) Write(p []byte) (int, error) {
	return 0, &Error{Op: "output chunk", ID: o.id, Err: errNotImplemented}
}

// Put stores r as the job's output object name (1 to 128 bytes of
// [A-Za-z0-9_.-]) under "out/<id>/<name>", replacing any earlier object of
// that name atomically, and records it in Result.Outputs.
func (o *Output) Put(ctx context.Context, name string, r io.Reader) (ObjectRef, error) {
	return ObjectRef{}, &Error{Op: "output put", ID: o.id, Err: errNotImplemented}
}

// PutBytes is Put of a byte slice.
func (o *Output) PutBytes(ctx context.Context, name string, data []byte) (ObjectRef, error) {
	return ObjectRef{}, &Error{Op: "output put", ID: o.id, Err: errNotImplemented}
}

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// Name identifies the worker in results and dead-letter records; default
	// "worker-" and a random suffix.
	Name string
	// Concurrency is how many jobs run at once (e.g. one per device); default 1.
	// The worker fetches only as many jobs as it has free slots, so jobs
	// queued behind a slow one go to other workers.
	Concurrency int
	// Handler runs the jobs. Required.
	Handler Handler
	// Grace is how long running jobs may take to finish after Run's context
	// is canceled before their own contexts are canceled; default Config.AckWait.
	Grace time.Duration
	// FetchWait is how long one pull request waits for jobs; default 1s.
	// It bounds how long Run takes to notice its context ended while idle.
	FetchWait time.Duration
}

// WorkerStats counts what a Worker did.
type WorkerStats struct {
	Runs         int64 // handler calls
	OK           int64 // jobs finished with StatusOK
	Failed       int64 // jobs finished with StatusFailed
	Retried      int64 // failed runs sent back for redelivery
	DeadLettered int64 // jobs this worker dead-lettered
	Skipped      int64 // deliveries acked without running: a result was already durable
	Errors       int64 // queue errors (publish, ack, fetch) seen
}

// Worker pulls jobs from the queue and runs them through a Handler.
type Worker struct {
	q    *queue
	name string
	opts WorkerOptions
}

// NewWorker runs Setup and returns a Worker on nc. nc stays the caller's.
func NewWorker(ctx context.Context, nc *nats.Conn, cfg Config, opts WorkerOptions) (*Worker, error) {
	return nil, &Error{Op: "new worker", Err: errNotImplemented}
}

// Name returns the worker's name.
func (w *Worker) Name() string { return w.name }

// Stats returns the worker's counters so far.
func (w *Worker) Stats() WorkerStats { return WorkerStats{} }

// Run pulls and runs jobs until ctx is canceled, then stops fetching, lets
// running jobs finish (up to WorkerOptions.Grace, then cancels them), acks
// what finished and returns nil. A worker runs once: a second Run fails.
// Connection trouble (a server restart) is logged and retried, not returned.
func (w *Worker) Run(ctx context.Context) error {
	return &Error{Op: "worker run", Err: errNotImplemented}
}
