// Package gputask is the GPU stage of a tasks.Pipeline on a
// github.com/vkio/vkio/gpu Device: a Dispatcher records one batch per frame
// (timestamps around the commands of a RecordFunc), submits it through the
// Io and reads the frame's output buffer back.
//
// An output buffer the host cannot map (DeviceLocal memory on a discrete
// GPU, or anywhere with gpu.Options.ForceStaging) is read back through a
// transfer batch (gpu.Device.NewTransferBatch) submitted right after the
// frame's kernels and ordered after them on the GPU (gpu.Batch.After): it
// copies the output into a host-visible staging buffer of the slot, with
// timestamps around the copy. On a device opened with a transfer queue
// (gpu.Options.TransferQueue, where the device has one) the copy of frame
// i runs there while frame i+1 computes; the pipeline's trace shows it as
// "copy" spans on a lane of its own ("transfer") beside the compute lane
// ("queue 0"). Without a transfer queue the copy runs on the compute
// queue, its spans on the compute lane.
//
// It is the room where tasks meets Vulkan: tasks itself links no cgo, so a
// program that only schedules (Graph, Semaphore, a Pipeline with its own
// Dispatcher) builds with CGO_ENABLED=0; importing gputask brings in gpu and
// its cgo Vulkan loader.
package gputask

import (
	"errors"
	"fmt"
	"slices"
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
	stages []*gpu.Buffer // by slot, host-visible: where unmapped outputs are copied (nil: read in place)
	size   int
	record RecordFunc
}

// Lane names of the GPU lanes a Dispatcher's frames report (GPUTime.Queue
// and GPUTime.Copy.Queue).
const (
	// ComputeLane is the lane of the frames' kernels, and of their
	// read-back copies where those run on the compute queue.
	ComputeLane = "queue 0"
	// TransferLane is the lane of read-back copies that ran on the
	// device's transfer queue.
	TransferLane = "transfer"
)

var _ tasks.Dispatcher = (*Dispatcher)(nil)

// New returns a dispatcher with slots output buffers of outBytes each in
// memory mem. Buffers the host cannot map (DeviceLocal on a discrete GPU,
// or with gpu.Options.ForceStaging) get a host-visible staging buffer each
// and are read back by a transfer batch of their own (see the package
// doc). Errors are *tasks.Error values; bad arguments match
// tasks.ErrInvalid.
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
		if b.Mapped() {
			continue
		}
		st, err := d.NewBuffer(outBytes, gpu.HostVisible)
		if err != nil {
			g.Close()
			return nil, &tasks.Error{Op: "dispatcher", Frame: -1, Err: err}
		}
		g.stages = append(g.stages, st)
	}
	return g, nil
}

// Staged reports whether frames are read back through staging copies on
// the GPU (the output buffers are not host-mapped).
func (g *Dispatcher) Staged() bool { return len(g.stages) > 0 }

// Slots returns the number of output buffers: the largest usable
// Pipeline.Depth.
func (g *Dispatcher) Slots() int { return len(g.outs) }

// FrameBytes returns the size of one frame's output.
func (g *Dispatcher) FrameBytes() int { return g.size }

// Close frees the output buffers.
func (g *Dispatcher) Close() error {
	var errs []error
	for _, b := range slices.Concat(g.outs, g.stages) {
		errs = append(errs, b.Close())
	}
	g.outs, g.stages = nil, nil
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
	var t *gpu.Batch
	if err == nil && g.stages != nil {
		// The read-back copy, recorded before anything is submitted so
		// that a recording error leaves nothing in flight.
		t = g.dev.NewTransferBatch()
		err = t.Timestamp("start")
		if err == nil {
			err = t.Copy(g.stages[slot], 0, out, 0, g.size)
		}
		if err == nil {
			err = t.Timestamp("end")
		}
	}
	if err != nil {
		return nil, errors.Join(err, b.Close(), closeBatch(t))
	}
	s := &submission{b: b, f: g.dev.Submit(x, b), out: out, size: g.size}
	if t == nil {
		return s, nil
	}
	// Submitted right after the kernels, waiting for them on the GPU (not
	// on the host): on a transfer queue it runs while the next frame's
	// kernels do. After fails only where the kernels' submission failed;
	// Wait reports that submission's error.
	s.t, s.stage = t, g.stages[slot]
	if s.terr = t.After(b); s.terr == nil {
		s.ft = g.dev.Submit(x, t)
	}
	return s, nil
}

// closeBatch closes b if it is not nil.
func closeBatch(b *gpu.Batch) error {
	if b == nil {
		return nil
	}
	return b.Close()
}

type submission struct {
	b    *gpu.Batch
	f    *io.Future[*gpu.Completion]
	out  *gpu.Buffer
	size int

	// The staged read-back: the transfer batch t copies out into stage;
	// ft is its submission's future, nil where After failed with terr.
	t     *gpu.Batch
	ft    *io.Future[*gpu.Completion]
	terr  error
	stage *gpu.Buffer
}

// lane names the trace lane of a submission that ran on queue (a
// gpu.Completion.Queue).
func lane(queue string) string {
	if queue == "transfer" {
		return TransferLane
	}
	return ComputeLane
}

// span returns the times of c's "start" and "end" stamps.
func span(c *gpu.Completion) (start, end time.Time) {
	for _, st := range c.Stamps {
		switch st.Label {
		case "start":
			start = st.At
		case "end":
			end = st.At
		}
	}
	return start, end
}

func (s *submission) Wait(x io.Io) (tasks.GPUTime, error) {
	c, err := s.f.Await(x)
	if err != nil {
		return tasks.GPUTime{}, err
	}
	t := tasks.GPUTime{Queue: lane(c.Queue), Submitted: c.Submitted, Completed: c.Completed}
	t.Start, t.End = span(c)
	if s.t == nil {
		return t, nil
	}
	if s.terr != nil {
		return tasks.GPUTime{}, s.terr
	}
	cc, err := s.ft.Await(x)
	if err != nil {
		return tasks.GPUTime{}, err
	}
	t.Copy.Queue = lane(cc.Queue)
	t.Copy.Start, t.Copy.End = span(cc)
	t.Completed = cc.Completed
	return t, nil
}

func (s *submission) Read(x io.Io, dst []byte) ([]byte, error) {
	src := s.out
	if s.stage != nil {
		src = s.stage // the copy has completed: Wait awaited it
	}
	if src.Mapped() {
		m, err := src.Bytes()
		if err != nil {
			return dst, err
		}
		return append(dst, m[:s.size]...), nil
	}
	n := len(dst)
	dst = append(dst, make([]byte, s.size)...)
	return dst, gpu.Download(x, src, 0, dst[n:])
}

// Close frees the batches, waiting (polling, not a cancel point) while the
// GPU still runs them after a canceled Wait.
func (s *submission) Close(x io.Io) error {
	var errs []error
	for _, b := range []*gpu.Batch{s.t, s.b} {
		if b == nil {
			continue
		}
		for {
			err := b.Close()
			if !errors.Is(err, gpu.ErrBusy) {
				errs = append(errs, err)
				break
			}
			_ = x.Sleep(100 * time.Microsecond)
		}
	}
	return errors.Join(errs...)
}
