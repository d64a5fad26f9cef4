package tasks

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"sync"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// RecordFunc records frame's GPU commands into b, writing its result to out.
type RecordFunc func(b *gpu.Batch, frame int, out *gpu.Buffer) error

// GPUDispatcher is a Dispatcher on a github.com/vkio/vkio/gpu Device: per frame it records a
// fresh batch (a "start" timestamp, the commands of its RecordFunc, an "end"
// timestamp), submits it through the Io, and reads the slot's output buffer
// back. Close it after the pipeline has finished.
type GPUDispatcher struct {
	dev    *gpu.Device
	outs   []*gpu.Buffer
	size   int
	record RecordFunc
	closer func() error
}

// NewGPUDispatcher returns a dispatcher with slots output buffers of
// outBytes each in memory mem (DeviceLocal buffers that are not host-mapped
// are read back through a staging copy).
func NewGPUDispatcher(d *gpu.Device, slots, outBytes int, mem gpu.Memory, record RecordFunc) (*GPUDispatcher, error) {
	if d == nil || slots <= 0 || outBytes <= 0 || record == nil {
		return nil, &Error{Op: "dispatcher", Frame: -1, Err: fmt.Errorf("%w: need a device, slots > 0, outBytes > 0, a RecordFunc", ErrInvalid)}
	}
	g := &GPUDispatcher{dev: d, size: outBytes, record: record}
	for range slots {
		b, err := d.NewBuffer(outBytes, mem)
		if err != nil {
			g.Close()
			return nil, &Error{Op: "dispatcher", Frame: -1, Err: err}
		}
		g.outs = append(g.outs, b)
	}
	return g, nil
}

// Slots returns the number of output buffers: the largest usable
// Pipeline.Depth.
func (g *GPUDispatcher) Slots() int { return len(g.outs) }

// FrameBytes returns the size of one frame's output.
func (g *GPUDispatcher) FrameBytes() int { return g.size }

// Close frees the output buffers (and what the dispatcher's constructor
// made, such as a kernel).
func (g *GPUDispatcher) Close() error {
	var errs []error
	for _, b := range g.outs {
		errs = append(errs, b.Close())
	}
	g.outs = nil
	if g.closer != nil {
		errs = append(errs, g.closer())
		g.closer = nil
	}
	return errors.Join(errs...)
}

// Submit records and submits frame's batch into slot's buffer.
func (g *GPUDispatcher) Submit(x io.Io, frame, slot int) (Submission, error) {
	if slot < 0 || slot >= len(g.outs) {
		return nil, fmt.Errorf("%w: slot %d of %d", ErrInvalid, slot, len(g.outs))
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
	return &gpuSub{b: b, f: g.dev.Submit(x, b), out: out, size: g.size}, nil
}

type gpuSub struct {
	b    *gpu.Batch
	f    *io.Future[*gpu.Completion]
	out  *gpu.Buffer
	size int
}

func (s *gpuSub) Wait(x io.Io) (GPUTime, error) {
	c, err := s.f.Await(x)
	if err != nil {
		return GPUTime{}, err
	}
	t := GPUTime{Queue: "queue 0", Submitted: c.Submitted, Completed: c.Completed}
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

func (s *gpuSub) Read(x io.Io, dst []byte) ([]byte, error) {
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
func (s *gpuSub) Close(x io.Io) error {
	for {
		err := s.b.Close()
		if !errors.Is(err, gpu.ErrBusy) {
			return err
		}
		_ = x.Sleep(100 * time.Microsecond)
	}
}

// JuliaParams are the push constants of shaders.Julia(): a Width×Height tile
// of the plane from (X0, Y0) in steps (DX, DY); Mode 0 is the Mandelbrot set,
// Mode 1 the Julia set of (CX, CY).
type JuliaParams struct {
	Width, Height          int
	X0, Y0, DX, DY, CX, CY float32
	MaxIter, Mode          uint32
}

// Push packs the parameters for the kernel.
func (p JuliaParams) Push() []byte {
	return gpu.Push(uint32(p.Width), uint32(p.Height), p.X0, p.Y0, p.DX, p.DY, p.CX, p.CY, p.MaxIter, p.Mode)
}

// JuliaZoom returns frame's parameters in the demo animation: the Julia set
// of a constant turning on a circle of radius 0.7885, zooming in slowly
// (the cost per frame stays about the same).
func JuliaZoom(width, height, frame int, maxIter uint32) JuliaParams {
	a := 0.02 * float64(frame)
	scale := 3.0 * math.Pow(0.995, float64(frame%400))
	aspect := float64(height) / float64(width)
	return JuliaParams{
		Width: width, Height: height,
		X0: float32(-scale / 2), Y0: float32(-scale * aspect / 2),
		DX: float32(scale / float64(width)), DY: float32(scale / float64(width)),
		CX: float32(0.7885 * math.Cos(a)), CY: float32(0.7885 * math.Sin(a)),
		MaxIter: maxIter, Mode: 1,
	}
}

// JuliaCPU renders p on the CPU, exactly as shaders.Julia() does (float32
// arithmetic in the same order), appending RGBA8 pixels to dst.
func JuliaCPU(p JuliaParams, dst []byte) []byte {
	for py := 0; py < p.Height; py++ {
		for px := 0; px < p.Width; px++ {
			c := shaders.JuliaRGBA(px, py, p.X0, p.Y0, p.DX, p.DY, p.CX, p.CY, p.MaxIter, p.Mode)
			dst = append(dst, c[:]...)
		}
	}
	return dst
}

// NewJuliaDispatcher returns a GPUDispatcher rendering frame f with
// params(f) into RGBA8 pixels (host-visible output buffers, slots of them).
// Every frame must have the same Width and Height.
func NewJuliaDispatcher(d *gpu.Device, slots int, params func(frame int) JuliaParams) (*GPUDispatcher, error) {
	p0 := params(0)
	if p0.Width <= 0 || p0.Height <= 0 {
		return nil, &Error{Op: "dispatcher", Frame: -1, Err: fmt.Errorf("%w: frame size %dx%d", ErrInvalid, p0.Width, p0.Height)}
	}
	k, err := d.NewKernel(shaders.Julia(), nil)
	if err != nil {
		return nil, &Error{Op: "dispatcher", Frame: -1, Err: err}
	}
	g, err := NewGPUDispatcher(d, slots, 4*p0.Width*p0.Height, gpu.HostVisible, func(b *gpu.Batch, frame int, out *gpu.Buffer) error {
		p := params(frame)
		if p.Width != p0.Width || p.Height != p0.Height {
			return fmt.Errorf("%w: frame %d is %dx%d, not %dx%d", ErrInvalid, frame, p.Width, p.Height, p0.Width, p0.Height)
		}
		return b.Dispatch(k, k.Groups(p.Width, p.Height), p.Push(), out)
	})
	if err != nil {
		k.Close()
		return nil, err
	}
	g.closer = k.Close
	return g, nil
}

// PNGEncoder encodes RGBA8 frames of Width×Height as PNG. It is safe for
// concurrent use.
type PNGEncoder struct {
	Width, Height int
	Level         png.CompressionLevel // png.DefaultCompression if zero
	pool          pngPool
}

type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	if b, ok := p.p.Get().(*png.EncoderBuffer); ok {
		return b
	}
	return nil
}
func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

// Encode appends the PNG of raw to dst.
func (e *PNGEncoder) Encode(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
	if len(raw) != 4*e.Width*e.Height {
		return dst, fmt.Errorf("%w: %d bytes for a %dx%d RGBA frame", ErrInvalid, len(raw), e.Width, e.Height)
	}
	img := &image.RGBA{Pix: raw, Stride: 4 * e.Width, Rect: image.Rect(0, 0, e.Width, e.Height)}
	buf := bytes.NewBuffer(dst)
	enc := png.Encoder{CompressionLevel: e.Level, BufferPool: &e.pool}
	if err := enc.Encode(buf, img); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}
