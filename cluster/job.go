package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Job is one unit of work. The queue does not look inside Body.
type Job struct {
	// ID names the job: 1 to MaxIDLen bytes of [A-Za-z0-9_-] (see
	// ValidateID). Submit generates one with NewID when it is empty. A job
	// submitted twice with one ID runs once.
	ID string
	// ContentType of Body, e.g. "application/json" or a multipart/form-data
	// type with its boundary. At most 1024 printable ASCII bytes.
	ContentType string
	// Body is the request, e.g. what `vkdemo serve` takes over HTTP.
	Body []byte
}

// Status is a job's final state.
type Status string

// The final states of a job.
const (
	StatusOK         Status = "ok"          // the handler succeeded
	StatusFailed     Status = "failed"      // the handler failed permanently (Permanent)
	StatusDeadLetter Status = "dead-letter" // every allowed delivery failed or crashed
)

// ObjectRef names an object in the queue's object store.
type ObjectRef struct {
	Bucket string `json:"bucket"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Digest string `json:"digest,omitempty"` // "SHA-256=<base64url>", as the object store records it
}

// Result is the durable final record of a job, one per job ID.
type Result struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Error is the handler's (or the dead-letter) error text when Status is
	// not "ok".
	Error string `json:"error,omitempty"`
	// Data is what the handler returned: JSON, or empty.
	Data json.RawMessage `json:"data,omitempty"`
	// Outputs are the objects the handler stored, by the names it gave.
	Outputs map[string]ObjectRef `json:"outputs,omitempty"`
	// Worker is the name of the worker that produced this result.
	Worker string `json:"worker,omitempty"`
	// Deliveries is the delivery count of the job message that produced it.
	Deliveries int `json:"deliveries"`
	// Queued is when the job message was stored in the jobs stream, Started
	// when the run that produced this result began (zero for a job that did
	// not run), Finished when it ended.
	Queued   time.Time `json:"queued,omitzero"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished"`
}

// Err is nil for StatusOK; otherwise an *Error wrapping ErrFailed or
// ErrDeadLetter with the job's error text.
func (r *Result) Err() error {
	switch r.Status {
	case StatusOK:
		return nil
	case StatusDeadLetter:
		return &Error{Op: "job", ID: r.ID, Err: fmt.Errorf("%w after %d deliveries: %s", ErrDeadLetter, r.Deliveries, r.Error)}
	default:
		return &Error{Op: "job", ID: r.ID, Err: fmt.Errorf("%w: %s", ErrFailed, r.Error)}
	}
}

// DeadLetter is the record published on <prefix>.dead.<id> when a job is
// dead-lettered.
type DeadLetter struct {
	ID          string    `json:"id"`
	Error       string    `json:"error"`
	Deliveries  int       `json:"deliveries"`
	Worker      string    `json:"worker,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	BodySize    int64     `json:"body_size"`
	StreamSeq   uint64    `json:"stream_seq"` // the job message's sequence in the jobs stream
	Time        time.Time `json:"time"`
}

// EventKind says what an Event carries.
type EventKind int

// Kinds of Event.
const (
	// EventChunk: a chunk of live output (best effort: core NATS, not stored;
	// chunks of a failed attempt may be followed by those of a retry).
	EventChunk EventKind = iota + 1
	// EventResult: the final result; always the last event.
	EventResult
)

// Event is what Client.Watch reports.
type Event struct {
	Kind    EventKind
	Attempt int    // delivery number that produced a chunk
	Seq     uint64 // chunk sequence within the attempt, from 1
	Data    []byte // chunk bytes (EventChunk)
	Result  *Result
}

// Message headers of a job message.
const (
	hdrMsgID       = "Nats-Msg-Id"
	hdrContentType = "Vkio-Content-Type"
	hdrBodyObject  = "Vkio-Body-Object"
	hdrBodySize    = "Vkio-Body-Size"
	hdrAttempt     = "Vkio-Attempt"
	hdrSeq         = "Vkio-Seq"
)

// maxContentType bounds Job.ContentType.
const maxContentType = 1024

func validateContentType(ct string) error {
	if len(ct) > maxContentType {
		return fmt.Errorf("content type is %d bytes, the limit is %d", len(ct), maxContentType)
	}
	for i := 0; i < len(ct); i++ {
		if ct[i] < 0x20 || ct[i] > 0x7e {
			return fmt.Errorf("content type has byte %#02x at offset %d (printable ASCII only)", ct[i], i)
		}
	}
	return nil
}

// wireJob is a decoded job message: either the body inline or a reference
// to the input object holding it.
type wireJob struct {
	ID          string
	ContentType string
	Body        []byte // inline body (nil when Object is set)
	Object      string // input object name, or ""
	Size        int64  // body size
}

// decodeJob parses a job message read from the jobs stream. subject is the
// message's subject; its last token must be the ID in Nats-Msg-Id.
func decodeJob(cfg Config, subject string, hdr nats.Header, data []byte) (*wireJob, error) {
	id := hdr.Get(hdrMsgID)
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("%w: Nats-Msg-Id: %w", ErrBadMessage, err)
	}
	if subject != cfg.jobSubject(id) {
		return nil, fmt.Errorf("%w: subject %q does not match job ID %q", ErrBadMessage, subject, id)
	}
	w := &wireJob{ID: id, ContentType: hdr.Get(hdrContentType)}
	if err := validateContentType(w.ContentType); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	obj := hdr.Get(hdrBodyObject)
	if obj == "" {
		if int64(len(data)) > cfg.MaxBodySize {
			return nil, fmt.Errorf("%w: inline body is %d bytes, the limit is %d", ErrTooLarge, len(data), cfg.MaxBodySize)
		}
		w.Body, w.Size = data, int64(len(data))
		return w, nil
	}
	if !validInputObject(id, obj) {
		return nil, fmt.Errorf("%w: body object %q is not in/%s/<nonce>", ErrBadMessage, obj, id)
	}
	if len(data) != 0 {
		return nil, fmt.Errorf("%w: both an inline body and a body object", ErrBadMessage)
	}
	size, err := strconv.ParseInt(hdr.Get(hdrBodySize), 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("%w: bad %s %q", ErrBadMessage, hdrBodySize, hdr.Get(hdrBodySize))
	}
	if size > cfg.MaxBodySize {
		return nil, fmt.Errorf("%w: body is %d bytes, the limit is %d", ErrTooLarge, size, cfg.MaxBodySize)
	}
	w.Object, w.Size = obj, size
	return w, nil
}

// maxResultSize bounds a result record read back from the server.
const maxResultSize = 8 << 20

// encodeRecord encodes a result or dead-letter record as JSON without
// HTML escaping: json.Marshal would write each <, > and & of a handler's
// data as a 6-byte \u003c escape and could make the record outgrow the
// server's max_payload.
func encodeRecord(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// decodeResult parses a result record for job id.
func decodeResult(id string, data []byte) (*Result, error) {
	if len(data) > maxResultSize {
		return nil, fmt.Errorf("%w: result record is %d bytes, the limit is %d", ErrBadMessage, len(data), maxResultSize)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: result record: %w", ErrBadMessage, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("%w: result record is for job %q, not %q", ErrBadMessage, r.ID, id)
	}
	switch r.Status {
	case StatusOK, StatusFailed, StatusDeadLetter:
	default:
		return nil, fmt.Errorf("%w: result record has unknown status %q", ErrBadMessage, r.Status)
	}
	return &r, nil
}

// validateOutputName checks a handler's output name: 1 to 128 bytes of
// [A-Za-z0-9_.-], not "." or "..".
func validateOutputName(name string) error {
	if name == "" || len(name) > 128 || name == "." || name == ".." {
		return fmt.Errorf("output name %q: want 1 to 128 bytes, not . or ..", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !idByte(c) && c != '.' {
			return fmt.Errorf("output name %q: byte %#02x at offset %d (allowed: A-Z a-z 0-9 _ - .)", name, c, i)
		}
	}
	return nil
}
