package batcher_test

import (
	"fmt"
	"testing"

	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/tasks"
)

// The Recorder's spans are on the default lanes ("queue 0" on the GPU,
// "gpu batcher" on the CPU) unless Options.Lane names them: "device 1"
// and "device 1 batcher".
func TestLane(t *testing.T) {
	for _, c := range []struct{ lane, gpuLane, cpuLane string }{
		{"", batcher.DefaultGPULane, batcher.DefaultCPULane},
		{"device 1", "device 1", "device 1 batcher"},
	} {
		t.Run(fmt.Sprintf("%q", c.lane), func(t *testing.T) {
			x, d, k := setup(t)
			rec := tasks.NewRecorder()
			bt := batcher.New(d, batcher.Options{Recorder: rec, Lane: c.lane})
			stop := start(t, x, bt)
			j := newSaxpyJob(t, x, d, 2, 256)
			const runs = 3
			for i := range runs {
				disp := j.dispatch(k)
				disp.Name = fmt.Sprintf("run %d", i)
				if _, err := bt.Do(x, disp); err != nil {
					t.Fatal(err)
				}
			}
			stop()
			j.check(t, x, runs)
			lanes := map[tasks.Resource]map[string]int{tasks.GPU: {}, tasks.CPU: {}}
			for _, s := range rec.Spans() {
				lanes[s.Res][s.Lane]++
			}
			if len(lanes[tasks.GPU]) != 1 || lanes[tasks.GPU][c.gpuLane] != runs {
				t.Errorf("GPU spans by lane %v, want %d on %q", lanes[tasks.GPU], runs, c.gpuLane)
			}
			if len(lanes[tasks.CPU]) != 1 || lanes[tasks.CPU][c.cpuLane] < 2*runs {
				t.Errorf("CPU spans by lane %v, want record+submit and fence wait spans on %q", lanes[tasks.CPU], c.cpuLane)
			}
		})
	}
}
