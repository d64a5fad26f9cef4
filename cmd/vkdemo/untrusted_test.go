package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	stdio "io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The attacks of issue 12 on run's file inputs and on serve's parsers and
// HTTP front, against the built binary; after each, a normal run or job
// returns the right numbers.

// TestRunUntrustedFiles: special files and files over the caps are refused
// before they are read (they were read whole: /dev/zero ran out of memory,
// a FIFO hung, a 5 GiB sparse file took 27 s and 5.3 GB); .npy shapes are
// checked against the data; flags given twice are errors.
func TestRunUntrustedFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"fifo", "fifo.comp"} {
		if err := syscall.Mkfifo(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sparse := func(name string, size int64) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Skip("no sparse files here:", err)
		}
	}
	sparse("big.bin", 5<<30)
	sparse("big.spv", 5<<30)
	// A .npy whose shape claims 1000 floats over 256 of data.
	bad := []byte("\x93NUMPY\x01\x00")
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }"
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	bad = binary.LittleEndian.AppendUint16(bad, uint16(len(dict)))
	bad = append(append(bad, dict...), make([]byte, 1024)...)
	if err := os.WriteFile(filepath.Join(dir, "short.npy"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	saxpy := repo("shaders/saxpy.spv")
	std := []string{"--bind", "0=iota:256", "--push", "f32:2,u32:256"}
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"shader /dev/zero", []string{"run", "/dev/zero"}, 1, "/dev/zero: invalid argument: is a character device, not a regular file"},
		{"shader FIFO", []string{"run", "fifo"}, 1, "is a FIFO, not a regular file"},
		{"GLSL FIFO", []string{"run", "fifo.comp"}, 1, "is a FIFO, not a regular file"},
		{"shader folder", []string{"run", dir + "/"}, 1, "is a directory, not a regular file"},
		{"shader 5 GiB", []string{"run", "big.spv"}, 1, "5368709120 bytes, more than the limit of 67108864 bytes"},
		{"bind /dev/zero", append([]string{"run", saxpy, "--bind", "1=file:/dev/zero"}, std...), 1, "is a character device, not a regular file"},
		{"bind FIFO", append([]string{"run", saxpy, "--bind", "1=file:fifo"}, std...), 1, "is a FIFO, not a regular file"},
		{"bind 5 GiB", append([]string{"run", saxpy, "--bind", "1=file:big.bin"}, std...), 1, "5368709120 bytes, more than the limit of"},
		{"npy shape over its data", append([]string{"run", saxpy, "--bind", "1=file:short.npy"}, std...), 1, ".npy shape (1000,) of <f4 holds 4000 bytes of data, but the file has 1024"},
		{"spec twice", append([]string{"run", saxpy, "--spec", "0=64", "--spec", "0=32"}, std...), 2, "constant 0 given twice"},
		{"out twice", append([]string{"run", saxpy, "--out", "0=y.npy", "--out", "1=y.npy"}, std...), 2, `bindings 0 and 1 both go to "y.npy"`},
		{"out-dir and out", append([]string{"run", saxpy, "--out-dir", "o", "--out", "0=o/binding1.npy"}, std...), 2, "bindings 0 and 1 both go to"},
		{"huge push", []string{"run", saxpy, "--push", strings.Repeat("u8:1,", 20000) + "u8:1"}, 2, "--push gives more than 4096 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := vkdemo(t, dir, nil, c.args...)
			checkFailure(t, r, c.code, c.msg)
		})
	}
	// Still right: y = 2x + y from a good .npy.
	y := make([]float32, 256)
	for i := range y {
		y[i] = float32(i) / 4
	}
	writeNpyF32(t, filepath.Join(dir, "y.npy"), y)
	ok(t, dir, append([]string{"run", saxpy, "--bind", "1=file:y.npy", "--out", "1=out.npy"}, std...)...)
	got := f32s(readNpy(t, filepath.Join(dir, "out.npy")).data)
	for i := range y {
		if want := 2*float32(i) + y[i]; got[i] != want {
			t.Fatalf("after the attacks: y[%d] = %g, want %g", i, got[i], want)
		}
	}
}

// slowRequest sends part of a request, then waits for the response.
func slowRequest(t *testing.T, addr, part string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(part)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("request %.40q: %v", part, err)
	}
	defer resp.Body.Close()
	b, _ := stdio.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeUntrusted: the HTTP and parser attacks of issue 12 get the
// right 4xx with a short message, before any stream starts, and the
// server goes on serving right numbers.
func TestServeUntrusted(t *testing.T) {
	// A read timeout in the middle of a line is a 408 (it was a 400).
	slow := startServe(t, nil, "--read-timeout", "1s")
	for _, part := range []string{"POST /jobs HT", "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Le", "GET /healthz HTTP/1.1\r\n"} {
		if status, body := slowRequest(t, slow.addr, part); status != 408 || !strings.Contains(body, "--read-timeout") {
			t.Errorf("%q then nothing: %d %s, want 408", part, status, body)
		}
	}
	slow.stop(t)
	// The parser cases send up to 10 MB: a generous --read-timeout, so that
	// a loaded machine under -race (which can take over a second to move
	// 10 MB through loopback) gets the parser's answer, not a 408.
	out := t.TempDir()
	srv := startServe(t, nil, "--max-request", "16MiB", "--read-timeout", "60s", "--out", out)
	saxpy := `{"kernel":"saxpy","bind":{"0":"iota:8","1":"ones"},"push":"f32:2,u32:8"`
	dev := chosenDevice(t)
	// One past the device's smallest workgroup count limit.
	over := [3]uint64{1, 1, 1}
	low := 0
	for i, n := range dev.Limits.MaxWorkgroupCount {
		if n < dev.Limits.MaxWorkgroupCount[low] {
			low = i
		}
	}
	over[low] = uint64(dev.Limits.MaxWorkgroupCount[low]) + 1
	x := f32Bytes([]float32{1, 2, 3, 4})
	for _, c := range []struct {
		name   string
		job    string
		parts  map[string][]byte
		status int
		want   string
	}{
		// A 10 MB value made a 20 MB error.
		{"10 MB push", `{"kernel":"saxpy","push":"` + strings.Repeat("u8:1,", 2<<20) + `u8:1"}`, nil, 413, "job JSON of"},
		{"60 KB size", `{"kernel":"saxpy","bind":{"0":"zeros:` + strings.Repeat("9", 60000) + `"}}`, nil, 400, "bad size"},
		{"60 KB unknown field", `{"kernel":"saxpy","` + strings.Repeat("x", 60000) + `":1}`, nil, 400, "unknown field"},
		// Device limits: a 400 before the stream (it was 200 and an error line).
		{"groups over the device", saxpy + fmt.Sprintf(`,"groups":[%d,%d,%d]}`, over[0], over[1], over[2]), nil, 400, "exceeds the device's"},
		{"spec twice", `{"kernel":"saxpy","spec":{"0":64,"00":32}}`, nil, 400, "constant 0 given twice"},
		{"spec key twice", `{"kernel":"saxpy","spec":{"0":64,"0":32}}`, nil, 400, `key "0" given twice`},
		{"saved twice", saxpy + `,"save":{"0":"y.npy","1":"y.npy"}}`, nil, 400, `both go to "y.npy"`},
		{"deep JSON", `{"kernel":"saxpy","bind":` + strings.Repeat(`{"a":`, 50) + "1" + strings.Repeat("}", 50) + "}", nil, 400, "nested more than"},
		{"part twice", `{"kernel":"saxpy","push":"f32:2,u32:4"}`, map[string][]byte{"binding0": x, "binding00": x}, 400, "binding 0 given twice"},
	} {
		res := postJob(t, srv.addr, c.job, c.parts)
		if res.status != c.status || !strings.Contains(res.err, c.want) {
			t.Errorf("%s: %d %.300q, want %d and %q", c.name, res.status, res.err, c.status, c.want)
		}
		if len(res.err) > 1024 {
			t.Errorf("%s: an error of %d bytes", c.name, len(res.err))
		}
	}
	// Duplicate parts of one name (a map cannot send them): raw multipart.
	body := multipartBody("XyZ", [2]string{"job", `{"kernel":"saxpy","push":"f32:2,u32:4"}`}, [2]string{"binding0", string(x)}, [2]string{"binding0", string(x)})
	resp, err := httpClient.Post("http://"+srv.addr+"/jobs", "multipart/form-data; boundary=XyZ", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := readJobResponse(resp)
	resp.Body.Close()
	if err != nil || res.status != 400 || !strings.Contains(res.err, `part "binding0" given twice`) {
		t.Errorf("binding0 twice: %d %q %v", res.status, res.err, err)
	}
	// No absolute path of the server's in an error: a save into a file.
	if err := os.WriteFile(filepath.Join(out, "afile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res = postJob(t, srv.addr, saxpy+`,"save":{"1":"afile/y.npy"}}`, nil)
	if res.err == "" || strings.Contains(res.err, out) {
		t.Errorf("save under a file: %q (the server's folder is %s)", res.err, out)
	}
	// Still serving right numbers.
	checkNormalJob(t, srv.addr)
	srv.stop(t)
}

// checkNormalJob runs a saxpy job with random inputs and checks every
// element.
func checkNormalJob(t *testing.T, addr string) {
	t.Helper()
	job, parts, a, x, y := saxpyJob(rand.New(rand.NewPCG(3, 4)), 5000, 2)
	res := postJob(t, addr, job, parts)
	if res.status != 200 || res.err != "" || len(res.frames) != 2 {
		t.Fatalf("normal job: %d %q, %d frames", res.status, res.err, len(res.frames))
	}
	for it, f := range res.frames {
		checkSaxpy(t, fmt.Sprintf("normal job iter %d", it), a, x, y, it+1, f32s(f.data))
	}
}

// procStatus reads a field of /proc/PID/status in kB, as bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestServeFloodMemory: a flood of maximal legal requests (multipart
// uploads of --max-request, jobs generating --max-request of data, pushes
// near the cap) from more clients than --max-jobs and --max-queue admit
// keeps the server's peak RSS (VmHWM) within the formula of serve --help,
//
//	peak ≈ base + 7 × --max-jobs × --max-request
//
// (peakFormula), with a margin (more under the race detector, whose shadow
// memory triples the heap's). Before, every connection read and copied its
// body before admission (16 uploads of 30 MiB: 1.55 GB).
func TestServeFloodMemory(t *testing.T) {
	maxReq, maxJobs, clients := int64(4<<20), 2, 48
	args := []string{"--max-request", "4MiB", "--max-jobs", "2", "--max-queue", "16"}
	if os.Getenv("VKDEMO_FLOOD_DEFAULTS") != "" { // the figures of BENCHMARKS.md: serve's defaults
		maxReq, maxJobs, clients, args = 32<<20, 4, 24, nil
	}
	srv := startServe(t, nil, args...)
	pid := srv.cmd.Process.Pid
	checkNormalJob(t, srv.addr) // the kernels built, the pools warm
	base := procStatus(t, pid, "VmRSS")
	n := (maxReq - 4096) / 8 // two bindings of floats in one upload
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i % 1000)
	}
	upload := map[string][]byte{"binding0": f32Bytes(xs), "binding1": f32Bytes(xs)}
	jobs := []struct {
		job   string
		parts map[string][]byte
	}{
		{fmt.Sprintf(`{"kernel":"saxpy","push":"f32:2,u32:%d"}`, n), upload},
		{fmt.Sprintf(`{"kernel":"saxpy","bind":{"0":"rand:%d","1":"iota"},"push":"f32:2,u32:%d"}`, n, n), nil},
		{`{"kernel":"saxpy","push":"` + strings.Repeat("u8:1,", 4000) + `u8:1"}`, nil},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				j := jobs[(c+i)%len(jobs)]
				res, err := tryPostJob(srv.addr, j.job, j.parts)
				mu.Lock()
				if err != nil {
					statuses[-1]++
				} else {
					statuses[res.status]++
				}
				mu.Unlock()
				if err == nil && res.status == 200 && (c+i)%len(jobs) == 0 {
					if len(res.frames) != 1 || f32s(res.frames[0].data)[999] != 2*999+999 {
						t.Errorf("flooded upload: %d frames, %q", len(res.frames), res.err)
					}
				}
			}
		}()
	}
	wg.Wait()
	peak := procStatus(t, pid, "VmHWM")
	bound := base + peakFormula(maxJobs, maxReq)
	margin := int64(2)
	if raceEnabled {
		margin = 5 // the race detector's shadow memory
	}
	t.Logf("flood: %v; base RSS %d MiB, peak %d MiB, formula %d MiB", statuses, base>>20, peak>>20, bound>>20)
	if statuses[200] == 0 || statuses[-1] > 0 {
		t.Errorf("flood: %v; want some jobs done and every request answered", statuses)
	}
	if peak > base+margin*(bound-base) {
		t.Errorf("peak RSS %d MiB over %d MiB: base %d MiB + %d × the formula's %d MiB", peak>>20, (base+margin*(bound-base))>>20, base>>20, margin, (bound-base)>>20)
	}
	checkNormalJob(t, srv.addr)
	srv.stop(t)
}
