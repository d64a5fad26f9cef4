package cluster

import (
	"context"
	"errors"
	"fmt"
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
	objs    jetstream.ObjectStore
	cons    jetstream.Consumer
}

// Setup creates or updates the streams, the workers' consumer and the object
// store bucket that cfg names (see the package comment). It is idempotent;
// Clients and Workers call it when they start, so calling it directly is only
// needed to prepare a server ahead of time. nc stays the caller's.
func Setup(ctx context.Context, nc *nats.Conn, cfg Config) error {
	_, err := openQueue(ctx, nc, cfg)
	return err
}

func openQueue(ctx context.Context, nc *nats.Conn, cfg Config) (*queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if nc == nil {
		return nil, &Error{Op: "setup", Err: fmt.Errorf("%w: nil *nats.Conn", ErrBadConfig)}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, &Error{Op: "setup", Err: err}
	}
	q := &queue{cfg: cfg, nc: nc, js: js}
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
	q.objs, err = retry2(func() (jetstream.ObjectStore, error) {
		return js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      cfg.bucket(),
			Description: "vkio cluster: large job bodies and outputs",
			TTL:         cfg.Retention,
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
		})
	})
	if err != nil {
		return nil, &Error{Op: "setup", Err: fmt.Errorf("object store %s: %w", cfg.bucket(), err)}
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

// lost reports whether the server no longer has the queue's jobs stream or
// workers' consumer (a server restarted without its store, or an operator
// deleted them), as opposed to being unreachable for a while.
func (q *queue) lost(ctx context.Context) bool {
	_, err := q.js.Consumer(ctx, q.cfg.jobsStream(), q.cfg.consumerName())
	return errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)
}

// repair runs Setup again after lost and returns the new consumer handle.
// The other handles name their streams and keep working.
func (q *queue) repair(ctx context.Context) (jetstream.Consumer, error) {
	nq, err := openQueue(ctx, q.nc, q.cfg)
	if err != nil {
		return nil, err
	}
	q.cfg.Logger.Warn("cluster: the server had lost the queue's streams or consumer; set them up again", "prefix", q.cfg.Prefix)
	return nq.cons, nil
}
