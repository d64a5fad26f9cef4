//go:build !nowindow

// Package window opens desktop windows (GLFW, X11 on Linux) that show
// vkio's GPU output through a Vulkan swapchain (gpu.Swapchain).
//
// It is the only package of vkio that imports GLFW
// (github.com/go-gl/glfw/v3.3/glfw), and so the only one that links libX11
// and needs the X11 development headers to build: the compute path (gpu,
// tasks, io, shaders) never imports it. The vkdemo CLI imports it for its
// `window` command unless built with the `nowindow` tag, which also leaves
// this package out (so `go build -tags nowindow ./...` needs no X11
// headers).
//
// GLFW is not thread-safe: Init, every Window method (except PostKey and
// RequestSize) and Terminate must be called from one goroutine, locked to
// its OS thread (runtime.LockOSThread).
//
// Typical use:
//
//	runtime.LockOSThread()
//	if err := window.Init(); err != nil { ... }      // needs $DISPLAY
//	defer window.Terminate()
//	exts, _ := window.InstanceExtensions()
//	dev, _ := gpu.Open(gpu.Options{WindowExtensions: exts})
//	win, _ := window.New(window.Options{Title: "demo", Width: 640, Height: 480})
//	defer win.Close()
//	sc, _ := win.NewSwapchain(dev, nil)
//	for !win.ShouldClose() {
//		for _, ev := range win.Poll() { ... }
//		... render into a buffer ...; sc.Present(buf, w, h, gpu.RGBA8)
//	}
package window

/*
#include <stdint.h>

// glfwCreateWindowSurface comes from GLFW's C sources, which package glfw
// compiles into the binary; declared here with ABI-identical types (VkResult
// is an int32 enum, VkInstance and GLFWwindow* are pointers, VkSurfaceKHR is
// 64 bits), so that the surface lands in memory this package owns.
typedef struct GLFWwindow GLFWwindow;
extern int32_t glfwCreateWindowSurface(void *instance, GLFWwindow *window, const void *allocator, uint64_t *surface);

static int32_t vkio_create_window_surface(void *instance, void *window, uint64_t *surface) {
	return glfwCreateWindowSurface(instance, (GLFWwindow *)window, 0, surface);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/vkio/vkio/gpu"
)

// ErrNoVulkan reports that GLFW found no Vulkan loader or no way to make
// Vulkan surfaces for its windows.
var ErrNoVulkan = errors.New("window: no Vulkan surface support")

var (
	mu     sync.Mutex
	inited bool
)

// Init initialises GLFW (on X11 it connects to $DISPLAY). Call it once,
// from the goroutine that will make every other call; Terminate undoes it.
func Init() error {
	mu.Lock()
	defer mu.Unlock()
	if inited {
		return nil
	}
	if err := glfw.Init(); err != nil {
		return fmt.Errorf("window: %w", err)
	}
	if !glfw.VulkanSupported() {
		glfw.Terminate()
		return ErrNoVulkan
	}
	inited = true
	return nil
}

// Terminate destroys every window left and releases GLFW.
func Terminate() {
	mu.Lock()
	defer mu.Unlock()
	if inited {
		glfw.Terminate()
		inited = false
	}
}

// InstanceExtensions returns the Vulkan instance extensions windows need
// (VK_KHR_surface and the platform's, e.g. VK_KHR_xcb_surface): pass them as
// gpu.Options.WindowExtensions. Init must have been called.
func InstanceExtensions() ([]string, error) {
	// The binding hangs the function on *Window but never uses the receiver.
	var w *glfw.Window
	exts := w.GetRequiredInstanceExtensions()
	if len(exts) == 0 {
		return nil, ErrNoVulkan
	}
	return exts, nil
}

// Options configure New.
type Options struct {
	Title         string
	Width, Height int // client area in screen coordinates (default 640×480)
	// Fixed makes the window non-resizable.
	Fixed bool
	// X, Y place the window (default: the top-left corner of the screen,
	// which is where screenshots of a window manager-less X server find it).
	X, Y int
}

// Key is a key the demo understands.
type Key int

// Keys reported by Poll.
const (
	KeyOther Key = iota
	KeySpace
	KeyRight
	KeyLeft
	KeyEscape
	KeyEnter
	KeyA // KeyA..KeyZ are the letters, in order
)

// Letter returns the key of lower-case letter c ('a'..'z').
func Letter(c rune) Key {
	if c < 'a' || c > 'z' {
		return KeyOther
	}
	return KeyA + Key(c-'a')
}

// String names the key.
func (k Key) String() string {
	switch {
	case k == KeySpace:
		return "space"
	case k == KeyRight:
		return "right"
	case k == KeyLeft:
		return "left"
	case k == KeyEscape:
		return "escape"
	case k == KeyEnter:
		return "enter"
	case k >= KeyA && k <= KeyA+25:
		return string(rune('a' + int(k-KeyA)))
	}
	return "other"
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// KeyPress: a key went down (or repeats while held).
	KeyPress EventKind = iota + 1
	// Resize: the framebuffer changed size (Width, Height in pixels; 0×0
	// when minimised).
	Resize
	// CloseRequest: the user asked to close the window.
	CloseRequest
)

// Event is one input event.
type Event struct {
	Kind          EventKind
	Key           Key
	Width, Height int
}

// Window is a GLFW window without an OpenGL context (ClientAPI NoAPI), for
// Vulkan presentation.
type Window struct {
	w *glfw.Window

	mu       sync.Mutex // guards the fields below (PostKey, RequestSize)
	events   []Event
	resizeTo [2]int // pending RequestSize, 0×0 for none
}

// New opens a window. Init must have been called.
func New(opts Options) (*Window, error) {
	if opts.Width <= 0 {
		opts.Width = 640
	}
	if opts.Height <= 0 {
		opts.Height = 480
	}
	glfw.DefaultWindowHints()
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI)
	resizable := glfw.True
	if opts.Fixed {
		resizable = glfw.False
	}
	glfw.WindowHint(glfw.Resizable, resizable)
	gw, err := glfw.CreateWindow(opts.Width, opts.Height, opts.Title, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("window: %w", err)
	}
	gw.SetPos(opts.X, opts.Y)
	w := &Window{w: gw}
	gw.SetKeyCallback(func(_ *glfw.Window, key glfw.Key, _ int, action glfw.Action, _ glfw.ModifierKey) {
		if action == glfw.Release {
			return
		}
		w.push(Event{Kind: KeyPress, Key: keyOf(key)})
	})
	gw.SetFramebufferSizeCallback(func(_ *glfw.Window, width, height int) {
		w.push(Event{Kind: Resize, Width: width, Height: height})
	})
	gw.SetCloseCallback(func(*glfw.Window) { w.push(Event{Kind: CloseRequest}) })
	return w, nil
}

func keyOf(k glfw.Key) Key {
	switch {
	case k == glfw.KeySpace:
		return KeySpace
	case k == glfw.KeyRight:
		return KeyRight
	case k == glfw.KeyLeft:
		return KeyLeft
	case k == glfw.KeyEscape:
		return KeyEscape
	case k == glfw.KeyEnter || k == glfw.KeyKPEnter:
		return KeyEnter
	case k >= glfw.KeyA && k <= glfw.KeyZ:
		return KeyA + Key(k-glfw.KeyA)
	}
	return KeyOther
}

func (w *Window) push(e Event) {
	w.mu.Lock()
	w.events = append(w.events, e)
	w.mu.Unlock()
}

// PostKey queues a key press as if it had been typed, and wakes a Wait. It
// may be called from any goroutine (tests and automation use it).
func (w *Window) PostKey(k Key) {
	w.push(Event{Kind: KeyPress, Key: k})
	glfw.PostEmptyEvent()
}

// RequestSize asks for the window to be resized to width×height; the
// next Poll applies it (the Resize event follows once the window system has
// done it). It may be called from any goroutine.
func (w *Window) RequestSize(width, height int) {
	w.mu.Lock()
	w.resizeTo = [2]int{width, height}
	w.mu.Unlock()
	glfw.PostEmptyEvent()
}

// Poll processes pending window-system events without blocking and returns
// the events since the previous call.
func (w *Window) Poll() []Event {
	w.applyResize()
	glfw.PollEvents()
	return w.take()
}

// Wait is Poll, but blocks until there is an event or timeout seconds
// have passed.
func (w *Window) Wait(timeout float64) []Event {
	w.applyResize()
	if w.pending() {
		glfw.PollEvents()
	} else {
		glfw.WaitEventsTimeout(timeout)
	}
	return w.take()
}

func (w *Window) pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events) > 0
}

func (w *Window) applyResize() {
	w.mu.Lock()
	r := w.resizeTo
	w.resizeTo = [2]int{}
	w.mu.Unlock()
	if r[0] > 0 && r[1] > 0 {
		w.w.SetSize(r[0], r[1])
	}
}

func (w *Window) take() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.events
	w.events = nil
	return ev
}

// ShouldClose reports whether the user asked to close the window.
func (w *Window) ShouldClose() bool { return w.w.ShouldClose() }

// SetTitle sets the window's title.
func (w *Window) SetTitle(title string) { w.w.SetTitle(title) }

// FramebufferSize returns the window's size in pixels.
func (w *Window) FramebufferSize() (width, height int) { return w.w.GetFramebufferSize() }

// Surface creates a VkSurfaceKHR for the window on dev's instance and
// returns its handle, for gpu.Device.NewSwapchain (which takes ownership).
// dev must have been opened with InstanceExtensions as
// gpu.Options.WindowExtensions.
func (w *Window) Surface(dev *gpu.Device) (uintptr, error) {
	// The binding's Window.CreateWindowSurface returns the address of a Go
	// variable holding the handle, which nothing keeps alive once it has
	// returned. Calling GLFW directly, the handle is written into surface,
	// a variable of this frame (a Go pointer to pointer-free memory, which
	// cgo lets C write during the call), and read from it.
	inst := dev.WindowInstance()
	if inst == nil || w.w == nil {
		return 0, errors.New("window: no Vulkan instance, or the window is closed")
	}
	var surface C.uint64_t
	r := C.vkio_create_window_surface(unsafe.Pointer(inst), w.w.Handle(), &surface)
	runtime.KeepAlive(w)
	if r != 0 {
		return 0, fmt.Errorf("window: glfwCreateWindowSurface: VkResult %d", int32(r))
	}
	return uintptr(surface), nil
}

// NewSwapchain creates a surface for the window and a swapchain of the
// window's framebuffer size on dev.
func (w *Window) NewSwapchain(dev *gpu.Device, opts *gpu.SwapchainOptions) (*gpu.Swapchain, error) {
	s, err := w.Surface(dev)
	if err != nil {
		return nil, err
	}
	fw, fh := w.FramebufferSize()
	return dev.NewSwapchain(s, fw, fh, opts)
}

// Close destroys the window. Swapchains made for it must be closed first.
func (w *Window) Close() {
	if w.w != nil {
		w.w.Destroy()
		w.w = nil
	}
}
