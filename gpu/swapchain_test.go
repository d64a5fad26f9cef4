package gpu

import (
	"errors"
	"testing"
)

// Presentation itself is tested with a real window under Xvfb in package
// github.com/vkio/vkio/window (which links GLFW); here only what needs no window system.

func TestSwapchainNeedsWindowExtensions(t *testing.T) {
	d, _ := open(t, Options{})
	if _, err := d.NewSwapchain(1, 64, 64, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("NewSwapchain on a compute-only device: %v, want ErrUnsupported", err)
	}
	if _, err := d.NewSwapchain(0, 64, 64, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewSwapchain without a surface: %v, want ErrInvalid", err)
	}
	if d.WindowInstance() == nil {
		t.Fatal("WindowInstance is nil")
	}
}

func TestWindowExtensionsUnknown(t *testing.T) {
	_, err := Open(Options{Validation: true, WindowExtensions: []string{"VK_KHR_no_such_surface"}})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Open with an unknown window extension: %v, want ErrUnsupported", err)
	}
}

func TestPixelFormat(t *testing.T) {
	if RGBA8.String() != "RGBA8" || BGRA8.String() != "BGRA8" || PixelFormat(7).String() != "PixelFormat(7)" {
		t.Fatal("PixelFormat.String")
	}
	if SurfaceAt(0) != 0 {
		t.Fatal("SurfaceAt(0) != 0")
	}
}
