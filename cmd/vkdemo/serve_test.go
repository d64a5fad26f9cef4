package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	stdio "io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/shaders"
)

// The serve tests talk to a real server on loopback: the built binary (as a
// user runs it, with the validation layer on) or, where goroutine leaks are
// checked, run() in-process.

// serveProc is a `vkdemo serve` process.
type serveProc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *lockedBuf
	stderr *lockedBuf
	done   chan struct{}
	code   int
}

// lockedBuf is a bytes.Buffer safe for concurrent use.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listenRE = regexp.MustCompile(`listening on http://(\S+)`)

// startServe starts the binary with `serve --port 0 args...` (validation on
// unless env says otherwise) and waits until it listens.
func startServe(t testing.TB, env []string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{stdout: &lockedBuf{}, stderr: &lockedBuf{}, done: make(chan struct{})}
	p.cmd = exec.Command(vkdemoBin, append([]string{"serve", "--port", "0"}, args...)...)
	p.cmd.Env = append(append(os.Environ(), "VKIO_VALIDATION=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(p.stdout.String()); m != nil {
			p.addr = m[1]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("vkdemo serve exited %d:\n%s%s", p.code, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("vkdemo serve did not listen:\n%s%s", p.stdout, p.stderr)
	return nil
}

// stop sends SIGINT and checks a clean exit: status 0, no validation
// message, no crash.
func (p *serveProc) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("vkdemo serve did not stop on SIGINT")
	}
	p.checkExit(t)
}

func (p *serveProc) checkExit(t testing.TB) {
	t.Helper()
	if p.code != 0 || strings.Contains(p.stderr.String(), "validation") || strings.Contains(p.stderr.String(), "DATA RACE") || strings.Contains(p.stderr.String(), "panic") {
		t.Fatalf("vkdemo serve: exit %d\nstdout:\n%s\nstderr:\n%s", p.code, p.stdout, p.stderr)
	}
}

// jobResult is a parsed response to POST /jobs.
type jobResult struct {
	status int
	err    string         // {"error"} of an error response or of the stream's end
	frames []streamFrame  // outputs in order
	done   map[string]any // the {"done":true} line
	header http.Header
}

type streamFrame struct {
	frameHeader
	data []byte
}

var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Minute}

// postJob sends a job: JSON alone, or multipart with parts when parts is
// not nil ("spirv", "bindingN").
func postJob(t testing.TB, addr, job string, parts map[string][]byte) jobResult {
	t.Helper()
	r, err := tryPostJob(addr, job, parts)
	if err != nil {
		t.Fatalf("POST /jobs %s: %v", job, err)
	}
	return r
}

func tryPostJob(addr, job string, parts map[string][]byte) (jobResult, error) {
	var body bytes.Buffer
	ct := "application/json"
	if parts == nil {
		body.WriteString(job)
	} else {
		mw := multipart.NewWriter(&body)
		if job != "" {
			_ = mw.WriteField("job", job)
		}
		for name, data := range parts {
			w, _ := mw.CreateFormFile(name, name+".bin")
			_, _ = w.Write(data)
		}
		_ = mw.Close()
		ct = mw.FormDataContentType()
	}
	resp, err := httpClient.Post("http://"+addr+"/jobs", ct, &body)
	if err != nil {
		return jobResult{}, err
	}
	defer resp.Body.Close()
	return readJobResponse(resp)
}

func readJobResponse(resp *http.Response) (jobResult, error) {
	r := jobResult{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != 200 {
		var e struct{ Error string }
		b, _ := stdio.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &e); err != nil {
			return r, fmt.Errorf("status %d: body %q is not JSON", resp.StatusCode, b)
		}
		r.err = e.Error
		return r, nil
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return r, fmt.Errorf("stream ended without a last line: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return r, fmt.Errorf("bad stream line %q: %v", line, err)
		}
		switch {
		case m["error"] != nil:
			r.err = m["error"].(string)
			return r, nil
		case m["done"] == true:
			r.done = m
			if _, err := br.ReadByte(); err != stdio.EOF {
				return r, fmt.Errorf("data after the last line")
			}
			return r, nil
		}
		var f streamFrame
		if err := json.Unmarshal(line, &f.frameHeader); err != nil {
			return r, err
		}
		f.data = make([]byte, f.Bytes)
		if _, err := stdio.ReadFull(br, f.data); err != nil {
			return r, fmt.Errorf("frame %+v: %v", f.frameHeader, err)
		}
		r.frames = append(r.frames, f)
	}
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

// checkSaxpy checks got against y = a*x + y repeated iters times, in
// float32 (the GPU may fuse the multiply-add: 1e-6 relative slack).
func checkSaxpy(t testing.TB, what string, a float32, x, y []float32, iters int, got []float32) {
	t.Helper()
	if len(got) != len(y) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(y))
	}
	for i := range y {
		want := y[i]
		for range iters {
			want = a*x[i] + want
		}
		if d := math.Abs(float64(got[i] - want)); d > 1e-6*math.Max(1, math.Abs(float64(want))) {
			t.Fatalf("%s: y[%d] = %g, want %g", what, i, got[i], want)
		}
	}
}

// saxpyJob makes random saxpy inputs and the job sending them as parts.
func saxpyJob(r *rand.Rand, n, iters int) (job string, parts map[string][]byte, a float32, x, y []float32) {
	a = float32(r.IntN(2000)-1000) / 100
	x, y = make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = r.Float32()*2-1, r.Float32()*100
	}
	job = fmt.Sprintf(`{"kernel":"saxpy","push":"f32:%g,u32:%d","iterations":%d}`, a, n, iters)
	return job, map[string][]byte{"binding0": f32Bytes(x), "binding1": f32Bytes(y)}, a, x, y
}

// TestServeConcurrentClients: 8 clients run saxpy jobs with random inputs
// at once; every element of every streamed iteration is checked.
func TestServeConcurrentClients(t *testing.T) {
	srv := startServe(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for j := range 3 {
				n, iters := 1000+r.IntN(5000), 1+j%2
				job, parts, a, x, y := saxpyJob(r, n, iters)
				res, err := tryPostJob(srv.addr, job, parts)
				if err != nil || res.status != 200 || res.err != "" || res.done == nil {
					errs <- fmt.Errorf("client %d job %d: %v %+v", c, j, err, res)
					return
				}
				if len(res.frames) != iters {
					errs <- fmt.Errorf("client %d job %d: %d frames, want %d", c, j, len(res.frames), iters)
					return
				}
				for it, f := range res.frames {
					if f.Iter != it || f.Binding != 1 || f.Type != "f32" || f.Count != n {
						errs <- fmt.Errorf("client %d job %d: frame header %+v", c, j, f.frameHeader)
						return
					}
					checkSaxpy(t, fmt.Sprintf("client %d job %d iter %d", c, j, it), a, x, y, it+1, f32s(f.data))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A client has its last line before the server counts the job done
	// (seen on an H200, where the jobs are quick): wait for the count.
	h := getJSON(t, srv.addr, "/healthz")
	for deadline := time.Now().Add(5 * time.Second); h["running"].(float64) != 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		h = getJSON(t, srv.addr, "/healthz")
	}
	if h["done"].(float64) != 24 || h["failed"].(float64) != 0 {
		t.Errorf("healthz after 24 jobs: %v", h)
	}
	t.Logf("24 jobs in %v GPU submissions", h["gpu_submissions"])
	srv.stop(t)
}

func getJSON(t testing.TB, addr, path string) map[string]any {
	t.Helper()
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return m
}

// TestServeKernels: a built-in kernel with generated inputs (reduce), and
// an uploaded SPIR-V module with a specialization constant.
func TestServeKernels(t *testing.T) {
	srv := startServe(t, nil)
	res := postJob(t, srv.addr, `{"kernel":"reduce","bind":{"0":"iota:1024","1":"zeros:4"},"push":"u32:1024","groups":[1,1,1]}`, nil)
	if res.status != 200 || len(res.frames) != 1 || res.frames[0].Type != "u32" {
		t.Fatalf("reduce: %+v", res)
	}
	if got := binary.LittleEndian.Uint32(res.frames[0].data); got != 1023*1024/2 {
		t.Errorf("reduce: out[0] = %d, want %d", got, 1023*1024/2)
	}
	r := rand.New(rand.NewPCG(1, 2))
	_, parts, a, x, y := saxpyJob(r, 3000, 1)
	parts["spirv"] = shaders.SAXPY()
	res = postJob(t, srv.addr, fmt.Sprintf(`{"push":"f32:%g,u32:3000","spec":{"0":64}}`, a), parts)
	if res.status != 200 || len(res.frames) != 1 {
		t.Fatalf("uploaded saxpy: %+v", res)
	}
	checkSaxpy(t, "uploaded saxpy", a, x, y, 1, f32s(res.frames[0].data))
	if g := res.done["groups"].([]any); g[0].(float64) != 47 { // ceil(3000/64)
		t.Errorf("uploaded saxpy with local size 64: groups %v", g)
	}
	srv.stop(t)
}

// rawRequest sends raw bytes on a new connection and returns the status
// and the body of the response.
func rawRequest(t testing.TB, addr, req string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("request %.40q: %v", req, err)
	}
	defer resp.Body.Close()
	b, _ := stdio.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeBadRequests: malformed and oversized requests get a clear error
// response, and the server goes on serving.
func TestServeBadRequests(t *testing.T) {
	srv := startServe(t, nil, "--max-request", "64KiB", "--read-timeout", "1s")
	for _, c := range []struct {
		name, req string
		status    int
		want      string
	}{
		{"not HTTP", "HELLO THERE\r\n\r\n", 400, "malformed HTTP request"},
		{"oversized Content-Length", "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", 413, "--max-request"},
		{"oversized chunked body", "POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20000\r\n" + strings.Repeat("x", 0x20000) + "\r\n0\r\n\r\n", 413, "--max-request"},
		{"huge header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 70000) + "\r\n\r\n", 431, "headers larger"},
		{"truncated", "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"kernel\"", 408, "--read-timeout"},
		{"unknown path", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "no such path"},
		{"wrong method", "GET /jobs HTTP/1.1\r\nHost: x\r\n\r\n", 405, "POST"},
	} {
		status, body := rawRequest(t, srv.addr, c.req)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d and %q", c.name, status, body, c.status, c.want)
		}
	}
	for _, c := range []struct {
		job    string
		parts  map[string][]byte
		status int
		want   string
	}{
		{`{"kernel":`, nil, 400, "bad job JSON"},
		{`{"kernel":"saxpy","bogus":1}`, nil, 400, `unknown field "bogus"`},
		{`{"kernel":"nope"}`, nil, 400, `no built-in kernel "nope"`},
		{`{}`, nil, 400, "job has no kernel"},
		{`{"kernel":"saxpy","bind":{"0":"iota:8"},"push":"f32:2"}`, nil, 400, "push gives 4 bytes, but saxpy has 8 bytes"},
		{`{"kernel":"saxpy","bind":{"0":"file:/etc/passwd"},"push":"f32:2,u32:1"}`, nil, 400, "file sources are not read on the server"},
		{`{"kernel":"saxpy","bind":{"0":"rand:1G"},"push":"f32:2,u32:1"}`, nil, 413, "--max-request"},
		{`{"kernel":"saxpy","bind":{"0":"iota:8"},"push":"f32:2,u32:8","save":{"1":"y.npy"}}`, nil, 400, "started without --out"},
		{`{"push":"u32:1"}`, map[string][]byte{"spirv": []byte("not spir-v at all")}, 400, "bad SPIR-V"},
		{`{"kernel":"saxpy","push":"f32:2,u32:3"}`, map[string][]byte{"binding0": {1, 2, 3}}, 400, "not a whole number"},
	} {
		res := postJob(t, srv.addr, c.job, c.parts)
		if res.status != c.status || !strings.Contains(res.err, c.want) {
			t.Errorf("job %s: %d %q, want %d and %q", c.job, res.status, res.err, c.status, c.want)
		}
	}
	// Still serving.
	res := postJob(t, srv.addr, `{"kernel":"saxpy","bind":{"0":"ones:16","1":"iota"},"push":"f32:3,u32:16"}`, nil)
	if res.status != 200 || len(res.frames) != 1 || f32s(res.frames[0].data)[15] != 18 {
		t.Fatalf("after bad requests: %+v", res)
	}
	srv.stop(t)
}

// TestServeSave: saves land under --out, atomically and whole; escapes
// (absolute, .., symbolic links inside the folder) are rejected.
func TestServeSave(t *testing.T) {
	tmp := t.TempDir()
	out, outside := filepath.Join(tmp, "out"), filepath.Join(tmp, "outside")
	if err := os.MkdirAll(filepath.Join(out, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(out, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "victim.npy"), filepath.Join(out, "sub", "file.npy")); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, nil, "--out", out)
	res := postJob(t, srv.addr, `{"kernel":"saxpy","bind":{"0":"iota:100","1":"ones"},"push":"f32:2,u32:100","save":{"1":"runs/a/y.npy","0":"x.raw"}}`, nil)
	if res.status != 200 || res.done == nil {
		t.Fatalf("save: %+v", res)
	}
	npy := readNpy(t, filepath.Join(out, "runs", "a", "y.npy"))
	if npy.descr != "<f4" || npy.shape != "100," || !bytes.Equal(npy.data, res.frames[0].data) || f32s(npy.data)[99] != 199 {
		t.Errorf("saved y.npy: %s %s, data differs from the stream", npy.descr, npy.shape)
	}
	if raw, err := os.ReadFile(filepath.Join(out, "x.raw")); err != nil || len(raw) != 400 || f32s(raw)[7] != 7 {
		t.Errorf("saved x.raw: %d bytes, %v", len(raw), err)
	}
	for path, want := range map[string]string{
		"/tmp/evil.npy":    "absolute paths are not allowed",
		"../evil.npy":      "'..' is not allowed",
		"runs/../../e.npy": "'..' is not allowed",
		"a//b.npy":         "empty",
		".hidden":          "reserved",
	} {
		res := postJob(t, srv.addr, fmt.Sprintf(`{"kernel":"saxpy","bind":{"0":"iota:8"},"push":"f32:2,u32:8","save":{"1":%q}}`, path), nil)
		if res.status != 400 || !strings.Contains(res.err, want) {
			t.Errorf("save %q: %d %q, want 400 and %q", path, res.status, res.err, want)
		}
	}
	for _, path := range []string{"link/evil.npy", "sub/file.npy", "link"} {
		res := postJob(t, srv.addr, fmt.Sprintf(`{"kernel":"saxpy","bind":{"0":"iota:8"},"push":"f32:2,u32:8","save":{"1":%q}}`, path), nil)
		if res.status != 200 || !strings.Contains(res.err, "symbolic link") {
			t.Errorf("save %q through a symbolic link: %d %q, want the stream to end with a symbolic-link error", path, res.status, res.err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files escaped into %s: %v", outside, ents)
	}
	srv.stop(t)
	checkNoTempFiles(t, out)
}

// checkNoTempFiles fails if an atomic save left a temporary file in dir.
func checkNoTempFiles(t testing.TB, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

// TestServeShutdownUnderLoad: SIGINT while jobs run and more wait: exit 0,
// every client gets a complete stream, an error line or 503, and --out
// holds only complete files.
func TestServeShutdownUnderLoad(t *testing.T) {
	out := t.TempDir()
	srv := startServe(t, nil, "--out", out, "--max-jobs", "2", "--grace", "300ms")
	var wg sync.WaitGroup
	results := make([]jobResult, 8)
	errs := make([]error, 8)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			iters := 20 // finishes within --grace
			if c%2 == 1 {
				iters = 2000 // canceled at the end of --grace
			}
			job := fmt.Sprintf(`{"kernel":"julia","bind":{"0":"zeros:65536"},"grid":[256,256],"iterations":%d,"outputs":[],"push":"u32:256,u32:256,f32:-2,f32:-2,f32:0.015625,f32:0.015625,f32:-0.8,f32:0.156,u32:3000,u32:1","save":{"0":"c%d/julia.npy"}}`, iters, c)
			results[c], errs[c] = tryPostJob(srv.addr, job, nil)
		}()
	}
	// Signal once a job runs and every client's request has reached admission:
	// a connection still in the listener's backlog when it closes is reset by
	// the kernel, which no server can answer.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h := getJSON(t, srv.addr, "/healthz")
		admitted := h["running"].(float64) + h["waiting"].(float64) + h["done"].(float64) + h["failed"].(float64) + h["rejected"].(float64)
		if h["running"].(float64) > 0 && admitted >= 8 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.stop(t)
	wg.Wait()
	var done, canceled, refused int
	for c := range 8 {
		r, err := results[c], errs[c]
		switch {
		case err != nil:
			t.Errorf("client %d: %v", c, err) // the response must be whole, even if it is an error
		case r.status == 200 && r.done != nil:
			done++
			npy := readNpy(t, filepath.Join(out, fmt.Sprintf("c%d", c), "julia.npy"))
			if len(npy.data) != 65536*4 {
				t.Errorf("client %d: saved %d bytes", c, len(npy.data))
			}
		case r.status == 200 && strings.Contains(r.err, "canceled"), r.status == 504:
			canceled++
		case r.status == 503:
			refused++
		default:
			t.Errorf("client %d: %+v", c, r)
		}
	}
	t.Logf("shutdown under load: %d done, %d canceled, %d refused\n%s", done, canceled, refused, srv.stdout)
	if done+canceled == 0 {
		t.Errorf("no job was running at the signal")
	}
	checkNoTempFiles(t, out)
}

// TestServeInProcessLeaks runs the server in-process: clients that vanish
// mid-stream, send half a request, or never read leave no goroutine behind
// once the server has stopped, and do not stop others from being served.
func TestServeInProcessLeaks(t *testing.T) {
	t.Setenv("VKIO_VALIDATION", "1")
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := stdio.Pipe()
	var stderr lockedBuf
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--io", "threaded", "serve", "--port", "0", "--read-timeout", "1s", "--write-timeout", "1s"}, pw, &stderr)
		pw.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var addr string
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server ended: %s", stderr.String())
			}
			if m := listenRE.FindStringSubmatch(l); m != nil {
				addr = m[1]
			}
		case <-time.After(60 * time.Second):
			t.Fatal("server did not start")
		}
	}
	big := `{"kernel":"saxpy","bind":{"0":"ones:1M","1":"zeros"},"push":"f32:1,u32:1048576","iterations":200}`
	// A client that reads the first output and hangs up.
	c1, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c1, "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
	br := bufio.NewReader(c1)
	if _, err := br.Peek(4096); err != nil {
		t.Fatal(err)
	}
	c1.Close()
	// A client that never reads what it asked for.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c2, "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
	// A client that sends half a request.
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	fmt.Fprintf(c3, "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	// Meanwhile, others are served.
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3 {
		job, parts, a, x, y := saxpyJob(r, 2048, 1)
		res := postJob(t, addr, job, parts)
		if res.status != 200 || len(res.frames) != 1 {
			t.Fatalf("job %d beside bad clients: %+v", i, res)
		}
		checkSaxpy(t, "beside bad clients", a, x, y, 1, f32s(res.frames[0].data))
	}
	// The stuck writer is cut off by --write-timeout, the vanished one at
	// its next write, the half request by --read-timeout.
	deadline := time.Now().Add(30 * time.Second)
	for {
		h := getJSON(t, addr, "/healthz")
		if h["running"].(float64) == 0 && h["connections"].(float64) <= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bad clients still hold the server: %v", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("run returned %d: %s", c, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("server did not stop")
	}
	for range lines {
	}
	httpClient.CloseIdleConnections()
}

// TestServeRejectDoesNotStallAccept: connections over --max-conns are
// answered 503 off the accept loop, so that rejected clients that neither
// read nor close (each lingered on for up to 500 ms) do not hold up the
// clients after them; and they are closed in the end.
func TestServeRejectDoesNotStallAccept(t *testing.T) {
	srv := startServe(t, nil, "--max-conns", "1")
	healthz := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	// tryRaw sends req on a new connection and returns the response status.
	tryRaw := func(req string) (int, error) {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write([]byte(req)); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = stdio.ReadAll(resp.Body)
		return resp.StatusCode, nil
	}
	// The one connection slot, held by a client that sends nothing yet.
	held, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	start := time.Now()
	// Rejected clients that never read or close, accepted after it.
	var silent []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		silent = append(silent, c)
	}
	// Accepts are in order: once a later client is rejected, so were the
	// silent ones.
	if status, err := tryRaw(healthz); err != nil || status != 503 {
		t.Fatalf("with the slot held: %d %v, want 503", status, err)
	}
	// Release the slot; the next request is served (retrying while the
	// server has not yet seen the release).
	held.Close()
	for {
		status, err := tryRaw(healthz)
		if err != nil {
			t.Fatal(err)
		}
		if status == 200 {
			break
		}
		if status != 503 || time.Since(start) > 30*time.Second {
			t.Fatalf("after the release: %d", status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("served %v after the silent clients connected", took)
	if took > 250*time.Millisecond {
		t.Fatalf("a request behind %d silent rejected clients took %v: rejecting stalls accepting", len(silent), took)
	}
	// Each silent client got its 503, and its connection is closed in the
	// end: a write then gets a reset.
	for i, c := range silent {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("silent client %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Errorf("silent client %d: status %d, want 503", i, resp.StatusCode)
		}
		for {
			_, err := c.Write([]byte("x"))
			if err != nil {
				break
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("silent client %d: connection still open after %v", i, time.Since(start))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	srv.stop(t)
}
