package main

import (
	"path/filepath"
	"testing"
)

// TestServeDeviceLanes: serve --devices 0,0 --trace draws each device's
// dispatches on its own GPU lane ("device 0", "device 1"), not all on
// "queue 0"; one device keeps "queue 0".
func TestServeDeviceLanes(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		lanes []string
	}{
		{"one", nil, []string{"queue 0"}},
		{"set", []string{"--devices", "0,0"}, []string{"device 0", "device 1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "serve.json")
			srv := startServe(t, nil, append([]string{"--trace", trace}, c.args...)...)
			serveDevicesJobs(t, srv)
			srv.stop(t)
			gpu := gpuLaneSpans(t, trace)
			if len(gpu) != len(c.lanes) {
				t.Fatalf("GPU spans by lane %v, want lanes %q", gpu, c.lanes)
			}
			for _, l := range c.lanes {
				if gpu[l] == 0 {
					t.Errorf("no GPU span on lane %q: %v", l, gpu)
				}
			}
		})
	}
}

// gpuLaneSpans counts the trace's GPU spans by lane.
func gpuLaneSpans(t *testing.T, p string) map[string]int {
	t.Helper()
	return laneCounts(t, p, "GPU")
}
