//go:build linux && cgo

package vkx

/*
#include "wsi.h"
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"time"
	"unsafe"
)

// SwapchainExtension is the device extension for presentation.
const SwapchainExtension = "VK_KHR_swapchain"

// VkResult values of window-system integration.
const (
	Suboptimal         Result = 1000001003
	ErrorOutOfDate     Result = -1000001004
	ErrorSurfaceLost   Result = -1000000000
	ErrorNativeWindow  Result = -1000000001
	ErrorFullScreenExc Result = -1000255000
)

func init() {
	resultNames[Suboptimal] = "VK_SUBOPTIMAL_KHR"
	resultNames[ErrorOutOfDate] = "VK_ERROR_OUT_OF_DATE_KHR"
	resultNames[ErrorSurfaceLost] = "VK_ERROR_SURFACE_LOST_KHR"
	resultNames[ErrorNativeWindow] = "VK_ERROR_NATIVE_WINDOW_IN_USE_KHR"
	resultNames[ErrorFullScreenExc] = "VK_ERROR_FULL_SCREEN_EXCLUSIVE_MODE_LOST_EXT"
}

// Formats (VkFormat) of presentable pixels.
const (
	FormatRGBA8 = 37 // VK_FORMAT_R8G8B8A8_UNORM
	FormatBGRA8 = 44 // VK_FORMAT_B8G8R8A8_UNORM
)

// Present modes (VkPresentModeKHR).
const (
	PresentImmediate = 0
	PresentMailbox   = 1
	PresentFIFO      = 2
)

// ReadU64 returns the 64-bit value stored at address p (C memory, or Go
// memory kept alive by the caller). GLFW's CreateWindowSurface returns the
// address of the VkSurfaceKHR it created rather than the handle.
func ReadU64(p uintptr) uint64 { return uint64(C.vkio_read_u64(C.uintptr_t(p))) }

// InstancePointer returns the VkInstance as a Go pointer type, for window
// libraries that take it as an interface{} holding a pointer. It points to
// driver memory and must never be dereferenced.
func (d *Device) InstancePointer() *byte { return as[*byte](h(d.inst.inst)) }

// Swapchain is a VkSurfaceKHR (owned), its VkSwapchainKHR and what
// presenting a buffer needs; the state lives in C memory.
type Swapchain struct {
	d *Device
	w *C.vkio_wsi
	// pending: a submission's fence has not been waited for yet.
	pending bool
}

func wsiErr(what *C.char, r C.VkResult) error {
	return &CallError{Op: C.GoString(what), Code: Result(r)}
}

// NewSwapchain takes ownership of surface (destroyed by Destroy, and on
// failure) and creates the presentation state for it; Create then makes the
// swapchain itself. The device must have been created with Swapchain.
func (d *Device) NewSwapchain(surface uint64) (*Swapchain, error) {
	if !d.swapchain {
		return nil, errors.Join(ErrUnsupported, errors.New("the device was created without "+SwapchainExtension))
	}
	w := (*C.vkio_wsi)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vkio_wsi{}))))
	s := &Swapchain{d: d, w: w}
	var what *C.char
	r := C.vkio_wsi_init(w, as[C.VkInstance](h(d.inst.inst)), as[C.VkPhysicalDevice](h(d.Phys.pd)),
		as[C.VkDevice](h(d.dev)), as[C.VkQueue](h(d.queue)), C.uint32_t(d.Phys.QueueFamily), C.uint64_t(surface), &what)
	if r != C.VK_SUCCESS {
		err := wsiErr(what, r)
		s.Destroy()
		return nil, err
	}
	return s, nil
}

// Create (re)creates the swapchain for a width×height surface; the
// surface's own extent wins where it reports one. It waits for the device
// to go idle first. ok is false when the surface has no area (a minimised
// window): there is no swapchain until a later Create succeeds.
func (s *Swapchain) Create(width, height int, vsync bool) (ok bool, err error) {
	if err := s.d.WaitIdle(); err != nil {
		return false, err
	}
	if err := s.settle(); err != nil {
		return false, err
	}
	v := C.int(0)
	if vsync {
		v = 1
	}
	var what *C.char
	r := C.vkio_wsi_create(s.w, C.uint32_t(max(width, 0)), C.uint32_t(max(height, 0)), v, &what)
	switch r {
	case C.VK_SUCCESS:
		return true, nil
	case C.VK_NOT_READY:
		return false, nil
	}
	return false, wsiErr(what, r)
}

// settle waits for the last submission's fence, if any.
func (s *Swapchain) settle() error {
	if !s.pending {
		return nil
	}
	// The fence signals the copy's end; the 10 s bound is no poll, only
	// an error for a GPU that never finishes a one-image copy.
	r := C.vkio_wsi_wait(s.w, C.uint64_t(10*time.Second))
	if r != C.VK_SUCCESS {
		return &CallError{Op: "vkWaitForFences", Code: Result(r)}
	}
	s.pending = false
	return nil
}

// Present shows the w×h pixels of src (tightly packed, in format) in the
// next swapchain image, scaled to the swapchain's extent, and waits until
// the GPU has copied them (so src may be rewritten when it returns). The
// image acquisition waits up to timeout. suboptimal reports a presented
// frame whose swapchain should be recreated; a *CallError with
// ErrorOutOfDate means the frame was not shown: Create, then Present again.
//
// waits[i] > 0 makes the copy wait, on the GPU, for lane i's timeline to
// reach that value (a write of src on another lane); the compute lane's
// (index 0, the queue presenting) is ignored.
func (s *Swapchain) Present(src *Buffer, w, h int, format int, timeout time.Duration, waits [MaxLanes]uint64) (suboptimal bool, err error) {
	if err := s.settle(); err != nil {
		return false, err
	}
	var what *C.char
	var index C.uint32_t
	r := C.vkio_wsi_prepare(s.w, C.uint64_t(src.buf), C.uint32_t(w), C.uint32_t(h), C.VkFormat(format),
		C.uint64_t(max(timeout, 0)), &index, &what)
	if r != C.VK_SUCCESS && r != C.VK_SUBOPTIMAL_KHR {
		return false, wsiErr(what, r)
	}
	sub := r == C.VK_SUBOPTIMAL_KHR
	var submitted C.int
	r = s.submit(index, waits, &submitted, &what)
	if submitted != 0 {
		s.pending = true
		if err := s.settle(); err != nil {
			return false, err
		}
	}
	switch r {
	case C.VK_SUCCESS:
		return sub, nil
	case C.VK_SUBOPTIMAL_KHR:
		return true, nil
	}
	return false, wsiErr(what, r)
}

// Extent returns the swapchain's size in pixels (0×0 without a swapchain).
func (s *Swapchain) Extent() (w, h int) {
	if s.w.swapchain == nil {
		return 0, 0
	}
	return int(s.w.extent.width), int(s.w.extent.height)
}

// Format returns the swapchain images' VkFormat.
func (s *Swapchain) Format() int { return int(s.w.format) }

// PresentMode returns the VkPresentModeKHR in use.
func (s *Swapchain) PresentMode() int { return int(s.w.mode) }

// Images returns the number of swapchain images.
func (s *Swapchain) Images() int { return int(s.w.n_images) }

// Destroy waits for the device to go idle and destroys the swapchain, its
// objects and the surface.
func (s *Swapchain) Destroy() {
	if s.w == nil {
		return
	}
	_ = s.d.WaitIdle()
	s.pending = false
	C.vkio_wsi_destroy(s.w)
	C.free(unsafe.Pointer(s.w))
	s.w = nil
}

// submit queues the copy to swapchain image index and its present, under
// the queue lock.
func (s *Swapchain) submit(index C.uint32_t, waits [MaxLanes]uint64, submitted *C.int, what **C.char) C.VkResult {
	var sem, value C.uint64_t
	for i, v := range waits {
		if i > 0 && v > 0 && i < len(s.d.Lanes) {
			sem, value = C.uint64_t(s.d.Lanes[i].timeline), C.uint64_t(v)
		}
	}
	s.d.QueueMu.Lock()
	defer s.d.QueueMu.Unlock()
	return C.vkio_wsi_submit(s.w, index, sem, value, submitted, what)
}
