// Package gputest holds what tests of packages built on github.com/vkio/vkio/gpu share: the
// test-binary set-up (Main) and a device opened with the Khronos validation
// layer on, whose messages fail the test (Open).
package gputest

import (
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/vkio/vkio/gpu"
)

// Main runs a package's tests the way vkio runs every Vulkan test: with a
// runtime directory for the loader (it prints noise without one), with
// VKIO_VALIDATION=1 so that devices opened through gpu.OptionsFromEnv (as
// examples do) have the validation layer on, and failing the binary if a
// goroutine leaks. Call it from TestMain. (gpu.Open itself reads no
// environment: tests open devices with Open below, or set
// Options.Validation.)
func Main(m *testing.M) {
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		if dir, err := os.MkdirTemp("", "vkio-runtime-"); err == nil {
			os.Setenv("XDG_RUNTIME_DIR", dir)
			defer os.RemoveAll(dir)
		}
	}
	os.Setenv("VKIO_VALIDATION", "1")
	goleak.VerifyTestMain(m)
}

// Open opens a device with the validation layer and synchronization
// validation on, whatever opts says about them. A device that cannot be
// opened fails the test (it is never skipped: CI has lavapipe). At cleanup
// every GPU object the test made must have been closed, the device is closed
// (the layer reports leaked Vulkan objects there), and any validation message
// fails the test.
func Open(t testing.TB, opts gpu.Options) *gpu.Device {
	t.Helper()
	var mu sync.Mutex
	var msgs []gpu.Message
	opts.Validation, opts.SyncValidation = true, true
	user := opts.OnMessage
	opts.OnMessage = func(m gpu.Message) {
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
		if user != nil {
			user(m)
		}
	}
	d, err := gpu.Open(opts)
	if err != nil {
		t.Fatalf("gpu.Open: %v", err)
	}
	t.Cleanup(func() {
		if n := d.Live(); n != 0 {
			t.Errorf("%d GPU objects still open at the end of the test", n)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			t.Errorf("validation message: %s", m)
		}
	})
	return d
}
