package cluster

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix          = "vkio"
	DefaultAckWait         = 30 * time.Second
	DefaultMaxDeliver      = 5
	DefaultInlineMax       = 512 << 10
	DefaultMaxBodySize     = 256 << 20
	DefaultDuplicateWindow = 10 * time.Minute
	DefaultRetention       = 7 * 24 * time.Hour
	DefaultRetryDelay      = time.Second
)

// Config names the JetStream resources and sets the queue's limits. Every
// Client and Worker of one queue must use the same Prefix and the same
// stream settings; AckWait and MaxDeliver are the workers' (a Worker sets up
// the workers' consumer, a Client never touches it), so give every Worker
// the same ones. The zero value is usable: zero fields take the defaults
// above.
type Config struct {
	// Prefix names everything: streams <Prefix>_jobs, <Prefix>_results,
	// <Prefix>_dead, consumer <Prefix>_workers, bucket <Prefix>_objects and
	// subjects <Prefix>.jobs.<id> etc. 1 to 32 bytes of [A-Za-z0-9_-].
	Prefix string
	// AckWait is how long a delivered job may go without an ack or an
	// in-progress ack before the server redelivers it. Workers send in-progress
	// acks every AckWait/3 while a job runs.
	AckWait time.Duration
	// MaxDeliver is how many runs of a job may be started (a run given back
	// undone by a stopping worker does not count). A job still failing (or
	// whose workers keep dying) after that is dead-lettered.
	MaxDeliver int
	// RetryDelay is the delay before a failed job is redelivered (doubled per
	// run, capped at AckWait).
	RetryDelay time.Duration
	// InlineMax: job bodies larger than this go to the object store and the
	// job message carries a reference. At most 1 MiB - 4 KiB; lowered to
	// the server's max_payload - 4 KiB when that is smaller.
	InlineMax int
	// MaxBodySize caps a job body, an input object and an output object read
	// back by a Client; checked before anything is allocated.
	MaxBodySize int64
	// DuplicateWindow: a job submitted again with the same ID within this
	// window is dropped by the server. After it, a re-submitted ID whose result
	// is still retained is acked without running.
	DuplicateWindow time.Duration
	// Retention is how long results, dead-letter records, output objects and
	// attempt counters are kept. It does not apply to queued jobs nor to
	// their input objects: a job waits for a worker however long, and its
	// input object is deleted when the job ends.
	Retention time.Duration
	// Replicas of each stream (1 for a single server; 3 for a cluster).
	Replicas int
	// Logger receives the package's log records; nil discards them.
	Logger *slog.Logger
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.InlineMax == 0 {
		c.InlineMax = DefaultInlineMax
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = DefaultMaxBodySize
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	bad := func(format string, a ...any) (Config, error) {
		return c, &Error{Op: "config", Err: fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, a...)...)}
	}
	if len(c.Prefix) > 32 {
		return bad("Prefix %q is longer than 32 bytes", c.Prefix)
	}
	for i := 0; i < len(c.Prefix); i++ {
		if !idByte(c.Prefix[i]) {
			return bad("Prefix %q has a byte outside [A-Za-z0-9_-]", c.Prefix)
		}
	}
	switch {
	case c.AckWait < 10*time.Millisecond:
		return bad("AckWait %v is under 10ms", c.AckWait)
	case c.MaxDeliver < 1 || c.MaxDeliver > 1000:
		return bad("MaxDeliver %d is outside 1..1000", c.MaxDeliver)
	case c.RetryDelay < 0:
		return bad("RetryDelay %v is negative", c.RetryDelay)
	case c.InlineMax < 1 || c.InlineMax > 1<<20-4096:
		return bad("InlineMax %d is outside 1..%d", c.InlineMax, 1<<20-4096)
	case c.MaxBodySize < 1:
		return bad("MaxBodySize %d is not positive", c.MaxBodySize)
	case c.DuplicateWindow < 0 || c.Retention < 0:
		return bad("DuplicateWindow %v / Retention %v is negative", c.DuplicateWindow, c.Retention)
	case c.DuplicateWindow > c.Retention:
		return bad("DuplicateWindow %v is longer than Retention %v", c.DuplicateWindow, c.Retention)
	case c.Replicas < 1 || c.Replicas > 5:
		return bad("Replicas %d is outside 1..5", c.Replicas)
	}
	return c, nil
}

// names derived from a validated Config.
func (c Config) jobsStream() string             { return c.Prefix + "_jobs" }
func (c Config) resultsStream() string          { return c.Prefix + "_results" }
func (c Config) deadStream() string             { return c.Prefix + "_dead" }
func (c Config) consumerName() string           { return c.Prefix + "_workers" }
func (c Config) bucket() string                 { return c.Prefix + "_objects" }
func (c Config) inputsBucket() string           { return c.Prefix + "_inputs" }
func (c Config) attemptsBucket() string         { return c.Prefix + "_attempts" }
func (c Config) jobSubject(id string) string    { return c.Prefix + ".jobs." + id }
func (c Config) resultSubject(id string) string { return c.Prefix + ".results." + id }
func (c Config) deadSubject(id string) string   { return c.Prefix + ".dead." + id }
func (c Config) eventSubject(id string) string  { return c.Prefix + ".events." + id }

// inputObject is the name of one submission's body in the inputs bucket:
// "in/<id>/<nonce>", unique per Submit, so a re-submit of the same ID never
// replaces the body of the job already queued.
func inputObject(id, nonce string) string { return "in/" + id + "/" + nonce }

// outputObject is the name of an output object of one run of a job:
// "out/<id>/<run>/<name>", unique per run, so a run that lost a redelivery
// race cannot replace the objects the winner's Result points at.
func outputObject(id, run, name string) string { return "out/" + id + "/" + run + "/" + name }

// maxNonce bounds the nonce of an input object name.
const maxNonce = 64

// validInputObject reports whether name is an input object name of job id.
func validInputObject(id, name string) bool {
	nonce, ok := strings.CutPrefix(name, "in/"+id+"/")
	if !ok || nonce == "" || len(nonce) > maxNonce {
		return false
	}
	for i := 0; i < len(nonce); i++ {
		if !idByte(nonce[i]) {
			return false
		}
	}
	return true
}
