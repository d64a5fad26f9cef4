package main

import (
	"bufio"
	"errors"
	stdio "io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// httpFront is the HTTP front of a server without a device (net/http on
// the front listener, over loopback sockets of the Io): what
// FuzzHTTPRequest sends bytes to. Its one route reads and parses a job
// as serve does, without running it.
type httpFront struct {
	s    *server
	addr string
}

func newHTTPFront(tb testing.TB) *httpFront {
	b := io.NewThreaded(io.ThreadedOptions{})
	x := b.Io()
	ln, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		tb.Fatal(err)
	}
	s := parseServer()
	s.cfg.maxRequest = 64 << 10
	s.cfg.readTimeout = 5 * time.Second
	s.cfg.writeTimeout = 5 * time.Second
	s.conns = tasks.NewSemaphore("connections", 64)
	s.rejecters = tasks.NewSemaphore("rejected connections", maxRejecters)
	s.jobsIo = x
	srv := s.newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.handle(w, req, parseOnly)
	}))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newFrontListener(s, x, ln)) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		<-served
		s.connsOpen.Wait()
		b.Close()
	})
	return &httpFront{s: s, addr: ln.Addr().String()}
}

// parseOnly answers a request as serveJob does up to the job's run:
// body, parse, an answer.
func parseOnly(x io.Io, rw *respWriter, r *request, id uint64) int {
	s := rw.s
	if r.req.Method == http.MethodPost && r.req.URL.Path == "/jobs" {
		if err := s.readBody(x, r); err != nil {
			var he *httpError
			if errors.As(err, &he) {
				rw.errorResponse(he.status, he.msg)
				return he.status
			}
			return 0
		}
		if _, herr := s.parseJob(r); herr != nil {
			rw.errorResponse(herr.status, herr.msg)
			return herr.status
		}
	}
	rw.jsonResponse(200, map[string]bool{"ok": true})
	return 200
}

// exchange sends req on a new connection (then closes its write side) and
// returns the response the client read, or an error.
func (h *httpFront) exchange(req []byte) (*http.Response, []byte, error) {
	client, err := net.Dial("tcp", h.addr)
	if err != nil {
		return nil, nil, err
	}
	defer client.Close()
	_ = client.SetDeadline(time.Now().Add(20 * time.Second))
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_, _ = client.Write(req)
		_ = client.(*net.TCPConn).CloseWrite()
	}()
	defer func() { <-sent }()
	br := bufio.NewReader(client)
	resp, err := http.ReadResponse(br, nil)
	for err == nil && resp.StatusCode == 100 { // Expect: 100-continue
		resp, err = http.ReadResponse(br, nil)
	}
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := stdio.ReadAll(resp.Body)
	return resp, body, err
}

func FuzzHTTPRequest(f *testing.F) {
	for _, s := range []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 67\r\n\r\n" +
			`{"kernel":"saxpy","bind":{"0":"iota:8","1":"ones"},"push":"f32:2,u32:8"}`[:67],
		"POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"ke\r\n0\r\n\r\n",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 60\r\n\r\n--B\r\nContent-Disposition: form-data; name=\"job\"\r\n\r\n{}\r\n--B--",
		"HELLO THERE\r\n\r\n",
		"POST /jobs HT",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Le",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 1000) + "\r\n\r\n",
		"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"kernel\"",
	} {
		f.Add([]byte(s))
	}
	h := newHTTPFront(f)
	f.Fuzz(func(t *testing.T, req []byte) {
		resp, body, err := h.exchange(req)
		if err != nil {
			// No response is right only for a client that left: a body
			// cut short, or nothing sent.
			return
		}
		switch resp.StatusCode {
		case 200, 400, 408, 413, 431:
		default:
			t.Fatalf("status %d for %q: %s", resp.StatusCode, req, body)
		}
		if len(body) > maxMessage+256 {
			t.Fatalf("a response of %d bytes to %d", len(body), len(req))
		}
	})
}
