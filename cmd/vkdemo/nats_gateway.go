package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vkio/vkio/cluster"
	"github.com/vkio/vkio/io"
)

// The gateway (`vkdemo serve --nats URL`) keeps serve's HTTP front: the
// same API, admission, caps and parser (a bad job is still a 400 here,
// before anything is queued), but an admitted job is queued on the NATS
// JetStream queue for `vkdemo worker` processes instead of run, and its
// response streams what the worker streams, in serve's format:
//
//   - the live chunks of the delivery that runs the job, relayed as they
//     are (they are serve's stream bytes), from the first chunk on;
//   - if the live output was not seen from its start (chunks are best
//     effort), the response is made from the job's durable result: the
//     outputs of its last iteration and the done line;
//   - if a worker died after the response started, and the job is run
//     again elsewhere, the stream cannot be taken back: it ends with an
//     {"error"} line that names the job, whose result the client can fetch
//     (vkdemo submit --id ID --wait).
//
// A request may name its job with the header X-Vkio-Job-Id (a retried
// request then queues nothing new: the job runs once); the response names
// it in the same header. A job still queued or running when --job-timeout
// passes is answered 504 (or an {"error"} line) and goes on in the queue.

// jobIDHeader names a job in a gateway's request and response.
const jobIDHeader = "X-Vkio-Job-Id"

// natsGateway is a gateway's connection to the queue.
type natsGateway struct {
	nc *nats.Conn
	c  *cluster.Client
}

// newNATSGateway connects to the queue of cfg.nats.
func newNATSGateway(a *app, x io.Io, cfg serveConfig) (*natsGateway, error) {
	nc, err := cfg.nats.connect(x.Context(), "vkdemo serve (gateway)", a.stderrf)
	if err != nil {
		return nil, err
	}
	c, err := cluster.NewClient(x.Context(), nc, cfg.nats.config(natsLogger(cfg.verbose, a.stderr)))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("serve --nats: %w", err)
	}
	return &natsGateway{nc: nc, c: c}, nil
}

// stats is the queue's snapshot for GET /healthz: its counters, or the
// error reading them (within 2 s).
func (g *natsGateway) stats(x io.Io) map[string]any {
	ctx, cancel := context.WithTimeout(x.Context(), 2*time.Second)
	defer cancel()
	st, err := g.c.Stats(ctx)
	if err != nil {
		return map[string]any{"error": publicMessage(err.Error())}
	}
	return map[string]any{
		"pending": st.Pending, "running": st.Running, "redelivered": st.Redelivered,
		"idle_worker_slots": st.IdleSlots, "results": st.Results, "dead_letters": st.DeadLetters,
	}
}

func (g *natsGateway) close() {
	_ = g.c.Close()
	g.nc.Close()
}

// run queues a parsed job and streams its result to rw (the HTTP response).
// Errors before the stream starts are *httpError (their status answered).
func (g *natsGateway) run(x io.Io, rw relayStream, r *request, j *parsedJob) error {
	id := r.req.Header.Get(jobIDHeader)
	if id == "" {
		id = cluster.NewID()
	} else if err := cluster.ValidateID(id); err != nil {
		return &httpError{status: 400, msg: fmt.Sprintf("%s %s: %v", jobIDHeader, q(id), err)}
	}
	if hw, ok := rw.(*respWriter); ok {
		hw.w.Header().Set(jobIDHeader, id)
	}
	ctx := x.Context()
	// Watch first, so that the live output is seen from its start (the
	// subscription is usually in place before a worker takes the job; when
	// it is not, the durable result makes the response).
	rl := &gatewayRelay{rw: rw}
	// The watch ends with the request (the client left, --job-timeout,
	// shutdown), but does not inherit its deadline: JetStream requests
	// made under a deadline wait for their reply up to it, and one lost in
	// a server restart would hold the job's response till --job-timeout;
	// without one each request gives up after its own short timeout and
	// the watch polls again.
	wctx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	defer context.AfterFunc(ctx, stopWatch)()
	type watched struct {
		res *cluster.Result
		err error
	}
	resc := make(chan watched, 1)
	var mu sync.Mutex // the relay: Watch's goroutine writes until it returns
	go func() {
		res, err := g.c.Watch(wctx, id, func(ev cluster.Event) {
			mu.Lock()
			defer mu.Unlock()
			rl.event(ev)
		})
		resc <- watched{res, err}
	}()
	_, err := g.c.Submit(ctx, cluster.Job{ID: id, ContentType: r.req.Header.Get("Content-Type"), Body: r.body})
	if err != nil {
		stopWatch()
		<-resc
		if x.Canceled() {
			return err
		}
		if errors.Is(err, cluster.ErrTooLarge) {
			return &httpError{status: 413, msg: err.Error()}
		}
		return &httpError{status: 503, msg: fmt.Sprintf("queueing the job: %v", err)}
	}
	w := <-resc
	mu.Lock()
	defer mu.Unlock()
	if w.err != nil {
		if x.Canceled() {
			if ctx.Err() == context.DeadlineExceeded && !rw.isStarted() {
				return &httpError{status: 504, msg: fmt.Sprintf("job %s not finished within --job-timeout; it stays queued: fetch its result with vkdemo submit --id %s --wait", id, id)}
			}
			return w.err
		}
		return fmt.Errorf("job %s: %w", id, w.err)
	}
	return rl.finish(x, g.c, w.res)
}

// gatewayRelay writes a job's live chunks to the response while they are
// its stream from the start, in order.
type gatewayRelay struct {
	rw      relayStream
	live    liveStream
	relayed int   // the delivery whose chunks were written, 0 for none
	broken  bool  // the written stream cannot be completed
	rerun   bool  // broken by another delivery (not by chunks lost on the way)
	err     error // the first write error (the client left)
}

func (rl *gatewayRelay) event(ev cluster.Event) {
	if rl.err != nil || rl.broken {
		return
	}
	what := rl.live.add(ev)
	switch {
	case what == liveIgnored:
		return
	case rl.relayed != 0 && (what == liveNewAttempt || what == liveLost):
		// The response carries part of a dead delivery, or a stream with
		// a gap: live chunks are best effort (a slow reader's are dropped).
		rl.broken, rl.rerun = true, what == liveNewAttempt
		return
	case what == liveLost || rl.live.scan.bad:
		return // nothing written: the result will make the response
	}
	hw, ok := rl.rw.(*respWriter)
	if !ok {
		return
	}
	if rl.relayed == 0 {
		if ev.Seq != 1 {
			return
		}
		if rl.err = hw.startStream(); rl.err != nil {
			return
		}
		rl.relayed = ev.Attempt
	}
	rl.err = hw.raw(ev.Data)
}

// finish ends the response with the job's result: the rest of the stream
// from the result when the live output was not relayed (or did not
// include the done line), the error otherwise.
func (rl *gatewayRelay) finish(x io.Io, c *cluster.Client, res *cluster.Result) error {
	if rl.err != nil {
		return rl.err
	}
	if err := res.Err(); err != nil {
		msg := res.Error
		status := 500
		if res.Status == cluster.StatusFailed {
			status, msg = splitStatus(res.Error)
		} else {
			msg = fmt.Sprintf("job %s dead-lettered after %d deliveries: %s", res.ID, res.Deliveries, res.Error)
		}
		if rl.rw.isStarted() {
			return errors.New(msg)
		}
		return &httpError{status: status, msg: msg}
	}
	if rl.relayed != 0 && rl.live.scan.done {
		return nil // the whole stream went out live
	}
	var data natsJobResult
	if err := json.Unmarshal(res.Data, &data); err != nil || data.Done == nil {
		return fmt.Errorf("job %s: its result is not a vkdemo job's", res.ID)
	}
	if rl.relayed == 0 {
		if err := rl.rw.startStream(); err != nil {
			return err
		}
		for _, o := range data.Outputs {
			b := o.Data
			if o.Object != "" {
				ref, ok := res.Outputs[o.Object]
				if !ok {
					return fmt.Errorf("job %s: output object %s missing from its result", res.ID, q(o.Object))
				}
				var err error
				if b, err = c.ObjectBytes(x.Context(), ref); err != nil {
					return fmt.Errorf("job %s: fetching output binding %d: %w", res.ID, o.Binding, err)
				}
			}
			if err := rl.rw.frame(o.frameHeader, b); err != nil {
				return err
			}
		}
		return rl.rw.end(*data.Done)
	}
	// Relayed live, but the done line was not among the chunks seen: the
	// stream is complete but for it when every frame went out whole.
	want := data.Done.Iterations * len(data.Outputs)
	if !rl.broken && rl.live.scan.atBoundary() && len(rl.live.scan.frames) == want && rl.live.attempt == res.Deliveries {
		return rl.rw.end(*data.Done)
	}
	why := "part of its live output was lost on the way (a slow reader, or a server restart)"
	if rl.rerun || rl.live.attempt != res.Deliveries {
		why = "the worker streaming it stopped and another ran it again"
	}
	return fmt.Errorf("job %s: %s; its output is in its result (vkdemo submit --id %s --wait)", res.ID, why, res.ID)
}

// splitStatus splits a failed job's error "400 message" into the status
// and the message (500 and the whole text when it has no status).
func splitStatus(s string) (int, string) {
	code, msg, ok := strings.Cut(s, " ")
	if n, err := strconv.Atoi(code); ok && err == nil && n >= 400 && n <= 599 {
		return n, msg
	}
	return 500, s
}
