package main

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/vkio/vkio/io"
)

// TestNATSFlagsCheck: out-of-range queue flags are usage errors (exit 2),
// caught before any connection.
func TestNATSFlagsCheck(t *testing.T) {
	ok := natsFlags{url: "nats://127.0.0.1:4222", prefix: "vkio", maxDeliver: 5}
	if err := ok.check(); err != nil {
		t.Fatalf("valid flags: %v", err)
	}
	for _, md := range []int{0, -1, 1001, 5000} {
		f := ok
		f.maxDeliver = md
		if err := f.check(); exitCode(err) != exitUsage {
			t.Errorf("--max-deliver %d: %v, want a usage error", md, err)
		}
	}
}

// TestNATSQueueTroubleRetried: a failure of the queue's server while a job
// stores its outputs is worth another run (not a failed job); live output is
// best effort and never fails a job.
func TestNATSQueueTroubleRetried(t *testing.T) {
	s := &server{}
	x := io.NewBlocking().Io()
	for _, cause := range []error{nats.ErrTimeout, nats.ErrReconnectBufExceeded} {
		je := s.natsJobErr(context.Background(), x, &queueTrouble{err: cause})
		if !je.retry || je.status != 503 {
			t.Errorf("queue trouble %v: status %d retry %v, want 503 and a retry", cause, je.status, je.retry)
		}
	}
}
