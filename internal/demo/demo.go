// Package demo is vkio's demonstration workload, shared by cmd/vkdemo, the
// window package's tests and the GPU benchmarks: the Julia-set zoom
// (parameters, a CPU reference that matches shaders.Julia() bit for bit, a
// gputask.Dispatcher that renders it) and a PNG encoder for the pipeline's
// CPU stage. It is internal: demo code, not library API.
package demo

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"sync"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/npy"
	"github.com/vkio/vkio/shaders"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/gputask"
)

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

// JuliaDispatcher is a gputask.Dispatcher rendering Julia frames, with the
// kernel it made. Close it after the pipeline has finished.
type JuliaDispatcher struct {
	*gputask.Dispatcher
	k *gpu.Kernel
}

// NewJuliaDispatcher returns a dispatcher rendering frame f with params(f)
// into RGBA8 pixels (host-visible output buffers, slots of them). Every
// frame must have the same Width and Height.
func NewJuliaDispatcher(d *gpu.Device, slots int, params func(frame int) JuliaParams) (*JuliaDispatcher, error) {
	return NewJuliaDispatcherIn(d, slots, gpu.HostVisible, params)
}

// NewJuliaDispatcherIn is NewJuliaDispatcher with output buffers in memory
// mem: DeviceLocal buffers the host cannot map are read back by staging
// copies on the GPU (see package gputask).
func NewJuliaDispatcherIn(d *gpu.Device, slots int, mem gpu.Memory, params func(frame int) JuliaParams) (*JuliaDispatcher, error) {
	p0 := params(0)
	if p0.Width <= 0 || p0.Height <= 0 {
		return nil, &tasks.Error{Op: "dispatcher", Frame: -1, Err: fmt.Errorf("%w: frame size %dx%d", tasks.ErrInvalid, p0.Width, p0.Height)}
	}
	k, err := d.NewKernel(shaders.Julia(), nil)
	if err != nil {
		return nil, &tasks.Error{Op: "dispatcher", Frame: -1, Err: err}
	}
	g, err := gputask.New(d, slots, 4*p0.Width*p0.Height, mem, func(b *gpu.Batch, frame int, out *gpu.Buffer) error {
		p := params(frame)
		if p.Width != p0.Width || p.Height != p0.Height {
			return fmt.Errorf("%w: frame %d is %dx%d, not %dx%d", tasks.ErrInvalid, frame, p.Width, p.Height, p0.Width, p0.Height)
		}
		return b.Dispatch(k, k.Groups(p.Width, p.Height), p.Push(), out)
	})
	if err != nil {
		k.Close()
		return nil, err
	}
	return &JuliaDispatcher{Dispatcher: g, k: k}, nil
}

// Close frees the output buffers and the kernel.
func (j *JuliaDispatcher) Close() error {
	err := j.Dispatcher.Close()
	if j.k != nil {
		err = errors.Join(err, j.k.Close())
		j.k = nil
	}
	return err
}

// PNGEncoder is a tasks.Encoder: it encodes RGBA8 frames of Width×Height as
// PNG. It is safe for concurrent use.
type PNGEncoder struct {
	Width, Height int
	Level         png.CompressionLevel // png.DefaultCompression if zero
	pool          pngPool
}

var _ tasks.Encoder = (*PNGEncoder)(nil)

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
		return dst, fmt.Errorf("%w: %d bytes for a %dx%d RGBA frame", tasks.ErrInvalid, len(raw), e.Width, e.Height)
	}
	img := &image.RGBA{Pix: raw, Stride: 4 * e.Width, Rect: image.Rect(0, 0, e.Width, e.Height)}
	buf := bytes.NewBuffer(dst)
	enc := png.Encoder{CompressionLevel: e.Level, BufferPool: &e.pool}
	if err := enc.Encode(buf, img); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// NPYEncoder is a tasks.Encoder: it writes RGBA8 frames of Width×Height as
// NumPy .npy files of dtype uint8 ("|u1") and shape (Height, Width, 4), C
// order: numpy.load gives the image as an array, one row after another. It
// copies the frame once behind a 128-byte header. It is safe for concurrent
// use.
type NPYEncoder struct {
	Width, Height int
	once          sync.Once
	header        []byte
	err           error
}

var _ tasks.Encoder = (*NPYEncoder)(nil)

// Encode appends the .npy file of raw to dst.
func (e *NPYEncoder) Encode(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
	if len(raw) != 4*e.Width*e.Height {
		return dst, fmt.Errorf("%w: %d bytes for a %dx%d RGBA frame", tasks.ErrInvalid, len(raw), e.Width, e.Height)
	}
	e.once.Do(func() { e.header, e.err = npy.Header("|u1", []int64{int64(e.Height), int64(e.Width), 4}) })
	if e.err != nil {
		return dst, e.err
	}
	dst = append(dst, e.header...)
	return append(dst, raw...), nil
}
