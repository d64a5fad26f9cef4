package tasks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/internal/tasktest"
)

// appendEncoder "encodes" a frame by prefixing its number.
var appendEncoder = tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
	dst = fmt.Appendf(dst, "frame %d:", frame)
	return append(dst, raw...), nil
})

func wantFrame(frame, size int) []byte {
	b := fmt.Appendf(nil, "frame %d:", frame)
	for i := 0; i < size; i++ {
		b = append(b, byte(frame+i))
	}
	return b
}

func TestPipelineFake(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		const frames, size = 30, 64
		g := newFakeGPU(300*time.Microsecond, size)
		sink := newMemSink(300 * time.Microsecond)
		rec := tasks.NewRecorder()
		var events []tasks.FrameEvent
		p := &tasks.Pipeline{
			Frames: frames, Depth: 3, Dispatcher: g, Encoder: appendEncoder, Sinks: []tasks.Sink{sink},
			Limits: tasks.Limits{GPU: 2, Writes: 2, StagingBytes: 2 * size}, FrameBytes: size,
			Recorder: rec, OnFrame: func(ev tasks.FrameEvent) { events = append(events, ev) },
		}
		rep, err := p.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for k := range frames {
			total += len(wantFrame(k, size))
		}
		if rep.Frames != frames || rep.Failed != 0 || rep.Canceled != 0 || rep.Bytes != int64(total) {
			t.Fatalf("report %+v", rep)
		}
		for k := range frames {
			if !bytes.Equal(sink.saved[k], wantFrame(k, size)) {
				t.Fatalf("frame %d saved %q", k, sink.saved[k])
			}
		}
		if g.peak > 2 || sink.peak > 2 || rep.Peak["gpu"] > 2 || rep.Peak["disk"] > 2 || rep.Peak["staging"] > 2*size {
			t.Fatalf("limits exceeded: gpu %d sink %d peaks %v", g.peak, sink.peak, rep.Peak)
		}
		if g.submits != frames || g.closes != frames || g.slotReusedWhileBusy {
			t.Fatalf("submits %d closes %d slot reused while busy %v", g.submits, g.closes, g.slotReusedWhileBusy)
		}
		if len(events) != frames || events[frames-1].Done != frames {
			t.Fatalf("%d progress events, last %+v", len(events), events[len(events)-1])
		}
		for i, ev := range events {
			if ev.Done != i+1 || ev.Err != nil || ev.Total != frames {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		if rep.Busy["gpu"] == 0 || rep.Busy["disk"] == 0 || rep.Efficiency < 0.99 {
			t.Fatalf("report %v", rep)
		}
		tasktest.CheckTrace(t, rec)
		ov := tasktest.Overlap(rec.Spans(), tasks.GPU, tasks.Disk)
		switch x.Kind() {
		case io.KindBlocking:
			if ov != 0 {
				t.Errorf("GPU and disk overlapped by %v under Blocking", ov)
			}
			if x.Kind() == io.KindBlocking && fmt.Sprint(frameOrder(events)) != fmt.Sprint(seq(frames)) {
				t.Errorf("blocking order %v", frameOrder(events))
			}
		default:
			if ov == 0 {
				t.Errorf("GPU and disk never overlapped under %s", x)
			}
		}
		t.Logf("%v", rep)
	})
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func frameOrder(evs []tasks.FrameEvent) []int {
	var o []int
	for _, e := range evs {
		o = append(o, e.Frame)
	}
	return o
}

func TestPipelineErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	ios(t, func(t *testing.T, x io.Io) {
		for _, pol := range []tasks.Policy{tasks.CancelAll, tasks.CancelDependents} {
			g := newFakeGPU(200*time.Microsecond, 16)
			sink := newMemSink(200 * time.Microsecond)
			sink.fail = map[int]error{5: boom}
			p := &tasks.Pipeline{Frames: 20, Depth: 3, Dispatcher: g, Sinks: []tasks.Sink{sink}, Policy: pol}
			rep, err := p.Run(x)
			var te *tasks.Error
			if !errors.Is(err, boom) || !errors.As(err, &te) || te.Frame != 5 || te.Op != "save" {
				t.Fatalf("policy %d: %v", pol, err)
			}
			if g.submits != g.closes {
				t.Fatalf("submits %d closes %d", g.submits, g.closes)
			}
			for k, data := range sink.saved {
				if !bytes.Equal(data, wantFrame(k, 16)[len(fmt.Sprintf("frame %d:", k)):]) {
					t.Fatalf("frame %d incomplete", k)
				}
			}
			if rep.Failed != 1 || len(rep.Errors) != 1 || rep.Errors[0].Frame != 5 {
				t.Fatalf("report %+v", rep)
			}
			switch pol {
			case tasks.CancelAll:
				if sink.count() >= 19 || rep.Canceled == 0 {
					t.Fatalf("CancelAll: %d saved, report %+v", sink.count(), rep)
				}
				if x.Kind() == io.KindBlocking && sink.count() != 5 {
					t.Fatalf("blocking: %d saved", sink.count())
				}
			case tasks.CancelDependents:
				if sink.count() != 19 || rep.Frames != 19 {
					t.Fatalf("CancelDependents: %d saved", sink.count())
				}
			}
		}
		// A failed submission and a panic in the GPU stage.
		g := newFakeGPU(100*time.Microsecond, 16)
		g.fail = map[int]error{2: boom}
		_, err := (&tasks.Pipeline{Frames: 10, Dispatcher: g}).Run(x)
		var te *tasks.Error
		if !errors.As(err, &te) || te.Op != "submit" || te.Frame != 2 || !errors.Is(err, boom) || g.submits != g.closes {
			t.Fatalf("submit failure: %v", err)
		}
		g = newFakeGPU(100*time.Microsecond, 16)
		g.panic = map[int]bool{3: true}
		sink := newMemSink(0)
		_, err = (&tasks.Pipeline{Frames: 10, Dispatcher: g, Sinks: []tasks.Sink{sink}}).Run(x)
		var pe *tasks.PanicError
		if !errors.Is(err, tasks.ErrPanic) || !errors.As(err, &pe) || !errors.As(err, &te) || te.Frame != 3 || g.submits != g.closes {
			t.Fatalf("panic: %v (%d submits, %d closes)", err, g.submits, g.closes)
		}
		if _, ok := sink.saved[3]; ok {
			t.Fatal("frame 3 saved after a panic")
		}
	})
}

// Canceling the run (Ctrl-C in the CLI) stops it promptly, waits for the GPU
// and leaves only complete files: no temporary or partial file.
func TestPipelineCancelLeavesNoPartialFile(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		dir := t.TempDir()
		d, err := io.Cwd().OpenDir(x, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(x)
		const size = 256 << 10 // large enough that writes take a moment
		g := newFakeGPU(500*time.Microsecond, size)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once sync.Once
		p := &tasks.Pipeline{Frames: 200, Depth: 3, Dispatcher: g, Sinks: []tasks.Sink{&tasks.DirSink{Dir: d, Pattern: "f-%03d.bin"}},
			OnFrame: func(ev tasks.FrameEvent) {
				if ev.Done == 4 {
					once.Do(cancel)
				}
			}}
		t0 := time.Now()
		rep, err := p.RunContext(ctx, x)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, io.ErrCanceled) {
			t.Fatalf("err %v", err)
		}
		if time.Since(t0) > 20*time.Second || rep.Frames < 4 || rep.Frames > 10 || g.submits != g.closes {
			t.Fatalf("took %v, report %+v, submits %d closes %d", time.Since(t0), rep, g.submits, g.closes)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != rep.Frames {
			t.Errorf("%d files for %d frames saved", len(ents), rep.Frames)
		}
		for _, e := range ents {
			var k int
			if _, err := fmt.Sscanf(e.Name(), "f-%03d.bin", &k); err != nil || !strings.HasSuffix(e.Name(), ".bin") {
				t.Fatalf("stray file %q", e.Name())
			}
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			want := wantFrame(k, size)[len(fmt.Sprintf("frame %d:", k)):]
			if !bytes.Equal(data, want) {
				t.Fatalf("%s is partial or wrong (%d bytes)", e.Name(), len(data))
			}
		}
	})
}

// Frames sent over loopback TCP with ConnSink arrive whole and in one piece.
func TestPipelineConnSink(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x := th.Io()
	l, err := io.Listen(x, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(x)
	recv, err := io.Concurrent(x, func(x io.Io) (map[int][]byte, error) {
		c, err := l.Accept(x)
		if err != nil {
			return nil, err
		}
		defer c.Close(x)
		r := c.Reader(x, nil)
		got := map[int][]byte{}
		for {
			k, data, err := tasks.ReadMessage(r, nil)
			if err != nil {
				if err.Error() == "EOF" {
					return got, nil
				}
				return got, err
			}
			got[k] = data
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := io.Dial(x, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rec := tasks.NewRecorder()
	mem := newMemSink(0)
	p := &tasks.Pipeline{Frames: 12, Depth: 2, Dispatcher: newFakeGPU(100*time.Microsecond, 1000), Encoder: appendEncoder,
		Sinks: []tasks.Sink{mem, &tasks.ConnSink{Conn: c}}, Recorder: rec}
	rep, err := p.Run(x)
	c.CloseWrite(x)
	got, rerr := recv.Await(x)
	c.Close(x)
	if err != nil || rerr != nil {
		t.Fatal(err, rerr)
	}
	if len(got) != 12 || rep.Busy["net"] == 0 || rep.Busy["disk"] == 0 {
		t.Fatalf("%d frames received, report %v", len(got), rep)
	}
	for k, data := range got {
		if !bytes.Equal(data, wantFrame(k, 1000)) {
			t.Fatalf("frame %d differs", k)
		}
	}
	if n := tasktest.CheckTrace(t, rec)["Network"]; n != 12 {
		t.Fatalf("%d network spans", n)
	}
}

// A panicking Encoder or Sink under CancelDependents fails its frame alone:
// it must not keep its Encoders (or Writes) permit, or every later frame
// would wait for it forever and Run would never return.
func TestPipelinePanicReleasesPermits(t *testing.T) {
	panicky := map[int]bool{3: true, 7: true}
	enc := tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
		if panicky[frame] {
			panic("encoder exploded")
		}
		return appendEncoder(x, frame, raw, dst)
	})
	ios(t, func(t *testing.T, x io.Io) {
		for _, stage := range []string{"encode", "save"} {
			const frames, size = 12, 16
			g := newFakeGPU(100*time.Microsecond, size)
			sink := newMemSink(0)
			p := &tasks.Pipeline{Frames: frames, Depth: 3, Dispatcher: g, Sinks: []tasks.Sink{sink},
				Policy: tasks.CancelDependents, FrameBytes: size}
			if stage == "encode" {
				p.Encoder, p.Limits.Encoders = enc, 1
			} else {
				p.Sinks, p.Limits.Writes = []tasks.Sink{panicSink{sink, panicky}}, 1
			}
			// The timeout cancels a run that hangs, so that the test fails
			// instead of hanging.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			rep, err := p.RunContext(ctx, x)
			timedOut := ctx.Err() != nil
			cancel()
			if timedOut {
				t.Fatalf("%s: run hung after a panic (canceled after 10s): %v, report %+v", stage, err, rep)
			}
			var te *tasks.Error
			if !errors.Is(err, tasks.ErrPanic) || !errors.As(err, &te) || !panicky[te.Frame] {
				t.Fatalf("%s: err %v", stage, err)
			}
			if rep.Frames != frames-2 || rep.Failed != 2 || rep.Canceled != 0 || len(rep.Errors) != 2 {
				t.Fatalf("%s: report %+v", stage, rep)
			}
			for _, fe := range rep.Errors {
				if !panicky[fe.Frame] {
					t.Fatalf("%s: frame %d failed: %s", stage, fe.Frame, fe.Err)
				}
			}
			for k := range frames {
				_, ok := sink.saved[k]
				if ok == panicky[k] {
					t.Fatalf("%s: frame %d saved %v", stage, k, ok)
				}
			}
			if g.submits != frames || g.closes != frames {
				t.Fatalf("%s: submits %d closes %d", stage, g.submits, g.closes)
			}
		}
	})
}

// panicSink is a Sink that panics on some frames and saves the others in a
// memSink.
type panicSink struct {
	*memSink
	panic map[int]bool
}

func (s panicSink) Save(x io.Io, frame int, data []byte) error {
	if s.panic[frame] {
		panic("sink exploded")
	}
	return s.memSink.Save(x, frame, data)
}

func TestDepthForBudget(t *testing.T) {
	for _, c := range []struct {
		budget, per int64
		max, want   int
		err         error
	}{
		{budget: 10 << 20, per: 3 << 20, want: 3},
		{budget: 10 << 20, per: 3 << 20, max: 2, want: 2},
		{budget: 1 << 30, per: 1 << 20, max: 19, want: 19},
		{budget: 1 << 30, per: 1 << 20, want: 1024},
		{budget: 3 << 20, per: 3 << 20, want: 1},
		{budget: 3<<20 - 1, per: 3 << 20, err: tasks.ErrLimit},
		{budget: 0, per: 1, err: tasks.ErrLimit},
		{budget: 1, per: 0, err: tasks.ErrInvalid},
		{budget: -1, per: 1, err: tasks.ErrInvalid},
		{budget: 1, per: 1, max: -1, err: tasks.ErrInvalid},
	} {
		got, err := tasks.DepthForBudget(c.budget, c.per, c.max)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("DepthForBudget(%d, %d, %d) = %d, %v; want %v", c.budget, c.per, c.max, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("DepthForBudget(%d, %d, %d) = %d, %v; want %d", c.budget, c.per, c.max, got, err, c.want)
		}
	}
}

// A deep pipeline (many frames in flight, as a byte budget allows) keeps
// each stage within its own bound: depth holds frames between stages, it
// does not widen them.
func TestPipelineStageBoundsApartFromDepth(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		const frames, size, depth = 40, 32, 12
		g := newFakeGPU(100*time.Microsecond, size)
		sink := newMemSink(200 * time.Microsecond)
		var busy, peak atomic.Int64
		enc := tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
			n := busy.Add(1)
			defer busy.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if err := x.Sleep(500 * time.Microsecond); err != nil {
				return dst, err
			}
			return appendEncoder(x, frame, raw, dst)
		})
		p := &tasks.Pipeline{
			Frames: frames, Depth: depth, Dispatcher: g, Encoder: enc, Sinks: []tasks.Sink{sink},
			Limits: tasks.Limits{GPU: 2, Encoders: 3, Writes: 2}, FrameBytes: size,
		}
		rep, err := p.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Frames != frames || rep.Failed != 0 {
			t.Fatalf("report %+v", rep)
		}
		for k := range frames {
			if !bytes.Equal(sink.saved[k], wantFrame(k, size)) {
				t.Fatalf("frame %d saved %q", k, sink.saved[k])
			}
		}
		if g.peak > 2 || sink.peak > 2 || peak.Load() > 3 || rep.Peak["gpu"] > 2 || rep.Peak["cpu"] > 3 || rep.Peak["disk"] > 2 || rep.Peak["frames"] != depth {
			t.Fatalf("bounds exceeded: gpu %d sink %d encoders %d peaks %v", g.peak, sink.peak, peak.Load(), rep.Peak)
		}
		if g.slotReusedWhileBusy || g.submits != frames || g.closes != frames {
			t.Fatalf("submits %d closes %d slot reused while busy %v", g.submits, g.closes, g.slotReusedWhileBusy)
		}
	})
}
