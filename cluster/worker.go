package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler runs jobs for a Worker.
type Handler interface {
	// Run executes job and returns its result data: JSON (stored in
	// Result.Data, at most Config.InlineMax bytes; store more with out.Put)
	// or nil. The whole result record (data and output references) must
	// fit the server's max_payload, or the job fails ("result record too
	// large"). It may stream live output through out and store output
	// objects with out.Put. An error is retried (redelivery after
	// Config.RetryDelay, up to Config.MaxDeliver runs, then the job is
	// dead-lettered) unless wrapped with Permanent, which ends the job at
	// once with StatusFailed. A panic counts as an error. ctx is canceled
	// when the worker's grace period after a stop runs out; a job that
	// returns then is given back to the queue, and that run does not count
	// against Config.MaxDeliver. Run may be called again for the same job
	// ID (after a crash, a failure), so it must be safe to re-run; each run
	// stores its outputs under its own object names, and the final Result
	// refers to those of the run that produced it.
	Run(ctx context.Context, job *Job, out *Output) ([]byte, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job *Job, out *Output) ([]byte, error)

// Run calls f.
func (f HandlerFunc) Run(ctx context.Context, job *Job, out *Output) ([]byte, error) {
	return f(ctx, job, out)
}

// Output is a running job's output: live chunks and stored objects. Its
// methods are safe for concurrent use during Handler.Run and fail with
// ErrClosed after it returned.
type Output struct {
	w       *Worker
	id      string
	attempt int
	run     string // unique per run: output objects are out/<id>/<run>/<name>

	mu   sync.Mutex
	done bool
	seq  uint64
	refs map[string]ObjectRef
}

func newOutput(w *Worker, id string, attempt int) *Output {
	return &Output{w: w, id: id, attempt: attempt, run: NewID()}
}

// Attempt is the delivery number of this run of the job, from 1.
func (o *Output) Attempt() int { return o.attempt }

// Worker is the name of the worker running the job.
func (o *Output) Worker() string { return o.w.name }

// maxChunk bounds one live output message.
const maxChunk = 64 << 10

// Write publishes p as live output on <prefix>.events.<id> (core NATS: best
// effort, seen only by current watchers), in chunks of at most 64 KiB.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return 0, &Error{Op: "output write", ID: o.id, Err: ErrClosed}
	}
	n := 0
	for len(p) > 0 || n == 0 {
		c := min(len(p), maxChunk)
		o.seq++
		m := &nats.Msg{Subject: o.w.q.cfg.eventSubject(o.id), Data: p[:c], Header: nats.Header{}}
		m.Header.Set(hdrAttempt, strconv.Itoa(o.attempt))
		m.Header.Set(hdrSeq, strconv.FormatUint(o.seq, 10))
		if err := o.w.q.nc.PublishMsg(m); err != nil {
			return n, &Error{Op: "output write", ID: o.id, Err: err}
		}
		n += c
		p = p[c:]
		if len(p) == 0 {
			break
		}
	}
	return n, nil
}

// MaxOutputs is how many output objects one job may store (so that its
// Result record stays small).
const MaxOutputs = 1024

// Put stores r as the job's output object name (1 to 128 bytes of
// [A-Za-z0-9_.-]) under "out/<id>/<run>/<name>", where <run> is unique to
// this run of the job, and records it in Result.Outputs; a second Put of
// the same name in one run replaces the object. Objects of other runs are
// never touched, so a Result always refers to the objects its own run
// stored; the objects of a run whose result is not the job's final one
// (it failed and was retried, lost a redelivery race, was given back) are
// deleted when the run ends. An object over Config.MaxBodySize, or an
// output beyond MaxOutputs, fails with ErrTooLarge (and is not stored). If
// another run of the same job already stored its final result, Put stores
// nothing and fails with ErrAlreadyDone; a handler should return that error
// (the delivery is then acked without a result).
func (o *Output) Put(ctx context.Context, name string, r io.Reader) (ObjectRef, error) {
	const op = "output put"
	if err := validateOutputName(name); err != nil {
		return ObjectRef{}, &Error{Op: op, ID: o.id, Err: err}
	}
	o.mu.Lock()
	done, full := o.done, len(o.refs) >= MaxOutputs
	if _, ok := o.refs[name]; ok {
		full = false
	}
	o.mu.Unlock()
	if done {
		return ObjectRef{}, &Error{Op: op, ID: o.id, Err: ErrClosed}
	}
	if full {
		return ObjectRef{}, &Error{Op: op, ID: o.id, Err: fmt.Errorf("%w: more than %d outputs", ErrTooLarge, MaxOutputs)}
	}
	q := o.w.q
	// A run that lost a race (its job was redelivered while it still ran,
	// and the other run already stored the result) need not store anything.
	// (Its names are its own, so a Put that began before the winner's
	// result could not replace the winner's objects either.)
	if _, err := q.result(ctx, o.id); err == nil {
		return ObjectRef{}, &Error{Op: op, ID: o.id, Err: ErrAlreadyDone}
	}
	lr := &limitReader{r: r, left: q.cfg.MaxBodySize}
	info, err := q.objs.Put(ctx, jetstream.ObjectMeta{Name: outputObject(o.id, o.run, name)}, lr)
	if err != nil {
		if lr.over {
			err = fmt.Errorf("%w: output %s is over %d bytes", ErrTooLarge, name, q.cfg.MaxBodySize)
		}
		return ObjectRef{}, &Error{Op: op, ID: o.id, Err: err}
	}
	ref := ObjectRef{Bucket: q.cfg.bucket(), Name: info.Name, Size: int64(info.Size), Digest: info.Digest}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return ObjectRef{}, &Error{Op: op, ID: o.id, Err: ErrClosed}
	}
	if o.refs == nil {
		o.refs = map[string]ObjectRef{}
	}
	if _, ok := o.refs[name]; !ok && len(o.refs) >= MaxOutputs {
		return ObjectRef{}, &Error{Op: op, ID: o.id, Err: fmt.Errorf("%w: more than %d outputs", ErrTooLarge, MaxOutputs)}
	}
	o.refs[name] = ref
	return ref, nil
}

// PutBytes is Put of a byte slice.
func (o *Output) PutBytes(ctx context.Context, name string, data []byte) (ObjectRef, error) {
	return o.Put(ctx, name, bytes.NewReader(data))
}

// close ends the output and returns the objects stored.
func (o *Output) close() map[string]ObjectRef {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = true
	return o.refs
}

// dropOutputs deletes the output objects of a run whose result is not the
// job's final one. A failed delete leaves the object to the bucket's TTL.
func (w *Worker) dropOutputs(ctx context.Context, refs map[string]ObjectRef, log interface{ Warn(string, ...any) }) {
	for _, ref := range refs {
		if err := w.q.objs.Delete(ctx, ref.Name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			log.Warn("cluster: deleting an output object of a run whose result was not kept", "object", ref.Name, "err", err)
		}
	}
}

// limitReader fails once more than left bytes were read.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	return n, err
}

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// Name identifies the worker in results and dead-letter records; default
	// "worker-" and a random suffix. At most 128 printable ASCII bytes.
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
	OK           int64 // jobs finished with StatusOK (result stored by this worker)
	Failed       int64 // jobs finished with StatusFailed
	Retried      int64 // failed runs given back for redelivery
	DeadLettered int64 // jobs this worker dead-lettered
	Skipped      int64 // deliveries acked without running (or whose result lost the race): a result was already durable
	Errors       int64 // queue errors (publish, ack, fetch) seen
}

// Worker pulls jobs from the queue and runs them through a Handler.
type Worker struct {
	q    *queue
	name string
	opts WorkerOptions
	cons jetstream.Consumer
	ran  atomic.Bool

	runs, ok, failed, retried, dead, skipped, errs atomic.Int64

	// afterResult, for tests, runs after a final result is durable and
	// before the ack; returning true skips the ack (a simulated crash).
	afterResult func(id string) bool
}

// NewWorker runs Setup and returns a Worker on nc. nc stays the caller's.
func NewWorker(ctx context.Context, nc *nats.Conn, cfg Config, opts WorkerOptions) (*Worker, error) {
	const op = "new worker"
	bad := func(format string, a ...any) error {
		return &Error{Op: op, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, a...)...)}
	}
	if opts.Handler == nil {
		return nil, bad("WorkerOptions.Handler is nil")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	if opts.Concurrency < 0 || opts.Concurrency > 4096 {
		return nil, bad("WorkerOptions.Concurrency %d is outside 1..4096", opts.Concurrency)
	}
	if opts.Name == "" {
		opts.Name = "worker-" + NewID()[16:]
	}
	if err := validateContentType(opts.Name); err != nil || len(opts.Name) > 128 {
		return nil, bad("WorkerOptions.Name %q: want 1 to 128 printable ASCII bytes", opts.Name)
	}
	if opts.Grace < 0 || opts.FetchWait < 0 {
		return nil, bad("WorkerOptions.Grace %v / FetchWait %v is negative", opts.Grace, opts.FetchWait)
	}
	if opts.FetchWait == 0 {
		opts.FetchWait = time.Second
	}
	q, err := openQueue(ctx, nc, cfg, true)
	if err != nil {
		return nil, err
	}
	if opts.Grace == 0 {
		opts.Grace = q.cfg.AckWait
	}
	return &Worker{q: q, name: opts.Name, opts: opts, cons: q.cons}, nil
}

// Name returns the worker's name.
func (w *Worker) Name() string { return w.name }

// Stats returns the worker's counters so far.
func (w *Worker) Stats() WorkerStats {
	return WorkerStats{
		Runs: w.runs.Load(), OK: w.ok.Load(), Failed: w.failed.Load(), Retried: w.retried.Load(),
		DeadLettered: w.dead.Load(), Skipped: w.skipped.Load(), Errors: w.errs.Load(),
	}
}

// Run pulls and runs jobs until ctx is canceled, then stops fetching, lets
// running jobs finish (up to WorkerOptions.Grace, then cancels them), acks
// what finished and returns nil. Connection trouble (a server restart) is
// logged and retried; Run returns an error wrapping ErrClosed if the
// connection is closed for good. A worker runs once: a second Run fails.
func (w *Worker) Run(ctx context.Context) error {
	const op = "worker run"
	if !w.ran.CompareAndSwap(false, true) {
		return &Error{Op: op, Err: fmt.Errorf("%w: Run was already called", ErrClosed)}
	}
	log := w.q.cfg.Logger.With("worker", w.name)
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	conc := w.opts.Concurrency
	slots := make(chan struct{}, conc)
	for range conc {
		slots <- struct{}{}
	}
	var wg sync.WaitGroup
	var runErr error
	pause := 50 * time.Millisecond
	log.Info("cluster: worker started", "concurrency", conc)
fetching:
	for {
		select {
		case <-ctx.Done():
			break fetching
		case <-slots:
		}
		n := 1
	more:
		for n < conc {
			select {
			case <-slots:
				n++
			default:
				break more
			}
		}
		if w.q.nc.IsClosed() {
			for range n {
				slots <- struct{}{}
			}
			runErr = &Error{Op: op, Err: fmt.Errorf("%w: the NATS connection is closed", ErrClosed)}
			break
		}
		// Ask for exactly as many jobs as there are free slots: a job is
		// never held in this worker's buffer while another worker is idle.
		batch, err := w.cons.Fetch(n, jetstream.FetchMaxWait(w.opts.FetchWait))
		got := 0
		if err == nil {
			for msg := range batch.Messages() {
				got++
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { slots <- struct{}{} }()
					w.handle(jobCtx, msg)
				}()
			}
			err = batch.Error()
		}
		for range n - got {
			slots <- struct{}{}
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			w.errs.Add(1)
			log.Debug("cluster: fetching jobs", "err", err)
			w.q.repairIfLost(ctx, err)
			// The server may be restarting: back off a little.
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
		} else {
			pause = 50 * time.Millisecond
		}
	}
	if w.q.nc.IsClosed() {
		// Nothing running can be acked any more: stop it now; the server
		// redelivers those jobs after AckWait.
		cancelJobs()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	grace := time.NewTimer(w.opts.Grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		log.Warn("cluster: grace period over, canceling running jobs", "grace", w.opts.Grace)
		cancelJobs()
		<-done
	}
	log.Info("cluster: worker stopped")
	return runErr
}

// retryDelay is the delay before redelivering a job that failed on its
// attempt-th delivery: RetryDelay doubled per delivery, capped at AckWait.
func (w *Worker) retryDelay(attempt int) time.Duration {
	d := w.q.cfg.RetryDelay
	for i := 1; i < attempt && d < w.q.cfg.AckWait; i++ {
		d *= 2
	}
	return min(d, w.q.cfg.AckWait)
}

// handle processes one delivery of a job message.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	cfg := w.q.cfg
	log := cfg.Logger.With("worker", w.name, "subject", msg.Subject())
	md, err := msg.Metadata()
	if err != nil {
		w.errs.Add(1)
		log.Error("cluster: a job message without JetStream metadata", "err", err)
		_ = msg.Term()
		return
	}
	attempt := int(min(md.NumDelivered, 1<<30))
	wj, err := decodeJob(cfg, msg.Subject(), msg.Headers(), msg.Data())
	if err != nil {
		id := msg.Headers().Get(hdrMsgID)
		if ValidateID(id) != nil || msg.Subject() != cfg.jobSubject(id) {
			w.errs.Add(1)
			log.Error("cluster: dropping a malformed job message", "err", err)
			_ = msg.TermWithReason("malformed job message")
			return
		}
		// The job is identifiable: give it a final result so that its
		// submitter does not wait forever.
		w.finish(ctx, msg, nil, &Result{ID: id, Status: StatusFailed, Error: err.Error(), Worker: w.name, Deliveries: attempt, Finished: time.Now()}, nil, "")
		return
	}
	log = log.With("id", wj.ID, "attempt", attempt)

	// (1) A result already durable: the job ran; only its ack was lost.
	if r, err := w.q.result(ctx, wj.ID); err == nil {
		w.skipped.Add(1)
		log.Debug("cluster: job already has a result; acking without running")
		w.ack(ctx, msg, wj, r, log)
		return
	} else if errors.Is(err, ErrBadMessage) {
		// Something else stored a malformed record as this job's result; it
		// can never be replaced, so running the job again is useless.
		w.errs.Add(1)
		log.Error("cluster: job has a malformed result record; acking without running", "err", err)
		w.ack(ctx, msg, wj, nil, log)
		return
	} else if !errors.Is(err, ErrNotFound) {
		w.errs.Add(1)
		log.Warn("cluster: reading a job's result", "err", err)
		_ = msg.NakWithDelay(w.retryDelay(1))
		return
	}
	// (4b) Count this run in the job's attempts record; a count beyond the
	// limit means earlier runs crashed or hung.
	run := NewID()
	runs, err := w.q.addAttempts(ctx, wj.ID, 1, run)
	if err != nil && w.q.repairIfLost(ctx, err) {
		runs, err = w.q.addAttempts(ctx, wj.ID, 1, run)
	}
	if err != nil {
		w.errs.Add(1)
		d := w.retryDelay(1)
		log.Warn("cluster: counting a job's run; it will be redelivered", "err", err, "delay", d)
		w.nak(msg, d, log)
		return
	}
	if runs > cfg.MaxDeliver {
		w.deadLetter(ctx, msg, wj, md, attempt, fmt.Sprintf("started %d times without finishing (the workers running it crashed or stopped answering)", runs-1), log)
		return
	}

	started := time.Now()
	stopBeat := w.heartbeat(msg, log)
	body := wj.Body
	if wj.Object != "" {
		body, err = w.q.readObject(ctx, w.q.inputs, wj.Object)
		if err != nil {
			stopBeat()
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrTooLarge) {
				w.finish(ctx, msg, wj, &Result{ID: wj.ID, Status: StatusFailed, Error: "reading the job body: " + err.Error(), Worker: w.name, Deliveries: attempt, Started: started, Finished: time.Now()}, nil, run)
				return
			}
			w.errs.Add(1)
			log.Warn("cluster: reading a job body", "err", err)
			w.giveBack(ctx, wj.ID, run, log)
			w.nak(msg, w.retryDelay(runs), log)
			return
		}
	}
	out := &Output{w: w, id: wj.ID, attempt: attempt, run: run}
	w.runs.Add(1)
	data, err := w.run(ctx, &Job{ID: wj.ID, ContentType: wj.ContentType, Body: body}, out)
	refs := out.close()
	stopBeat()
	if err == nil && len(data) > 0 {
		if len(data) > cfg.InlineMax {
			err = Permanent(fmt.Errorf("handler returned %d bytes of result data, the limit is %d (store large results with Output.Put)", len(data), cfg.InlineMax))
		} else if !json.Valid(data) {
			err = Permanent(errors.New("handler returned result data that is not JSON"))
		}
	}
	res := &Result{ID: wj.ID, Worker: w.name, Deliveries: attempt, Started: started, Finished: time.Now(), Outputs: refs}
	switch {
	case errors.Is(err, ErrAlreadyDone):
		// Another run of this job finished first: nothing to add.
		w.skipped.Add(1)
		actx, cancel := w.ackCtx(ctx)
		defer cancel()
		w.dropOutputs(actx, refs, log)
		w.ack(actx, msg, wj, nil, log)
		return
	case err == nil:
		res.Status, res.Data = StatusOK, data
	case IsPermanent(err):
		res.Status, res.Error = StatusFailed, err.Error()
	case ctx.Err() != nil:
		// The worker is stopping and the job gave up: give it back undone,
		// without counting the run against Config.MaxDeliver.
		log.Info("cluster: job canceled by the worker's stop; giving it back", "err", err)
		actx, cancel := w.ackCtx(ctx)
		defer cancel()
		w.dropOutputs(actx, refs, log)
		w.giveBack(actx, wj.ID, run, log)
		w.nak(msg, 0, log)
		return
	case runs >= cfg.MaxDeliver:
		actx, cancel := w.ackCtx(ctx)
		defer cancel()
		w.dropOutputs(actx, refs, log)
		w.deadLetter(ctx, msg, wj, md, attempt, err.Error(), log)
		return
	default:
		w.retried.Add(1)
		actx, cancel := w.ackCtx(ctx)
		defer cancel()
		w.dropOutputs(actx, refs, log)
		d := w.retryDelay(runs)
		log.Info("cluster: job failed; it will be redelivered", "err", err, "delay", d)
		w.nak(msg, d, log)
		return
	}
	w.finish(ctx, msg, wj, res, refs, run)
}

// giveBack takes a run that did not finish through no fault of the job (a
// stopping worker, a transient queue error) off the job's attempts record.
func (w *Worker) giveBack(ctx context.Context, id, run string, log interface{ Warn(string, ...any) }) {
	actx, cancel := w.ackCtx(ctx)
	defer cancel()
	if _, err := w.q.addAttempts(actx, id, -1, run); err != nil {
		// The run then counts against Config.MaxDeliver, like a crash.
		w.errs.Add(1)
		log.Warn("cluster: taking a given-back run off the job's attempts record", "err", err)
	}
}

// nak gives msg back for redelivery after delay (0: at once), logging a
// failure (the server then redelivers it after AckWait).
func (w *Worker) nak(msg jetstream.Msg, delay time.Duration, log interface{ Warn(string, ...any) }) {
	var err error
	if delay > 0 {
		err = msg.NakWithDelay(delay)
	} else {
		err = msg.Nak()
	}
	if err != nil {
		w.errs.Add(1)
		log.Warn("cluster: giving a job back (nak); it is redelivered after AckWait", "err", err)
	}
}

// run calls the handler, turning a panic into an error.
func (w *Worker) run(ctx context.Context, job *Job, out *Output) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			w.q.cfg.Logger.Error("cluster: handler panicked", "worker", w.name, "id", job.ID, "panic", p, "stack", string(debug.Stack()))
			data, err = nil, fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return w.opts.Handler.Run(ctx, job, out)
}

// heartbeat sends in-progress acks for msg every AckWait/3 until stopped.
func (w *Worker) heartbeat(msg jetstream.Msg, log interface{ Debug(string, ...any) }) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.q.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Debug("cluster: in-progress ack", "err", err)
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// ackCtx is the context for publishing a final result and acking: not
// canceled by the worker's stop (finishing is what a stop waits for), but
// bounded.
func (w *Worker) ackCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), max(w.q.cfg.AckWait, 5*time.Second))
}

// finish makes res durable, then acks msg (3): the order that makes a
// redelivery after a crash find the result instead of running again. refs
// are the output objects of run: deleted unless the stored result keeps them.
func (w *Worker) finish(ctx context.Context, msg jetstream.Msg, wj *wireJob, res *Result, refs map[string]ObjectRef, run string) {
	log := w.q.cfg.Logger.With("worker", w.name, "id", res.ID)
	actx, cancel := w.ackCtx(ctx)
	defer cancel()
	if md, err := msg.Metadata(); err == nil {
		res.Queued = md.Timestamp
	}
	res.Error = clipError(res.Error)
	data, err := encodeRecord(res)
	if lim := w.q.maxRecord(); err == nil && len(data) > lim {
		// The data and the output refs together do not fit in one message:
		// retrying cannot help, so the job fails for good.
		n := len(data)
		log.Warn("cluster: a job's result record is too large; storing a failed result", "bytes", n, "max", lim)
		res = &Result{ID: res.ID, Status: StatusFailed, Error: fmt.Sprintf("result record too large: %d bytes, server max %d", n, lim),
			Worker: res.Worker, Deliveries: res.Deliveries, Queued: res.Queued, Started: res.Started, Finished: res.Finished}
		data, err = encodeRecord(res)
	}
	var stored bool
	if err == nil {
		stored, err = w.q.publishResult(actx, res.ID, data)
		if err != nil && w.q.repairIfLost(actx, err) {
			stored, err = w.q.publishResult(actx, res.ID, data)
		}
	}
	if err != nil {
		// Not stored (or not known to be): the job is redelivered and its
		// result published again. A run lost to the connection (a timeout,
		// a restarting server) is not counted against MaxDeliver; one the
		// server refused (an API error: storage or account limits) is, so
		// that a result that can never be stored ends dead-lettered rather
		// than re-run forever. Its outputs are kept (the result may be
		// durable after all) and expire with Config.Retention otherwise.
		w.errs.Add(1)
		d := w.retryDelay(res.Deliveries)
		log.Warn("cluster: publishing a job's final result; it will be redelivered", "err", err, "delay", d)
		var api *jetstream.APIError
		if wj != nil && run != "" && !errors.As(err, &api) {
			w.giveBack(actx, wj.ID, run, log)
		}
		w.nak(msg, d, log)
		return
	}
	if !stored || res.Outputs == nil {
		w.dropOutputs(actx, refs, log)
	}
	switch {
	case !stored:
		w.skipped.Add(1)
	case res.Status == StatusOK:
		w.ok.Add(1)
	case res.Status == StatusFailed:
		w.failed.Add(1)
	case res.Status == StatusDeadLetter:
		w.dead.Add(1)
	}
	if w.afterResult != nil && w.afterResult(res.ID) {
		return
	}
	if res.Status == StatusDeadLetter && stored {
		w.cleanup(actx, wj, res, log)
		w.term(msg, "dead-letter", log)
		return
	}
	if !stored {
		res = nil // the stored result is another run's
	}
	w.ack(actx, msg, wj, res, log)
}

// ack acks msg, confirmed by the server, after removing what the job no
// longer needs (res is its final result, or nil when not at hand).
func (w *Worker) ack(ctx context.Context, msg jetstream.Msg, wj *wireJob, res *Result, log interface{ Warn(string, ...any) }) {
	w.cleanup(ctx, wj, res, log)
	if err := msg.DoubleAck(ctx); err != nil {
		// The redelivery will find the result and ack again.
		w.errs.Add(1)
		log.Warn("cluster: acking a job", "err", err)
	}
}

// cleanup removes a job's input object and attempts record once its final
// result res is durable, and the output objects that runs which never
// finished (crashed, hung) stored under the names res.Outputs has: their
// other objects are left to the bucket's TTL. res may be nil: then only
// the input object and the record go.
func (w *Worker) cleanup(ctx context.Context, wj *wireJob, res *Result, log interface{ Warn(string, ...any) }) {
	if wj == nil {
		return
	}
	if res != nil && len(res.Outputs) > 0 {
		if a, _, err := w.q.attemptsOf(ctx, wj.ID); err == nil {
			for _, run := range a.runs {
				for name, ref := range res.Outputs {
					if obj := outputObject(wj.ID, run, name); obj != ref.Name {
						if err := w.q.objs.Delete(ctx, obj); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
							log.Warn("cluster: deleting an output object of an unfinished run", "object", obj, "err", err)
						}
					}
				}
			}
		}
	}
	if wj.Object != "" {
		if err := w.q.inputs.Delete(ctx, wj.Object); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			log.Warn("cluster: deleting a job's input object", "object", wj.Object, "err", err)
		}
	}
	if err := w.q.tries.Delete(ctx, wj.ID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		log.Warn("cluster: deleting a job's attempts record (it expires after Config.Retention)", "err", err)
	}
}

// term terminates a dead-lettered job's message: like an ack it removes the
// message from the work queue, and the server also publishes a
// MSG_TERMINATED advisory for monitoring. Should the term be lost, the
// redelivery finds the durable result and acks.
func (w *Worker) term(msg jetstream.Msg, reason string, log interface{ Warn(string, ...any) }) {
	if err := msg.TermWithReason(reason); err != nil {
		w.errs.Add(1)
		log.Warn("cluster: terminating a dead-lettered job", "err", err)
	}
}

// deadLetter records the job on <prefix>.dead.<id> and gives it a final
// "dead-letter" result (4).
func (w *Worker) deadLetter(ctx context.Context, msg jetstream.Msg, wj *wireJob, md *jetstream.MsgMetadata, attempt int, reason string, log interface {
	Warn(string, ...any)
}) {
	actx, cancel := w.ackCtx(ctx)
	defer cancel()
	reason = clipError(reason)
	log.Warn("cluster: dead-lettering a job", "reason", reason)
	rec := DeadLetter{ID: wj.ID, Error: reason, Deliveries: attempt, Worker: w.name, ContentType: wj.ContentType,
		BodySize: wj.Size, StreamSeq: md.Sequence.Stream, Time: time.Now()}
	data, err := encodeRecord(rec)
	if err == nil {
		m := &nats.Msg{Subject: w.q.cfg.deadSubject(wj.ID), Data: data, Header: nats.Header{}}
		m.Header.Set(hdrMsgID, "dead-"+wj.ID)
		_, err = w.q.js.PublishMsg(actx, m, jetstream.WithExpectStream(w.q.cfg.deadStream()))
		if err != nil && w.q.repairIfLost(actx, err) {
			_, err = w.q.js.PublishMsg(actx, m, jetstream.WithExpectStream(w.q.cfg.deadStream()))
		}
	}
	if err != nil {
		// The next delivery dead-letters it again.
		w.errs.Add(1)
		d := w.retryDelay(attempt)
		log.Warn("cluster: publishing a dead-letter record; the job will be redelivered", "err", err, "delay", d)
		w.nak(msg, d, log)
		return
	}
	w.finish(ctx, msg, wj, &Result{ID: wj.ID, Status: StatusDeadLetter, Error: reason, Worker: w.name, Deliveries: attempt, Finished: time.Now()}, nil, "")
}

// resultHeaderRoom is the part of the server's max_payload kept for a
// result message's headers (Nats-Msg-Id and the expectations).
const resultHeaderRoom = 1024

// maxRecord is the largest encoded result record that can be published
// (and read back: maxResultSize).
func (q *queue) maxRecord() int {
	lim := maxResultSize
	if mp := int(q.nc.MaxPayload()); mp > 0 {
		lim = min(lim, mp-resultHeaderRoom)
	}
	return lim
}

// publishResult stores data, the encoded final result of job id, unless
// one is stored already: Nats-Msg-Id drops a repeated publish within the
// duplicate window and the expected last subject sequence 0 refuses a
// second result ever. It reports whether this call stored it.
func (q *queue) publishResult(ctx context.Context, id string, data []byte) (bool, error) {
	m := &nats.Msg{Subject: q.cfg.resultSubject(id), Data: data, Header: nats.Header{}}
	m.Header.Set(hdrMsgID, "result-"+id)
	ack, err := q.js.PublishMsg(ctx, m, jetstream.WithExpectStream(q.cfg.resultsStream()), jetstream.WithExpectLastSequencePerSubject(0))
	if err != nil {
		var api *jetstream.APIError
		if errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return false, nil
		}
		return false, err
	}
	return !ack.Duplicate, nil
}

// maxErrorText bounds the error text kept in a Result or DeadLetter record.
const maxErrorText = 16 << 10

// clipError cuts an error text to maxErrorText bytes (valid UTF-8).
func clipError(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	return strings.ToValidUTF8(s[:maxErrorText], "") + fmt.Sprintf("... (%d bytes cut)", len(s)-maxErrorText)
}
