package tasks_test

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// A small DAG with a shared limit: "encode" runs after both renders, and at
// most one task holds the GPU at a time. Under Blocking the order is
// deterministic.
func ExampleGraph() {
	x := io.NewBlocking().Io()
	gpuSlot := tasks.NewSemaphore("gpu", 1)
	var log []string
	step := func(name string) tasks.Func {
		return func(io.Io) error { log = append(log, name); return nil }
	}
	g := tasks.NewGraph()
	a := g.Add("render a", step("render a"), tasks.On(tasks.GPU), tasks.Needs(gpuSlot, 1))
	b := g.Add("render b", step("render b"), tasks.On(tasks.GPU), tasks.Needs(gpuSlot, 1))
	e := g.Add("encode", step("encode"), tasks.After(a, b))
	g.Add("save", step("save"), tasks.On(tasks.Disk), tasks.After(e))
	rep, err := g.Run(x, tasks.RunOptions{})
	fmt.Println(strings.Join(log, ", "))
	fmt.Println(rep.Tasks, "tasks done, err:", err)
	// Output:
	// render a, render b, encode, save
	// 4 tasks done, err: <nil>
}

// squares is a Dispatcher without a GPU: frame k's "result" is k*k, ready at
// once. A real one is a gputask.Dispatcher (package tasks/gputask).
type squares struct{}

type squareSub struct{ k int }

func (squares) Submit(x io.Io, frame, slot int) (tasks.Submission, error) {
	return squareSub{frame}, nil
}
func (s squareSub) Wait(io.Io) (tasks.GPUTime, error) { return tasks.GPUTime{}, nil }
func (s squareSub) Read(x io.Io, dst []byte) ([]byte, error) {
	return fmt.Appendf(dst, "%d", s.k*s.k), nil
}
func (s squareSub) Close(io.Io) error { return nil }

// A pipeline of 5 frames, saved atomically as files, with progress
// reporting. The same code runs on every Io; Blocking keeps the output in
// order.
func ExamplePipeline() {
	x := io.NewBlocking().Io()
	tmp, _ := os.MkdirTemp("", "vkio-tasks-example-")
	defer os.RemoveAll(tmp)
	dir, _ := io.Cwd().OpenDir(x, tmp)
	defer dir.Close(x)
	p := &tasks.Pipeline{
		Frames:     5,
		Depth:      2,
		Dispatcher: squares{},
		Encoder: tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
			return fmt.Appendf(dst, "frame %d = %s\n", frame, raw), nil
		}),
		Sinks:   []tasks.Sink{&tasks.DirSink{Dir: dir, Pattern: "out-%d.txt"}},
		OnFrame: func(ev tasks.FrameEvent) { fmt.Printf("%d/%d saved\n", ev.Done, ev.Total) },
	}
	rep, err := p.Run(x)
	data, _ := dir.ReadFile(x, "out-4.txt")
	fmt.Print(string(data))
	fmt.Println(rep.Frames, rep.Bytes, err)
	// Output:
	// 1/5 saved
	// 2/5 saved
	// 3/5 saved
	// 4/5 saved
	// 5/5 saved
	// frame 4 = 16
	// 5 61 <nil>
}

// Errors carry the frame and the operation, and match their cause.
func ExampleError() {
	x := io.NewBlocking().Io()
	full := errors.New("disk full")
	p := &tasks.Pipeline{Frames: 10, Dispatcher: squares{},
		Sinks: []tasks.Sink{tasks.SinkFunc(func(x io.Io, frame int, data []byte) error {
			if frame == 3 {
				return full
			}
			return nil
		})}}
	rep, err := p.Run(x)
	var te *tasks.Error
	fmt.Println(errors.Is(err, full), errors.As(err, &te), te.Frame, te.Op)
	fmt.Println(rep.Frames, "saved,", rep.Failed, "failed,", rep.Canceled, "canceled")
	// Output:
	// true true 3 save
	// 3 saved, 1 failed, 6 canceled
}
