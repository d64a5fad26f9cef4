package tasks_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/internal/tasktest"
)

// benchIos lists the Io implementations io.New knows.
func benchIos(b *testing.B, fn func(b *testing.B, x io.Io)) {
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		b.Run(kind, func(b *testing.B) {
			be, err := io.New(kind)
			if err != nil {
				b.Skipf("io.New(%q): %v", kind, err)
			}
			defer be.Close()
			fn(b, be.Io())
		})
	}
}

func reportPipeline(b *testing.B, reps []tasks.Report, frames int) {
	var eff, wall, gpuB, disk float64
	for _, r := range reps {
		eff += r.Efficiency
		wall += float64(r.Wall)
		gpuB += float64(r.Busy["gpu"])
		disk += float64(r.Busy["disk"])
	}
	n := float64(len(reps))
	b.ReportMetric(eff/n, "overlap-eff")
	b.ReportMetric(wall/n/1e6, "wall-ms")
	b.ReportMetric(gpuB/n/1e6/float64(frames), "gpu-ms/frame")
	b.ReportMetric(disk/n/1e6/float64(frames), "save-ms/frame")
}

// BenchmarkPipelineFake: 1 ms of "GPU" and 1 ms of "save" per frame (timers,
// no CPU): the scheduler's own overlap, with nothing else competing.
func BenchmarkPipelineFake(b *testing.B) {
	const frames = 40
	benchIos(b, func(b *testing.B, x io.Io) {
		var reps []tasks.Report
		for b.Loop() {
			p := &tasks.Pipeline{Frames: frames, Depth: 3, Dispatcher: newFakeGPU(time.Millisecond, 1024),
				Sinks: []tasks.Sink{newMemSink(time.Millisecond)}}
			rep, err := p.Run(x)
			if err != nil {
				b.Fatal(err)
			}
			reps = append(reps, rep)
		}
		reportPipeline(b, reps, frames)
	})
}

// BenchmarkRecorder: the cost of a span with recording off (nil Recorder)
// and on.
func BenchmarkRecorder(b *testing.B) {
	b.Run("off", func(b *testing.B) {
		var r *tasks.Recorder
		for b.Loop() {
			r.Begin(tasks.CPU, "lane", "encode", 1).End()
		}
	})
	b.Run("on", func(b *testing.B) {
		r := tasks.NewRecorder()
		for i := 0; b.Loop(); i++ {
			if i%100000 == 0 {
				r.Reset()
			}
			r.Begin(tasks.CPU, "lane", "encode", 1).End()
		}
	})
}

// BenchmarkTraceWrite: writing the trace of 1000 frames.
func BenchmarkTraceWrite(b *testing.B) {
	r := tasks.NewRecorder()
	t0 := time.Now()
	for k := range 1000 {
		s := t0.Add(time.Duration(k) * time.Millisecond)
		for i, res := range []tasks.Resource{tasks.CPU, tasks.GPU, tasks.CPU, tasks.Disk} {
			r.Add(tasks.Span{Res: res, Lane: "l", Name: "x", Start: s.Add(time.Duration(i) * 300 * time.Microsecond), End: s.Add(time.Duration(i+2) * 300 * time.Microsecond), Frame: k, Flow: uint64(k + 1)})
		}
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := r.WriteTrace(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// BenchmarkRecordingCost runs the same pipeline (40 frames: 0.5 ms of timer
// "GPU", 1 ms of CPU-spin encode on 2 encoders, a 0.2 ms save, depth 4)
// with recording off and on, one after the other in every iteration (in a
// rotating order, so that a machine's load drifts on all of them alike),
// and reports for each mode the median over the iterations of its wall
// and process CPU over the "off" run's of the same iteration: rec/off-wall
// is the cost of a Recorder, cpu/off-wall that of StageCPU. Medians of
// paired ratios keep a loaded machine's outliers out.
//
//	go test -run '^$' -bench RecordingCost -benchtime 20x -count 3 ./tasks/
func BenchmarkRecordingCost(b *testing.B) {
	const frames = 40
	be, err := io.New("threaded")
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	tasktest.BenchRecordingCost(b, func(m tasktest.RecordingMode) tasks.Report {
		p := &tasks.Pipeline{Frames: frames, Depth: 4, Dispatcher: newFakeGPU(500*time.Microsecond, 1024),
			Encoder: spinEncoder(time.Millisecond), Sinks: []tasks.Sink{newMemSink(200 * time.Microsecond)},
			FrameBytes: 1024, Limits: tasks.Limits{Encoders: 2}, StageCPU: m.CPU}
		if m.Rec {
			p.Recorder = tasks.NewRecorder()
		}
		rep, err := p.Run(be.Io())
		if err != nil {
			b.Fatal(err)
		}
		return rep
	})
}
