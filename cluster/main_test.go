package cluster

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them (workers,
// heartbeats, watchers, connections, the embedded server).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
