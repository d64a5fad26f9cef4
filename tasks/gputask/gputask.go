// Package gputask is the GPU stage of a tasks.Pipeline on a
// github.com/vkio/vkio/gpu Device: a Dispatcher records one batch per frame
// (timestamps around the commands of a RecordFunc), submits it through the
// Io and reads the frame's output buffer back.
//
// It is the room where tasks meets Vulkan: tasks itself links no cgo, so a
// program that only schedules (Graph, Semaphore, a Pipeline with its own
// Dispatcher) builds with CGO_ENABLED=0; importing gputask brings in gpu and
// its cgo Vulkan loader.
package gputask

import (
	"errors"
	"fmt"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

// RecordFunc records frame's GPU commands into b, writing its result to out.
type RecordFunc func(b *gpu.Batch, frame int, out *gpu.Buffer) error

// Dispatcher is a tasks.Dispatcher on a gpu.Device: per frame it records a
// fresh batch (a "start" timestamp, the commands of its RecordFunc, an "end"
// timestamp), submits it through the Io, and reads the slot's output buffer
// back. Close it after the pipeline has finished.
type Dispatcher struct {
	dev    *gpu.Device
	outs   []*gpu.Buffer
	size   int
	record RecordFunc
}

var _ tasks.Dispatcher = (*Dispatcher)(nil)

// New returns a dispatcher with slots output buffers of outBytes each in
// memory mem (DeviceLocal buffers that are not host-mapped are read back
// through a staging copy). Errors are *tasks.Error values; bad arguments
// match tasks.ErrInvalid.
func New(d *gpu.Device, slots, outBytes int, mem gpu.Memory, record RecordFunc) (*Dispatcher, error) {
	if d == nil || slots <= 0 || outBytes <= 0 || record == nil {
		return nil, &tasks.Error{Op: "dispatcher", Frame: -1, Err: fmt.Errorf("%w: need a device, slots > 0, outBytes > 0, a RecordFunc", tasks.ErrInvalid)}
	}
	g := &Dispatcher{dev: d, size: outBytes, record: record}
	for range slots {
		b, err := d.NewBuffer(outBytes, mem)
		if err != nil {
			g.Close()
			return nil, &tasks.Error{Op: "dispatcher", Frame: -1, Err: err}
		}
		g.outs = append(g.outs, b)
	}
	return g, nil
}

// Slots returns the number of output buffers: the largest usable
// Pipeline.Depth.
func (g *Dispatcher) Slots() int { return len(g.outs) }

// FrameBytes returns the size of one frame's output.
func (g *Dispatcher) FrameBytes() int { return g.size }

// Close frees the output buffers.
func (g *Dispatcher) Close() error {
	var errs []error
	for _, b := range g.outs {
		errs = append(errs, b.Close())
	}
	g.outs = nil
	return errors.Join(errs...)
}

// Submit records and submits frame's batch into slot's buffer.
func (g *Dispatcher) Submit(x io.Io, frame, slot int) (tasks.Submission, error) {
	if slot < 0 || slot >= len(g.outs) {
		return nil, fmt.Errorf("%w: slot %d of %d", tasks.ErrInvalid, slot, len(g.outs))
	}
	out := g.outs[slot]
	b := g.dev.NewBatch()
	err := b.Timestamp("start")
	if err == nil {
		err = g.record(b, frame, out)
	}
	if err == nil {
		err = b.Timestamp("end")
	}
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	return &submission{b: b, f: g.dev.Submit(x, b), out: out, size: g.size}, nil
}

type submission struct {
	b    *gpu.Batch
	f    *io.Future[*gpu.Completion]
	out  *gpu.Buffer
	size int
}

func (s *submission) Wait(x io.Io) (tasks.GPUTime, error) {
	c, err := s.f.Await(x)
	if err != nil {
		return tasks.GPUTime{}, err
	}
	t := tasks.GPUTime{Queue: "queue 0", Submitted: c.Submitted, Completed: c.Completed}
	for _, st := range c.Stamps {
		switch st.Label {
		case "start":
			t.Start = st.At
		case "end":
			t.End = st.At
		}
	}
	return t, nil
}

func (s *submission) Read(x io.Io, dst []byte) ([]byte, error) {
	if s.out.Mapped() {
		m, err := s.out.Bytes()
		if err != nil {
			return dst, err
		}
		return append(dst, m[:s.size]...), nil
	}
	n := len(dst)
	dst = append(dst, make([]byte, s.size)...)
	return dst, gpu.Download(x, s.out, 0, dst[n:])
}

// Close frees the batch, waiting (polling, not a cancel point) while the GPU
// still runs it after a canceled Wait.
func (s *submission) Close(x io.Io) error {
	for {
		err := s.b.Close()
		if !errors.Is(err, gpu.ErrBusy) {
			return err
		}
		_ = x.Sleep(100 * time.Microsecond)
	}
}
