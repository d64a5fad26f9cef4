package rl

import (
	"errors"
	"fmt"
	"math"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/shaders"
)

// Limits of a Renderer, checked before anything is allocated.
const (
	// MaxRenderEnvs bounds the environments one frame shows.
	MaxRenderEnvs = 1 << 16
	// MaxRenderSide bounds a frame's width and height, and MaxCellSide a
	// cell's, in pixels.
	MaxRenderSide = 8192
	MaxCellSide   = 2048
	// MinCellSide is the smallest cell a renderer draws (a one-pixel frame
	// and something inside it).
	MinCellSide = 8
)

// renderKind is what the render shader knows of an environment: its kind
// number, state length and default cell size (Gymnasium's window, scaled).
type renderKind struct {
	kind, stateDim int
	cellW, cellH   int
}

var renderKinds = map[string]renderKind{
	"CartPole-v1":              {0, 4, 150, 100},
	"Acrobot-v1":               {1, 4, 100, 100},
	"Pendulum-v1":              {2, 2, 100, 100},
	"MountainCarContinuous-v0": {3, 2, 150, 100},
}

// RenderOptions configure NewRenderer.
type RenderOptions struct {
	// Env is the environments' Gymnasium id: "CartPole-v1", "Acrobot-v1",
	// "Pendulum-v1" or "MountainCarContinuous-v0".
	Env string
	// Envs is the number of environments drawn, 1 to MaxRenderEnvs.
	Envs int
	// Cols is the grid's number of columns (0: ceil(sqrt(Envs))); the
	// rows are as many as Envs needs.
	Cols int
	// CellWidth and CellHeight are each environment's cell in pixels,
	// MinCellSide to MaxCellSide (0: the environment's default, 150x100
	// for CartPole and MountainCar, 100x100 for Acrobot and Pendulum).
	CellWidth, CellHeight int
}

// Renderer draws environments' states into RGBA8 frames on the GPU, one
// cell of a grid per environment, in the look of Gymnasium's renderers
// (CartPole's track, cart and pole; Acrobot's links and goal line;
// Pendulum's rod; MountainCar's curve, car and flag): the kernel
// shaders.RLRender, one invocation per pixel.
//
// States are in the environments' float state layouts (EnvSpec.StateDim
// values each: CartPole x, x_dot, theta, theta_dot; Acrobot theta1,
// theta2, dtheta1, dtheta2; Pendulum theta, theta_dot; MountainCar
// position, velocity). A frame is Width*Height*4 bytes, rows top to
// bottom, R, G, B, A (A = 255), as tasks' PNG encoders and
// gpu.Swapchain.Present take it.
//
// A Renderer is not safe for use by several tasks at once.
type Renderer struct {
	d        *gpu.Device
	k        *gpu.Kernel
	states   *gpu.Buffer
	frame    *gpu.Buffer
	kind     renderKind
	envs     int
	cols     int
	rows     int
	cellW    int
	cellH    int
	width    int
	height   int
	closeErr error
	closed   bool
}

// NewRenderer checks opts and makes the kernel and the buffers of a
// renderer on d: a host-visible state buffer of Envs states and a
// host-visible frame. Bad options fail with ErrInvalid before anything is
// allocated.
func NewRenderer(d *gpu.Device, opts RenderOptions) (*Renderer, error) {
	const op = "new renderer"
	if d == nil {
		return nil, errorf(op, "nil device")
	}
	r, err := opts.layout(op)
	if err != nil {
		return nil, err
	}
	r.d = d
	rk := r.kind
	if r.k, err = d.NewKernel(shaders.RLRender(), nil); err != nil {
		return nil, wrapGPU(op, err)
	}
	if r.states, err = d.NewBuffer(4*opts.Envs*rk.stateDim, gpu.HostVisible); err != nil {
		return nil, errors.Join(wrapGPU(op, err), r.Close())
	}
	if r.frame, err = d.NewBuffer(4*r.width*r.height, gpu.HostVisible); err != nil {
		return nil, errors.Join(wrapGPU(op, err), r.Close())
	}
	return r, nil
}

// Check reports what NewRenderer would refuse in opts (ErrInvalid): an
// unknown environment, a number of environments, columns or a cell size
// out of range, or a frame wider or taller than MaxRenderSide. It needs no
// device.
func (opts RenderOptions) Check() error {
	_, err := opts.layout("render options")
	return err
}

// layout checks opts and returns a Renderer with its grid and sizes set
// and nothing allocated.
func (opts RenderOptions) layout(op string) (*Renderer, error) {
	rk, ok := renderKinds[opts.Env]
	if !ok {
		return nil, errorf(op, "environment %q: want CartPole-v1, Acrobot-v1, Pendulum-v1 or MountainCarContinuous-v0", opts.Env)
	}
	if opts.Envs < 1 || opts.Envs > MaxRenderEnvs {
		return nil, errorf(op, "%d environments: want 1 to %d", opts.Envs, MaxRenderEnvs)
	}
	cols := opts.Cols
	if cols == 0 {
		cols = int(math.Ceil(math.Sqrt(float64(opts.Envs))))
	}
	if cols < 1 || cols > opts.Envs {
		return nil, errorf(op, "%d columns: want 1 to %d (the environments), or 0 for a square grid", opts.Cols, opts.Envs)
	}
	rows := (opts.Envs + cols - 1) / cols
	cw, ch := opts.CellWidth, opts.CellHeight
	if cw == 0 {
		cw = rk.cellW
	}
	if ch == 0 {
		ch = rk.cellH
	}
	if cw < MinCellSide || ch < MinCellSide || cw > MaxCellSide || ch > MaxCellSide {
		return nil, errorf(op, "cell %dx%d: each side must be %d to %d pixels", cw, ch, MinCellSide, MaxCellSide)
	}
	if cols*cw > MaxRenderSide || rows*ch > MaxRenderSide {
		return nil, errorf(op, "a %dx%d grid of %dx%d cells is %dx%d pixels: at most %d a side", cols, rows, cw, ch, cols*cw, rows*ch, MaxRenderSide)
	}
	return &Renderer{kind: rk, envs: opts.Envs, cols: cols, rows: rows, cellW: cw, cellH: ch, width: cols * cw, height: rows * ch}, nil
}

// wrapGPU makes a gpu error one of the package's, keeping its sentinel for
// errors.Is.
func wrapGPU(op string, err error) error {
	return &Error{Op: op, Msg: err.Error(), Err: err}
}

// Size returns the frame's width and height in pixels.
func (r *Renderer) Size() (width, height int) { return r.width, r.height }

// Grid returns the grid's columns and rows.
func (r *Renderer) Grid() (cols, rows int) { return r.cols, r.rows }

// Envs returns the number of environments drawn.
func (r *Renderer) Envs() int { return r.envs }

// StateDim returns the number of floats of one environment's state.
func (r *Renderer) StateDim() int { return r.kind.stateDim }

// FrameBytes returns a frame's size in bytes: Width*Height*4.
func (r *Renderer) FrameBytes() int { return 4 * r.width * r.height }

// Frame returns the GPU buffer Record draws into (Width*Height RGBA8
// pixels), e.g. for gpu.Swapchain.Present. It belongs to the renderer.
func (r *Renderer) Frame() *gpu.Buffer { return r.frame }

// SetStates copies Envs states (Envs*StateDim floats, environment-major)
// into the renderer's state buffer, for the next Record. Do not call it
// while a recorded frame is in flight.
func (r *Renderer) SetStates(x io.Io, states []float32) error {
	const op = "render"
	if r.closed {
		return &Error{Op: op, Msg: "renderer is closed", Err: gpu.ErrClosed}
	}
	if want := r.envs * r.kind.stateDim; len(states) != want {
		return errorf(op, "%d state values for %d environments of %d: want %d", len(states), r.envs, r.kind.stateDim, want)
	}
	if err := gpu.Upload(x, r.states, 0, states); err != nil {
		return wrapGPU(op, err)
	}
	return nil
}

// Record adds the drawing of the states last set into Frame to b.
func (r *Renderer) Record(b *gpu.Batch) error {
	return r.RecordFrom(b, r.states, 0, r.kind.stateDim)
}

// RecordFrom adds to b the drawing into Frame of the states held in
// states (e.g. a GPU vector environment's own buffer): environment e's
// state starts at float index offset+e*stride, stride ≥ StateDim.
func (r *Renderer) RecordFrom(b *gpu.Batch, states *gpu.Buffer, offset, stride int) error {
	const op = "render"
	if r.closed {
		return &Error{Op: op, Msg: "renderer is closed", Err: gpu.ErrClosed}
	}
	if b == nil || states == nil {
		return errorf(op, "nil batch or state buffer")
	}
	if stride < r.kind.stateDim || offset < 0 {
		return errorf(op, "offset %d, stride %d: want offset ≥ 0 and stride ≥ %d", offset, stride, r.kind.stateDim)
	}
	// The last float read, in range of the buffer (int64: no overflow).
	if last := int64(offset) + int64(r.envs-1)*int64(stride) + int64(r.kind.stateDim); 4*last > int64(states.Size()) || last > math.MaxUint32 {
		return errorf(op, "%d states of stride %d from offset %d need %d bytes; the buffer has %d", r.envs, stride, offset, 4*last, states.Size())
	}
	push := gpu.Push(uint32(r.kind.kind), uint32(r.cols), uint32(r.cellW), uint32(r.cellH),
		uint32(r.width), uint32(r.height), uint32(r.envs), uint32(stride), uint32(offset))
	if err := b.Dispatch(r.k, r.k.Groups(r.width, r.height), push, states, r.frame); err != nil {
		return wrapGPU(op, err)
	}
	return nil
}

// Render draws states (as SetStates takes them) into one frame, waits for
// it through x, and returns its pixels appended to dst[:0] (grown when
// short).
func (r *Renderer) Render(x io.Io, states []float32, dst []byte) ([]byte, error) {
	if err := r.SetStates(x, states); err != nil {
		return dst, err
	}
	b := r.d.NewBatch()
	defer b.Close()
	if err := r.Record(b); err != nil {
		return dst, err
	}
	// The frame's wait is not a cancel point: a canceled wait would leave
	// the batch in use when it is closed. Cancellation is checked before.
	if err := x.CheckCancel(); err != nil {
		return dst, err
	}
	if _, err := r.d.Run(x.WithoutCancel(), b); err != nil {
		return dst, wrapGPU("render", err)
	}
	n := r.FrameBytes()
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if err := gpu.Download(x, r.frame, 0, dst); err != nil {
		return dst, wrapGPU("render", err)
	}
	return dst, nil
}

// Close releases the renderer's kernel and buffers (idempotent). Batches
// that recorded its frames must be closed first.
func (r *Renderer) Close() error {
	if r.closed {
		return r.closeErr
	}
	r.closed = true
	var errs []error
	for _, b := range []*gpu.Buffer{r.frame, r.states} {
		if b != nil {
			errs = append(errs, b.Close())
		}
	}
	if r.k != nil {
		errs = append(errs, r.k.Close())
	}
	if err := errors.Join(errs...); err != nil {
		r.closeErr = fmt.Errorf("rl: close renderer: %w", err)
	}
	return r.closeErr
}
