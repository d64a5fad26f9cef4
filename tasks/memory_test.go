package tasks_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

var errBoom = errors.New("boom")

type discardSink struct{}

func (discardSink) Save(io.Io, int, []byte) error { return nil }

// heapAtLastFrame runs a pipeline of tiny frames on the fake GPU and returns
// HeapInuse after a GC, taken when the last frame has finished while the run
// (and rec) is still live.
func heapAtLastFrame(t *testing.T, x io.Io, frames int, rec *tasks.Recorder) uint64 {
	t.Helper()
	var heap uint64
	p := &tasks.Pipeline{
		Frames: frames, Depth: 3, FrameBytes: 64,
		Dispatcher: newFakeGPU(0, 64),
		Sinks:      []tasks.Sink{discardSink{}},
		Recorder:   rec,
		OnFrame: func(ev tasks.FrameEvent) {
			if ev.Done == frames {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				heap = ms.HeapInuse
			}
		},
	}
	if _, err := p.Run(x); err != nil {
		t.Fatal(err)
	}
	if heap == 0 {
		t.Fatal("the last frame was never reported")
	}
	return heap
}

// TestPipelineMemoryFlat runs N and 4N tiny frames: without a Recorder the
// heap at the end does not grow with the frames (the report's statistics
// stream); with one it grows by the Recorder's compact records, about 288
// bytes a frame (6 spans of 48 bytes), not by Span values.
func TestPipelineMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 50,000 frames")
	}
	b := io.NewThreaded(io.ThreadedOptions{})
	defer b.Close()
	x := b.Io()
	const n = 5000
	heapAtLastFrame(t, x, n, nil) // warm up pools and caches
	small := heapAtLastFrame(t, x, n, nil)
	large := heapAtLastFrame(t, x, 4*n, nil)
	perFrame := (float64(large) - float64(small)) / (3 * n)
	t.Logf("no recorder: HeapInuse %d B at %d frames, %d B at %d (ratio %.3f, %.1f B/frame)", small, n, large, 4*n, float64(large)/float64(small), perFrame)
	if perFrame > 16 {
		t.Errorf("without a Recorder the heap grows by %.1f bytes a frame; want it flat", perFrame)
	}

	// A fresh Recorder each, the first dropped before the second run.
	rec := tasks.NewRecorder()
	small = heapAtLastFrame(t, x, n, rec)
	spansSmall := len(rec.Spans())
	rec = tasks.NewRecorder()
	large = heapAtLastFrame(t, x, 4*n, rec)
	spans := float64(len(rec.Spans())-spansSmall) / (3 * n)
	perFrame = (float64(large) - float64(small)) / (3 * n)
	t.Logf("recorder: HeapInuse %d B at %d frames, %d B at %d (ratio %.3f, %.1f B/frame, %.1f spans/frame)", small, n, large, 4*n, float64(large)/float64(small), perFrame, spans)
	if perFrame > 64*spans {
		t.Errorf("with a Recorder the heap grows by %.1f bytes a frame (%.1f spans); want at most 64 bytes a span", perFrame, spans)
	}
}

// A run whose every frame fails lists at most MaxReportErrors of them.
func TestPipelineErrorsBounded(t *testing.T) {
	const frames = tasks.MaxReportErrors + 500
	g := newFakeGPU(0, 8)
	g.fail = map[int]error{}
	for k := range frames {
		g.fail[k] = errBoom
	}
	p := &tasks.Pipeline{Frames: frames, Dispatcher: g, Policy: tasks.CancelDependents}
	rep, err := p.Run(io.NewBlocking().Io())
	if err == nil || rep.Failed != frames || len(rep.Errors) != tasks.MaxReportErrors {
		t.Fatalf("Failed %d, %d errors listed, err %v; want %d, %d", rep.Failed, len(rep.Errors), err, frames, tasks.MaxReportErrors)
	}
}
