package iotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	stdio "io"

	"github.com/vkio/vkio/io"
)

// netPair listens through x and returns the adapted listener and a
// connected pair: the client end (a plain net.Conn) and the server end (the
// adapter's).
func netPair(t *testing.T, x io.Io) (net.Listener, net.Conn, net.Conn) {
	t.Helper()
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nl := l.NetListener(x)
	client, err := net.Dial("tcp", nl.Addr().String())
	if err != nil {
		nl.Close()
		t.Fatal(err)
	}
	server, err := nl.Accept()
	if err != nil {
		client.Close()
		nl.Close()
		t.Fatal(err)
	}
	return nl, client, server
}

var _ = register("NetConnReadWrite", func(t *testing.T, x io.Io) {
	log := &opLog{}
	y := x.WithObserver(log)
	nl, client, server := netPair(t, y)
	defer nl.Close()
	defer client.Close()
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := stdio.ReadFull(server, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("server read %q, %v", buf, err)
	}
	if _, err := server.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if cw, ok := server.(interface{ CloseWrite() error }); !ok {
		t.Fatal("the adapter has no CloseWrite")
	} else if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := stdio.ReadAll(client)
	if err != nil || string(got) != "pong" {
		t.Fatalf("client read %q, %v", got, err)
	}
	client.Close()
	if n, err := server.Read(buf); n != 0 || err != stdio.EOF {
		t.Fatalf("read after the peer closed = %d, %v; want 0, EOF", n, err)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	// The Io saw every socket operation.
	for _, name := range []string{"accept", "read", "write", "close"} {
		if _, ok := log.find("net", name); !ok {
			t.Errorf("observer saw no net %s", name)
		}
	}
	if _, err := server.Read(buf); !errors.Is(err, io.ErrClosed) {
		t.Fatalf("read after Close = %v, want ErrClosed", err)
	}
})

var _ = register("NetConnDeadline", func(t *testing.T, x io.Io) {
	nl, client, server := netPair(t, x)
	defer nl.Close()
	defer client.Close()
	defer server.Close()
	buf := make([]byte, 8)
	// A deadline set before the read.
	_ = server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := server.Read(buf)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline = %v, want a timeout", err)
	}
	// A passed deadline fails at once; clearing it lets reads go on.
	if _, err := server.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a passed deadline = %v", err)
	}
	_ = server.SetReadDeadline(time.Time{})
	client.Write([]byte("x"))
	if n, err := server.Read(buf); n != 1 || err != nil {
		t.Fatalf("read after clearing the deadline = %d, %v", n, err)
	}
	// A deadline moved into the past while a read is parked interrupts it
	// (net/http does this to abort its background read).
	done := make(chan error, 1)
	go func() { _, err := server.Read(buf); done <- err }()
	time.Sleep(10 * time.Millisecond)
	_ = server.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("parked read = %v, want a timeout", err)
		}
	case <-time.After(within):
		t.Fatal("parked read not interrupted by SetReadDeadline")
	}
	// The write side has its own deadline: a peer that does not read.
	_ = server.SetReadDeadline(time.Time{})
	_ = server.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	big := make([]byte, 1<<20)
	for {
		_, err := server.Write(big)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write past its deadline = %v", err)
			}
			break
		}
	}
})

var _ = register("NetListenerCanceled", func(t *testing.T, x io.Io) {
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	y, stop := canceledBy(x, 20*time.Millisecond)
	defer stop()
	nl := l.NetListener(y)
	defer nl.Close()
	_, err = nl.Accept() // nobody dials: the cancellation ends it
	isCanceled(t, err)
	// A conn of a canceled Io: reads fail with the cancellation, Close works.
	c, err := net.Dial("tcp", nl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := l.Accept(x)
	if err != nil {
		t.Fatal(err)
	}
	nc := sc.NetConn(y)
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.ErrCanceled) {
		t.Fatalf("read through a canceled Io = %v", err)
	}
	if err := nc.Close(); err != nil {
		t.Fatalf("Close through a canceled Io = %v", err)
	}
})

// net/http's server over the adapter: requests with bodies, a streamed
// response flushed per part, a handler that sees its client go away, and
// Shutdown.
var _ = register("NetHTTPServer", func(t *testing.T, x io.Io) {
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := stdio.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprintf(w, "%d:%s", len(b), b)
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done() // the client hangs up
		close(gone)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: within}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l.NetListener(x)) }()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: within}
	base := "http://" + l.Addr().String()

	body := strings.Repeat("abc", 100_000)
	resp, err := cl.Post(base+"/echo", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := stdio.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%d:%s", len(body), body); string(got) != want {
		t.Fatalf("echo: %d bytes back, want %d", len(got), len(want))
	}

	resp, err = cl.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = stdio.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "part 0\npart 1\npart 2\n" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("stream: %q, transfer encoding %v", got, resp.TransferEncoding)
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hang", nil)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-gone:
	case <-time.After(within):
		t.Fatal("the handler did not see its client go away")
	}

	sctx, scancel := context.WithTimeout(context.Background(), within)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve = %v", err)
	}
})
