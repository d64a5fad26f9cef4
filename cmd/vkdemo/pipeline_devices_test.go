package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkio/vkio/gpu"
)

// readFrames returns the frame files in dir by name.
func readFrames(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "frame-") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = b
		}
	}
	return out
}

// sameFrames checks that got holds exactly the files of want, byte for byte.
func sameFrames(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d frame files, want %d", what, len(got), len(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s: %s differs from the one-device run's (or is missing)", what, name)
		}
	}
}

// TestPipelineDevices runs the pipeline on two logical devices of the
// same physical device, and again with one of them lost mid-run (the
// hidden --inject-fault drill): both produce the one-device run's PNGs
// byte for byte, every frame once, with a GPU lane per device.
func TestPipelineDevices(t *testing.T) {
	const n = "12"
	dir := t.TempDir()
	common := []string{"--io", "threaded", "pipeline", "-n", n, "--size", "48x40", "--iter", "150", "--gpu-submits", "4"}
	ok(t, dir, append(common, "--out", "one", "--no-trace")...)
	want := readFrames(t, filepath.Join(dir, "one"))
	if len(want) != 12 {
		t.Fatalf("one device saved %d frames", len(want))
	}
	checkFrames(t, filepath.Join(dir, "one"), 48, 40, 12, 150)

	out := ok(t, dir, append(common, "--out", "two", "--devices", "0,0")...)
	if !strings.Contains(out, "on 2 devices (") {
		t.Errorf("output does not name the two devices:\n%s", out)
	}
	sameFrames(t, "--devices 0,0", readFrames(t, filepath.Join(dir, "two")), want)
	checkTraceFile(t, filepath.Join(dir, "two", "trace.json"), 12)
	checkSVG(t, filepath.Join(dir, "two", "timeline.svg"), "GPU: device 0", "GPU: device 1")

	// Device 1 is lost at its third submission: its frames run again on
	// device 0; nothing is lost, nothing saved twice.
	r := vkdemo(t, dir, nil, append(common, "--out", "lost", "--devices", "0,0", "--inject-fault", "1:device-lost:2", "--json")...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "vkdemo: devset: member taken out") ||
		!strings.Contains(lines[0], "member=1") || !strings.Contains(lines[0], "VK_ERROR_DEVICE_LOST") {
		t.Errorf("stderr should be one take-out line for member 1:\n%s", r.stderr)
	}
	var rep struct {
		Images  []string `json:"images"`
		Devices []string `json:"devices"`
		Report  struct {
			Frames int   `json:"frames"`
			Errors []any `json:"errors"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rep.Images) != 12 || len(rep.Devices) != 2 || rep.Report.Frames != 12 || len(rep.Report.Errors) != 0 {
		t.Errorf("report: %d images, devices %q, %d frames, errors %v", len(rep.Images), rep.Devices, rep.Report.Frames, rep.Report.Errors)
	}
	sameFrames(t, "device 1 lost", readFrames(t, filepath.Join(dir, "lost")), want)
}

// TestPipelineDevicesErrors: bad --devices and --inject-fault values are
// usage errors, and a set whose every device is lost fails clearly,
// leaving no partial file.
func TestPipelineDevicesErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--devices", "0,,1"}, `--devices "0,,1": devset: parse devices: entry 2 is empty`},
		{[]string{"--devices", "all,0"}, `"all" stands alone`},
		{[]string{"--devices", "0,99"}, `--devices "0,99"`},
		{[]string{"--devices", "0,0", "--inject-fault", "1:melt:0"}, `--inject-fault "1:melt:0": kind "melt"`},
		{[]string{"--devices", "0,0", "--inject-fault", "2:device-lost:0"}, "the set has 2 members"},
		{[]string{"--per-queue"}, "--per-queue needs --devices"},
		{[]string{"--inject-fault", "0:device-lost:0"}, "--inject-fault needs --devices"},
	} {
		r := vkdemo(t, dir, nil, append([]string{"pipeline", "-n", "2", "--size", "16", "--no-trace"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%q: exit %d, stderr %q; want a usage error with %q", c.args, r.code, r.stderr, c.msg)
		}
	}
	r := vkdemo(t, dir, nil, "pipeline", "-n", "4", "--size", "16", "--no-trace", "--out", "gone", "--devices", "0", "--inject-fault", "0:device-lost:1")
	if r.code != 1 || !strings.Contains(r.stderr, "all 1 members are lost") {
		t.Errorf("every device lost: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	checkFrames(t, filepath.Join(dir, "gone"), 16, 16, 4, defaultIter)
}

// TestPipelinePerQueue: --per-queue gives one device per compute queue
// (lavapipe has one queue: the frames match the one-device run's).
func TestPipelinePerQueue(t *testing.T) {
	dir := t.TempDir()
	common := []string{"pipeline", "-n", "6", "--size", "32", "--iter", "100", "--no-trace"}
	ok(t, dir, append(common, "--out", "one")...)
	out := ok(t, dir, append(common, "--out", "pq", "--devices", "0", "--per-queue")...)
	if !strings.Contains(out, " devices (") {
		t.Errorf("output does not name the devices:\n%s", out)
	}
	sameFrames(t, "--per-queue", readFrames(t, filepath.Join(dir, "pq")), readFrames(t, filepath.Join(dir, "one")))
}

// TestPipelineDevicesDepth: without --gpu-submits, a set gets the default
// GPU submissions per device, and the frames in flight grow with them.
func TestPipelineDevicesDepth(t *testing.T) {
	dir := t.TempDir()
	depth := func(args ...string) int {
		var rep struct {
			Depth int `json:"depth"`
		}
		out := ok(t, dir, append([]string{"pipeline", "-n", "40", "--size", "16", "--iter", "10", "--no-trace", "--json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		return rep.Depth
	}
	one, two := depth("--out", "one"), depth("--out", "two", "--devices", "0,0")
	if two != one+defaultGPUSubs {
		t.Errorf("depth %d on one device, %d on two; want %d more", one, two, defaultGPUSubs)
	}
	if d := depth("--out", "fixed", "--devices", "0,0", "--gpu-submits", "2"); d != one {
		t.Errorf("depth %d on two devices with --gpu-submits 2, want %d as on one", d, one)
	}
}

func TestParseFaultSpec(t *testing.T) {
	f, err := parseFaultSpec("1:device-lost:3")
	if err != nil || f != (faultSpec{member: 1, kind: gpu.FaultDeviceLost, after: 3}) {
		t.Fatalf("%+v, %v", f, err)
	}
	if f, err := parseFaultSpec(" 0:out-of-memory:0 "); err != nil || f.kind != gpu.FaultOutOfMemory {
		t.Fatalf("%+v, %v", f, err)
	}
	for _, s := range []string{"", "1", "1:device-lost", "x:device-lost:1", "-1:device-lost:1", "64:device-lost:1",
		"1:lost:1", "1:device-lost:-1", "1:device-lost:x", "1:device-lost:1:2", "1:device-lost:99999999999"} {
		if f, err := parseFaultSpec(s); err == nil {
			t.Errorf("parseFaultSpec(%q) = %+v, want an error", s, f)
		}
	}
}

func FuzzParseFaultSpec(f *testing.F) {
	for _, s := range []string{"1:device-lost:3", "0:out-of-memory:0", "", "::", "1:device-lost:-1", "99:device-lost:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := parseFaultSpec(s)
		if err != nil {
			return
		}
		if fs.member < 0 || fs.member >= 64 || fs.after < 0 || fs.after > maxFaultAfter ||
			(fs.kind != gpu.FaultDeviceLost && fs.kind != gpu.FaultOutOfMemory) {
			t.Fatalf("%q parsed to %+v", s, fs)
		}
	})
}
