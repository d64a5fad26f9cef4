package runner_test

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
	"github.com/vkio/vkio/job/runner"
	"github.com/vkio/vkio/shaders"
)

func TestMain(m *testing.M) { gputest.Main(m) }

func saxpy(t testing.TB) *runner.Program {
	spirv := shaders.SAXPY()
	r, err := gpu.Reflect(spirv)
	if err != nil {
		t.Fatal(err)
	}
	return &runner.Program{Name: "saxpy", SPIRV: spirv, Refl: r}
}

func f32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// frames records a run's reports.
type frames struct {
	started, finished int
	got               map[int][]float32 // iteration → binding 1
	failAt            int               // Frame fails at this iteration (-1: never)
}

func (f *frames) Start(*runner.Result) error { f.started++; return nil }
func (f *frames) Frame(iter int, b *job.Binding, data []byte) error {
	if iter == f.failAt {
		return errors.New("client left")
	}
	if b.Info.Binding != 1 {
		return errors.New("frame of a read-only binding")
	}
	f.got[iter] = f32s(data)
	return nil
}
func (f *frames) Finish(*runner.Result) error { f.finished++; return nil }

// saves records what a run saves.
type saves struct {
	mu  sync.Mutex
	got map[string][]float32
}

func (s *saves) Save(x io.Io, b uint32, sv job.Save, t job.DType, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[sv.Path] = f32s(data)
	return nil
}

// TestRun: three iterations of y = 2x + y, each streamed, the last saved,
// in host-visible and device-local memory.
func TestRun(t *testing.T) {
	d := gputest.Open(t, gpu.Options{})
	x := io.NewBlocking().Io()
	for _, local := range []bool{false, true} {
		j, err := job.FromFlags(job.Flags{Binds: []string{"0=iota:1000", "1=iota"}, Push: []string{"f32:2,u32:1000"},
			Outs: []string{"1=y.npy"}, Iterations: 3}, job.FlagNames)
		if err != nil {
			t.Fatal(err)
		}
		f := &frames{got: map[int][]float32{}, failAt: -1}
		s := &saves{got: map[string][]float32{}}
		res, err := runner.Run(x, d, j, saxpy(t), runner.Options{DeviceLocal: local, Sink: f, Saver: s})
		if err != nil {
			t.Fatal(err)
		}
		if f.started != 1 || f.finished != 1 || len(f.got) != 3 {
			t.Fatalf("device-local %v: %d starts, %d finishes, %d frames", local, f.started, f.finished, len(f.got))
		}
		for iter, ys := range f.got {
			for i, y := range ys {
				if want := float32(i + 2*(iter+1)*i); y != want {
					t.Fatalf("device-local %v: iteration %d: y[%d] = %v, want %v", local, iter, i, y, want)
				}
			}
		}
		if ys := s.got["y.npy"]; len(ys) != 1000 || ys[999] != 999*7 {
			t.Fatalf("saved: %d values", len(ys))
		}
		if res.Groups[0] == 0 || len(res.Batches) != 3 || len(res.Saved) != 1 || res.How != "one invocation per element of binding 0" {
			t.Fatalf("result: %+v", res)
		}
	}
}

// TestRunErrors: a sink that fails ends the run, every GPU object closed
// (gputest checks); an output the shader lacks is a usage *job.Error.
func TestRunErrors(t *testing.T) {
	d := gputest.Open(t, gpu.Options{})
	x := io.NewBlocking().Io()
	j, err := job.FromFlags(job.Flags{Binds: []string{"0=iota:64"}, Push: []string{"f32:2,u32:64"}, Iterations: 4}, job.FlagNames)
	if err != nil {
		t.Fatal(err)
	}
	f := &frames{got: map[int][]float32{}, failAt: 1}
	if _, err := runner.Run(x, d, j, saxpy(t), runner.Options{Sink: f}); err == nil || err.Error() != "client left" {
		t.Fatalf("failing sink: %v", err)
	}
	j.Outputs = []uint32{5}
	_, err = runner.Run(x, d, j, saxpy(t), runner.Options{})
	var je *job.Error
	if !errors.As(err, &je) || !je.Usage || !strings.Contains(err.Error(), "outputs: saxpy has no binding 5") {
		t.Fatalf("output 5: %v", err)
	}
	j.Outputs = nil
	j.Saves[1] = job.Save{Path: "y.npy"}
	if _, err := runner.Run(x, d, j, saxpy(t), runner.Options{}); err == nil || !strings.Contains(err.Error(), "saves nothing") {
		t.Fatalf("save without a Saver: %v", err)
	}
}
