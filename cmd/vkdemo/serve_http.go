package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// maxHeaderBytes bounds the request line and headers.
const maxHeaderBytes = 64 << 10

// errTooLarge is what connReader returns once the request used its budget.
var errTooLarge = errors.New("request too large")

// connReader reads a connection through an Io, at most budget bytes.
type connReader struct {
	x      io.Io
	c      *io.Conn
	budget int64
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.budget <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > r.budget {
		p = p[:r.budget]
	}
	n, err := r.c.Read(r.x, p)
	r.budget -= int64(n)
	return n, err
}

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
	cr       *connReader // the connection, for the body
	bodyRead bool        // readBody ran (a body left unread is drained before closing)
}

// hasBody reports whether the request announces a body.
func (r *request) hasBody() bool { return r.req.ContentLength != 0 }

// readRequest reads the request line and headers from c, within
// --read-timeout and maxHeaderBytes; the body is read later, by readBody,
// once the server has room for it.
func (s *server) readRequest(x io.Io, c *io.Conn) (*request, error) {
	ctx, cancel := context.WithTimeout(x.Context(), s.cfg.readTimeout)
	defer cancel()
	rx, cancelRx := x.WithContext(ctx)
	defer cancelRx()
	cr := &connReader{x: rx, c: c, budget: maxHeaderBytes}
	br := bufio.NewReaderSize(cr, 16<<10)
	req, err := http.ReadRequest(br)
	switch {
	case err == nil:
	case errors.Is(err, stdio.EOF) && cr.budget == maxHeaderBytes:
		return nil, err // connected and left without a byte
	case errors.Is(err, errTooLarge):
		return nil, httpErrorf(431, "request headers larger than %d bytes", maxHeaderBytes)
	case ctx.Err() != nil && x.CheckCancel() == nil:
		// Whatever the parser made of the cut (a canceled read, an
		// unexpected EOF, a malformed line), the client was too slow.
		return nil, httpErrorf(408, "request not received within --read-timeout (%s)", s.cfg.readTimeout)
	case errors.Is(err, io.ErrCanceled):
		return nil, err
	default:
		return nil, httpErrorf(400, "malformed HTTP request: %v", err)
	}
	r := &request{req: req, cr: cr}
	if req.ContentLength > s.cfg.maxRequest {
		return r, httpErrorf(413, "request body of %d bytes is larger than the server's --max-request (%d bytes)", req.ContentLength, s.cfg.maxRequest)
	}
	return r, nil
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
// the length is known. Before reading a body announced with "Expect:
// 100-continue" it sends the interim response, so that curl does not wait.
func (s *server) readBody(x io.Io, rw *respWriter, r *request) error {
	r.bodyRead = true
	req := r.req
	if req.ContentLength == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(x.Context(), s.cfg.readTimeout)
	defer cancel()
	rx, cancelRx := x.WithContext(ctx)
	defer cancelRx()
	r.cr.x = rx
	if strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		if err := rw.raw("HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return err
		}
	}
	// The whole budget for the body: what bufio read ahead counts already.
	r.cr.budget += s.cfg.maxRequest + 1
	var body []byte
	var err error
	if n := req.ContentLength; n > 0 {
		body = make([]byte, n) // n <= --max-request: readRequest checked
		_, err = stdio.ReadFull(req.Body, body)
	} else {
		// Chunked, of a length nobody said: it grows as it arrives (for a
		// moment up to twice its size, within --max-request).
		body, err = stdio.ReadAll(stdio.LimitReader(req.Body, s.cfg.maxRequest+1))
	}
	switch {
	case err == nil && int64(len(body)) > s.cfg.maxRequest, errors.Is(err, errTooLarge):
		return httpErrorf(413, "request body larger than the server's --max-request (%d bytes)", s.cfg.maxRequest)
	case err != nil && ctx.Err() != nil && x.CheckCancel() == nil:
		return httpErrorf(408, "request body not received within --read-timeout (%s)", s.cfg.readTimeout)
	case err != nil && (errors.Is(err, stdio.ErrUnexpectedEOF) || errors.Is(err, stdio.EOF) || errors.Is(err, io.ErrCanceled) || errors.Is(err, io.ErrClosed)):
		return err // the client left
	case err != nil:
		return httpErrorf(400, "malformed request body: %v", err)
	}
	s.bytesIn.Add(int64(len(body)))
	r.body = body
	return nil
}

// handleConn serves one connection: one request, one response, close.
func (s *server) handleConn(x io.Io, c *io.Conn) {
	id := s.seq.Add(1)
	rw := newRespWriter(x, c, s.cfg.writeTimeout, s, id)
	defer func() { _ = c.Close(x.WithoutCancel()) }()
	region := s.rec.Begin(tasks.Net, "", "read request", int(id)).Flow(id)
	start := time.Now()
	r, err := s.readRequest(x, c)
	region.End()
	var he *httpError
	if errors.As(err, &he) {
		s.rejected.Add(1)
		if r != nil && r.req != nil {
			s.logf("#%d %s %s: %d %s", id, r.req.Method, r.req.URL.Path, he.status, he.msg)
		} else {
			s.logf("#%d: %d %s", id, he.status, he.msg)
		}
		rw.errorResponse(he.status, he.msg)
		s.lingerClose(x, c)
		return
	}
	if err != nil {
		return // the client left, or shutdown
	}
	status := s.route(x, c, rw, r, id)
	s.logf("#%d %s %s: %d in %s", id, r.req.Method, r.req.URL.Path, status, time.Since(start).Round(time.Microsecond))
	if r.hasBody() && !r.bodyRead {
		// A body nobody read (a 503 before it, a 404): read it into the
		// void, so that closing does not reset the connection before the
		// client has read the response.
		s.discardBody(x, r)
		s.lingerClose(x, c)
	}
}

// discardBody reads r's body and drops it, a buffer at a time, within
// --read-timeout and --max-request: what the client sends after a
// response that did not need its body costs no memory.
func (s *server) discardBody(x io.Io, r *request) {
	ctx, cancel := context.WithTimeout(x.Context(), s.cfg.readTimeout)
	defer cancel()
	rx, cancelRx := x.WithContext(ctx)
	defer cancelRx()
	r.cr.x = rx
	r.cr.budget += s.cfg.maxRequest + 1
	r.bodyRead = true
	_, _ = stdio.Copy(stdio.Discard, stdio.LimitReader(r.req.Body, s.cfg.maxRequest+1))
}

// route dispatches a request by path; it returns the response status.
func (s *server) route(x io.Io, c *io.Conn, rw *respWriter, r *request, id uint64) int {
	method, path := r.req.Method, r.req.URL.Path
	switch path {
	case "/jobs":
		if method != http.MethodPost {
			rw.errorResponse(405, "use POST /jobs")
			return 405
		}
		return s.serveJob(x, c, rw, r, id)
	case "/healthz":
		if method != http.MethodGet && method != http.MethodHead {
			rw.errorResponse(405, "use GET /healthz")
			return 405
		}
		rw.jsonResponse(200, map[string]any{
			"ok": !s.draining.Load(), "running": s.running.Load(), "waiting": s.waiting.Load(),
			"done": s.jobsDone.Load(), "failed": s.jobsFailed.Load(), "rejected": s.rejected.Load(),
			"connections": s.conns.InUse(), "accepted": s.connsAccepted.Load(),
			"gpu_submissions": s.gpu.batches.Load(), "gpu_dispatches": s.gpu.dispatches.Load(),
			"bytes_in": s.bytesIn.Load(), "bytes_out": s.bytesOut.Load(),
		})
		return 200
	case "/kernels":
		rw.jsonResponse(200, builtinKernelsJSON())
		return 200
	}
	rw.errorResponse(404, fmt.Sprintf("no such path %s: POST /jobs, GET /kernels, GET /healthz", q(path)))
	return 404
}

// lingerClose closes the write side after an error response and reads what
// the client still sends, for a moment, so that closing with unread data
// does not reset the connection before the client read the response.
func (s *server) lingerClose(x io.Io, c *io.Conn) {
	_ = c.CloseWrite(x.WithoutCancel())
	ctx, cancel := context.WithTimeout(x.Context(), 500*time.Millisecond)
	defer cancel()
	lx, cancelLx := x.WithContext(ctx)
	defer cancelLx()
	buf := make([]byte, 4096)
	for total := 0; total < 4<<20; {
		n, err := c.Read(lx, buf)
		total += n
		if err != nil {
			return
		}
	}
}

// respWriter writes a response on a connection through an Io, each write
// bounded by the write timeout: a client that does not read cancels it.
type respWriter struct {
	x       io.Io
	c       *io.Conn
	s       *server
	job     uint64
	timeout time.Duration
	w       *io.Writer
	chunks  stdio.WriteCloser // the chunked body, once the stream started
	started bool              // a status line was written
}

func newRespWriter(x io.Io, c *io.Conn, timeout time.Duration, s *server, job uint64) *respWriter {
	rw := &respWriter{x: x, c: c, s: s, job: job, timeout: timeout}
	rw.w = io.NewWriter(&deadlineSink{rw: rw}, make([]byte, 32<<10))
	return rw
}

// deadlineSink writes a Writer's data on the connection with one vectorized
// write per drain, canceled if it takes longer than the timeout.
type deadlineSink struct{ rw *respWriter }

func (d *deadlineSink) Drain(w *io.Writer, data [][]byte, splat int) (int, error) {
	vec := io.AppendDrainVec(nil, w, data, splat, 1024)
	if len(vec) == 0 {
		return 0, nil
	}
	rw := d.rw
	ctx, cancel := context.WithTimeout(rw.x.Context(), rw.timeout)
	defer cancel()
	wx, cancelWx := rw.x.WithContext(ctx)
	defer cancelWx()
	n, err := rw.c.WriteVec(wx, vec, 1)
	if rw.s != nil {
		rw.s.bytesOut.Add(n)
	}
	if err != nil && ctx.Err() == context.DeadlineExceeded && rw.x.CheckCancel() == nil {
		err = fmt.Errorf("client did not take %d bytes within --write-timeout (%s): %w", io.DrainLen(w, data, splat), rw.timeout, err)
	}
	return int(n), err
}

// raw writes s and flushes.
func (rw *respWriter) raw(s string) error {
	_, _ = rw.w.WriteString(s)
	return rw.w.Flush()
}

// header writes the status line and headers.
func (rw *respWriter) header(status int, h [][2]string) {
	rw.started = true
	fmt.Fprintf(rw.w, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for _, kv := range h {
		fmt.Fprintf(rw.w, "%s: %s\r\n", kv[0], kv[1])
	}
	_, _ = rw.w.WriteString("Connection: close\r\n\r\n")
}

// jsonResponse writes a whole response with a JSON body.
func (rw *respWriter) jsonResponse(status int, v any) {
	body, _ := json.Marshal(v)
	body = append(body, '\n')
	h := [][2]string{{"Content-Type", "application/json"}, {"Content-Length", strconv.Itoa(len(body))}}
	if status == 503 {
		h = append(h, [2]string{"Retry-After", "1"})
	}
	if rw.job != 0 {
		h = append(h, [2]string{"X-Vkio-Request", strconv.FormatUint(rw.job, 10)})
	}
	rw.header(status, h)
	_, _ = rw.w.Write(body)
	_ = rw.w.Flush()
}

// errorResponse writes an error response {"error": msg}, msg as a client
// may see it (publicMessage: bounded, no absolute path of the server's).
func (rw *respWriter) errorResponse(status int, msg string) {
	rw.jsonResponse(status, map[string]string{"error": publicMessage(msg)})
}

// startStream writes the headers of a streamed (chunked) response.
func (rw *respWriter) startStream() error {
	rw.header(200, [][2]string{
		{"Content-Type", "application/vnd.vkio.stream"},
		{"Transfer-Encoding", "chunked"},
		{"X-Vkio-Request", strconv.FormatUint(rw.job, 10)},
	})
	rw.chunks = httputil.NewChunkedWriter(rw.w)
	return rw.w.Flush()
}

// line writes a JSON line in the stream (not flushed).
func (rw *respWriter) line(v any) error {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	_, err := rw.chunks.Write(b)
	return err
}

// frame writes one output: its JSON header line and its bytes, flushed.
func (rw *respWriter) frame(hdr frameHeader, data []byte) error {
	region := rw.s.rec.Begin(tasks.Net, "", fmt.Sprintf("send iter %d binding %d", hdr.Iter, hdr.Binding), int(rw.job)).Flow(rw.job)
	defer region.End()
	if err := rw.line(hdr); err != nil {
		return err
	}
	if len(data) > 0 {
		if _, err := rw.chunks.Write(data); err != nil {
			return err
		}
	}
	return rw.w.Flush()
}

// end writes the last line and the end of the chunked body.
func (rw *respWriter) end(v any) error {
	if err := rw.line(v); err != nil {
		return err
	}
	if err := rw.chunks.Close(); err != nil {
		return err
	}
	_, _ = rw.w.WriteString("\r\n") // no trailers
	return rw.w.Flush()
}
