package cluster

import (
	"context"
	"io"

	"github.com/nats-io/nats.go"
)

// Client submits jobs and reads their results. It is safe for concurrent use.
type Client struct {
	q *queue
}

// Receipt is what Submit returns.
type Receipt struct {
	ID string // the job's ID (generated when the Job had none)
	// Duplicate: the server already had a job with this ID within the
	// duplicate window (or its result is already durable); nothing new was queued.
	Duplicate bool
	Seq       uint64 // sequence of the job message in the jobs stream (0 when Duplicate)
}

// NewClient runs Setup and returns a Client on nc. nc stays the caller's:
// Close does not close it.
func NewClient(ctx context.Context, nc *nats.Conn, cfg Config) (*Client, error) {
	q, err := openQueue(ctx, nc, cfg)
	if err != nil {
		return nil, err
	}
	return &Client{q: q}, nil
}

// Config returns the client's Config with defaults filled in.
func (c *Client) Config() Config { return c.q.cfg }

// Submit queues job, with a JetStream publish ack, and returns its ID. An
// empty job.ID gets NewID. The message carries Nats-Msg-Id = ID, so a job
// submitted again with the same ID is dropped by the server (Receipt.Duplicate).
// A body larger than Config.InlineMax is stored in the object store first;
// one larger than Config.MaxBodySize fails with ErrTooLarge.
func (c *Client) Submit(ctx context.Context, job Job) (Receipt, error) {
	return Receipt{}, &Error{Op: "submit", ID: job.ID, Err: errNotImplemented}
}

// Result returns the durable final result of job id, or an error wrapping
// ErrNotFound when the job has not finished (or never existed, or its result
// outlived Config.Retention). A job that failed or was dead-lettered has a
// Result too: see Result.Status and Result.Err.
func (c *Client) Result(ctx context.Context, id string) (*Result, error) {
	return nil, &Error{Op: "result", ID: id, Err: errNotImplemented}
}

// Wait blocks until job id has a final result and returns it; it works for a
// job that finished before Wait was called. It returns early with ctx's error.
func (c *Client) Wait(ctx context.Context, id string) (*Result, error) {
	return nil, &Error{Op: "wait", ID: id, Err: errNotImplemented}
}

// Watch is Wait that also reports the job's live output chunks: fn is called,
// from Watch's goroutine, with each EventChunk as it arrives and finally with
// one EventResult, then Watch returns the Result. Chunks are best effort
// (those published before Watch subscribed are not seen).
func (c *Client) Watch(ctx context.Context, id string, fn func(Event)) (*Result, error) {
	return nil, &Error{Op: "watch", ID: id, Err: errNotImplemented}
}

// DeadLetter returns the dead-letter record of job id, or ErrNotFound.
func (c *Client) DeadLetter(ctx context.Context, id string) (*DeadLetter, error) {
	return nil, &Error{Op: "dead letter", ID: id, Err: errNotImplemented}
}

// GetObject copies the object ref names to w, verifying its digest, and
// returns the bytes copied. An object larger than Config.MaxBodySize fails
// with ErrTooLarge before any is read.
func (c *Client) GetObject(ctx context.Context, ref ObjectRef, w io.Writer) (int64, error) {
	return 0, &Error{Op: "get object", Err: errNotImplemented}
}

// ObjectBytes returns the bytes of the object ref names (see GetObject).
func (c *Client) ObjectBytes(ctx context.Context, ref ObjectRef) ([]byte, error) {
	return nil, &Error{Op: "get object", Err: errNotImplemented}
}

// Close releases the client; the *nats.Conn stays open. Calls after Close
// fail with ErrClosed.
func (c *Client) Close() error { return nil }
