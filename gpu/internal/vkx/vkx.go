//go:build linux && cgo

// Package vkx is vkio's thin layer over Vulkan: the only package with cgo,
// unsafe and vulkan-go types. It loads the Vulkan loader itself
// (libvulkan.so.1, then libvulkan.so), initialises vulkan-go, and adds C
// shims for what vulkan-go lacks (Vulkan 1.2 timeline semaphores, calibrated
// timestamps) or makes slow (the submit/wait hot path). Every failing Vulkan
// call comes back as a *CallError carrying the VkResult.
//
// Handles of non-dispatchable objects are kept as uint64 and only turned into
// vulkan-go's pointer-typed handles at call sites, so the garbage collector
// never scans driver values in pointer slots of long-lived structs.
package vkx

/*
#cgo CFLAGS: -O2
#cgo LDFLAGS: -ldl
#include "shim.h"
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Result is a VkResult.
type Result int32

// VkResult values used by vkio.
const (
	Success                   Result = 0
	NotReady                  Result = 1
	Timeout                   Result = 2
	Incomplete                Result = 5
	ErrorOutOfHostMemory      Result = -1
	ErrorOutOfDeviceMemory    Result = -2
	ErrorInitializationFailed Result = -3
	ErrorDeviceLost           Result = -4
	ErrorMemoryMapFailed      Result = -5
	ErrorLayerNotPresent      Result = -6
	ErrorExtensionNotPresent  Result = -7
	ErrorFeatureNotPresent    Result = -8
	ErrorIncompatibleDriver   Result = -9
	ErrorTooManyObjects       Result = -10
	ErrorFormatNotSupported   Result = -11
	ErrorFragmentedPool       Result = -12
	ErrorUnknown              Result = -13
	ErrorOutOfPoolMemory      Result = -1000069000
	ErrorInvalidShader        Result = -1000012000
)

var resultNames = map[Result]string{
	Success:                   "VK_SUCCESS",
	NotReady:                  "VK_NOT_READY",
	Timeout:                   "VK_TIMEOUT",
	Incomplete:                "VK_INCOMPLETE",
	ErrorOutOfHostMemory:      "VK_ERROR_OUT_OF_HOST_MEMORY",
	ErrorOutOfDeviceMemory:    "VK_ERROR_OUT_OF_DEVICE_MEMORY",
	ErrorInitializationFailed: "VK_ERROR_INITIALIZATION_FAILED",
	ErrorDeviceLost:           "VK_ERROR_DEVICE_LOST",
	ErrorMemoryMapFailed:      "VK_ERROR_MEMORY_MAP_FAILED",
	ErrorLayerNotPresent:      "VK_ERROR_LAYER_NOT_PRESENT",
	ErrorExtensionNotPresent:  "VK_ERROR_EXTENSION_NOT_PRESENT",
	ErrorFeatureNotPresent:    "VK_ERROR_FEATURE_NOT_PRESENT",
	ErrorIncompatibleDriver:   "VK_ERROR_INCOMPATIBLE_DRIVER",
	ErrorTooManyObjects:       "VK_ERROR_TOO_MANY_OBJECTS",
	ErrorFormatNotSupported:   "VK_ERROR_FORMAT_NOT_SUPPORTED",
	ErrorFragmentedPool:       "VK_ERROR_FRAGMENTED_POOL",
	ErrorUnknown:              "VK_ERROR_UNKNOWN",
	ErrorOutOfPoolMemory:      "VK_ERROR_OUT_OF_POOL_MEMORY",
	ErrorInvalidShader:        "VK_ERROR_INVALID_SHADER_NV",
}

// String returns the VkResult's name.
func (r Result) String() string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return fmt.Sprintf("VkResult(%d)", int32(r))
}

// CallError is a Vulkan call that returned something other than VK_SUCCESS.
type CallError struct {
	Op       string // the Vulkan function, e.g. "vkQueueSubmit"
	Code     Result
	Injected bool // produced by the fault-injection seam
}

// Error formats the call and its result.
func (e *CallError) Error() string { return e.Op + ": " + e.Code.String() }

// PanicError is a panic raised inside vulkan-go (or vkx's own Go code next
// to a driver call), recovered where vkx made the call, so that it comes
// back as an error instead of unwinding through the caller's locks.
// vulkan-go panics with "memory alloc error: ..." when a C allocation
// fails (as under ulimit -v).
type PanicError struct {
	Op    string // what vkx was doing: "record", "new buffer", ...
	Value any    // the value passed to panic
}

// Error formats the operation and the panic's value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("%s: panic in vulkan-go: %v", e.Op, e.Value)
}

// OutOfMemory reports whether the panic was a failed allocation.
func (e *PanicError) OutOfMemory() bool {
	s, ok := e.Value.(string)
	return ok && strings.HasPrefix(s, "memory alloc error")
}

// recoverTo is deferred by the vkx functions that call into vulkan-go: a
// panic becomes a *PanicError in *err, after undo (if not nil) has released
// what the function had made. A panic inside undo itself is dropped: the
// error already reports the first.
func recoverTo(op string, err *error, undo func()) {
	r := recover()
	if r == nil {
		return
	}
	if undo != nil {
		func() {
			defer func() { _ = recover() }()
			undo()
		}()
	}
	*err = &PanicError{Op: op, Value: r}
}

func check(op string, r vk.Result) error {
	if r == vk.Success {
		return nil
	}
	return &CallError{Op: op, Code: Result(r)}
}

func checkC(op string, r C.VkResult) error {
	if r == C.VK_SUCCESS {
		return nil
	}
	return &CallError{Op: op, Code: Result(r)}
}

// ErrLoader reports that no Vulkan loader could be opened.
var ErrLoader = errors.New("vulkan loader (libvulkan.so.1) not found")

var (
	initOnce sync.Once
	initErr  error
)

// Init loads the Vulkan loader and initialises vulkan-go; it is idempotent.
func Init() error {
	initOnce.Do(func() {
		var cerr *C.char
		p := C.vkio_loader_open(&cerr)
		if p == nil {
			msg := ""
			if cerr != nil {
				msg = C.GoString(cerr)
			}
			initErr = fmt.Errorf("%w: %s", ErrLoader, msg)
			return
		}
		vk.SetGetInstanceProcAddr(p)
		if err := vk.Init(); err != nil {
			initErr = fmt.Errorf("vulkan-go init: %w", err)
		}
	})
	return initErr
}

// h returns the bits of a pointer-sized Vulkan handle.
func h[T any](v T) uint64 {
	return *(*uint64)(unsafe.Pointer(&v))
}

// as turns handle bits back into a vulkan-go handle type.
func as[T any](bits uint64) T {
	return *(*T)(unsafe.Pointer(&bits))
}

// cstr NUL-terminates s for vulkan-go, which passes strings zero-copy.
func cstr(s string) string { return s + "\x00" }

// gostr reads a NUL-terminated name out of a fixed array.
func gostr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// MonotonicNow returns CLOCK_MONOTONIC in nanoseconds.
func MonotonicNow() uint64 { return uint64(C.vkio_monotonic_ns()) }

// Slice views n elements of T starting at byte off of b (which must be
// memory outside the Go heap, such as a mapped buffer, or a Go []byte).
func Slice[T any](b []byte, off, n int) []T {
	if n == 0 {
		return nil
	}
	var zero T
	sz := int(unsafe.Sizeof(zero))
	if off < 0 || n < 0 || off+n*sz > len(b) {
		panic("vkx.Slice: out of range")
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[off])), n)
}

// Bytes views the memory of s as bytes.
func Bytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(zero)))
}

// SizeOf returns the size of T in bytes.
func SizeOf[T any]() int {
	var zero T
	return int(unsafe.Sizeof(zero))
}
