package rl

import (
	"testing"

	"github.com/vkio/vkio/gpu/gputest"
)

// TestMain runs the package's tests as every Vulkan test runs: validation
// on (any message fails the test that opened the device) and no goroutine
// leaked.
func TestMain(m *testing.M) { gputest.Main(m) }
