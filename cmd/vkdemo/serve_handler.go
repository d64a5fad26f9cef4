package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// The HTTP front of serve is net/http's Server on the Io's sockets
// (io.Listener.NetListener, io.Conn.NetConn): every accept, read, write
// and close goes through the Io. Around it, a frontListener enforces
// --max-conns (503 off the accept loop) and a frontConn per connection
// turns net/http's own answers to malformed requests into this server's
// JSON errors, answers 408 to a request whose headers did not arrive
// within --read-timeout, and lingers after an error response so that
// closing does not reset a connection whose client is still sending.

// maxHeaderBytes bounds the request line and headers.
const maxHeaderBytes = 64 << 10

// httpError is an error response: a status and a message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func httpErrorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// request is a request: its method, path and headers, and once the job's
// share of the body budget is held (readBody), its body.
type request struct {
	req      *http.Request
	body     []byte
	bodyRead bool // readBody ran
	w        http.ResponseWriter
}

// bodyBudget is the capacity of the body budget, in bytes: the bodies of
// --max-jobs running jobs and of as many parsed (or being read) ones,
// waiting for a slot, each at most --max-request.
func bodyBudget(cfg serveConfig) int64 {
	return 2 * int64(cfg.maxJobs) * cfg.maxRequest
}

// peakFormula is what serve adds to its base memory at most, about, when
// every slot and the body budget are full of maximal jobs: per running job
// its data (body or generated), its GPU buffers (host memory on lavapipe)
// and the snapshots it streams, 3 × --max-request; per parsed job waiting
// for a slot, its body; so 4 × --max-jobs × --max-request live, of which
// the Go heap's 3 may double before the garbage collector runs:
//
//	peak ≈ base + 7 × --max-jobs × --max-request
//
// Connections beyond those hold their headers only (64 KiB at most, each
// of --max-conns).
func peakFormula(maxJobs int, maxRequest int64) int64 {
	return 7 * int64(maxJobs) * maxRequest
}

// bodyReservation is what readBody needs of the body budget for r: its
// Content-Length, or --max-request when the length is not known (chunked).
func (s *server) bodyReservation(r *request) int64 {
	if r.req.ContentLength >= 0 {
		return r.req.ContentLength
	}
	return s.cfg.maxRequest
}

// readBody reads r's body whole, within --read-timeout (counted from here)
// and --max-request: into one buffer of exactly Content-Length bytes when
// the length is known. net/http sends "100 Continue" when the body is
// first read, if the client asked for it.
func (s *server) readBody(x io.Io, r *request) error {
	r.bodyRead = true
	req := r.req
	if req.ContentLength == 0 {
		return nil
	}
	rc := http.NewResponseController(r.w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	src := http.MaxBytesReader(r.w, req.Body, s.cfg.maxRequest)
	var body []byte
	var err error
	if n := req.ContentLength; n > 0 {
		body = make([]byte, n) // n <= --max-request: ServeHTTP checked
		_, err = stdio.ReadFull(src, body)
	} else {
		// Chunked, of a length nobody said: it grows as it arrives (for a
		// moment up to twice its size, within --max-request).
		body, err = stdio.ReadAll(src)
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return httpErrorf(413, "request body larger than the server's --max-request (%d bytes)", s.cfg.maxRequest)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return httpErrorf(408, "request body not received within --read-timeout (%s)", s.cfg.readTimeout)
	case err != nil && x.Canceled():
		return err // shutdown
	case err != nil && (errors.Is(err, stdio.ErrUnexpectedEOF) || errors.Is(err, stdio.EOF) || errors.Is(err, io.ErrCanceled) || errors.Is(err, io.ErrClosed) || errors.Is(err, net.ErrClosed)):
		return err // the client left
	case err != nil:
		return httpErrorf(400, "malformed request body: %v", err)
	}
	// Only now is the deadline lifted: after a failure it still bounds
	// net/http's draining of the body's rest; after the body, net/http
	// reads on in the background to see the client leave.
	_ = rc.SetReadDeadline(time.Time{})
	s.bytesIn.Add(int64(len(body)))
	r.body = body
	return nil
}

// newHTTPServer returns net/http's Server for h on the front: headers
// within --read-timeout and maxHeaderBytes, one request per connection.
func (s *server) newHTTPServer(h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.readTimeout,
		MaxHeaderBytes:    maxHeaderBytes - 4096, // net/http allows 4 KiB more
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if fc, ok := c.(*frontConn); ok {
				return context.WithValue(ctx, frontKey{}, fc)
			}
			return ctx
		},
		ErrorLog: log.New(stdio.Discard, "", 0),
	}
	srv.SetKeepAlivesEnabled(false)
	return srv
}

type frontKey struct{}

// ServeHTTP serves one request with the server's routes.
func (s *server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s.handle(w, req, s.route)
}

// handle serves one request: it checks what all requests must satisfy,
// then calls route with the request's Io (canceled when the client goes
// away, and at the end of --grace) and logs the outcome.
func (s *server) handle(w http.ResponseWriter, req *http.Request, route func(x io.Io, rw *respWriter, r *request, id uint64) int) {
	fc, _ := req.Context().Value(frontKey{}).(*frontConn)
	if fc != nil {
		fc.handled.Store(true)
		// The handler counts in connsOpen until it returns, even when its
		// connection is closed under it (http.Server.Close at shutdown).
		if !fc.hold() {
			return
		}
		defer s.connsOpen.Done()
	}
	id := s.seq.Add(1)
	x, cancel := s.jobsIo.WithContext(req.Context())
	defer cancel()
	rw := newRespWriter(w, s, id)
	r := &request{req: req, w: w}
	start := time.Now()
	status := 0
	if req.ContentLength > s.cfg.maxRequest {
		s.rejected.Add(1)
		if req.URL.Path == "/jobs" {
			s.metrics.jobEnded(outcomeRejected)
		}
		status = 413
		r.bodyRead = true // not read: the client is told at once, and the connection closed
		rw.errorResponse(413, fmt.Sprintf("request body of %d bytes is larger than the server's --max-request (%d bytes)", req.ContentLength, s.cfg.maxRequest))
	} else {
		status = route(x, rw, r, id)
	}
	s.logf("#%d %s %s: %d in %s", id, req.Method, req.URL.Path, status, time.Since(start).Round(time.Microsecond))
	if req.ContentLength != 0 && !r.bodyRead {
		// A body nobody read (a 503 before it, a 404): read it into the
		// void, so that closing does not reset the connection before the
		// client has read the response.
		s.discardBody(r)
	}
	if fc != nil && status != 200 {
		fc.linger.Store(true)
	}
}

// discardBody reads r's body and drops it, a buffer at a time, within
// --read-timeout and --max-request: what the client sends after a
// response that did not need its body costs no memory.
func (s *server) discardBody(r *request) {
	r.bodyRead = true
	_ = http.NewResponseController(r.w).SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	_, _ = stdio.Copy(stdio.Discard, stdio.LimitReader(r.req.Body, s.cfg.maxRequest+1))
}

// route dispatches a request by path; it returns the response status.
func (s *server) route(x io.Io, rw *respWriter, r *request, id uint64) int {
	method, path := r.req.Method, r.req.URL.Path
	if strings.HasPrefix(path, "/results/") {
		return s.serveResult(x, rw, r, id)
	}
	switch path {
	case "/jobs":
		if method != http.MethodPost {
			rw.errorResponse(405, "use POST /jobs")
			return 405
		}
		return s.serveJob(x, rw, r, id)
	case "/healthz":
		if method != http.MethodGet && method != http.MethodHead {
			rw.errorResponse(405, "use GET /healthz")
			return 405
		}
		subs, disps, _ := s.gpuCounts()
		h := map[string]any{
			"ok": !s.draining.Load(), "running": s.running.Load(), "waiting": s.waiting.Load(),
			"done": s.jobsDone.Load(), "failed": s.jobsFailed.Load(), "rejected": s.rejected.Load(),
			"connections": s.conns.InUse(), "accepted": s.connsAccepted.Load(),
			"gpu_submissions": subs, "gpu_dispatches": disps,
			"bytes_in": s.bytesIn.Load(), "bytes_out": s.bytesOut.Load(),
		}
		if devs := s.devicesJSON(); devs != nil {
			h["devices"] = devs
		}
		if s.gateway != nil {
			h["queue"] = s.gateway.stats(x)
		}
		rw.jsonResponse(200, h)
		return 200
	case "/kernels":
		rw.jsonResponse(200, builtinKernelsJSON())
		return 200
	case "/metrics":
		if s.metrics == nil {
			break
		}
		if method != http.MethodGet && method != http.MethodHead {
			rw.errorResponse(405, "use GET /metrics")
			return 405
		}
		return s.serveMetricsPage(rw, r)
	}
	rw.errorResponse(404, fmt.Sprintf("no such path %s: POST /jobs, GET /kernels, GET /healthz, GET /metrics, GET /results/PATH", q(path)))
	return 404
}

// waitFailed answers a job whose wait for room (a body's budget, a job
// slot) ended without it: 503 while the server drains, and nothing when the
// request's own task was canceled (the client left). It returns the status
// sent, 0 for none.
func (s *server) waitFailed(rw *respWriter) int {
	s.rejected.Add(1)
	if s.draining.Load() {
		s.metrics.jobEnded(outcomeRejected)
		rw.errorResponse(503, "server shutting down")
		return 503
	}
	s.metrics.jobEnded(outcomeCanceled)
	return 0
}

// serveJob admits, reads, parses, runs and answers one job; it returns the
// status sent.
//
// Admission comes in steps, so that what a request holds in memory is
// bounded before its body is read: the queue first (--max-jobs running
// and --max-queue waiting; a 503 at once beyond), then room for its body
// in the body budget (bodyBudget: bodies of running and parsed jobs
// together), then the body is read and parsed, then the job waits for a
// slot (--max-jobs). Waiting for room and for a slot is waiting in the
// queue; the body budget is held until the job ends.
//
// x is canceled when the client goes away (net/http's read after the body
// sees the end of the connection) and at the end of --grace.
func (s *server) serveJob(x io.Io, rw *respWriter, r *request, id uint64) int {
	if s.draining.Load() {
		s.rejected.Add(1)
		s.metrics.jobEnded(outcomeRejected)
		rw.errorResponse(503, "server shutting down")
		return 503
	}
	if s.waiting.Add(1)+s.running.Load() > int64(s.cfg.maxJobs+s.cfg.maxQueue) {
		s.waiting.Add(-1)
		s.rejected.Add(1)
		s.metrics.jobEnded(outcomeRejected)
		rw.errorResponse(503, fmt.Sprintf("server busy: %d jobs running, %d waiting (--max-jobs %d, --max-queue %d); retry later", s.running.Load(), s.waiting.Load(), s.cfg.maxJobs, s.cfg.maxQueue))
		return 503
	}
	waiting := true
	defer func() {
		if waiting {
			s.waiting.Add(-1)
		}
	}()
	queued := time.Now()
	ax, cancelAx := x.WithContext(s.drainCtx)
	defer cancelAx()
	// Room for the body.
	held := s.bodyReservation(r)
	wait := s.rec.Begin(tasks.CPU, "", "wait for room for the body", int(id)).Waiting().Flow(id)
	err := s.bodies.Acquire(ax, held)
	wait.End()
	if err != nil {
		return s.waitFailed(rw)
	}
	defer func() { s.bodies.Release(held) }()
	region := s.rec.Begin(tasks.Net, "", "read body", int(id)).Flow(id)
	err = s.readBody(x, r)
	region.End()
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			s.metrics.jobEnded(outcomeCanceled)
			return 0 // the client left, or shutdown
		}
		s.rejected.Add(1)
		s.metrics.jobEnded(outcomeRejected)
		rw.errorResponse(he.status, he.msg)
		return he.status
	}
	if n := int64(len(r.body)); n < held { // a chunked body under --max-request
		s.bodies.Release(held - n)
		held = n
	}
	j, herr := s.parseJob(r)
	if herr != nil {
		s.rejected.Add(1)
		s.metrics.jobEnded(outcomeRejected)
		rw.errorResponse(herr.status, herr.msg)
		return herr.status
	}
	// A job slot.
	wait = s.rec.Begin(tasks.CPU, "", "wait for a job slot", int(id)).Waiting().Flow(id)
	err = s.jobs.Acquire(ax, 1)
	wait.End()
	cancelAx()
	s.waiting.Add(-1)
	waiting = false
	if err != nil {
		return s.waitFailed(rw)
	}
	defer s.jobs.Release(1)
	s.running.Add(1)
	defer s.running.Add(-1)
	queueWait := time.Since(queued)
	s.metrics.admitted(queueWait)
	defer func() { s.metrics.finished(time.Since(queued)) }()

	// The job's Io: canceled after --job-timeout, when the client leaves,
	// or at the end of --grace.
	ctx, cancelCtx := context.WithTimeout(x.Context(), s.cfg.jobTimeout)
	defer cancelCtx()
	jx, cancelJx := x.WithContext(ctx)
	defer cancelJx()

	err = s.execJob(jx, rw, r, j, id, queueWait)
	// The last words go out even when the job was canceled, bounded by
	// --write-timeout (the response's writes do not go through x).
	switch {
	case err == nil:
		s.jobsDone.Add(1)
		s.metrics.jobEnded(outcomeDone)
		return 200
	case rw.started:
		s.jobsFailed.Add(1)
		s.metrics.jobEnded(failureOutcome(ctx, x, err))
		if rw.streaming && rw.err == nil {
			_ = rw.end(jobError{Error: s.jobErrorText(ctx, x, err)})
		}
		return 200
	default:
		s.jobsFailed.Add(1)
		s.metrics.jobEnded(failureOutcome(ctx, x, err))
		status := 400
		msg := s.publicErrorText(err)
		var he *httpError
		switch {
		case errors.As(err, &he): // from a worker (worker.go)
			status, msg = he.status, he.msg
		case errors.Is(err, io.ErrCanceled) && ctx.Err() == context.DeadlineExceeded:
			status, msg = 504, fmt.Sprintf("job canceled after --job-timeout (%s)", s.cfg.jobTimeout)
		case errors.Is(err, io.ErrCanceled):
			status, msg = 503, "job canceled: server shutting down"
		case errors.Is(err, gpu.ErrOutOfMemory), errors.Is(err, gpu.ErrDeviceLost):
			status = 500
		}
		if rw.err == nil {
			rw.errorResponse(status, msg)
		}
		return status
	}
}

// failureOutcome is the outcome label of a job that ended with err: timeout
// when --job-timeout passed, canceled when the client left or at shutdown,
// failed otherwise.
func failureOutcome(ctx context.Context, x io.Io, err error) string {
	switch {
	case errors.Is(err, io.ErrCanceled) && ctx.Err() == context.DeadlineExceeded:
		return outcomeTimeout
	case errors.Is(err, io.ErrCanceled) || x.Canceled():
		return outcomeCanceled
	}
	return outcomeFailed
}

// respWriter writes a response through net/http, each write (a whole
// response, a frame of the stream) bounded by --write-timeout: a client
// that does not read cancels its job.
type respWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	s         *server
	job       uint64
	started   bool  // a status was written
	streaming bool  // the stream's headers were written
	err       error // the first failed write
}

func newRespWriter(w http.ResponseWriter, s *server, job uint64) *respWriter {
	return &respWriter{w: w, rc: http.NewResponseController(w), s: s, job: job}
}

// isStarted reports whether a status was written.
func (rw *respWriter) isStarted() bool { return rw.started }

// deadline starts a write: its deadline is --write-timeout from now.
func (rw *respWriter) deadline() {
	_ = rw.rc.SetWriteDeadline(time.Now().Add(rw.s.cfg.writeTimeout))
}

// fail records the first failed write, naming the write timeout when it
// was the cause.
func (rw *respWriter) fail(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("client did not take the response within --write-timeout (%s): %w", rw.s.cfg.writeTimeout, err)
	}
	if rw.err == nil {
		rw.err = err
	}
	return err
}

// header writes the status and headers, and asks that the connection be
// closed after the response.
func (rw *respWriter) header(status int, kv ...string) {
	rw.started = true
	h := rw.w.Header()
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	h.Set("Connection", "close")
	rw.w.WriteHeader(status)
}

// jsonResponse writes a whole response with a JSON body.
func (rw *respWriter) jsonResponse(status int, v any) {
	body, _ := json.Marshal(v)
	body = append(body, '\n')
	kv := []string{"Content-Type", "application/json", "Content-Length", strconv.Itoa(len(body))}
	if status == 503 {
		kv = append(kv, "Retry-After", "1")
	}
	if rw.job != 0 {
		kv = append(kv, "X-Vkio-Request", strconv.FormatUint(rw.job, 10))
	}
	rw.deadline()
	rw.header(status, kv...)
	if _, err := rw.w.Write(body); err != nil {
		_ = rw.fail(err)
		return
	}
	_ = rw.fail(rw.rc.Flush())
}

// errorResponse writes an error response {"error": msg}, msg as a client
// may see it (publicMessage: bounded, no absolute path of the server's).
func (rw *respWriter) errorResponse(status int, msg string) {
	rw.jsonResponse(status, map[string]string{"error": publicMessage(msg)})
}

// startStream writes the headers of a streamed (chunked) response.
func (rw *respWriter) startStream() error {
	rw.deadline()
	rw.header(200, "Content-Type", "application/vnd.vkio.stream", "X-Vkio-Request", strconv.FormatUint(rw.job, 10))
	rw.streaming = true
	return rw.fail(rw.rc.Flush())
}

// line writes a JSON line in the stream (not flushed).
func (rw *respWriter) line(v any) error {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	_, err := rw.w.Write(b)
	return rw.fail(err)
}

// frame writes one output: its JSON header line and its bytes, flushed.
func (rw *respWriter) frame(hdr frameHeader, data []byte) error {
	region := rw.s.rec.Begin(tasks.Net, "", fmt.Sprintf("send iter %d binding %d", hdr.Iter, hdr.Binding), int(rw.job)).Flow(rw.job)
	defer region.End()
	rw.deadline()
	if err := rw.line(hdr); err != nil {
		return err
	}
	if len(data) > 0 {
		if _, err := rw.w.Write(data); err != nil {
			return rw.fail(err)
		}
	}
	return rw.fail(rw.rc.Flush())
}

// raw writes bytes of a stream as they are (a gateway relaying a
// worker's stream), flushed.
func (rw *respWriter) raw(p []byte) error {
	rw.deadline()
	if _, err := rw.w.Write(p); err != nil {
		return rw.fail(err)
	}
	return rw.fail(rw.rc.Flush())
}

// end writes the last line; net/http ends the chunked body when the
// handler returns.
func (rw *respWriter) end(v any) error {
	rw.deadline()
	if err := rw.line(v); err != nil {
		return err
	}
	return rw.fail(rw.rc.Flush())
}

// maxRejecters bounds the connections being answered 503 at once.
const maxRejecters = 16

// frontListener accepts connections for net/http through the Io: up to
// --max-conns at once; beyond, a connection is answered 503 (without
// reading its request) off the accept loop, at most maxRejecters at once,
// or closed at once beyond that.
type frontListener struct {
	s  *server
	x  io.Io // the sockets' Io
	ln *io.Listener
	nl net.Listener // ln through x
}

func newFrontListener(s *server, x io.Io, ln *io.Listener) *frontListener {
	return &frontListener{s: s, x: x, ln: ln, nl: ln.NetListener(x)}
}

// Accept returns the next connection within --max-conns. Transient accept
// errors (EMFILE, ECONNABORTED) are waited out.
func (l *frontListener) Accept() (net.Conn, error) {
	s := l.s
	for {
		c, err := l.nl.Accept()
		if err != nil {
			if errors.Is(err, io.ErrCanceled) || errors.Is(err, io.ErrClosed) {
				return nil, err
			}
			if serr := l.x.Sleep(50 * time.Millisecond); serr != nil {
				return nil, serr
			}
			continue
		}
		s.connsAccepted.Add(1)
		s.connsOpen.Add(1)
		if !s.conns.TryAcquire(1) {
			s.rejected.Add(1)
			if s.rejecters.TryAcquire(1) {
				go func() {
					defer s.connsOpen.Done()
					defer s.rejecters.Release(1)
					s.rejectConn(c, "too many connections (--max-conns)")
				}()
			} else {
				_ = c.Close()
				s.connsOpen.Done()
			}
			continue
		}
		return &frontConn{Conn: c, s: s}, nil
	}
}

// Close stops listening.
func (l *frontListener) Close() error { return l.nl.Close() }

// Addr returns the bound address.
func (l *frontListener) Addr() net.Addr { return l.nl.Addr() }

// rejectConn answers 503 on c without reading the request, lingers for the
// client to read it, and closes c. A client that neither reads nor closes
// holds it for at most about 1.5 s.
func (s *server) rejectConn(c net.Conn, why string) {
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(min(s.cfg.writeTimeout, time.Second)))
	n, err := c.Write(rawErrorResponse(503, "server busy: "+why))
	s.bytesOut.Add(int64(n))
	if err == nil {
		lingerClose(c)
	}
}

// rawErrorResponse is a whole error response {"error": msg} in bytes, for
// the connections net/http does not answer itself.
func rawErrorResponse(status int, msg string) []byte {
	body, _ := json.Marshal(map[string]string{"error": publicMessage(msg)})
	body = append(body, '\n')
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", status, http.StatusText(status), len(body))
	if status == 503 {
		b.WriteString("Retry-After: 1\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

// lingerClose closes the write side after an error response and reads what
// the client still sends, for a moment (500 ms, 4 MiB at most), so that
// closing with unread data does not reset the connection before the client
// read the response.
func lingerClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 4096)
	for total := 0; total < 4<<20; {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			return
		}
	}
}

// frontConn is a connection served by net/http, through the Io.
type frontConn struct {
	net.Conn
	s        *server
	handled  atomic.Bool // a handler runs or ran for its request
	wrote    atomic.Bool // something was written
	timedOut atomic.Bool // a read passed its deadline
	linger   atomic.Bool // an error response was sent: linger before closing
	once     sync.Once
	mu       sync.Mutex
	closed   bool // Close ran: its count in connsOpen is gone
}

// hold adds the handler of c's request to connsOpen, unless c is closed:
// while it is open, c's own count keeps connsOpen above zero, so the Add
// never races with the Wait at shutdown.
func (c *frontConn) hold() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.s.connsOpen.Add(1)
	return true
}

// Read reads, noting a read that passed its deadline.
func (c *frontConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
	return n, err
}

// Write writes p. net/http answers a request it could not read (malformed,
// headers too large) with a plain-text response of its own before any
// handler runs: that response becomes this server's JSON error.
func (c *frontConn) Write(p []byte) (int, error) {
	if !c.handled.Load() && !c.wrote.Load() {
		if status, msg, ok := frontError(p); ok {
			if c.timedOut.Load() {
				// A request line or header cut short by the deadline:
				// net/http parsed what had arrived.
				status, msg = 408, fmt.Sprintf("request not received within --read-timeout (%s)", c.s.cfg.readTimeout)
			}
			c.wrote.Store(true)
			c.linger.Store(true)
			c.s.rejected.Add(1)
			c.s.logf("%s: %d %s", c.RemoteAddr(), status, msg)
			n, err := c.Conn.Write(rawErrorResponse(status, msg))
			c.s.bytesOut.Add(int64(n))
			if err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	c.wrote.Store(true)
	n, err := c.Conn.Write(p)
	c.s.bytesOut.Add(int64(n))
	return n, err
}

// frontError maps net/http's answer to an unreadable request to a status
// and message: 431 for headers over maxHeaderBytes, 400 for the rest
// (malformed, unsupported transfer coding or expectation).
func frontError(p []byte) (int, string, bool) {
	const prefix = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(prefix)) || len(p) < len(prefix)+3 {
		return 0, "", false
	}
	code, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil || code < 400 {
		return 0, "", false
	}
	if code == 431 {
		return 431, fmt.Sprintf("request headers larger than %d bytes", maxHeaderBytes), true
	}
	status := string(p[len(prefix):])
	if i := bytes.IndexByte([]byte(status), '\r'); i >= 0 {
		status = status[:i]
	}
	return 400, "malformed HTTP request: " + status, true
}

// CloseWrite shuts down the writing side (net/http's lingering close).
func (c *frontConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close closes the connection: after a 408 when its request's headers did
// not arrive in time and nothing was answered, after lingering when an
// error response was sent. It releases the connection slot.
func (c *frontConn) Close() error {
	var err error
	c.once.Do(func() {
		defer func() {
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			c.s.connsOpen.Done()
		}()
		defer c.s.conns.Release(1)
		if !c.handled.Load() && !c.wrote.Load() && c.timedOut.Load() && !c.s.draining.Load() {
			c.s.rejected.Add(1)
			msg := fmt.Sprintf("request not received within --read-timeout (%s)", c.s.cfg.readTimeout)
			c.s.logf("%s: 408 %s", c.RemoteAddr(), msg)
			_ = c.Conn.SetWriteDeadline(time.Now().Add(min(c.s.cfg.writeTimeout, time.Second)))
			n, werr := c.Conn.Write(rawErrorResponse(408, msg))
			c.s.bytesOut.Add(int64(n))
			if werr == nil {
				c.linger.Store(true)
			}
		}
		if c.linger.Load() {
			lingerClose(c.Conn)
		}
		err = c.Conn.Close()
	})
	return err
}
