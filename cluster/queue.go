package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// queue is the set of JetStream handles a Client and a Worker share.
type queue struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	jobs    jetstream.Stream
	results jetstream.Stream
	dead    jetstream.Stream
	objs    jetstream.ObjectStore // outputs (TTL Config.Retention)
	inputs  jetstream.ObjectStore // large job bodies (no TTL: deleted when the job ends)
	tries   jetstream.KeyValue    // runs started per job ID (see addAttempts)
	cons    jetstream.Consumer    // nil for a client's queue (see openQueue)
	workers bool                  // the queue sets up the workers' consumer

	repairMu sync.Mutex
}

// Setup creates or updates the streams, the workers' consumer and the object
// store bucket that cfg names (see the package comment). It is idempotent;
// Clients and Workers call it when they start, so calling it directly is only
// needed to prepare a server ahead of time. nc stays the caller's.
func Setup(ctx context.Context, nc *nats.Conn, cfg Config) error {
	_, err := openQueue(ctx, nc, cfg, true)
	return err
}

// With workers, openQueue also creates or updates the workers' consumer
// (AckWait and the rest from cfg); a client's queue leaves it alone, so a
// client's Config cannot change how the workers' jobs are delivered.
func openQueue(ctx context.Context, nc *nats.Conn, cfg Config, workers bool) (*queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if nc == nil {
		return nil, &Error{Op: "setup", Err: fmt.Errorf("%w: nil *nats.Conn", ErrBadConfig)}
	}
	// An inline body must fit the server's max_payload with the headers.
	if mp := int(nc.MaxPayload()); mp > 0 && cfg.InlineMax > mp-4096 {
		cfg.InlineMax = max(mp-4096, 1)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, &Error{Op: "setup", Err: err}
	}
	q := &queue{cfg: cfg, nc: nc, js: js, workers: workers}
	streams := []struct {
		dst *jetstream.Stream
		sc  jetstream.StreamConfig
	}{
		{&q.jobs, jetstream.StreamConfig{
			Name:        cfg.jobsStream(),
			Description: "vkio cluster: jobs (work queue)",
			Subjects:    []string{cfg.Prefix + ".jobs.*"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  cfg.DuplicateWindow,
			Replicas:    cfg.Replicas,
			// No MaxAge: a queued job waits for a worker however long.
		}},
		{&q.results, jetstream.StreamConfig{
			Name:              cfg.resultsStream(),
			Description:       "vkio cluster: final result per job",
			Subjects:          []string{cfg.Prefix + ".results.*"},
			Retention:         jetstream.LimitsPolicy,
			Storage:           jetstream.FileStorage,
			MaxMsgsPerSubject: 1,
			Duplicates:        cfg.DuplicateWindow,
			Replicas:          cfg.Replicas,
			MaxAge:            cfg.Retention,
			AllowDirect:       true,
		}},
		{&q.dead, jetstream.StreamConfig{
			Name:              cfg.deadStream(),
			Description:       "vkio cluster: dead-lettered jobs",
			Subjects:          []string{cfg.Prefix + ".dead.*"},
			Retention:         jetstream.LimitsPolicy,
			Storage:           jetstream.FileStorage,
			MaxMsgsPerSubject: 1,
			Duplicates:        cfg.DuplicateWindow,
			Replicas:          cfg.Replicas,
			MaxAge:            cfg.Retention,
			AllowDirect:       true,
		}},
	}
	for _, s := range streams {
		st, err := createOrUpdateStream(ctx, js, s.sc)
		if err != nil {
			return nil, &Error{Op: "setup", Err: fmt.Errorf("stream %s: %w", s.sc.Name, err)}
		}
		*s.dst = st
	}
	objectStore := func(bucket, desc string, ttl time.Duration) (jetstream.ObjectStore, error) {
		st, err := retry2(func() (jetstream.ObjectStore, error) {
			return js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
				Bucket: bucket, Description: desc, TTL: ttl, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
			})
		})
		if err != nil {
			return nil, &Error{Op: "setup", Err: fmt.Errorf("object store %s: %w", bucket, err)}
		}
		return st, nil
	}
	if q.objs, err = objectStore(cfg.bucket(), "vkio cluster: job outputs", cfg.Retention); err != nil {
		return nil, err
	}
	// Inputs have no TTL, like the queued jobs that refer to them (the jobs
	// stream has no MaxAge): the worker deletes a job's input object when
	// the job ends, and Submit deletes one it stored for a duplicate.
	if q.inputs, err = objectStore(cfg.inputsBucket(), "vkio cluster: large job bodies", 0); err != nil {
		return nil, err
	}
	q.tries, err = retry2(func() (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:       cfg.attemptsBucket(),
			Description:  "vkio cluster: runs started per job",
			History:      1,
			TTL:          cfg.Retention,
			MaxValueSize: maxAttemptsRecord + 1024, // the record, plus the headers the server counts with it
			Storage:      jetstream.FileStorage,
			Replicas:     cfg.Replicas,
		})
	})
	if err != nil {
		return nil, &Error{Op: "setup", Err: fmt.Errorf("key-value bucket %s: %w", cfg.attemptsBucket(), err)}
	}
	if !workers {
		return q, nil
	}
	q.cons, err = retry2(func() (jetstream.Consumer, error) {
		return q.jobs.CreateOrUpdateConsumer(ctx, q.consumerConfig())
	})
	if err != nil {
		return nil, &Error{Op: "setup", Err: fmt.Errorf("consumer %s: %w", cfg.consumerName(), err)}
	}
	return q, nil
}

func (q *queue) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:     q.cfg.consumerName(),
		Description: "vkio cluster: workers",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     q.cfg.AckWait,
		// The worker enforces Config.MaxDeliver: a delivery beyond it is
		// dead-lettered without running. The server never stops delivering,
		// so a job cannot be stranded without a final result.
		MaxDeliver:    -1,
		MaxAckPending: 100000,
		FilterSubject: q.cfg.Prefix + ".jobs.*",
	}
}

// createOrUpdateStream retries once when two parties race to create it.
func createOrUpdateStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) (jetstream.Stream, error) {
	return retry2(func() (jetstream.Stream, error) { return js.CreateOrUpdateStream(ctx, sc) })
}

func retry2[T any](f func() (T, error)) (T, error) {
	v, err := f()
	if err != nil && (errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || errors.Is(err, jetstream.ErrConsumerExists) || errors.Is(err, jetstream.ErrBucketExists)) {
		time.Sleep(10 * time.Millisecond)
		v, err = f()
	}
	return v, err
}

// result reads the durable final result of job id; ErrNotFound if none.
func (q *queue) result(ctx context.Context, id string) (*Result, error) {
	m, err := q.results.GetLastMsgForSubject(ctx, q.cfg.resultSubject(id))
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return decodeResult(id, m.Data)
}

// lost reports whether the server no longer has the queue's consumer or
// one of its streams (a server restarted without its store, or an operator
// deleted them), as opposed to being unreachable for a while. It is asked
// only after an operation failed.
func (q *queue) lost(ctx context.Context) bool {
	gone := func(err error) bool {
		return errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)
	}
	if _, err := q.js.Consumer(ctx, q.cfg.jobsStream(), q.cfg.consumerName()); q.workers && gone(err) {
		return true
	}
	if _, err := q.js.Stream(ctx, q.cfg.jobsStream()); gone(err) {
		return true
	}
	for _, name := range []string{q.cfg.resultsStream(), q.cfg.deadStream(), "OBJ_" + q.cfg.inputsBucket(), "KV_" + q.cfg.attemptsBucket()} {
		if _, err := q.js.Stream(ctx, name); gone(err) {
			return true
		}
	}
	return false
}

// repair runs Setup again after lost. The queue's handles name their
// streams and consumer, so they keep working once those exist again.
func (q *queue) repair(ctx context.Context) error {
	q.repairMu.Lock()
	defer q.repairMu.Unlock()
	if _, err := openQueue(ctx, q.nc, q.cfg, q.workers); err != nil {
		return err
	}
	q.cfg.Logger.Warn("cluster: the server had lost the queue's streams or consumer; set them up again", "prefix", q.cfg.Prefix)
	return nil
}

// repairIfLost repairs the queue after a failed operation if the server
// lost it, and reports whether it did.
func (q *queue) repairIfLost(ctx context.Context, err error) bool {
	if err == nil || !(errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrBucketNotFound)) {
		return false
	}
	if !q.lost(ctx) {
		return false
	}
	if err := q.repair(ctx); err != nil {
		q.cfg.Logger.Warn("cluster: setting the queue up again", "err", err)
		return false
	}
	return true
}

// attempts is a job's record in the <P>_attempts bucket: the count of
// runs started (and not given back) and the IDs of those runs, whose output
// objects are "out/<id>/<run>/...". Encoded as "<count> <run> <run> ...".
type attempts struct {
	n    int
	runs []string
}

// maxAttemptsRecord bounds the record (MaxDeliver <= 1000 runs of 27 bytes).
const maxAttemptsRecord = 64 << 10

func (a attempts) encode() []byte {
	b := strconv.AppendInt(nil, int64(a.n), 10)
	for _, r := range a.runs {
		b = append(b, ' ')
		b = append(b, r...)
	}
	return b
}

// parseAttempts decodes a record; a malformed one (not written by this
// package) counts as no runs.
func parseAttempts(v []byte) (attempts, bool) {
	f := strings.Fields(string(v))
	if len(f) == 0 {
		return attempts{}, false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 0 {
		return attempts{}, false
	}
	a := attempts{n: min(n, 1<<30)}
	for _, r := range f[1:] {
		if ValidateID(r) != nil {
			return attempts{}, false
		}
		a.runs = append(a.runs, r)
	}
	return a, true
}

// attemptsOf reads job id's record; a missing one is the zero record.
func (q *queue) attemptsOf(ctx context.Context, id string) (attempts, uint64, error) {
	e, err := q.tries.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return attempts{}, 0, nil
	}
	if err != nil {
		return attempts{}, 0, err
	}
	a, ok := parseAttempts(e.Value())
	if !ok {
		q.cfg.Logger.Warn("cluster: a malformed attempts record; counting it as 0", "id", id, "bytes", len(e.Value()))
	}
	return a, e.Revision(), nil
}

// addAttempts records the start (delta 1) or the give-back (delta -1) of
// run of job id and returns the new count of runs. A run adds 1 when it
// starts; a run given back by a stopping worker adds -1, so graceful stops
// do not use up Config.MaxDeliver the way the message's delivery count
// would; a run that crashes or hangs keeps its count (and its ID, so that
// its outputs are deleted when the job ends). The record is
// compare-and-set, so concurrent runs of one job (a redelivery race) each
// count. It is deleted when the job ends and expires after
// Config.Retention.
func (q *queue) addAttempts(ctx context.Context, id string, delta int, run string) (int, error) {
	for range 100 {
		a, rev, err := q.attemptsOf(ctx, id)
		if err != nil {
			return 0, err
		}
		if rev == 0 && delta <= 0 {
			return 0, nil
		}
		a.n = max(a.n+delta, 0)
		if delta > 0 {
			if len(a.encode())+1+len(run) <= maxAttemptsRecord {
				a.runs = append(a.runs, run)
			}
		} else {
			a.runs = slices.DeleteFunc(a.runs, func(r string) bool { return r == run })
		}
		if rev == 0 {
			_, err = q.tries.Create(ctx, id, a.encode())
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue
			}
		} else {
			_, err = q.tries.Update(ctx, id, a.encode(), rev)
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue
			}
		}
		if err != nil {
			return 0, err
		}
		return a.n, nil
	}
	return 0, fmt.Errorf("attempts record of %s: too many concurrent updates", id)
}
