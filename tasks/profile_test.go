package tasks_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/internal/pprofread"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// spin burns a fixed amount of CPU, about d's worth on an idle core (not
// wall time: a busy machine runs it longer, and a CPU profile still sees
// the same work).
func spin(d time.Duration) uint64 {
	var h uint64 = 1469598103934665603
	for i := range int64(d/time.Millisecond) * 800_000 {
		h = (h ^ uint64(i)) * 1099511628211
	}
	return h
}

var sink atomic.Uint64 // keeps the spinning from being optimized away

type spinSink struct{ d time.Duration }

func (s spinSink) Save(io.Io, int, []byte) error { sink.Add(spin(s.d)); return nil }

// spinPipeline is a pipeline whose encode and save stages burn CPU.
func spinPipeline(frames int, rec *tasks.Recorder, cost time.Duration) *tasks.Pipeline {
	return &tasks.Pipeline{
		Frames: frames, Depth: 3, FrameBytes: 64,
		Dispatcher: newFakeGPU(time.Millisecond, 64),
		Encoder: tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
			sink.Add(spin(cost))
			return append(dst, raw...), nil
		}),
		Sinks:    []tasks.Sink{spinSink{cost / 2}},
		Recorder: rec,
	}
}

type chromeTrace struct {
	TraceEvents []struct {
		Name string          `json:"name"`
		Ph   string          `json:"ph"`
		Ts   float64         `json:"ts"`
		Pid  int             `json:"pid"`
		Args json.RawMessage `json:"args"`
	} `json:"traceEvents"`
}

// TestTraceCounters: a recorded pipeline run writes counter ("C") events
// for process CPU, frames in flight and the GPU queue under a process
// "Counters", with values in range, and the timeline draws them.
func TestTraceCounters(t *testing.T) {
	b := io.NewThreaded(io.ThreadedOptions{})
	defer b.Close()
	rec := tasks.NewRecorder()
	const depth = 3
	if _, err := spinPipeline(12, rec, 8*time.Millisecond).Run(b.Io()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rec.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	var tr chromeTrace
	if err := json.Unmarshal(buf.Bytes(), &tr); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	maxOf := map[string]float64{}
	count := map[string]int{}
	counterPid := -1
	for _, e := range tr.TraceEvents {
		switch e.Ph {
		case "M":
			if e.Name == "process_name" && strings.Contains(string(e.Args), `"Counters"`) {
				counterPid = e.Pid
			}
		case "C":
			var a struct{ Value *float64 }
			if err := json.Unmarshal(e.Args, &a); err != nil || a.Value == nil {
				t.Fatalf("counter %q has args %s; want {\"value\": n}", e.Name, e.Args)
			}
			if v := *a.Value; v < 0 || math.IsNaN(v) {
				t.Errorf("counter %q = %v", e.Name, v)
			}
			if e.Pid != counterPid {
				t.Errorf("counter %q on pid %d, not the Counters process (%d)", e.Name, e.Pid, counterPid)
			}
			count[e.Name]++
			maxOf[e.Name] = max(maxOf[e.Name], *a.Value)
		}
	}
	t.Logf("counters: %v, maxima %v", count, maxOf)
	for _, name := range []string{tasks.CoresBusy, "frames in flight", "gpu queue", "encoders busy"} {
		if count[name] < 2 {
			t.Errorf("counter %q has %d samples; want a track", name, count[name])
		}
	}
	if m := maxOf["frames in flight"]; m < 1 || m > depth {
		t.Errorf("frames in flight peaked at %v; want 1..%d", m, depth)
	}
	if maxOf[tasks.CoresBusy] <= 0 {
		t.Errorf("cores busy never above 0 while stages spun")
	}
	// Samples agree with the trace.
	if n := len(rec.Samples()); n != count[tasks.CoresBusy]+count["frames in flight"]+count["gpu queue"]+count["encoders busy"] {
		t.Errorf("Samples() has %d, the trace %v", n, count)
	}
	buf.Reset()
	if err := rec.WriteTimelineSVG(&buf); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{tasks.CoresBusy, "frames in flight", "gpu queue"} {
		if !strings.Contains(buf.String(), ">"+name+"<") {
			t.Errorf("timeline lacks the counter %q", name)
		}
	}
	if !strings.Contains(buf.String(), `fill-opacity="0.35"`) {
		t.Error("timeline draws no counter area")
	}
}

// TestGraphCounters: a recorded graph run samples "tasks running".
func TestGraphCounters(t *testing.T) {
	b := io.NewThreaded(io.ThreadedOptions{})
	defer b.Close()
	rec := tasks.NewRecorder()
	g := tasks.NewGraph()
	for i := range 4 {
		g.Add(fmt.Sprintf("t%d", i), func(io.Io) error { sink.Add(spin(25 * time.Millisecond)); return nil })
	}
	if _, err := g.Run(b.Io(), tasks.RunOptions{Recorder: rec}); err != nil {
		t.Fatal(err)
	}
	peak := -1.0
	for _, s := range rec.Samples() {
		if s.Name == "tasks running" {
			peak = max(peak, s.Value)
		}
	}
	if peak < 1 || peak > 4 {
		t.Errorf("tasks running peaked at %v; want 1..4", peak)
	}
}

// TestSamplingStop: StartSampling's stop ends its goroutine (goleak checks
// at the end), may be called twice, and a nil Recorder samples nothing.
func TestSamplingStop(t *testing.T) {
	rec := tasks.NewRecorder()
	v := 0.0
	stop := rec.StartSampling(time.Millisecond, tasks.Gauge{Name: "g", Value: func() float64 { v++; return v }})
	time.Sleep(20 * time.Millisecond)
	stop()
	stop()
	all := len(rec.Samples())
	n := 0
	for _, s := range rec.Samples() {
		if s.Name == "g" {
			n++
			if s.Value != float64(n) {
				t.Errorf("sample %d of g is %v", n, s.Value)
			}
		}
	}
	time.Sleep(5 * time.Millisecond)
	if len(rec.Samples()) != all || n < 2 {
		t.Errorf("%d samples of g, %d in all, then %d after stop; want >= 2 and no more", n, all, len(rec.Samples()))
	}
	// Values 1, 2, 3, ... at a fixed rate average about their middle.
	mean, peak, m := rec.CounterStats("g")
	if m != n || peak != float64(n) || mean < 1 || mean >= peak {
		t.Errorf("CounterStats = %v, %v, %d; want a mean in [1, %d), peak %d, %d samples", mean, peak, m, n, n, n)
	}
	rec2 := tasks.NewRecorder()
	t0 := time.Now()
	for i, v := range []float64{4, 0, 2} { // 4 for 1 s, 0 for 3 s: mean 1
		rec2.AddSample(tasks.Sample{Name: "c", Time: t0.Add([]time.Duration{0, time.Second, 4 * time.Second}[i]), Value: v})
	}
	if mean, peak, m := rec2.CounterStats("c"); math.Abs(mean-1) > 1e-9 || peak != 4 || m != 3 {
		t.Errorf("CounterStats of 4 (1 s), 0 (3 s), 2 = %v, %v, %d; want 1, 4, 3", mean, peak, m)
	}
	// A panicking or NaN gauge gives no samples and stops nothing.
	rec3 := tasks.NewRecorder()
	stop3 := rec3.StartSampling(time.Millisecond,
		tasks.Gauge{Name: "bad", Value: func() float64 { panic("gauge") }},
		tasks.Gauge{Name: "nan", Value: func() float64 { return math.NaN() }},
		tasks.Gauge{Name: "ok", Value: func() float64 { return 1 }})
	time.Sleep(5 * time.Millisecond)
	stop3()
	var buf bytes.Buffer
	if err := rec3.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	if _, _, n := rec3.CounterStats("bad"); n != 0 || strings.Contains(buf.String(), `"bad"`) || strings.Contains(buf.String(), `"nan"`) {
		t.Errorf("bad gauges recorded: %d samples; trace %s", n, buf.String())
	}
	if mean, _, n := rec3.CounterStats("ok"); n < 2 || mean != 1 {
		t.Errorf("ok gauge: mean %v of %d samples", mean, n)
	}
	// Two samplers at once: one cores busy track, not two interleaved.
	rec4 := tasks.NewRecorder()
	s1 := rec4.StartSampling(time.Millisecond)
	s2 := rec4.StartSampling(time.Millisecond, tasks.Gauge{Name: "two", Value: func() float64 { return 2 }})
	time.Sleep(20 * time.Millisecond)
	s1()
	s2()
	var last time.Time
	for _, s := range rec4.Samples() {
		if s.Name == tasks.CoresBusy {
			if s.Time.Before(last) {
				t.Fatalf("cores busy samples out of order (two samplers): %v then %v", last, s.Time)
			}
			last = s.Time
		}
	}
	if _, _, n := rec4.CounterStats(tasks.CoresBusy); n == 0 && runtime.GOOS == "linux" {
		t.Error("no cores busy samples")
	}
	var nilRec *tasks.Recorder
	nilRec.StartSampling(time.Millisecond)()
	if nilRec.Samples() != nil {
		t.Error("a nil Recorder has samples")
	}
	rec.Reset()
	if len(rec.Samples()) != 0 {
		t.Error("Reset kept samples")
	}
}

// TestProfileLabels takes a CPU profile while a pipeline and a graph with
// CPU-heavy stages run, and finds their samples labelled by stage, frame and
// task.
func TestProfileLabels(t *testing.T) {
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		t.Skipf("a CPU profile is already running: %v", err)
	}
	b := io.NewThreaded(io.ThreadedOptions{})
	_, err := spinPipeline(8, nil, 30*time.Millisecond).Run(b.Io())
	g := tasks.NewGraph()
	g.Add("crunch", func(io.Io) error { sink.Add(spin(150 * time.Millisecond)); return nil })
	_, gerr := g.Run(b.Io(), tasks.RunOptions{})
	pprof.StopCPUProfile()
	b.Close()
	if err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	pr, err := pprofread.Read(prof.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	labels := pr.Labels
	t.Logf("samples by label: %v", labels)
	for _, want := range []string{"stage=encode", "stage=save", "task=crunch"} {
		if labels[want] == 0 {
			t.Errorf("no profile sample labelled %s", want)
		}
	}
	frames := 0
	for k := range labels {
		if strings.HasPrefix(k, "frame=") {
			frames++
		}
	}
	if frames < 2 {
		t.Errorf("samples labelled with %d distinct frames; want several", frames)
	}
}
