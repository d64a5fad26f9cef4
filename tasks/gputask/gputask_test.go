package gputask_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/internal/demo"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/gputask"
	"github.com/vkio/vkio/tasks/internal/tasktest"
)

// A real compute → read back → PNG → atomic save pipeline on the Vulkan device
// (lavapipe here), with validation on: every frame on disk decodes to the
// CPU reference, the trace is well-formed with GPU and disk spans, and GPU and
// disk overlap in time under Threaded (and Evented), never under Blocking.
func TestGPUPipeline(t *testing.T) {
	ios(t, func(t *testing.T, x io.Io) {
		const w, h, frames, maxIter = 64, 64, 24, 200
		d := openGPU(t)
		params := func(k int) demo.JuliaParams { return demo.JuliaZoom(w, h, k, maxIter) }
		disp, err := demo.NewJuliaDispatcher(d, 3, params)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := disp.Close(); err != nil {
				t.Error(err)
			}
		}()
		dir := t.TempDir()
		dd, err := io.Cwd().OpenDir(x, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer dd.Close(x)
		rec := tasks.NewRecorder()
		p := &tasks.Pipeline{
			Frames: frames, Depth: 3, Dispatcher: disp, FrameBytes: disp.FrameBytes(),
			Encoder:  &demo.PNGEncoder{Width: w, Height: h, Level: png.BestSpeed},
			Sinks:    []tasks.Sink{&tasks.DirSink{Dir: dd, Pattern: "julia-%03d.png"}},
			Recorder: rec,
		}
		rep, err := p.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Frames != frames {
			t.Fatalf("report %v", rep)
		}
		for k := range frames {
			f, err := os.Open(filepath.Join(dir, fmt.Sprintf("julia-%03d.png", k)))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatalf("frame %d: %v", k, err)
			}
			want := demo.JuliaCPU(params(k), nil)
			got := toRGBA(img)
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Fatalf("frame %d differs from the CPU reference at pixel %d: %v vs %v", k, i/4, got[i:i+4], want[i:i+4])
			}
		}
		counts := tasktest.CheckTrace(t, rec)
		if counts["GPU"] != frames || counts["Disk"] != frames || counts["flow"] == 0 {
			t.Fatalf("trace counts %v", counts)
		}
		ov := tasktest.Overlap(rec.Spans(), tasks.GPU, tasks.Disk)
		if x.Kind() == io.KindBlocking {
			if ov != 0 {
				t.Errorf("GPU and disk overlap by %v under Blocking", ov)
			}
		} else if ov == 0 {
			t.Errorf("GPU and disk never overlap under %s", x)
		}
		t.Logf("%v\nGPU/disk overlap %v", rep, ov)
	})
}

// Canceling a GPU pipeline waits for the GPU and leaks no Vulkan object
// (openGPU's cleanup checks, with validation on).
func TestGPUPipelineCancel(t *testing.T) {
	th := io.NewThreaded(io.ThreadedOptions{})
	defer th.Close()
	x, cancel := th.Io().WithCancel()
	d := openGPU(t)
	disp, err := demo.NewJuliaDispatcher(d, 2, func(k int) demo.JuliaParams { return demo.JuliaZoom(128, 128, k, 2000) })
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

func toRGBA(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 4*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bb>>8), byte(a>>8))
		}
	}
	return out
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i &^ 3
		}
	}
	return min(len(a), len(b)) &^ 3
}

// New rejects what it cannot use before touching the device.
func TestNewInvalid(t *testing.T) {
	rec := func(*gpu.Batch, int, *gpu.Buffer) error { return nil }
	d := openGPU(t)
	for _, c := range []struct {
		d               *gpu.Device
		slots, outBytes int
		rec             gputask.RecordFunc
	}{{nil, 1, 4, rec}, {d, 0, 4, rec}, {d, 1, 0, rec}, {d, 1, 4, nil}} {
		var te *tasks.Error
		if _, err := gputask.New(c.d, c.slots, c.outBytes, gpu.HostVisible, c.rec); !errors.Is(err, tasks.ErrInvalid) || !errors.As(err, &te) {
			t.Errorf("New(%v, %d, %d): %v", c.d != nil, c.slots, c.outBytes, err)
		}
	}
}
