package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
)

// A NATS job is the request `vkdemo serve` takes over HTTP (its body bytes
// and Content-Type), carried by the cluster queue. A worker runs it with
// serve's own code (parseJob, execJob: the same caps, the same isolation of
// uploaded SPIR-V and heavy jobs in worker child processes) and turns its
// stream into:
//
//   - live chunks: the bytes serve would stream in its HTTP response (a JSON
//     header line and the data per output, then the done line), so that the
//     gateway relays them as they are;
//   - the job's durable result (natsJobResult, the Data of its
//     cluster.Result): the done line, the outputs of the last iteration
//     (inline when small, else objects in the object store) and the saves,
//     objects named after their path (saveObjectName), all keyed by the job's
//     ID and the run (cluster keeps one run's objects: the one whose result
//     is stored).

// natsInlineMax is the most output bytes kept inline in a job's result;
// beyond it the final outputs go to the object store, one object per
// binding.
const natsInlineMax = 64 << 10

// natsChunkMax is the largest live chunk: a frame's data is sent in pieces
// of at most this size (NATS messages are at most 1 MiB by default).
const natsChunkMax = 256 << 10

// natsJobResult is the Data of a job's cluster.Result.
type natsJobResult struct {
	// Done is serve's last line of the job's stream.
	Done *jobDone `json:"done,omitempty"`
	// Outputs are the frames of the job's last iteration, in stream order.
	Outputs []natsOutput `json:"outputs,omitempty"`
	// Saves maps each save path of the job to its output object.
	Saves map[string]string `json:"saves,omitempty"`
}

// natsOutput is one output binding of a job's last iteration: its frame
// header and its data, inline or in an output object.
type natsOutput struct {
	frameHeader
	Data   []byte `json:"data,omitempty"`
	Object string `json:"object,omitempty"`
}

// natsJobError is a job that failed: the HTTP status serve would have
// answered with before its stream started (400 bad job, 413 too large, 500
// worker crash or device failure, 504 --job-timeout), and the message.
type natsJobError struct {
	status int
	msg    string
	// retry: the failure may not happen again elsewhere (a crashed worker
	// child, a lost device, a shutdown): the job is redelivered, up to the
	// queue's --max-deliver.
	retry bool
	// err is the cause (nil for a refused request).
	err error
}

// Unwrap returns the cause.
func (e *natsJobError) Unwrap() error { return e.err }

// Error is the status and the message, as an HTTP error response would
// give them ("400 no built-in kernel ..."): the gateway answers with that
// status.
func (e *natsJobError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

// natsOut is where a running job's output goes: live chunks, and objects
// in the queue's object store under the job's ID.
type natsOut interface {
	// chunk publishes a piece of the job's live stream.
	chunk(x io.Io, p []byte) error
	// putObject stores the concatenation of parts as the job's output
	// object name, atomically, replacing one of the same name.
	putObject(x io.Io, name string, parts ...[]byte) error
}

// natsStream is a NATS job's jobStream: serve's stream bytes as live
// chunks, the last iteration's outputs and the saves kept for the result.
type natsStream struct {
	hold    func() // test only: called before the done line (natsHoldEnv)
	out     natsOut
	x       io.Io // for chunks
	lastIt  int   // the job's last iteration
	started bool

	mu      sync.Mutex
	done    *jobDone
	outputs []natsOutput
	saves   map[string]string
}

var _ relayStream = (*natsStream)(nil)
var _ streamSaver = (*natsStream)(nil)

func (st *natsStream) isStarted() bool { return st.started }

func (st *natsStream) startStream() error {
	st.started = true
	return nil
}

// frame sends the frame's header line and data as live chunks, and keeps
// the frames of the last iteration.
func (st *natsStream) frame(hdr frameHeader, data []byte) error {
	hb, _ := json.Marshal(hdr)
	hb = append(hb, '\n')
	if len(data) <= natsChunkMax-len(hb) {
		if err := st.out.chunk(st.x, append(hb, data...)); err != nil {
			return err
		}
	} else {
		if err := st.out.chunk(st.x, hb); err != nil {
			return err
		}
		for rest := data; len(rest) > 0; {
			n := min(len(rest), natsChunkMax)
			if err := st.out.chunk(st.x, rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
	}
	if hdr.Iter == st.lastIt {
		st.mu.Lock()
		st.outputs = append(st.outputs, natsOutput{frameHeader: hdr, Data: data})
		st.mu.Unlock()
	}
	return nil
}

// end sends the done line as the last live chunk and keeps it.
func (st *natsStream) end(v any) error {
	var done jobDone
	switch d := v.(type) {
	case jobDone:
		done = d
	case *jobDone: // relayed from a worker child
		done = *d
	default:
		return fmt.Errorf("end of a NATS job's stream with %T", v)
	}
	if st.hold != nil {
		st.hold()
	}
	st.mu.Lock()
	st.done = &done
	st.mu.Unlock()
	b, _ := json.Marshal(done)
	return st.out.chunk(st.x, append(b, '\n'))
}

// saveOutput stores a save in the object store, encoded as serve saves it
// under --out (.npy with its header, else raw), named after its path.
func (st *natsStream) saveOutput(x io.Io, p string, t dtype, data []byte) error {
	name := saveObjectName(p)
	if err := st.out.putObject(x, name, saveHead(p, t, data), data); err != nil {
		return fmt.Errorf("save %s: %w", p, err)
	}
	st.mu.Lock()
	if st.saves == nil {
		st.saves = map[string]string{}
	}
	st.saves[p] = name
	st.mu.Unlock()
	return nil
}

// saveObjectName is the output object of save path p: "save-", 16 hex
// digits of p's SHA-256 (names are unique per path), "-" and p's last
// component with bytes outside [A-Za-z0-9_.-] replaced by '_', at most 128
// bytes in all. The same path always gets the same name (the queue keeps
// each run's objects apart and the result names the kept run's).
func saveObjectName(p string) string {
	sum := sha256.Sum256([]byte(p))
	base := []byte(path.Base(p))
	for i, c := range base {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			base[i] = '_'
		}
	}
	name := "save-" + hex.EncodeToString(sum[:8]) + "-" + string(base)
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}

// outputObjectName is the output object of binding b's last output.
func outputObjectName(b uint32) string { return fmt.Sprintf("out-binding%d.bin", b) }

// natsRunner runs NATS jobs on this process's device with serve's code: s
// is a server with no HTTP front (its device, kernel cache, GPU batcher
// and worker pool), whose saves go to each job's stream (savesElsewhere).
type natsRunner struct {
	s    *server
	hold *natsHold // test only (natsHoldEnv); nil otherwise
}

// natsHoldEnv names a test-only environment variable read by `vkdemo
// worker`: "SEED:FILE" makes a job whose seed is SEED stop after its
// outputs and saves are stored, before its done line and result, print
// "vkdemo worker: test hold: job ID" on stderr and wait until FILE exists
// (or the job is canceled): a worker caught mid-job, for the tests of
// kill -9, of a slow worker and of the heartbeats that keep a long job
// from being redelivered. Only the tests set it.
const natsHoldEnv = "VKDEMO_TEST_NATS_HOLD"

// natsHold is a parsed natsHoldEnv.
type natsHold struct {
	seed uint64
	file string
}

// parseNATSHold parses natsHoldEnv's value ("" or malformed: nil).
func parseNATSHold(v string) *natsHold {
	seed, file, ok := strings.Cut(v, ":")
	n, err := strconv.ParseUint(seed, 10, 64)
	if !ok || err != nil || file == "" {
		return nil
	}
	return &natsHold{seed: n, file: file}
}

// wait prints the hold line and waits for the hold's file or x's end.
func (h *natsHold) wait(x io.Io, a *app, id string) {
	a.stderrf("vkdemo worker: test hold: job %s\n", id)
	for !x.Canceled() {
		if _, err := os.Stat(h.file); err == nil {
			return
		}
		_ = x.Sleep(20 * time.Millisecond)
	}
}

// runJob runs one job: the request body and its Content-Type, as POST /jobs
// takes them. It returns the job's result, or a *natsJobError.
func (n *natsRunner) runJob(x io.Io, id, contentType string, body []byte, out natsOut) (*natsJobResult, error) {
	s := n.s
	seq := s.seq.Add(1)
	if int64(len(body)) > s.cfg.maxRequest {
		return nil, &natsJobError{status: 413, msg: fmt.Sprintf("request body of %d bytes is larger than the worker's --max-request (%d bytes)", len(body), s.cfg.maxRequest)}
	}
	r := &request{req: &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {contentType}}}, body: body, bodyRead: true}
	j, herr := s.parseJob(r)
	if herr != nil {
		return nil, &natsJobError{status: herr.status, msg: herr.msg}
	}
	s.running.Add(1)
	defer s.running.Add(-1)
	ctx, cancel := context.WithTimeout(x.Context(), s.cfg.jobTimeout)
	defer cancel()
	jx, cancelJx := x.WithContext(ctx)
	defer cancelJx()
	st := &natsStream{out: out, x: jx, lastIt: max(j.job.Iterations, 1) - 1}
	if n.hold != nil && j.spec.Seed != nil && *j.spec.Seed == n.hold.seed {
		st.hold = func() { n.hold.wait(jx, s.a, id) }
	}
	s.logf("job %s (#%d): %s", id, seq, j.name)
	err := s.execJob(jx, st, r, j, seq, 0)
	if err != nil {
		s.jobsFailed.Add(1)
		return nil, s.natsJobErr(ctx, x, err)
	}
	res := &natsJobResult{Done: st.done, Outputs: st.outputs, Saves: st.saves}
	total := 0
	for _, o := range res.Outputs {
		total += len(o.Data)
	}
	if total > natsInlineMax {
		for i := range res.Outputs {
			o := &res.Outputs[i]
			o.Object = outputObjectName(o.Binding)
			if err := out.putObject(jx, o.Object, o.Data); err != nil {
				s.jobsFailed.Add(1)
				return nil, &natsJobError{status: 500, msg: fmt.Sprintf("storing output binding %d: %v", o.Binding, err), retry: true, err: err}
			}
			o.Data = nil
		}
	}
	s.jobsDone.Add(1)
	return res, nil
}

// natsJobErr classifies a failed job: the status serve would answer, and
// whether running it again may succeed.
func (s *server) natsJobErr(ctx context.Context, x io.Io, err error) *natsJobError {
	je := s.classifyNATSErr(ctx, x, err)
	je.err = err
	return je
}

func (s *server) classifyNATSErr(ctx context.Context, x io.Io, err error) *natsJobError {
	var he *httpError
	switch {
	case errors.As(err, &he): // from a worker child: a crash is worth a retry (elsewhere)
		return &natsJobError{status: he.status, msg: he.msg, retry: he.status >= 500}
	case errors.Is(err, io.ErrCanceled) && ctx.Err() == context.DeadlineExceeded:
		return &natsJobError{status: 504, msg: fmt.Sprintf("job canceled after --job-timeout (%s)", s.cfg.jobTimeout)}
	case errors.Is(err, io.ErrCanceled) || x.Canceled():
		return &natsJobError{status: 503, msg: "job canceled: worker shutting down", retry: true}
	case errors.As(err, new(*queueTrouble)):
		return &natsJobError{status: 503, msg: err.Error(), retry: true}
	case errors.Is(err, gpu.ErrOutOfMemory), errors.Is(err, gpu.ErrDeviceLost), errors.As(err, new(*lostMidOutput)):
		return &natsJobError{status: 500, msg: s.publicErrorText(err), retry: true}
	}
	msg := s.publicErrorText(err)
	retry := strings.HasPrefix(msg, "worker crashed") || strings.HasPrefix(msg, "worker failed")
	return &natsJobError{status: 400, msg: msg, retry: retry}
}
