package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/gputask"
)

// copyLanes reads the trace at p and returns, per GPU lane (thread name),
// how many "copy" and "compute" spans it holds, and the trace's metadata.
func copyLanes(t *testing.T, p string) (copies, computes map[string]int, meta map[string]any) {
	t.Helper()
	copies, computes = map[string]int{}, map[string]int{}
	meta = readTraceSpans(t, p, func(proc, lane, name string) {
		if proc != "GPU" {
			return
		}
		switch name {
		case "copy":
			copies[lane]++
		case "compute":
			computes[lane]++
		}
	})
	return copies, computes, meta
}

// laneCounts counts the spans of the trace at p on each lane of process
// proc ("GPU", "CPU").
func laneCounts(t *testing.T, p, proc string) map[string]int {
	t.Helper()
	n := map[string]int{}
	readTraceSpans(t, p, func(pr, lane, _ string) {
		if pr == proc {
			n[lane]++
		}
	})
	return n
}

// readTraceSpans calls fn with the process, lane (thread) and name of each
// span of the trace at p, and returns the trace's metadata.
func readTraceSpans(t *testing.T, p string, fn func(proc, lane, name string)) map[string]any {
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
			Tid  int            `json:"tid"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
		OtherData map[string]any `json:"otherData"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	type key struct{ pid, tid int }
	procs, threads := map[int]string{}, map[key]string{}
	for _, e := range tr.TraceEvents {
		if e.Ph != "M" {
			continue
		}
		name, _ := e.Args["name"].(string)
		switch e.Name {
		case "process_name":
			procs[e.Pid] = name
		case "thread_name":
			threads[key{e.Pid, e.Tid}] = name
		}
	}
	for _, e := range tr.TraceEvents {
		if e.Ph == "X" {
			fn(procs[e.Pid], threads[key{e.Pid, e.Tid}], e.Name)
		}
	}
	return tr.OtherData
}

// TestPipelineStaged: --transfer-queue and --force-staging read every
// frame back by a staging copy on the GPU, on one device and on a device
// set: the PNGs are the default run's byte for byte, the trace has one
// "copy" span per frame on the lane of the queue it ran on (the compute
// lane with --force-staging, and with --transfer-queue on lavapipe, which
// has no transfer family; "transfer" / "device N transfer" with
// --transfer-queue on a GPU with one), and the report has a copies line.
// The default run's trace has no copy spans and no read-back metadata.
func TestPipelineStaged(t *testing.T) {
	const n = 10
	dir := t.TempDir()
	common := []string{"--io", "threaded", "pipeline", "-n", "10", "--size", "48x40", "--iter", "150"}
	out := ok(t, dir, append(common, "--out", "plain")...)
	if strings.Contains(out, "copies") {
		t.Errorf("the default run reports copies:\n%s", out)
	}
	want := readFrames(t, filepath.Join(dir, "plain"))
	if len(want) != n {
		t.Fatalf("the default run saved %d frames", len(want))
	}
	copies, computes, meta := copyLanes(t, filepath.Join(dir, "plain", "trace.json"))
	if len(copies) != 0 || computes["queue 0"] != n || meta["read_back"] != nil {
		t.Fatalf("default trace: copies %v, computes %v, read_back %v", copies, computes, meta["read_back"])
	}

	for _, c := range []struct {
		name      string
		args      []string
		lanes     []string // the compute lanes
		transfers []string // the lanes of copies on a transfer queue (a GPU's)
	}{
		{"transfer", []string{"--transfer-queue"}, []string{"queue 0"}, []string{"transfer"}},
		{"transfer-set", []string{"--transfer-queue", "--devices", "0,0", "--gpu-submits", "4"},
			[]string{"device 0", "device 1"}, []string{"device 0 transfer", "device 1 transfer"}},
		// No transfer queue opened: the copies are on the compute queue
		// everywhere.
		{"staging-set", []string{"--force-staging", "--devices", "0,0", "--gpu-submits", "4"},
			[]string{"device 0", "device 1"}, nil},
	} {
		out := ok(t, dir, append(append(common, "--out", c.name), c.args...)...)
		if !strings.Contains(out, "  copies      read-back copies ") {
			t.Errorf("%s: no copies line in the report:\n%s", c.name, out)
		}
		sameFrames(t, c.name, readFrames(t, filepath.Join(dir, c.name)), want)
		checkFrames(t, filepath.Join(dir, c.name), 48, 40, n, 150)
		checkTraceFile(t, filepath.Join(dir, c.name, "trace.json"), n)
		copies, computes, meta := copyLanes(t, filepath.Join(dir, c.name, "trace.json"))
		rb, _ := meta["read_back"].(string)
		onTransfer := strings.HasPrefix(rb, "staging copies on the transfer queue")
		if !onTransfer && !strings.Contains(rb, "staging copies on the compute queue") {
			t.Errorf("%s: read_back metadata %q", c.name, meta["read_back"])
		}
		lanes := c.lanes
		if onTransfer {
			lanes = c.transfers
		}
		total := 0
		for lane, k := range copies {
			if !slices.Contains(lanes, lane) {
				t.Errorf("%s: copies on lane %q, want one of %q (read_back %q)", c.name, lane, lanes, rb)
			}
			if !onTransfer && computes[lane] != k {
				t.Errorf("%s: lane %q has %d copies and %d computes (one queue: each frame's copy beside its compute)", c.name, lane, k, computes[lane])
			}
			total += k
		}
		if total != n {
			t.Errorf("%s: %d copy spans for %d frames: %v", c.name, total, n, copies)
		}
	}
}

// onMember puts a frame's compute on "device N" and its copy on the same
// lane where it ran on the compute queue, on "device N transfer" where it
// ran on the transfer queue.
func TestOnMember(t *testing.T) {
	for _, c := range []struct {
		queue, copyQueue string
		want, wantCopy   string
	}{
		{gputask.ComputeLane, "", "device 3", ""},
		{gputask.ComputeLane, gputask.ComputeLane, "device 3", "device 3"},
		{gputask.ComputeLane, gputask.TransferLane, "device 3", "device 3 transfer"},
	} {
		got := onMember(tasks.GPUTime{Queue: c.queue, Copy: tasks.GPUCopy{Queue: c.copyQueue}}, 3)
		if got.Queue != c.want || got.Copy.Queue != c.wantCopy {
			t.Errorf("%q/%q: got %q/%q, want %q/%q", c.queue, c.copyQueue, got.Queue, got.Copy.Queue, c.want, c.wantCopy)
		}
	}
}
