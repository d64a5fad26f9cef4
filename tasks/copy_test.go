package tasks_test

import (
	"encoding/json"
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
// part of it that ran beside compute (CopyOverlap), as measured from the
// spans themselves; without copies neither appears, in the text or the
// JSON.
func TestPipelineCopySpans(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		const frames = 20
		g := newFakeGPU(400*time.Microsecond, 16)
		g.copyCost = 300 * time.Microsecond
		rec := tasks.NewRecorder()
		p := &tasks.Pipeline{Frames: frames, Depth: 3, Dispatcher: g, Sinks: []tasks.Sink{newMemSink(0)}, FrameBytes: 16, Recorder: rec}
		rep, err := p.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		counts := tasktest.CheckTrace(t, rec)
		if counts["GPU"] != 2*frames {
			t.Fatalf("trace counts %v", counts)
		}
		var compute, copies, all []tasks.Span
		for _, s := range rec.Spans() {
			if s.Res != tasks.GPU {
				continue
			}
			all = append(all, s)
			switch {
			case s.Name == "compute" && s.Lane == "queue 0":
				compute = append(compute, s)
			case s.Name == "copy" && s.Lane == "transfer":
				copies = append(copies, s)
			default:
				t.Fatalf("GPU span %q on lane %q", s.Name, s.Lane)
			}
		}
		if len(copies) != frames || len(compute) != frames {
			t.Fatalf("%d compute and %d copy spans", len(compute), len(copies))
		}
		busy, over := unionLen(copies), unionLen(compute)+unionLen(copies)-unionLen(all)
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
	})
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
