package gpu

import (
	"errors"
	"fmt"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
)

// Sentinel errors. Every error from this package is an *Error whose Err is
// one of these (or wraps io.ErrCanceled), so callers test with errors.Is.
var (
	// ErrDeviceLost: VK_ERROR_DEVICE_LOST. The device is unusable; close it.
	ErrDeviceLost = errors.New("gpu: device lost")
	// ErrOutOfMemory: VK_ERROR_OUT_OF_DEVICE_MEMORY or _OUT_OF_HOST_MEMORY.
	ErrOutOfMemory = errors.New("gpu: out of memory")
	// ErrTimeout: a fence or timeline wait passed Options.WaitTimeout.
	ErrTimeout = errors.New("gpu: wait timed out")
	// ErrValidation: the validation layer reported a message.
	ErrValidation = errors.New("gpu: validation error")
	// ErrBadSPIRV: a SPIR-V module is malformed, truncated, or uses
	// something vkio does not support.
	ErrBadSPIRV = errors.New("gpu: bad SPIR-V")
	// ErrBinding: the buffers given to a dispatch do not match the kernel's
	// bindings (count, kind, size), or push constants do not match.
	ErrBinding = errors.New("gpu: binding mismatch")
	// ErrInvalid: an invalid argument (zero size, out-of-range offset, ...).
	ErrInvalid = errors.New("gpu: invalid argument")
	// ErrLimit: a request beyond the device's limits (workgroup count,
	// workgroup size, push-constant size, buffer range).
	ErrLimit = errors.New("gpu: beyond device limits")
	// ErrNoDevice: no Vulkan device, or the requested one does not exist.
	ErrNoDevice = errors.New("gpu: no such device")
	// ErrUnsupported: the device or system lacks a required feature (the
	// Vulkan loader, the validation layer, timeline semaphores, ...).
	ErrUnsupported = errors.New("gpu: unsupported")
	// ErrBusy: the object is in use by GPU work that has not completed.
	ErrBusy = errors.New("gpu: in use by pending GPU work")
	// ErrClosed: the device or object has been closed.
	ErrClosed = errors.New("gpu: closed")
	// ErrNotMapped: host access to a buffer that is not host-visible.
	ErrNotMapped = errors.New("gpu: buffer is not host-mapped")
	// ErrVulkan: any other Vulkan failure; Error.Result holds the code.
	ErrVulkan = errors.New("gpu: vulkan error")
)

// Error is an error from package gpu.
type Error struct {
	Op     string // what vkio was doing: "open", "submit", "dispatch", ...
	Call   string // the Vulkan function that failed, if any
	Result int32  // its VkResult, if any (0 otherwise)
	Detail string // human-readable specifics
	Err    error  // a sentinel above, or an io cancellation error
}

// Error formats the operation, the failing Vulkan call and result, and the details.
func (e *Error) Error() string {
	s := "gpu: " + e.Op
	if e.Call != "" {
		s += ": " + e.Call + ": " + vkx.Result(e.Result).String()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil && e.Call == "" {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

func errf(op string, sentinel error, format string, args ...any) *Error {
	return &Error{Op: op, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}

// classify maps a VkResult to a sentinel.
func classify(r vkx.Result) error {
	switch r {
	case vkx.ErrorDeviceLost:
		return ErrDeviceLost
	case vkx.ErrorOutOfDeviceMemory, vkx.ErrorOutOfHostMemory, vkx.ErrorOutOfPoolMemory, vkx.ErrorTooManyObjects:
		return ErrOutOfMemory
	case vkx.Timeout:
		return ErrTimeout
	case vkx.ErrorLayerNotPresent, vkx.ErrorExtensionNotPresent, vkx.ErrorFeatureNotPresent, vkx.ErrorIncompatibleDriver:
		return ErrUnsupported
	case vkx.ErrorInvalidShader:
		return ErrBadSPIRV
	}
	return ErrVulkan
}

// wrap turns an error of the internal layer into an *Error.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) {
		return err
	}
	var ce *vkx.CallError
	if errors.As(err, &ce) {
		return &Error{Op: op, Call: ce.Op, Result: int32(ce.Code), Err: classify(ce.Code)}
	}
	var pe *vkx.PanicError
	if errors.As(err, &pe) {
		// vulkan-go panicked (recovered in vkx): a failed C allocation is
		// out of memory, anything else a Vulkan failure.
		sentinel := ErrVulkan
		if pe.OutOfMemory() {
			sentinel = ErrOutOfMemory
		}
		return &Error{Op: op, Detail: fmt.Sprintf("panic in vulkan-go: %v", pe.Value), Err: sentinel}
	}
	switch {
	case errors.Is(err, vkx.ErrLoader), errors.Is(err, vkx.ErrUnsupported):
		return &Error{Op: op, Detail: err.Error(), Err: ErrUnsupported}
	case errors.Is(err, io.ErrCanceled):
		return &Error{Op: op, Err: err}
	}
	return &Error{Op: op, Detail: err.Error(), Err: ErrVulkan}
}

func canceled(op string) error {
	return &Error{Op: op, Detail: "wait canceled; the GPU work is still tracked to completion", Err: io.ErrCanceled}
}
