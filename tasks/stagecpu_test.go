//go:build linux || darwin || freebsd

package tasks_test

import (
	"bytes"
	"encoding/json"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// processCPU is the process's CPU time (user + system) from getrusage.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestPipelineStageCPU: with StageCPU an encode stage that burns the CPU
// shows it. Its CPU time is compared with the process's during the encodes
// (the process clock read around each), not with wall time, so a loaded
// machine cannot fail it: the encodes (one at a time) are nearly all the
// process's work while they run, and the thread clock counts only what
// their threads ran. The spans in the trace carry "cpu_ms".
func TestPipelineStageCPU(t *testing.T) {
	b, err := io.New("threaded")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const frames = 20
	rec := tasks.NewRecorder()
	var burned atomic.Int64 // process CPU during the encodes
	spin := spinEncoder(5 * msec)
	enc := tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
		c0 := processCPU(t)
		defer func() { burned.Add(int64(processCPU(t) - c0)) }()
		return spin.Encode(x, frame, raw, dst)
	})
	p := &tasks.Pipeline{Frames: frames, Depth: 2, Dispatcher: newFakeGPU(2*msec, 64), Encoder: enc,
		Sinks: []tasks.Sink{newMemSink(msec)}, FrameBytes: 64, Limits: tasks.Limits{Encoders: 1}, StageCPU: true, Recorder: rec}
	rep, err := p.Run(b.Io())
	proc := time.Duration(burned.Load())
	if err != nil {
		t.Fatal(err)
	}
	st, wait := rep.Stages["encode"], rep.Stages["wait"]
	t.Logf("process CPU during the encodes %v; stages: %s", proc, rep.StagesText())
	// The waits and saves are not measured: their work runs elsewhere.
	if !st.Measured || st.Spans != frames || wait.Measured || wait.Spans != frames || rep.Stages["save"].Measured || !rep.Stages["read"].Measured {
		t.Fatalf("stages %+v", rep.Stages)
	}
	if st.CPU < proc*8/10 || st.CPU > proc+5*msec {
		t.Fatalf("encode CPU %v, process CPU during the encodes %v: want 0.8 to 1 of it", st.CPU, proc)
	}
	if st.CPU > st.Time+5*msec {
		t.Fatalf("encode CPU %v over %v (%.2f)", st.CPU, st.Time, st.CPUShare())
	}
	// The spans carry it, and the trace writes it.
	var spanCPU time.Duration
	for _, s := range rec.Spans() {
		if s.Name == "encode" {
			spanCPU += s.CPU
		}
	}
	if spanCPU != st.CPU {
		t.Fatalf("encode spans' CPU %v, report %v", spanCPU, st.CPU)
	}
	var buf bytes.Buffer
	if err := rec.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name string `json:"name"`
			Args struct {
				Frame *int     `json:"frame"`
				CPUMS *float64 `json:"cpu_ms"`
			} `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	var traced float64
	n := 0
	for _, e := range tr.TraceEvents {
		if e.Name == "encode" && e.Args.CPUMS != nil && e.Args.Frame != nil {
			traced += *e.Args.CPUMS
			n++
		}
	}
	if n != frames || traced < 0.99*float64(st.CPU)/1e6-0.01*frames {
		t.Fatalf("trace: %d encode spans with cpu_ms summing to %.3f ms, report %v", n, traced, st.CPU)
	}
	// The JSON report has it per stage.
	js, _ := json.Marshal(rep)
	var out struct {
		Stages map[string]struct {
			Spans      int      `json:"spans"`
			CPUMS      *float64 `json:"cpu_ms"`
			CPUPerWall *float64 `json:"cpu_per_wall"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(js, &out); err != nil || out.Stages["encode"].Spans != frames || out.Stages["encode"].CPUMS == nil || out.Stages["encode"].CPUPerWall == nil {
		t.Fatalf("json %s: %v", js, err)
	}
}

// Without StageCPU the stages are timed but their CPU is not measured,
// and the spans carry none.
func TestPipelineStageCPUOff(t *testing.T) {
	b, err := io.New("threaded")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec := tasks.NewRecorder()
	p := &tasks.Pipeline{Frames: 4, Dispatcher: newFakeGPU(msec, 64), Encoder: spinEncoder(msec), FrameBytes: 64, Recorder: rec}
	rep, err := p.Run(b.Io())
	if err != nil {
		t.Fatal(err)
	}
	if st := rep.Stages["encode"]; st.Spans != 4 || st.Time <= 0 || st.Measured || st.CPU != 0 {
		t.Fatalf("encode %+v", st)
	}
	for _, s := range rec.Spans() {
		if s.CPU != 0 {
			t.Fatalf("span %+v has CPU", s)
		}
	}
}
