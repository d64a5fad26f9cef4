package main

import (
	"context"
	"fmt"
	stdio "io"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"

	"github.com/vkio/vkio/cluster"
)

// natsURLEnv names the environment variable that gives `vkdemo worker` and
// `vkdemo submit` their --nats default (NATS's own convention). serve does
// not read it: without --nats it stays a one-machine server.
const natsURLEnv = "NATS_URL"

// natsFlags are the flags that name the queue: the server and the queue's
// JetStream resources. Every worker, gateway and client of one queue must
// agree on --nats-prefix; --ack-wait and --max-deliver are the workers' (a
// worker sets up the workers' consumer with them; clients and the gateway
// leave it alone), so every worker gives the same ones.
type natsFlags struct {
	url        string
	prefix     string
	ackWait    time.Duration
	maxDeliver int
}

// add registers the flags. --ack-wait and --max-deliver are the workers'
// settings (see natsFlags).
func (f *natsFlags) add(fl *pflag.FlagSet, urlDefault string) {
	fl.StringVar(&f.url, "nats", urlDefault, "NATS server URL(s), comma-separated (nats://host:4222); JetStream must be on (nats-server -js)")
	fl.StringVar(&f.prefix, "nats-prefix", cluster.DefaultPrefix, "name prefix of the queue's streams, consumer and object store")
	fl.DurationVar(&f.ackWait, "ack-wait", cluster.DefaultAckWait, "how long a job may go without a sign of life from its worker before it is delivered to another (running jobs send one every third of it); give every worker of a queue the same")
	fl.IntVar(&f.maxDeliver, "max-deliver", cluster.DefaultMaxDeliver, "runs of a job before it is dead-lettered, 1 to 1000 (a job whose run fails or whose worker dies is retried until then; a run handed back by a stopping worker does not count); give every worker of a queue the same")
}

// check validates the flags (usage errors).
func (f *natsFlags) check() error {
	switch {
	case strings.TrimSpace(f.url) == "":
		return usageErrorf("--nats: give the NATS server's URL (nats://host:4222), or set %s", natsURLEnv)
	case f.ackWait < 0:
		return usageErrorf("--ack-wait %s: must be positive", f.ackWait)
	case f.ackWait > 0 && f.ackWait < time.Second:
		return usageErrorf("--ack-wait %s: at least 1s", f.ackWait)
	case f.maxDeliver < 1 || f.maxDeliver > 1000:
		return usageErrorf("--max-deliver %d: want 1 to 1000 runs", f.maxDeliver)
	}
	if len(f.prefix) < 1 || len(f.prefix) > 32 || strings.Trim(f.prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		return usageErrorf("--nats-prefix %s: want 1 to 32 of A-Z a-z 0-9 _ -", q(f.prefix))
	}
	return nil
}

// config maps the flags into the queue's Config; logger gets its records
// (nil: none).
func (f *natsFlags) config(logger *slog.Logger) cluster.Config {
	return cluster.Config{Prefix: f.prefix, AckWait: f.ackWait, MaxDeliver: f.maxDeliver, Logger: logger}
}

// connect connects to the NATS server as name, reconnecting forever (a
// server restart is waited out, not an error).
func (f *natsFlags) connect(ctx context.Context, name string, stderr func(string, ...any)) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				stderr("%s: disconnected from NATS (%v); reconnecting\n", name, err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { stderr("%s: reconnected to NATS at %s\n", name, nc.ConnectedUrlRedacted()) }),
	}
	nc, err := nats.Connect(f.url, opts...)
	if err != nil {
		return nil, fmt.Errorf("--nats %s: %w", redactURL(f.url), err)
	}
	return nc, nil
}

// redactURL hides a password in a URL for messages.
func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

// natsLogger is the queue's logger for -v: text records on stderr.
func natsLogger(verbose bool, w stdio.Writer) *slog.Logger {
	if !verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
