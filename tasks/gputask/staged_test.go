package gputask_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/gputask"
	"github.com/vkio/vkio/tasks/internal/tasktest"
)

// runJulia runs a Julia pipeline of frames on d with output buffers in mem
// and returns each frame's raw pixels, the report and the recorder.
func runJulia(t *testing.T, x io.Io, d *gpu.Device, mem gpu.Memory, frames int) (map[int][]byte, tasks.Report, *tasks.Recorder, bool) {
	t.Helper()
	const w, h, maxIter = 48, 40, 150
	disp, err := demo.NewJuliaDispatcherIn(d, 3, mem, func(k int) demo.JuliaParams { return demo.JuliaZoom(w, h, k, maxIter) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := disp.Close(); err != nil {
			t.Error(err)
		}
	}()
	var mu sync.Mutex
	got := map[int][]byte{}
	rec := tasks.NewRecorder()
	p := &tasks.Pipeline{
		Frames: frames, Depth: 3, Dispatcher: disp, FrameBytes: disp.FrameBytes(), Recorder: rec,
		Sinks: []tasks.Sink{tasks.SinkFunc(func(x io.Io, k int, data []byte) error {
			mu.Lock()
			defer mu.Unlock()
			got[k] = bytes.Clone(data)
			return nil
		})},
	}
	rep, err := p.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Frames != frames || len(got) != frames {
		t.Fatalf("%d frames saved, report %v", len(got), rep)
	}
	for k := range frames {
		if want := demo.JuliaCPU(demo.JuliaZoom(w, h, k, maxIter), nil); !bytes.Equal(got[k], want) {
			i := firstDiff(got[k], want)
			t.Fatalf("frame %d differs from the CPU reference at pixel %d", k, i/4)
		}
	}
	return got, rep, rec, disp.Staged()
}

// With ForceStaging (and a transfer queue asked for: lavapipe has none,
// so the transfer batches run on the compute queue through gpu's portable
// path) DeviceLocal outputs are read back by a staging copy on the GPU:
// the frames are byte-identical to those read in place, and the trace has
// one "copy" span per frame, on the copy's queue's lane, starting after
// that frame's compute ended (After orders it on the GPU).
func TestStagedReadBack(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		const frames = 12
		plain, prep, prec, staged := runJulia(t, x, openGPU(t), gpu.HostVisible, frames)
		if staged || prep.CopyBusy != 0 || prep.CopyOverlap != 0 {
			t.Fatalf("host-visible outputs: staged %v, copy busy %v overlap %v", staged, prep.CopyBusy, prep.CopyOverlap)
		}
		for _, s := range prec.Spans() {
			if s.Name == "copy" {
				t.Fatalf("a copy span where frames are read in place: %+v", s)
			}
		}

		d := gputest.Open(t, gpu.Options{ForceStaging: true, TransferQueue: true})
		got, rep, rec, staged := runJulia(t, x, d, gpu.DeviceLocal, frames)
		if !staged {
			t.Fatal("DeviceLocal outputs with ForceStaging are not staged")
		}
		for k := range frames {
			if !bytes.Equal(got[k], plain[k]) {
				t.Fatalf("frame %d: the staged read-back differs from the in-place one", k)
			}
		}
		counts := tasktest.CheckTrace(t, rec)
		if counts["GPU"] != 2*frames {
			t.Fatalf("trace counts %v: want %d GPU spans (compute and copy per frame)", counts, 2*frames)
		}
		wantLane := gputask.ComputeLane
		if d.TransferQueue() {
			wantLane = gputask.TransferLane
		}
		compute := map[int]tasks.Span{}
		copies := map[int]tasks.Span{}
		for _, s := range rec.Spans() {
			if s.Res != tasks.GPU {
				continue
			}
			switch s.Name {
			case "compute":
				compute[s.Frame] = s
			case "copy":
				if s.Lane != wantLane {
					t.Fatalf("frame %d: copy on lane %q, want %q", s.Frame, s.Lane, wantLane)
				}
				if _, dup := copies[s.Frame]; dup {
					t.Fatalf("frame %d: two copy spans", s.Frame)
				}
				copies[s.Frame] = s
			}
		}
		if len(copies) != frames || len(compute) != frames {
			t.Fatalf("%d copy and %d compute spans for %d frames", len(copies), len(compute), frames)
		}
		for k, c := range copies {
			if c.Start.Before(compute[k].End) || !c.End.After(c.Start) {
				t.Fatalf("frame %d: copy %v..%v, compute ended %v", k, c.Start, c.End, compute[k].End)
			}
		}
		if rep.CopyBusy <= 0 || rep.CopyOverlap < 0 || rep.CopyOverlap > rep.CopyBusy || rep.CopyBusy > rep.Busy["gpu"] {
			t.Fatalf("copy busy %v overlap %v, gpu busy %v", rep.CopyBusy, rep.CopyOverlap, rep.Busy["gpu"])
		}
		if !d.TransferQueue() && rep.CopyOverlap != 0 {
			t.Fatalf("copies overlap compute by %v on one queue", rep.CopyOverlap)
		}
		t.Logf("%v", rep)
	})
}

// A staged pipeline canceled mid-run waits for its kernels and copies and
// leaks nothing (gputest's cleanup checks, validation on).
func TestStagedCancel(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x, cancel := th.Io().WithCancel()
	d := gputest.Open(t, gpu.Options{ForceStaging: true, TransferQueue: true})
	disp, err := demo.NewJuliaDispatcherIn(d, 2, gpu.DeviceLocal, func(k int) demo.JuliaParams { return demo.JuliaZoom(128, 128, k, 2000) })
	if err != nil {
		t.Fatal(err)
	}
	defer disp.Close()
	p := &tasks.Pipeline{Frames: 1000, Depth: 2, Dispatcher: disp,
		OnFrame: func(ev tasks.FrameEvent) {
			if ev.Done == 2 {
				cancel()
			}
		}}
	rep, err := p.Run(x)
	if !errors.Is(err, io.ErrCanceled) || rep.Frames < 2 || rep.Frames > 5 {
		t.Fatalf("err %v report %v", err, rep)
	}
}

// A RecordFunc that fails leaves no batch behind on a staged dispatcher.
func TestStagedRecordError(t *testing.T) {
	x := io.NewBlocking().Io()
	d := gputest.Open(t, gpu.Options{ForceStaging: true})
	bad := errors.New("bad frame")
	disp, err := gputask.New(d, 1, 64, gpu.DeviceLocal, func(b *gpu.Batch, frame int, out *gpu.Buffer) error {
		if frame == 1 {
			return bad
		}
		return b.Fill(out, 0, out.Size(), uint32(frame)+7)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := disp.Close(); err != nil {
			t.Error(err)
		}
	}()
	if !disp.Staged() {
		t.Fatal("not staged")
	}
	if _, err := disp.Submit(x, 1, 0); !errors.Is(err, bad) {
		t.Fatalf("Submit: %v, want the RecordFunc's error", err)
	}
	s, err := disp.Submit(x, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := s.Wait(x)
	if err != nil {
		t.Fatal(err)
	}
	if gt.Copy.Queue == "" || gt.Copy.End.Before(gt.Copy.Start) || gt.Copy.Start.Before(gt.End) {
		t.Fatalf("GPUTime %+v", gt)
	}
	raw, err := s.Read(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(x); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 64 || raw[0] != 7 || raw[63] != 0 {
		t.Fatalf("read back %v", raw)
	}
}
