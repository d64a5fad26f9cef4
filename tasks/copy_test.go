package tasks_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/internal/tasktest"
)

// unionLen is the length of the union of spans' intervals.
func unionLen(spans []tasks.Span) time.Duration {
	slices.SortFunc(spans, func(a, b tasks.Span) int { return a.Start.Compare(b.Start) })
	var total time.Duration
	var s, e time.Time
	for i, sp := range spans {
		if i > 0 && !sp.Start.After(e) {
			if sp.End.After(e) {
				e = sp.End
			}
			continue
		}
		total += e.Sub(s)
		s, e = sp.Start, sp.End
	}
	return total + e.Sub(s)
}

// A frame's read-back copy (GPUTime.Copy) is drawn as a "copy" span on its
// own lane, and the report counts the copies' GPU time (CopyBusy) and the
// part of it that ran beside compute on the same device (CopyOverlap), as
// measured from the spans themselves: a copy of one device that runs
// while another device computes does not count. Without copies neither
// appears, in the text or the JSON.
func TestPipelineCopySpans(t *testing.T) {
	for _, devices := range []int{1, 2} {
		t.Run(fmt.Sprintf("devices=%d", devices), func(t *testing.T) {
			ios(t, func(t *testing.T, x io.Io) { copySpans(t, x, devices) })
		})
	}
	// Without copies: nothing of them in the report.
	x := io.NewBlocking().Io()
	rep, err := (&tasks.Pipeline{Frames: 3, Dispatcher: newFakeGPU(100*time.Microsecond, 8), FrameBytes: 8}).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	if rep.CopyBusy != 0 || strings.Contains(rep.String(), "copies") || strings.Contains(string(b), "copy_") {
		t.Fatalf("copies reported without any:\n%v\n%s", rep, b)
	}
}

func copySpans(t *testing.T, x io.Io, devices int) {
	const frames = 20
	g := newFakeGPU(400*time.Microsecond, 16)
	g.copyCost = 300 * time.Microsecond
	g.devices = devices
	rec := tasks.NewRecorder()
	p := &tasks.Pipeline{Frames: frames, Depth: 4, Dispatcher: g, Sinks: []tasks.Sink{newMemSink(0)}, FrameBytes: 16, Recorder: rec}
	rep, err := p.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	counts := tasktest.CheckTrace(t, rec)
	if counts["GPU"] != 2*frames {
		t.Fatalf("trace counts %v", counts)
	}
	// The spans by device: frame k ran on device k % devices.
	type dev struct{ compute, copies []tasks.Span }
	byDev := make([]dev, devices)
	var copies, all []tasks.Span
	for _, s := range rec.Spans() {
		if s.Res != tasks.GPU {
			continue
		}
		all = append(all, s)
		lane, xlane := "queue 0", "transfer"
		if devices > 1 {
			lane = fmt.Sprintf("device %d", s.Frame%devices)
			xlane = lane + " transfer"
		}
		d := &byDev[s.Frame%devices]
		switch {
		case s.Name == "compute" && s.Lane == lane:
			d.compute = append(d.compute, s)
		case s.Name == "copy" && s.Lane == xlane:
			d.copies = append(d.copies, s)
			copies = append(copies, s)
		default:
			t.Fatalf("frame %d: GPU span %q on lane %q", s.Frame, s.Name, s.Lane)
		}
	}
	if len(copies) != frames {
		t.Fatalf("%d copy spans", len(copies))
	}
	var over time.Duration
	for _, d := range byDev {
		over += unionLen(d.compute) + unionLen(d.copies) - unionLen(append(slices.Clone(d.compute), d.copies...))
	}
	busy := unionLen(copies)
	if rep.CopyBusy != busy || rep.CopyOverlap != over || rep.Busy["gpu"] != unionLen(all) {
		t.Fatalf("report copy busy %v overlap %v gpu %v; spans say %v, %v, %v", rep.CopyBusy, rep.CopyOverlap, rep.Busy["gpu"], busy, over, unionLen(all))
	}
	if x.Kind() == io.KindBlocking && over != 0 {
		t.Fatalf("copies overlap compute by %v under Blocking (one frame at a time)", over)
	}
	if !strings.Contains(rep.String(), "read-back copies") {
		t.Fatalf("report text without the copies:\n%v", rep)
	}
	var j map[string]any
	if b, err := json.Marshal(rep); err != nil || json.Unmarshal(b, &j) != nil {
		t.Fatal(err)
	}
	if j["copy_busy_ms"] != float64(busy)/1e6 || (over > 0) != (j["copy_overlap_ms"] != nil) {
		t.Fatalf("JSON copy_busy_ms %v copy_overlap_ms %v", j["copy_busy_ms"], j["copy_overlap_ms"])
	}
	t.Logf("%v", rep)
}
