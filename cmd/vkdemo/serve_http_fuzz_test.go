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
)

// httpFront is the HTTP front of a server without a device, on a loopback
// socket of the Io: what FuzzHTTPRequest sends bytes to.
type httpFront struct {
	s  *server
	x  io.Io
	ln *io.Listener
}

func newHTTPFront(tb testing.TB) *httpFront {
	b := io.NewThreaded(io.ThreadedOptions{})
	tb.Cleanup(func() { b.Close() })
	x := b.Io()
	ln, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close(x) })
	s := parseServer()
	s.cfg.maxRequest = 64 << 10
	s.cfg.readTimeout = 5 * time.Second
	s.cfg.writeTimeout = 5 * time.Second
	return &httpFront{s: s, x: x, ln: ln}
}

// exchange sends req on a new connection (then closes its write side) and
// serves it as serve does up to the job's run: headers, body, parse, an
// answer. It returns the response the client read, or an error.
func (h *httpFront) exchange(req []byte) (*http.Response, []byte, error) {
	client, err := net.Dial("tcp", h.ln.Addr().String())
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
	c, err := h.ln.Accept(h.x)
	if err != nil {
		return nil, nil, err
	}
	h.serve(c)
	<-sent
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

// serve answers one request on c as handleConn and serveJob do, without
// running the job.
func (h *httpFront) serve(c *io.Conn) {
	x, s := h.x, h.s
	defer c.Close(x)
	rw := newRespWriter(x, c, s.cfg.writeTimeout, s, 1)
	r, err := s.readRequest(x, c)
	var he *httpError
	if errors.As(err, &he) {
		rw.errorResponse(he.status, he.msg)
		return
	}
	if err != nil {
		return // the client left
	}
	if r.req.Method == http.MethodPost && r.req.URL.Path == "/jobs" {
		if err := s.readBody(x, rw, r); err != nil {
			if errors.As(err, &he) {
				rw.errorResponse(he.status, he.msg)
			}
			return
		}
		if _, herr := s.parseJob(r); herr != nil {
			rw.errorResponse(herr.status, herr.msg)
			return
		}
	}
	rw.jsonResponse(200, map[string]bool{"ok": true})
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
