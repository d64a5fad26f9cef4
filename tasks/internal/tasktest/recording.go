package tasktest

import (
	"slices"
	"testing"

	"github.com/vkio/vkio/tasks"
)

// RecordingMode is one variant that a recording-cost benchmark compares
// with a run that records nothing.
type RecordingMode struct {
	Name     string
	Rec, CPU bool // a Recorder (spans and counter samples); Pipeline.StageCPU
}

// RecordingModes are the variants: off (the baseline), a Recorder, the
// stages' CPU time, and both.
var RecordingModes = []RecordingMode{{"off", false, false}, {"rec", true, false}, {"cpu", false, true}, {"rec+cpu", true, true}}

// BenchRecordingCost runs run(mode) for every one of RecordingModes in
// each iteration, in a rotating order (so that a machine's load drifts on
// all of them alike), and reports for each mode the median over the
// iterations of its wall and process CPU over the "off" run's of the same
// iteration (MODE/off-wall, MODE/off-cpu), and the "off" run's median wall
// (off-wall-ms). Medians of paired ratios keep a loaded machine's outliers
// out.
func BenchRecordingCost(b *testing.B, run func(m RecordingMode) tasks.Report) {
	n := len(RecordingModes)
	wall, cpu := make([][]float64, n), make([][]float64, n)
	i := 0
	for b.Loop() {
		reps := make([]tasks.Report, n)
		for j := range n {
			k := (i + j) % n
			reps[k] = run(RecordingModes[k])
		}
		for k := 1; k < n; k++ {
			wall[k] = append(wall[k], float64(reps[k].Wall)/float64(reps[0].Wall))
			if reps[0].CPUTime > 0 {
				cpu[k] = append(cpu[k], float64(reps[k].CPUTime)/float64(reps[0].CPUTime))
			}
		}
		wall[0] = append(wall[0], float64(reps[0].Wall)/1e6)
		i++
	}
	median := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	for k := 1; k < n; k++ {
		b.ReportMetric(median(wall[k]), RecordingModes[k].Name+"/off-wall")
		if len(cpu[k]) > 0 {
			b.ReportMetric(median(cpu[k]), RecordingModes[k].Name+"/off-cpu")
		}
	}
	b.ReportMetric(median(wall[0]), "off-wall-ms")
}
