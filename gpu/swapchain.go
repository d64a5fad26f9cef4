package gpu

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vkio/vkio/gpu/internal/vkx"
)

// ErrOutOfDate reports a swapchain that no longer matches its surface (the
// window was resized) and could not be recreated on the spot: the frame was
// not shown. Call Swapchain.Recreate with the window's size.
var ErrOutOfDate = errors.New("gpu: swapchain out of date")

// PixelFormat is the byte order of 8-bit-per-channel pixels in a buffer,
// one 32-bit pixel per 4 bytes, rows tightly packed.
type PixelFormat int

const (
	// RGBA8 has R in the lowest byte and A in the highest (shaders.Julia()'s
	// output; image.RGBA's Pix).
	RGBA8 PixelFormat = iota + 1
	// BGRA8 has B in the lowest byte (the usual swapchain format).
	BGRA8
)

// String names the format.
func (f PixelFormat) String() string {
	switch f {
	case RGBA8:
		return "RGBA8"
	case BGRA8:
		return "BGRA8"
	}
	return fmt.Sprintf("PixelFormat(%d)", int(f))
}

func (f PixelFormat) vk() (int, bool) {
	switch f {
	case RGBA8:
		return vkx.FormatRGBA8, true
	case BGRA8:
		return vkx.FormatBGRA8, true
	}
	return 0, false
}

// SwapchainOptions configure NewSwapchain. The zero value presents with
// vsync off where the surface allows it.
type SwapchainOptions struct {
	// VSync presents in FIFO mode (one frame per display refresh). Without
	// it, mailbox or immediate mode is used where the surface offers one.
	VSync bool
	// AcquireTimeout bounds the wait for a free swapchain image (default
	// 5 s); a Present that waits longer fails with ErrTimeout.
	AcquireTimeout time.Duration
}

// Swapchain presents buffers of pixels in a window: a Vulkan surface and
// its swapchain, on the device's queue. Its methods are safe for concurrent
// use (they are serialized); presenting from one goroutine, the window's,
// is the usual pattern.
//
// # Window integration
//
// vkio makes no windows: a window library creates the VkSurfaceKHR, on the
// device's VkInstance, and hands its handle to NewSwapchain. The device must
// be opened with Options.WindowExtensions (the instance extensions the
// window library needs; VK_KHR_swapchain is then enabled on the device).
// Package github.com/vkio/vkio/window does this with GLFW:
//
//	exts, _ := window.InstanceExtensions() // VK_KHR_surface, VK_KHR_xcb_surface
//	dev, _ := gpu.Open(gpu.Options{WindowExtensions: exts})
//	surface, _ := win.Surface(dev) // glfwCreateWindowSurface on dev.WindowInstance()
//	sc, _ := dev.NewSwapchain(surface, width, height, nil)
//	... sc.Present(buf, width, height, gpu.RGBA8) ...
type Swapchain struct {
	d    *Device
	opts SwapchainOptions

	mu     sync.Mutex
	vs     *vkx.Swapchain
	w, h   int  // the size last asked for
	stale  bool // the last present was suboptimal: recreate before the next
	closed bool
	shown  uint64
}

// WindowInstance returns the device's VkInstance for a window library that
// creates the VkSurfaceKHR itself (package window passes it to
// glfwCreateWindowSurface; the go-gl binding's Window.CreateWindowSurface
// takes it as its interface{} argument, which must hold a pointer). It points to
// driver memory and must never be dereferenced; it is only for window
// integration (vkio's API otherwise shows no Vulkan object).
func (d *Device) WindowInstance() *byte { return d.vd.InstancePointer() }

// SurfaceAt returns the VkSurfaceKHR handle stored at address p, for the
// go-gl GLFW binding's Window.CreateWindowSurface, which returns the address
// of a Go variable holding the surface rather than the surface.
//
// Deprecated: nothing keeps that variable alive once CreateWindowSurface has
// returned, so the collector may have freed it before SurfaceAt reads it.
// Use package github.com/vkio/vkio/window (Window.Surface), which calls
// glfwCreateWindowSurface with a variable it owns.
func SurfaceAt(p uintptr) uintptr {
	if p == 0 {
		return 0
	}
	return uintptr(vkx.ReadU64(p))
}

// NewSwapchain takes ownership of surface, a VkSurfaceKHR handle created on
// the device's instance (see WindowInstance), and creates a swapchain of
// width×height for it (the surface's current extent wins where it reports
// one, as X11 windows do). The surface is destroyed by Close, or at once if
// NewSwapchain fails. The device's queue family must be able to present to
// the surface (ErrUnsupported otherwise).
func (d *Device) NewSwapchain(surface uintptr, width, height int, opts *SwapchainOptions) (*Swapchain, error) {
	const op = "new swapchain"
	if surface == 0 {
		return nil, errf(op, ErrInvalid, "no surface")
	}
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	if len(d.opts.WindowExtensions) == 0 {
		return nil, errf(op, ErrUnsupported, "the device was opened without Options.WindowExtensions (no VK_KHR_swapchain)")
	}
	s := &Swapchain{d: d, w: width, h: height}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.AcquireTimeout <= 0 {
		s.opts.AcquireTimeout = 5 * time.Second
	}
	vs, err := d.vd.NewSwapchain(uint64(surface))
	if err != nil {
		return nil, wrap(op, err)
	}
	s.vs = vs
	if _, err := vs.Create(width, height, s.opts.VSync); err != nil {
		vs.Destroy()
		return nil, wrap(op, err)
	}
	if err := d.track(s); err != nil {
		vs.Destroy()
		return nil, err
	}
	return s, nil
}

// Recreate rebuilds the swapchain for a width×height surface (after a
// resize). It waits for the device to go idle. A surface with no area (a
// minimised window) leaves no swapchain: Present then shows nothing until a
// later Recreate (or Present, which retries) finds the surface usable.
func (s *Swapchain) Recreate(width, height int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errf("recreate swapchain", ErrClosed, "swapchain is closed")
	}
	if err := s.d.enter("recreate swapchain"); err != nil {
		return err
	}
	defer s.d.leave()
	s.w, s.h = width, height
	return s.recreateLocked()
}

func (s *Swapchain) recreateLocked() error {
	s.stale = false
	if _, err := s.vs.Create(s.w, s.h, s.opts.VSync); err != nil {
		return wrap("recreate swapchain", err)
	}
	return nil
}

// Present shows the width×height pixels of src, in format, rows tightly
// packed, in the window: it acquires a swapchain image, copies the pixels
// into it (converting the format and scaling to the swapchain's size with a
// blit) and queues it for presentation. It returns once the GPU has copied
// the pixels, so src may be rewritten at once; the copy is ordered after
// every submission made earlier on the device (a compute batch writing src
// need not have been awaited).
//
// A swapchain that is out of date (the window was resized) or suboptimal is
// recreated at the surface's current size and the present retried once;
// ErrOutOfDate is returned only if that fails too. A window with no area
// shows nothing and Present returns nil.
func (s *Swapchain) Present(src *Buffer, width, height int, format PixelFormat) error {
	const op = "present"
	vf, ok := format.vk()
	if !ok {
		return errf(op, ErrInvalid, "unknown pixel format %d", int(format))
	}
	if width <= 0 || height <= 0 {
		return errf(op, ErrInvalid, "frame size %dx%d", width, height)
	}
	if src == nil || src.d != s.d {
		return errf(op, ErrInvalid, "buffer is nil or belongs to another device")
	}
	if err := src.checkRange(op, 0, 4*width*height); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errf(op, ErrClosed, "swapchain is closed")
	}
	if err := s.d.enter(op); err != nil {
		return err
	}
	defer s.d.leave()
	// The buffer is in use until Present returns: its Close fails with
	// ErrBusy meanwhile.
	if !src.use.tryUse() {
		return errf(op, ErrClosed, "buffer is closed")
	}
	defer src.use.release()
	for attempt := 0; ; attempt++ {
		if s.stale {
			if err := s.recreateLocked(); err != nil {
				return err
			}
		}
		if w, _ := s.vs.Extent(); w == 0 {
			// No swapchain: a minimised window, or one that could not be made.
			if err := s.recreateLocked(); err != nil {
				return err
			}
			if w, _ := s.vs.Extent(); w == 0 {
				return nil
			}
		}
		suboptimal, err := s.vs.Present(src.vb, width, height, vf, s.opts.AcquireTimeout, s.d.presentWaits(src))
		var ce *vkx.CallError
		if errors.As(err, &ce) && ce.Code == vkx.ErrorOutOfDate {
			s.stale = true
			if attempt == 0 {
				continue
			}
			return &Error{Op: op, Call: ce.Op, Result: int32(ce.Code), Detail: "recreated and retried", Err: ErrOutOfDate}
		}
		if err != nil {
			return wrap(op, err)
		}
		s.shown++
		s.stale = suboptimal
		return nil
	}
}

// Size returns the swapchain images' size (0×0 while the window has no area).
func (s *Swapchain) Size() (width, height int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, 0
	}
	return s.vs.Extent()
}

// Format returns the swapchain images' pixel format (0 if it is neither
// RGBA8 nor BGRA8; Present converts either way).
func (s *Swapchain) Format() PixelFormat {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	switch s.vs.Format() {
	case vkx.FormatRGBA8:
		return RGBA8
	case vkx.FormatBGRA8:
		return BGRA8
	}
	return 0
}

// PresentMode names the present mode in use: "fifo", "mailbox" or
// "immediate".
func (s *Swapchain) PresentMode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ""
	}
	switch s.vs.PresentMode() {
	case vkx.PresentFIFO:
		return "fifo"
	case vkx.PresentMailbox:
		return "mailbox"
	case vkx.PresentImmediate:
		return "immediate"
	}
	return fmt.Sprintf("mode %d", s.vs.PresentMode())
}

// Presented returns how many frames Present has shown.
func (s *Swapchain) Presented() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shown
}

// Close waits for the device to go idle and destroys the swapchain and the
// surface. A second Close returns nil. Device.Close closes swapchains still
// open (a Close racing it returns nil; one of them destroys the swapchain).
func (s *Swapchain) Close() error {
	if s.d.claim(s) {
		defer s.d.leave()
		s.destroy()
	}
	return nil
}

func (s *Swapchain) destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.vs.Destroy()
}

// presentWaits is what a Present of src waits for on the GPU, on a device
// with two lanes: the transfer lane's last write of src (see
// Device.laneWaits; the present's copy runs on the compute queue and only
// reads src). Present waits for its copy on the host before it returns, so
// it records no read of src: a later write on the other lane comes after
// the copy has completed.
func (d *Device) presentWaits(src *Buffer) (w waitSet) {
	if len(d.lanes) > 1 {
		for i := 1; i < len(d.lanes); i++ {
			w[i] = src.lanes.wrote[i].Load()
		}
	}
	return w
}
