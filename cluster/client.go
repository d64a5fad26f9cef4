package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Client submits jobs and reads their results. It is safe for concurrent use.
type Client struct {
	q      *queue
	closed atomic.Bool
}

// Receipt is what Submit returns.
type Receipt struct {
	ID string // the job's ID (generated when the Job had none)
	// Duplicate: the server already had a job with this ID within the
	// duplicate window (or its result is already durable); nothing new was queued.
	Duplicate bool
	Seq       uint64 // sequence of the job message in the jobs stream (0 when the result was already durable)
}

// NewClient runs Setup and returns a Client on nc. nc stays the caller's:
// Close does not close it.
func NewClient(ctx context.Context, nc *nats.Conn, cfg Config) (*Client, error) {
	q, err := openQueue(ctx, nc, cfg, false)
	if err != nil {
		return nil, err
	}
	return &Client{q: q}, nil
}

// Config returns the client's Config with defaults filled in.
func (c *Client) Config() Config { return c.q.cfg }

func (c *Client) check(op, id string) error {
	if c.closed.Load() {
		return &Error{Op: op, ID: id, Err: ErrClosed}
	}
	if err := ValidateID(id); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			err = ce.Err
		}
		return &Error{Op: op, ID: "", Err: err}
	}
	return nil
}

// Submit queues job, with a JetStream publish ack, and returns its ID. An
// empty job.ID gets NewID. The message carries Nats-Msg-Id = ID, so a job
// submitted again with the same ID is dropped by the server (Receipt.Duplicate).
// A body larger than Config.InlineMax is stored in the object store first;
// one larger than Config.MaxBodySize fails with ErrTooLarge. After any other
// error the job may or may not be queued: submit it again with the same ID.
func (c *Client) Submit(ctx context.Context, job Job) (Receipt, error) {
	const op = "submit"
	if job.ID == "" {
		job.ID = NewID()
	}
	if err := c.check(op, job.ID); err != nil {
		return Receipt{}, err
	}
	id, cfg := job.ID, c.q.cfg
	if err := validateContentType(job.ContentType); err != nil {
		return Receipt{}, &Error{Op: op, ID: id, Err: err}
	}
	if int64(len(job.Body)) > cfg.MaxBodySize {
		return Receipt{}, &Error{Op: op, ID: id, Err: fmt.Errorf("%w: body is %d bytes, the limit is %d", ErrTooLarge, len(job.Body), cfg.MaxBodySize)}
	}
	msg := &nats.Msg{Subject: cfg.jobSubject(id), Header: nats.Header{}}
	msg.Header.Set(hdrMsgID, id)
	msg.Header.Set(hdrContentType, job.ContentType)
	var input string // the input object this call stored, or ""
	if len(job.Body) > cfg.InlineMax {
		// A large body goes to the object store first. If the job already
		// finished, storing its input would only leave garbage behind.
		if _, err := c.q.result(ctx, id); err == nil {
			return Receipt{ID: id, Duplicate: true}, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Receipt{}, &Error{Op: op, ID: id, Err: err}
		}
		// Each submission stores its own object, so a re-submit (with
		// the same body or not) never touches the queued job's input.
		input = inputObject(id, NewID())
		if _, err := c.q.inputs.Put(ctx, jetstream.ObjectMeta{Name: input}, bytes.NewReader(job.Body)); err != nil {
			return Receipt{}, &Error{Op: op, ID: id, Err: fmt.Errorf("storing the body: %w", err)}
		}
		msg.Header.Set(hdrBodyObject, input)
		msg.Header.Set(hdrBodySize, strconv.Itoa(len(job.Body)))
	} else {
		msg.Data = job.Body
	}
	ack, err := c.q.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(cfg.jobsStream()))
	if err != nil && c.q.repairIfLost(ctx, err) {
		// The server had lost the queue (restarted without its store): it
		// is set up again; publish once more.
		ack, err = c.q.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(cfg.jobsStream()))
	}
	if err != nil {
		// The job may be queued (the ack was lost), so its input stays.
		return Receipt{}, &Error{Op: op, ID: id, Err: err}
	}
	if ack.Duplicate && input != "" {
		// The queued job has its own input object; this one is unused.
		if err := c.q.inputs.Delete(ctx, input); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			cfg.Logger.Warn("cluster: deleting the input object of a duplicate submit", "id", id, "object", input, "err", err)
		}
	}
	return Receipt{ID: id, Duplicate: ack.Duplicate, Seq: ack.Sequence}, nil
}

// Result returns the durable final result of job id, or an error wrapping
// ErrNotFound when the job has not finished (or never existed, or its result
// outlived Config.Retention). A job that failed or was dead-lettered has a
// Result too: see Result.Status and Result.Err.
func (c *Client) Result(ctx context.Context, id string) (*Result, error) {
	const op = "result"
	if err := c.check(op, id); err != nil {
		return nil, err
	}
	r, err := c.q.result(ctx, id)
	return r, opErr(op, id, err)
}

// pollEvery is how often Wait and Watch re-read the results stream, which
// covers a result published while the connection was down.
const pollEvery = 2 * time.Second

// After a message on a job's result subject, Wait and Watch read the stored
// result up to maxHintReads more times, hintRetry apart, before falling back
// to the poll.
const (
	maxHintReads = 50
	hintRetry    = 10 * time.Millisecond
)

// Wait blocks until job id has a final result and returns it; it works for a
// job that finished before Wait was called. It returns early with ctx's error.
func (c *Client) Wait(ctx context.Context, id string) (*Result, error) {
	return c.watch(ctx, "wait", id, nil)
}

// Watch is Wait that also reports the job's live output chunks: fn is called,
// from Watch's goroutine, with each EventChunk as it arrives and finally with
// one EventResult, then Watch returns the Result. Chunks are best effort
// (those published before Watch subscribed are not seen).
func (c *Client) Watch(ctx context.Context, id string, fn func(Event)) (*Result, error) {
	if fn == nil {
		fn = func(Event) {}
	}
	return c.watch(ctx, "watch", id, fn)
}

func (c *Client) watch(ctx context.Context, op, id string, fn func(Event)) (*Result, error) {
	if err := c.check(op, id); err != nil {
		return nil, err
	}
	cfg := c.q.cfg
	// One channel for both subscriptions keeps the publisher's order: the
	// chunks of an attempt arrive before its result.
	ch := make(chan *nats.Msg, 256)
	sub, err := c.q.nc.ChanSubscribe(cfg.resultSubject(id), ch)
	if err != nil {
		return nil, &Error{Op: op, ID: id, Err: err}
	}
	defer sub.Unsubscribe()
	if fn != nil {
		esub, err := c.q.nc.ChanSubscribe(cfg.eventSubject(id), ch)
		if err != nil {
			return nil, &Error{Op: op, ID: id, Err: err}
		}
		defer esub.Unsubscribe()
	}
	// The server handles this connection's SUB before the read of the
	// results stream below, so a result is either found by that read or
	// delivered on ch (and the periodic poll covers a result published while
	// the connection was down).
	done := func(r *Result) (*Result, error) {
		if fn != nil {
			fn(Event{Kind: EventResult, Attempt: r.Deliveries, Result: r})
		}
		return r, nil
	}
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	hint := 0 // stored reads left after a message on the result subject
	for first := true; ; first = false {
		if hint > 0 {
			hint--
			select {
			case <-ctx.Done():
				return nil, &Error{Op: op, ID: id, Err: ctx.Err()}
			case <-time.After(hintRetry):
			}
		} else if !first {
			select {
			case <-ctx.Done():
				return nil, &Error{Op: op, ID: id, Err: ctx.Err()}
			case m := <-ch:
				if m.Subject != cfg.resultSubject(id) {
					fn(chunkEvent(m))
					continue
				}
				// A message on the result subject is only a hint: core
				// subscribers get a publish before the results stream has
				// stored it, and also one the stream refuses (a losing
				// run's result, or anything else published there). The
				// stored record is the job's result: read it, a few times
				// while the stream catches up.
				if _, err := decodeResult(id, m.Data); err != nil {
					cfg.Logger.Warn("cluster: skipping a malformed message on a job's result subject", "id", id, "err", err)
				}
				hint = maxHintReads
			case <-poll.C:
			}
		}
		// Each read is bounded by the poll period: a request lost while the
		// server restarts must not hold the wait until ctx ends.
		rctx, cancel := context.WithTimeout(ctx, pollEvery)
		r, err := c.q.result(rctx, id)
		cancel()
		switch {
		case err == nil:
			return done(r)
		case errors.Is(err, ErrNotFound):
		case ctx.Err() != nil:
			return nil, &Error{Op: op, ID: id, Err: ctx.Err()}
		case errors.Is(err, ErrBadMessage):
			// Something other than a worker stored a malformed record as
			// the job's result; keep waiting (ctx bounds the wait).
			c.q.cfg.Logger.Warn("cluster: the job's stored result is malformed", "id", id, "err", err)
		default:
			// The server may be restarting; the next poll tries again.
			c.q.cfg.Logger.Debug("cluster: reading a result", "id", id, "err", err)
		}
	}
}

func chunkEvent(m *nats.Msg) Event {
	a, _ := strconv.Atoi(m.Header.Get(hdrAttempt))
	s, _ := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
	return Event{Kind: EventChunk, Attempt: a, Seq: s, Data: m.Data}
}

// DeadLetter returns the dead-letter record of job id, or ErrNotFound.
func (c *Client) DeadLetter(ctx context.Context, id string) (*DeadLetter, error) {
	const op = "dead letter"
	if err := c.check(op, id); err != nil {
		return nil, err
	}
	m, err := c.q.dead.GetLastMsgForSubject(ctx, c.q.cfg.deadSubject(id))
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			err = ErrNotFound
		}
		return nil, &Error{Op: op, ID: id, Err: err}
	}
	var d DeadLetter
	if len(m.Data) > maxResultSize {
		return nil, &Error{Op: op, ID: id, Err: fmt.Errorf("%w: record is %d bytes", ErrBadMessage, len(m.Data))}
	}
	if err := json.Unmarshal(m.Data, &d); err != nil || d.ID != id {
		return nil, &Error{Op: op, ID: id, Err: fmt.Errorf("%w: dead-letter record: %v", ErrBadMessage, err)}
	}
	return &d, nil
}

// objectInfo returns the info of object name in store after checking its
// size against Config.MaxBodySize.
func (q *queue) objectInfo(ctx context.Context, store jetstream.ObjectStore, name string) (*jetstream.ObjectInfo, error) {
	info, err := store.GetInfo(ctx, name)
	if err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, fmt.Errorf("%w: object %s", ErrNotFound, name)
		}
		return nil, err
	}
	if info.Size > uint64(q.cfg.MaxBodySize) {
		return nil, fmt.Errorf("%w: object %s is %d bytes, the limit is %d", ErrTooLarge, name, info.Size, q.cfg.MaxBodySize)
	}
	return info, nil
}

// readObject reads object name of store whole, checking its size first.
func (q *queue) readObject(ctx context.Context, store jetstream.ObjectStore, name string) ([]byte, error) {
	info, err := q.objectInfo(ctx, store, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size))
	if _, err := q.copyObject(ctx, store, name, int64(info.Size), &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (q *queue) copyObject(ctx context.Context, store jetstream.ObjectStore, name string, size int64, w io.Writer) (int64, error) {
	res, err := store.Get(ctx, name)
	if err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return 0, fmt.Errorf("%w: object %s", ErrNotFound, name)
		}
		return 0, err
	}
	defer res.Close()
	// The object may have been replaced since its info was read: never copy
	// more than the size checked (+1 to notice).
	n, err := io.Copy(w, io.LimitReader(res, size+1))
	if err != nil {
		return n, err
	}
	if n > size {
		return n, fmt.Errorf("%w: object %s grew past %d bytes while read", ErrTooLarge, name, size)
	}
	return n, nil
}

func (c *Client) checkRef(op string, ref ObjectRef) error {
	if c.closed.Load() {
		return &Error{Op: op, Err: ErrClosed}
	}
	if ref.Bucket != c.q.cfg.bucket() {
		return &Error{Op: op, Err: fmt.Errorf("%w: object %q is in bucket %q, not this queue's %q", ErrNotFound, ref.Name, ref.Bucket, c.q.cfg.bucket())}
	}
	return nil
}

// GetObject copies the object ref names to w, verifying its digest, and
// returns the bytes copied. An object larger than Config.MaxBodySize fails
// with ErrTooLarge before any is read.
func (c *Client) GetObject(ctx context.Context, ref ObjectRef, w io.Writer) (int64, error) {
	const op = "get object"
	if err := c.checkRef(op, ref); err != nil {
		return 0, err
	}
	info, err := c.q.objectInfo(ctx, c.q.objs, ref.Name)
	if err != nil {
		return 0, &Error{Op: op, Err: err}
	}
	n, err := c.q.copyObject(ctx, c.q.objs, ref.Name, int64(info.Size), w)
	return n, opErr(op, "", err)
}

// ObjectBytes returns the bytes of the object ref names (see GetObject).
func (c *Client) ObjectBytes(ctx context.Context, ref ObjectRef) ([]byte, error) {
	const op = "get object"
	if err := c.checkRef(op, ref); err != nil {
		return nil, err
	}
	b, err := c.q.readObject(ctx, c.q.objs, ref.Name)
	return b, opErr(op, "", err)
}

// Close releases the client; the *nats.Conn stays open. Calls after Close
// fail with ErrClosed.
func (c *Client) Close() error {
	c.closed.Store(true)
	return nil
}

// QueueStats is a snapshot of the queue.
type QueueStats struct {
	Pending     uint64 // jobs waiting for a worker
	Running     int    // jobs delivered to a worker and not yet acked
	Redelivered int    // of those, jobs delivered more than once
	IdleSlots   int    // waiting pull requests: worker slots asking for jobs
	Results     uint64 // final results retained
	DeadLetters uint64 // dead-letter records retained
}

// Stats reads the queue's counters from the server.
func (c *Client) Stats(ctx context.Context) (QueueStats, error) {
	const op = "stats"
	if c.closed.Load() {
		return QueueStats{}, &Error{Op: op, Err: ErrClosed}
	}
	var st QueueStats
	cons, err := c.q.js.Consumer(ctx, c.q.cfg.jobsStream(), c.q.cfg.consumerName())
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		// No worker has set the queue up yet: every job is pending.
		ji, err := c.q.jobs.Info(ctx)
		if err != nil {
			return QueueStats{}, &Error{Op: op, Err: err}
		}
		st.Pending = ji.State.Msgs
	case err != nil:
		return QueueStats{}, &Error{Op: op, Err: err}
	default:
		ci, err := cons.Info(ctx)
		if err != nil {
			return QueueStats{}, &Error{Op: op, Err: err}
		}
		st = QueueStats{Pending: ci.NumPending, Running: ci.NumAckPending, Redelivered: ci.NumRedelivered, IdleSlots: ci.NumWaiting}
	}
	ri, err := c.q.results.Info(ctx)
	if err != nil {
		return QueueStats{}, &Error{Op: op, Err: err}
	}
	di, err := c.q.dead.Info(ctx)
	if err != nil {
		return QueueStats{}, &Error{Op: op, Err: err}
	}
	st.Results, st.DeadLetters = ri.State.Msgs, di.State.Msgs
	return st, nil
}
