package tasks_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// failingWork runs n units, unit bad failing with cause, as a Graph of
// independent tasks or as a Pipeline of frames, under pol.
func failingWork(t *testing.T, x io.Io, graph bool, n, bad int, cause error, pol tasks.Policy) (tasks.Report, error) {
	t.Helper()
	if graph {
		g := tasks.NewGraph()
		for k := range n {
			g.Add(fmt.Sprintf("unit %d", k), func(x io.Io) error {
				if k == bad {
					return cause
				}
				return x.Sleep(0)
			})
		}
		return g.Run(x, tasks.RunOptions{Policy: pol, MaxParallel: 1})
	}
	p := &tasks.Pipeline{Frames: n, Depth: 1, Dispatcher: newFakeGPU(0, 4), Policy: pol,
		Sinks: []tasks.Sink{tasks.SinkFunc(func(x io.Io, frame int, data []byte) error {
			if frame == bad {
				return cause
			}
			return nil
		})}}
	return p.Run(x)
}

// Graph and Pipeline apply one failure policy: the same failure gives the
// same outcome, counted in the unit each runs (tasks, frames).
func TestPolicySharedByGraphAndPipeline(t *testing.T) {
	x := io.NewBlocking().Io()
	cause := errors.New("unit failed")
	const n, bad = 8, 3
	for _, graph := range []bool{true, false} {
		for _, pol := range []tasks.Policy{tasks.CancelAll, tasks.CancelDependents} {
			name := fmt.Sprintf("graph=%v policy=%d", graph, pol)
			rep, err := failingWork(t, x, graph, n, bad, cause, pol)
			if !errors.Is(err, cause) {
				t.Fatalf("%s: err %v", name, err)
			}
			done := rep.Frames
			if graph {
				done = rep.Tasks
			}
			wantDone := n - 1 // CancelDependents: only the failed unit is lost
			if pol == tasks.CancelAll {
				wantDone = bad // Blocking runs in order; nothing starts after the failure
			}
			if done != wantDone || rep.Failed != 1 || rep.Canceled != n-1-wantDone || len(rep.Errors) != 1 {
				t.Fatalf("%s: report %+v", name, rep)
			}
			if fe := rep.Errors[0]; fe.Err != err.Error() || (graph && fe.Task != "unit 3") || (!graph && fe.Frame != bad) {
				t.Fatalf("%s: listed %+v for %v", name, fe, err)
			}
		}
	}
}

// A Graph lists at most MaxReportErrors failures, as a Pipeline does.
func TestGraphErrorsBounded(t *testing.T) {
	x := io.NewBlocking().Io()
	const n = tasks.MaxReportErrors + 20
	g := tasks.NewGraph()
	for k := range n {
		g.Add(fmt.Sprint(k), func(io.Io) error { return fmt.Errorf("task %d failed", k) })
	}
	rep, err := g.Run(x, tasks.RunOptions{Policy: tasks.CancelDependents})
	if err == nil || rep.Failed != n || len(rep.Errors) != tasks.MaxReportErrors || rep.Errors[0].Task != "0" {
		t.Fatalf("err %v, Failed %d, %d listed", err, rep.Failed, len(rep.Errors))
	}
}

// A panicking progress hook (Graph's OnTask, Pipeline's OnFrame) is
// recovered and stops the run, whatever the policy.
func TestHookPanicStopsRun(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		g := tasks.NewGraph()
		var prev *tasks.Task
		for k := range 6 {
			var opts []tasks.Option
			if prev != nil {
				opts = append(opts, tasks.After(prev))
			}
			prev = g.Add(fmt.Sprint(k), func(io.Io) error { return nil }, opts...)
		}
		rep, err := g.Run(x, tasks.RunOptions{Policy: tasks.CancelDependents, OnTask: func(t *tasks.Task) {
			if t.Name() == "1" {
				panic("hook exploded")
			}
		}})
		var te *tasks.Error
		if !errors.Is(err, tasks.ErrPanic) || !errors.As(err, &te) || te.Op != "progress" || te.Task != "1" {
			t.Fatalf("graph: err %v", err)
		}
		if rep.Tasks != 2 || rep.Canceled != 4 || len(rep.Errors) != 1 {
			t.Fatalf("graph: report %+v", rep)
		}

		// Each frame costs the GPU a millisecond, so the 50 frames take at
		// least 25 ms: the stop after frame 1 always leaves some undone (with
		// free frames, a Threaded run could finish all 50 first).
		p := &tasks.Pipeline{Frames: 50, Depth: 2, Dispatcher: newFakeGPU(time.Millisecond, 4), Policy: tasks.CancelDependents,
			OnFrame: func(ev tasks.FrameEvent) {
				if ev.Frame == 1 {
					panic("hook exploded")
				}
			}}
		rep, err = p.Run(x)
		if !errors.Is(err, tasks.ErrPanic) || !errors.As(err, &te) || te.Op != "progress" || te.Frame != 1 {
			t.Fatalf("pipeline: err %v", err)
		}
		if rep.Canceled == 0 || rep.Frames >= 50 || len(rep.Errors) != 1 {
			t.Fatalf("pipeline: report %+v", rep)
		}
	})
}

// Reports name what they count: a Graph's tasks, a Pipeline's frames, in
// the text and in the JSON.
func TestReportNamesUnits(t *testing.T) {
	x := io.NewBlocking().Io()
	g := tasks.NewGraph()
	g.Add("a", func(io.Io) error { return nil })
	g.Add("b", func(io.Io) error { return nil })
	grep, err := g.Run(x, tasks.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &tasks.Pipeline{Frames: 3, Dispatcher: newFakeGPU(0, 4)}
	prep, err := p.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rep        tasks.Report
		text       string
		key, other string
		n          float64
	}{{grep, "2 tasks done, 0 failed, 0 canceled", "tasks", "frames", 2}, {prep, "3 frames done, 0 failed, 0 canceled", "frames", "tasks", 3}} {
		if s := c.rep.String(); !strings.Contains(s, c.text) {
			t.Errorf("report text %q lacks %q", s, c.text)
		}
		data, err := json.Marshal(c.rep)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m[c.other]; m[c.key] != c.n || ok {
			t.Errorf("report JSON %s: want %q: %v and no %q", data, c.key, c.n, c.other)
		}
	}
}
