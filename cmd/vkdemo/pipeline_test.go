package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	stdio "io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/npy"
	"github.com/vkio/vkio/tasks"
)

// The pipeline tests run the built binary (see main_test.go) on lavapipe,
// with the validation layer on, and check what a user gets: the PNGs (each
// against the CPU reference), the trace, the timeline and the report.

// checkFrames decodes every frame-*.png in dir, checks that it is one of
// frames 0..n-1 of a w×h demo with maxIter iterations and equal to the CPU
// reference, and that no temporary file is left. It returns the frames found.
func checkFrames(t *testing.T, dir string, w, h, n int, maxIter uint32) map[int]bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := map[int]bool{}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") || strings.HasPrefix(name, ".") {
			t.Errorf("left behind in %s: %s", dir, name)
			continue
		}
		var k int
		if _, err := fmt.Sscanf(name, "frame-%04d.png", &k); err != nil || !strings.HasSuffix(name, ".png") {
			continue
		}
		if k < 0 || k >= n {
			t.Errorf("%s: frame %d outside 0..%d", name, k, n-1)
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s does not decode: %v", name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Errorf("%s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), w, h)
			continue
		}
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
		want := demo.JuliaCPU(demo.JuliaZoom(w, h, k, maxIter), nil)
		if !bytes.Equal(rgba.Pix, want) {
			i := 0
			for i < len(want) && rgba.Pix[i] == want[i] {
				i++
			}
			t.Errorf("%s differs from the CPU reference at pixel %d: %v, want %v", name, i/4, rgba.Pix[i&^3:i&^3+4], want[i&^3:i&^3+4])
		}
		found[k] = true
	}
	return found
}

// checkTraceFile checks that p is Chrome trace-event JSON with GPU and Disk
// spans for every one of n frames, and flow arrows.
func checkTraceFile(t *testing.T, p string, n int) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Pid  int            `json:"pid"`
			Ts   float64        `json:"ts"`
			Dur  float64        `json:"dur"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: not JSON: %v", p, err)
	}
	procs := map[int]string{}
	for _, e := range tr.TraceEvents {
		if e.Ph == "M" && e.Name == "process_name" {
			procs[e.Pid], _ = e.Args["name"].(string)
		}
	}
	frames := map[string]map[float64]bool{"GPU": {}, "Disk": {}}
	flows := 0
	counters := map[string]int{}
	for _, e := range tr.TraceEvents {
		switch e.Ph {
		case "X":
			if e.Dur < 0 {
				t.Errorf("%s: negative duration %+v", p, e)
			}
			if m, ok := frames[procs[e.Pid]]; ok {
				if k, ok := e.Args["frame"].(float64); ok {
					m[k] = true
				}
			}
		case "s", "t", "f":
			flows++
		case "C":
			counters[e.Name]++
		}
	}
	if counters["cores busy"] == 0 || counters["frames in flight"] == 0 {
		t.Errorf("%s: counter samples %v; want cores busy and frames in flight tracks", p, counters)
	}
	if len(frames["GPU"]) != n || len(frames["Disk"]) != n || flows == 0 {
		t.Errorf("%s: GPU spans for %d frames, disk spans for %d, %d flow events; want %d, %d, > 0 (processes %v)",
			p, len(frames["GPU"]), len(frames["Disk"]), flows, n, n, procs)
	}
	if tr.DisplayTimeUnit != "ms" || tr.OtherData["io"] == nil {
		t.Errorf("%s: displayTimeUnit %q, otherData %v", p, tr.DisplayTimeUnit, tr.OtherData)
	}
}

// checkSVG checks that p is an SVG picture mentioning each of want.
func checkSVG(t *testing.T, p string, want ...string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "<svg ") || !strings.HasSuffix(s, "</svg>\n") {
		t.Errorf("%s: not an SVG picture: %.80q", p, s)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q", p, w)
		}
	}
}

// TestPipelineDefault runs vkdemo with no command — the pipeline demo —
// for 4 frames of 64×64 and checks everything it says it wrote.
func TestPipelineDefault(t *testing.T) {
	dir := t.TempDir()
	// Space-separated values: the default command must still be found.
	out := ok(t, dir, "--frames", "4", "--size", "64")
	for _, want := range []string{
		"vkdemo pipeline: 4 frames of a 64x64 Julia zoom", "on " + chosenDevice(t).Name + ",",
		"done: 4 frames in", "frames/s", "  wall ", "  busy        gpu ", "disk ", "  gpu idle ", "  bound       ", ", bound by ", "  efficiency ",
		"images    vkdemo-out/frame-*.png (4 PNGs",
		"trace     vkdemo-out/trace.json", "timeline  vkdemo-out/timeline.svg",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Not a terminal: no bar, plain lines.
	if strings.Contains(out, "\r") || !strings.Contains(out, "saved 4/4 frames") {
		t.Errorf("progress on a pipe:\n%q", out)
	}
	od := filepath.Join(dir, "vkdemo-out")
	if got := checkFrames(t, od, 64, 64, 4, defaultIter); len(got) != 4 {
		t.Errorf("frames on disk: %v", got)
	}
	checkTraceFile(t, filepath.Join(od, "trace.json"), 4)
	checkSVG(t, filepath.Join(od, "timeline.svg"), "GPU: queue 0", "Disk", "overlap efficiency")
}

// TestPipelineJSON checks --json (and --io, a non-square --size, custom
// trace and timeline paths).
func TestPipelineJSON(t *testing.T) {
	dir := t.TempDir()
	out := ok(t, dir, "--io", "threaded", "pipeline", "--json", "-n", "3", "--size", "48x32", "--iter", "100", "--depth", "2",
		"--out", "imgs", "--trace", "t.json", "--timeline", "t.svg")
	var rep struct {
		pipelineReport
		Report json.RawMessage `json:"report"`
	}
	if err := jsonDecoder(out).Decode(&rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Io != "threaded" || rep.Frames != 3 || rep.Width != 48 || rep.Height != 32 || rep.Depth != 2 || rep.MaxIter != 100 ||
		rep.Device != chosenDevice(t).Name || rep.Out != "imgs" || len(rep.Images) != 3 || rep.Trace != "t.json" || rep.Timeline != "t.svg" {
		t.Errorf("report: %+v", rep.pipelineReport)
	}
	var r struct {
		Io         string             `json:"io"`
		Frames     int                `json:"frames"`
		Failed     int                `json:"failed"`
		Bytes      int64              `json:"bytes"`
		WallMS     float64            `json:"wall_ms"`
		BusyMS     map[string]float64 `json:"busy_ms"`
		GPUIdleMS  *float64           `json:"gpu_idle_ms"`
		Efficiency float64            `json:"overlap_efficiency"`
	}
	if err := json.Unmarshal(rep.Report, &r); err != nil {
		t.Fatal(err)
	}
	if r.Io != "threaded" || r.Frames != 3 || r.Failed != 0 || r.Bytes <= 0 || r.WallMS <= 0 || r.BusyMS["gpu"] <= 0 || r.BusyMS["disk"] <= 0 ||
		r.BusyMS["cpu"] <= 0 || r.GPUIdleMS == nil || r.Efficiency < 0.99 {
		t.Errorf("report.report: %s", rep.Report)
	}
	for i, p := range rep.Images {
		if want := filepath.Join("imgs", fmt.Sprintf("frame-%04d.png", i)); p != want {
			t.Errorf("images[%d] = %q, want %q", i, p, want)
		}
	}
	checkFrames(t, filepath.Join(dir, "imgs"), 48, 32, 3, 100)
	checkTraceFile(t, filepath.Join(dir, "t.json"), 3)
	checkSVG(t, filepath.Join(dir, "t.svg"), "io threaded")
	// --no-trace writes neither.
	od := filepath.Join(dir, "plain")
	ok(t, dir, "pipeline", "-n", "1", "-s", "16", "-o", od, "--no-trace")
	if _, err := os.Stat(filepath.Join(od, "trace.json")); !os.IsNotExist(err) {
		t.Errorf("--no-trace wrote a trace: %v", err)
	}
}

// TestPipelineFormats saves raw and .npy frames: each file holds the CPU
// reference's pixels (raw: exactly; npy: behind a header npy.Read parses,
// shape (H, W, 4) of uint8), named as the help says, none left partial.
func TestPipelineFormats(t *testing.T) {
	dir := t.TempDir()
	const w, h, n = 40, 24, 3
	for _, c := range []struct{ format, pattern string }{
		{"raw", "frame-%04d.40x24.rgba"}, {"npy", "frame-%04d.npy"},
	} {
		od := filepath.Join(dir, c.format)
		out := ok(t, dir, "--io", "threaded", "pipeline", "--json", "-n", strconv.Itoa(n), "--size", "40x24", "--iter", "50",
			"--format", c.format, "--out", od, "--no-trace")
		var rep struct {
			pipelineReport
			Report json.RawMessage `json:"report"`
		}
		if err := jsonDecoder(out).Decode(&rep); err != nil {
			t.Fatalf("--json: %v\n%s", err, out)
		}
		if rep.Format != c.format || len(rep.Images) != n {
			t.Fatalf("%s: format %q, images %v", c.format, rep.Format, rep.Images)
		}
		for k := range n {
			p := filepath.Join(od, fmt.Sprintf(c.pattern, k))
			if rep.Images[k] != p {
				t.Errorf("images[%d] = %q, want %q", k, rep.Images[k], p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if c.format == "npy" {
				a, err := npy.Read(b)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if a.Descr != "|u1" || !slices.Equal(a.Shape, []int64{h, w, 4}) {
					t.Fatalf("%s: %s %v", p, a.Descr, a.Shape)
				}
				b = a.Data
			}
			if want := demo.JuliaCPU(demo.JuliaZoom(w, h, k, 50), nil); !bytes.Equal(b, want) {
				t.Errorf("%s: %d bytes differ from the CPU reference's %d", p, len(b), len(want))
			}
		}
		checkNoTemp(t, od)
	}
}

// TestPipelineInterrupt sends SIGINT during a long run: vkdemo stops
// promptly with exit status 130, every frame it reported saved is on disk,
// every PNG there is complete and correct, and no temporary file is left.
func TestPipelineInterrupt(t *testing.T) {
	dir := t.TempDir()
	const frames, side = 1600, 96
	cmd := exec.Command(vkdemoBin, "--io", "evented", "--frames", fmt.Sprint(frames), "--size", fmt.Sprint(side), "--out", "o", "--no-trace")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VKIO_VALIDATION=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	lineCh := make(chan string, 1<<16)
	go func() {
		defer close(lineCh)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lineCh <- sc.Text()
		}
	}()
	// Wait for the first progress line, then interrupt.
	var lines []string
	for l := range lineCh {
		lines = append(lines, l)
		if strings.HasPrefix(l, "saved ") {
			break
		}
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lineCh {
		lines = append(lines, l)
	}
	err = cmd.Wait()
	took := time.Since(sent)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 130 || strings.TrimSpace(stderr.String()) != "vkdemo: interrupted" {
		t.Fatalf("exit %d, stderr %q, want 130 and one line", code, stderr.String())
	}
	if took > 15*time.Second {
		t.Errorf("took %v to stop", took)
	}
	found := checkFrames(t, filepath.Join(dir, "o"), side, side, frames, defaultIter)
	if len(found) == 0 || len(found) == frames {
		t.Fatalf("%d frames on disk", len(found))
	}
	// Every frame reported saved is there.
	re := regexp.MustCompile(`^saved +(\d+)/\d+ frames \(last o/frame-(\d+)\.png\)`)
	reported := 0
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			reported++
			k, _ := strconv.Atoi(m[2])
			if !found[k] {
				t.Errorf("%q reported, but frame %d is not on disk", l, k)
			}
		}
	}
	last := lines[len(lines)-1]
	if reported < 1 || !strings.HasPrefix(last, fmt.Sprintf("stopped: %d of %d frames saved in o", len(found), frames)) {
		t.Errorf("output:\n%s", strings.Join(lines, "\n"))
	}
}

// TestPipelineBadInput: each bad input gives one clear line on stderr and
// the documented exit status, and leaves no partial or temporary file.
func TestPipelineBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "afile"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	small := []string{"--frames", "2", "--size", "16", "--out", "o"}
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"zero frames", []string{"--frames", "0"}, 2, "--frames 0: want 1 to"},
		{"negative frames", []string{"pipeline", "--frames=-3"}, 2, "--frames -3"},
		{"frames not a number", []string{"--frames", "many"}, 2, `invalid argument "many"`},
		{"size garbage", []string{"--size", "big"}, 2, `--size "big": want WxH`},
		{"size zero", []string{"--size", "0x10"}, 2, "each side must be 1 to"},
		{"size huge", []string{"--size", "100000"}, 2, "each side must be 1 to"},
		{"size three parts", []string{"--size", "2x3x4"}, 2, `--size "2x3x4"`},
		{"depth", []string{"--depth", "-1"}, 2, "--depth -1: want 1 to 1024"},
		{"depth huge", []string{"--depth", "5000"}, 2, "--depth 5000: want 1 to 1024"},
		{"budget below a frame", []string{"--size", "512", "--inflight-bytes", "1MiB"}, 2, "--inflight-bytes 1 MiB: a 512x512 frame in flight needs 3 MiB"},
		{"budget garbage", []string{"--inflight-bytes", "lots"}, 2, "--inflight-bytes: bad size"},
		{"saves zero", []string{"--saves", "0"}, 2, "--saves 0: want 1 to"},
		{"gpu submits negative", []string{"--gpu-submits", "-2"}, 2, "--gpu-submits -2: want 1 to"},
		{"encoders negative", []string{"--encoders", "-1"}, 2, "--encoders -1: want 1 to"},
		{"png level", []string{"--png-level", "11"}, 2, `--png-level "11": want fast, speed`},
		{"format", []string{"--format", "jpeg"}, 2, `--format "jpeg": want png, raw or npy`},
		{"iter", []string{"--iter", "0"}, 2, "--iter 0"},
		{"unknown flag", []string{"--frobnicate"}, 2, "pipeline: unknown flag: --frobnicate"},
		{"unknown flag value", []string{"pipeline", "--json=maybe"}, 2, `invalid argument "maybe"`},
		{"bad io", []string{"--io", "fibers", "--frames", "1"}, 2, `--io "fibers": unknown Io implementation`},
		{"stray argument", []string{"pipeline", "extra"}, 2, "unknown command \"extra\""},
		{"empty out", []string{"--out", ""}, 2, "--out: want a folder"},
		{"out under a file", append(small, "--out", "afile/sub"), 1, "--out afile/sub: cannot create the folder"},
		{"out is a file", append(small, "--out", "afile"), 1, "--out afile: cannot create the folder"},
		{"trace folder missing", append(small, "--trace", "no/such/t.json"), 1, "--trace no/such/t.json: folder no/such"},
		{"trace is a folder", append(small, "--trace", "adir"), 1, "--trace adir: is a folder"},
		{"timeline under a file", append(small, "--timeline", "afile/t.svg"), 1, "afile is not a folder"},
		{"trace on a full disk", append(small, "--trace", "/dev/full"), 1, "--trace /dev/full: io: write /dev/full: no space left on device"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := vkdemo(t, dir, nil, c.args...)
			checkFailure(t, r, c.code, c.msg)
		})
	}
	checkNoTemp(t, dir)
}

// TestPipelineFullDisk fills a small tmpfs (where this process may mount
// one): one line naming the frame and the cause, exit 1, the frames saved
// before complete, no temporary file.
func TestPipelineFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", mnt).Run(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v): the full-disk case is covered by --trace /dev/full", err)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	r := vkdemo(t, mnt, nil, "--frames", "60", "--size", "192", "--out", "o", "--trace", "")
	if r.code != 1 || !strings.Contains(r.stderr, "no space left on device") || !strings.HasPrefix(r.stderr, "vkdemo: saving o/frame-") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	found := checkFrames(t, filepath.Join(mnt, "o"), 192, 192, 60, defaultIter)
	if len(found) == 0 || len(found) == 60 {
		t.Errorf("%d frames saved", len(found))
	}
	checkNoTemp(t, mnt)
}

// checkNoTemp fails if any temporary file is left under dir.
func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, ".tmp") || strings.Contains(filepath.Base(p), ".tmp")) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// TestPipelineHelp checks the help of pipeline and bench, and that a help
// request is never taken for the default command.
func TestPipelineHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"pipeline", "--help"}, []string{"--frames", "--size", "--out", "--trace", "--timeline", "--json", "--io", "--device", "Ctrl-C", "vkdemo pipeline --frames 100"}},
		{[]string{"bench", "--help"}, []string{"--ios", "--runs", "--json", "--timeline", "speedup", "vkdemo bench --frames 48"}},
		{[]string{"--frames", "3", "--help"}, []string{"Render --frames frames", "--depth"}},
		{[]string{"--io", "blocking", "--help"}, []string{"vkdemo bench", "Available Commands"}},
	} {
		out := ok(t, "", c.args...)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

// TestPipelineRemovesStaleTemps SIGKILLs a run in the middle and plants the
// temporary file of another killed run: the next run in the same folder
// removes them all and says so, and keeps working.
func TestPipelineRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o")
	cmd := exec.Command(vkdemoBin, "--frames", "400", "--size", "64", "--out", "o", "--no-trace")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "saved ") {
	}
	cmd.Process.Signal(syscall.SIGKILL)
	go stdio.Copy(stdio.Discard, stdout)
	cmd.Wait()
	left, _ := filepath.Glob(filepath.Join(out, ".frame-*.png.*.tmp"))
	t.Logf("the killed run left %d temporary file(s)", len(left))

	// A planted one: the PID of a process that has ended.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(out, fmt.Sprintf(".frame-0099.png.%d-0123456789abcdef.tmp", dead.Process.Pid))
	if err := os.WriteFile(planted, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := vkdemo(t, dir, nil, "pipeline", "-n", "1", "-s", "8", "-o", "o", "--no-trace")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := fmt.Sprintf("removed %d stale temporary file(s) of killed runs in o", len(left)+1)
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr %q; want %q", r.stderr, want)
	}
	checkNoTemp(t, out)
	// Nothing stale: nothing said.
	if r := vkdemo(t, dir, nil, "pipeline", "-n", "1", "-s", "8", "-o", "o", "--no-trace"); strings.Contains(r.stderr, "stale") {
		t.Fatalf("second run: %s", r.stderr)
	}
}

// TestPipelineDepthFromBudget checks how the flags set the frames in flight
// and the stage bounds: the byte budget limits depth, --depth caps it, the
// stages bound it from above, and the default budget never refuses a run.
func TestPipelineDepthFromBudget(t *testing.T) {
	const frame = 3 * 4 * 64 * 64 // bytes one 64x64 frame holds in flight
	for _, c := range []struct {
		name string
		f    demoFlags
		want int
		by   string // the flag that set the depth (demoConfig.depthBy)
	}{
		{"budget limits", demoFlags{inflight: fmt.Sprint(5*frame, "B"), encoders: 16, saves: 4, gpuSubs: 2}, 5, "--inflight-bytes"},
		{"stages limit", demoFlags{inflight: "1GiB", encoders: 3, saves: 2, gpuSubs: 2}, 3 + 2 + 2 + 1, ""},
		{"depth caps", demoFlags{inflight: "1GiB", depth: 4, encoders: 16, saves: 4, gpuSubs: 2}, 4, "--depth"},
		{"depth over budget", demoFlags{inflight: fmt.Sprint(2*frame, "B"), depth: 40, encoders: 16, saves: 4, gpuSubs: 2}, 2, "--inflight-bytes"},
		{"frames cap", demoFlags{frames: 3, inflight: "1GiB", encoders: 16, saves: 4, gpuSubs: 2}, 3, "--frames"},
		{"encoders default", demoFlags{inflight: "1GiB", saves: 1, gpuSubs: 1}, runtime.NumCPU() + 3, ""},
	} {
		f := c.f
		if f.frames == 0 {
			f.frames = 1000
		}
		f.size, f.iter, f.pngLevel = "64", 10, "speed"
		cfg, err := f.config()
		if err != nil || cfg.depth != c.want || cfg.depthBy != c.by {
			t.Errorf("%s: depth %d by %q, %v; want %d by %q", c.name, cfg.depth, cfg.depthBy, err, c.want, c.by)
		}
	}
	// A frame larger than the default budget still runs, one at a time.
	big := demoFlags{frames: 2, size: "8192", iter: 10, pngLevel: "speed", saves: 1, gpuSubs: 1}
	cfg, err := big.config()
	if err != nil || cfg.depth < 1 || int64(cfg.depth)*cfg.frameBytes() > max(cfg.budget, cfg.frameBytes()) {
		t.Errorf("8192x8192 at the default budget %d: depth %d, %v", cfg.budget, cfg.depth, err)
	}
}

// TestBoundHint: where a configuration limit binds, the report's hint names
// the flag that raises it (by the stage whose permits bound the frames, or
// the flag that set the depth); where the machine binds, no hint, except a
// maybe for --saves when one write at a time kept the disk busy.
func TestBoundHint(t *testing.T) {
	const ms = time.Millisecond
	cfg := demoConfig{depth: 8, encoders: 1, saves: 1, gpuSubs: 2, format: "png", budget: 96 << 20}
	use := func(name string, permits int, held, waited time.Duration) tasks.PermitUse {
		return tasks.PermitUse{Name: name, Permits: permits, Held: held, Waited: waited}
	}
	base := func() tasks.BoundInput {
		return tasks.BoundInput{Wall: 100 * ms, Busy: map[string]time.Duration{"gpu": 20 * ms, "disk": 10 * ms}, CPUTime: 60 * ms, Cores: 2,
			SlotTime: 790 * ms, Depth: 8}
	}
	cases := []struct {
		name    string
		in      func(in *tasks.BoundInput)
		depthBy string
		want    string // in the hint; "" for no hint
	}{
		{"depth", func(in *tasks.BoundInput) {}, "--depth", "(--depth 8) bound the run while the machine had room: raise --depth"},
		{"depth by stages", func(in *tasks.BoundInput) {}, "", "raise --depth"},
		{"budget", func(in *tasks.BoundInput) {}, "--inflight-bytes", "all that --inflight-bytes 96 MiB holds) bound the run while the machine had room: raise --inflight-bytes"},
		{"encoders", func(in *tasks.BoundInput) {
			in.Permits = []tasks.PermitUse{use("encoders", 1, 95*ms, 600*ms), use("submits", 2, 60*ms, 0), use("writes", 1, 10*ms, 0)}
		}, "--depth", "encodes at once (--encoders 1) bound the run while the machine had room: raise --encoders"},
		{"submits", func(in *tasks.BoundInput) {
			in.Permits = []tasks.PermitUse{use("submits", 2, 190*ms, 600*ms), use("encoders", 1, 20*ms, 0)}
		}, "--depth", "(--gpu-submits 2) bound the run while the machine had room: raise --gpu-submits"},
		{"saves", func(in *tasks.BoundInput) {
			in.Busy["disk"] = 40 * ms // latency, not a busy disk: 40 ms of spans
			in.Permits = []tasks.PermitUse{use("writes", 1, 96*ms, 600*ms)}
		}, "--depth", "(--saves 1) bound the run while the machine had room: raise --saves"},
		{"two near", func(in *tasks.BoundInput) {
			in.Permits = []tasks.PermitUse{use("encoders", 1, 95*ms, 300*ms), use("submits", 2, 180*ms, 300*ms)}
		}, "--depth", "raise --encoders (and --gpu-submits, near its limit too)"},
		{"cpu binds", func(in *tasks.BoundInput) {
			in.CPUTime = 190 * ms
			in.Permits = []tasks.PermitUse{use("encoders", 1, 95*ms, 600*ms)}
		}, "--depth", ""},
		{"disk busy with one save", func(in *tasks.BoundInput) {
			in.Busy["disk"] = 96 * ms
			in.Permits = []tasks.PermitUse{use("writes", 1, 96*ms, 600*ms)}
		}, "--depth", "the disk was busy all the run with --saves 1 at a time: if it takes more writes at once, raise --saves"},
	}
	for _, c := range cases {
		in := base()
		c.in(&in)
		limits, bound, binding := tasks.ComputeBound(in)
		rep := tasks.Report{Limits: limits, Bound: bound, Binding: binding, Depth: in.Depth}
		cf := cfg
		cf.depthBy = c.depthBy
		got := boundHint(rep, cf)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: binding %s (%s): hint %q, want %q", c.name, binding, rep.LimitsText(), got, c.want)
		}
	}
}

// TestEncodeNiceFlag: --encode-nice takes 0 to 19, or -1 for the device's
// default; anything else is a usage error naming the flag.
func TestEncodeNiceFlag(t *testing.T) {
	for _, c := range []struct {
		nice int
		ok   bool
	}{{-1, true}, {0, true}, {10, true}, {19, true}, {-2, false}, {20, false}} {
		f := demoFlags{frames: 4, size: "64", iter: 10, pngLevel: "speed", saves: 1, gpuSubs: 1, nice: c.nice}
		cfg, err := f.config()
		var ue usageError
		switch {
		case c.ok && (err != nil || cfg.encodeNice != c.nice):
			t.Errorf("--encode-nice %d: %d, %v", c.nice, cfg.encodeNice, err)
		case !c.ok && (err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), "--encode-nice")):
			t.Errorf("--encode-nice %d: %v; want a usage error", c.nice, err)
		}
	}
}
