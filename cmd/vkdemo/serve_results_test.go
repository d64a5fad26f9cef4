package main

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	stdio "io"
)

// TestServeResults: GET /results/PATH sends back what a job saved and
// files under --out (a large one, through sendfile), HEAD gives the
// length, and paths outside --out, through links or that no save could
// have are refused.
func TestServeResults(t *testing.T) {
	tmp := t.TempDir()
	out, outside := filepath.Join(tmp, "out"), filepath.Join(tmp, "outside")
	for _, d := range []string{filepath.Join(out, "dir"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.raw"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.raw"), filepath.Join(out, "link.raw")); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 9<<20+17) // more than two of serve's 4 MiB parts
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(out, "big.raw"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, nil, "--out", out)
	res := postJob(t, srv.addr, `{"kernel":"saxpy","bind":{"0":"iota:100","1":"ones"},"push":"f32:2,u32:100","save":{"1":"runs/y.npy"}}`, nil)
	if res.status != 200 || res.done == nil {
		t.Fatalf("save: %+v", res)
	}
	get := func(method, p string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+srv.addr+p, nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := stdio.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading the body: %v", method, p, err)
		}
		return resp.StatusCode, resp.Header, b
	}
	saved, err := os.ReadFile(filepath.Join(out, "runs", "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if code, h, b := get("GET", "/results/runs/y.npy"); code != 200 || !bytes.Equal(b, saved) || h.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("GET the saved result: %d %s, %d bytes (want %d, equal %v)", code, h.Get("Content-Type"), len(b), len(saved), bytes.Equal(b, saved))
	}
	before := getJSON(t, srv.addr, "/healthz")["bytes_out"].(float64)
	if code, _, b := get("GET", "/results/big.raw"); code != 200 || !bytes.Equal(b, big) {
		t.Fatalf("GET big.raw: %d, %d bytes (want %d, equal %v)", code, len(b), len(big), bytes.Equal(b, big))
	}
	if after := getJSON(t, srv.addr, "/healthz")["bytes_out"].(float64); after-before < float64(len(big)) {
		t.Errorf("bytes_out grew by %.0f for a %d-byte result", after-before, len(big))
	}
	if code, h, b := get("HEAD", "/results/big.raw"); code != 200 || len(b) != 0 || h.Get("Content-Length") != strconv.Itoa(len(big)) {
		t.Fatalf("HEAD big.raw: %d, Content-Length %s, %d body bytes", code, h.Get("Content-Length"), len(b))
	}
	for p, want := range map[string]int{
		"/results/nope.raw":   404,
		"/results/dir":        404,
		"/results/link.raw":   404,
		"/results/.hidden":    400,
		"/results/a//b":       400,
		"/results/runs/../..": 400,
	} {
		if code, _, b := get("GET", p); code != want || bytes.Contains(b, []byte("secret")) {
			t.Errorf("GET %s: %d %s, want %d", p, code, b, want)
		}
	}
	if code, body := rawRequest(t, srv.addr, "GET /results/../outside/secret.raw HTTP/1.1\r\nHost: x\r\n\r\n"); code != 400 || strings.Contains(body, "secret\"") {
		t.Errorf("GET /results/../outside: %d %s, want 400", code, body)
	}
	if code, _, _ := get("POST", "/results/big.raw"); code != 405 {
		t.Errorf("POST /results: %d, want 405", code)
	}
	srv.stop(t)
}

// BenchmarkServeResult: GET /results of a 256 MiB file (32 MiB with
// -short) from an in-process server, with the Io's zero-copy path
// (sendfile through frontConn.ReadFrom) and, as the baseline, net/http's
// copy through its buffer into the connection's Write.
func BenchmarkServeResult(b *testing.B) {
	size := 256 << 20
	if testing.Short() {
		size = 32 << 20
	}
	out := b.TempDir()
	if err := os.WriteFile(filepath.Join(out, "big.raw"), bytes.Repeat([]byte("0123456789abcdef"), size/16), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := stdio.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--io", "threaded", "serve", "--port", "0", "--out", out}, pw, stdio.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var addr string
	for addr == "" && sc.Scan() {
		if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	go stdio.Copy(stdio.Discard, pr)
	defer func() {
		cancel()
		select {
		case <-code:
		case <-time.After(60 * time.Second):
			b.Error("server did not stop")
		}
	}()
	if addr == "" {
		b.Fatal("server did not start")
	}
	buf := make([]byte, 1<<20)
	for _, zc := range []bool{false, true} {
		name := "baseline=copy"
		if zc {
			name = "sendfile"
		}
		b.Run(name, func(b *testing.B) {
			old := serveZeroCopy.Swap(zc)
			defer serveZeroCopy.Store(old)
			b.SetBytes(int64(size))
			for b.Loop() {
				resp, err := httpClient.Get("http://" + addr + "/results/big.raw")
				if err != nil {
					b.Fatal(err)
				}
				n, err := stdio.CopyBuffer(stdio.Discard, resp.Body, buf)
				resp.Body.Close()
				if n != int64(size) || err != nil {
					b.Fatalf("GET: %d bytes, %v", n, err)
				}
			}
		})
	}
	httpClient.CloseIdleConnections()
}

// FuzzResultPath: a GET /results path that serveResult accepts (by
// checkSavePath, before any open) names a file beneath --out: relative,
// already clean, no hidden or parent component, bounded in depth.
func FuzzResultPath(f *testing.F) {
	for _, s := range []string{"runs/y.npy", "../x", "/etc/passwd", "a//b", ".hidden", "a/./b", "a/b/", "a\\..\\b", "a/..", strings.Repeat("d/", 10) + "f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkSavePath(p) != nil {
			return
		}
		if path.IsAbs(p) || path.Clean(p) != p || strings.ContainsAny(p, "\x00\\") {
			t.Fatalf("accepted %q: not a clean relative path", p)
		}
		comps := strings.Split(p, "/")
		if len(comps) > maxSaveDepth+1 {
			t.Fatalf("accepted %q: %d components", p, len(comps))
		}
		for _, c := range comps {
			if c == "" || strings.HasPrefix(c, ".") {
				t.Fatalf("accepted %q: component %q", p, c)
			}
		}
	})
}
