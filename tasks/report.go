package tasks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report is the overlap report of a run: how long it took, how busy each
// resource was, and how well the work overlapped. It marshals to JSON with
// durations in milliseconds. A Pipeline's report counts frames, a Graph's
// tasks.
type Report struct {
	Io       string // the Io implementation the run used
	Frames   int    // frames saved (a Pipeline run)
	Tasks    int    // tasks done (a Graph run)
	Failed   int    // frames or tasks that failed
	Canceled int    // frames or tasks canceled or skipped
	Bytes    int64  // bytes saved or sent

	// Wall is the run's elapsed time.
	Wall time.Duration
	// Busy is, per resource ("cpu", "gpu", "disk", "net"), the time at least
	// one span of work was running on it (the union of its spans; waits are
	// not work). Resources never used are absent.
	Busy map[string]time.Duration
	// GPUIdle is Wall minus the GPU's busy time.
	GPUIdle time.Duration
	// CopyBusy is the GPU time of the frames' read-back copies where they
	// ran as GPU work of their own (GPUTime.Copy; the union of their
	// spans, also counted in Busy["gpu"]); 0 where every frame was read in
	// place. CopyOverlap is how much of it ran while a kernel ran on the
	// same compute lane (GPUTime.Queue: the same device): near CopyBusy
	// where a transfer queue hides the copies behind the next frames'
	// kernels, 0 where they share one queue. A Pipeline run's only.
	CopyBusy, CopyOverlap time.Duration
	// Efficiency is Wall / Bound, at least 1: 1.0 is perfect, where the run
	// takes as long as its limiting resource alone; a sequential run of
	// stages of equal cost scores about the number of stages.
	Efficiency float64
	// Bottleneck names the resource with the most busy time (the union of
	// its spans); Binding, not this, names the limit.
	Bottleneck string
	// Bound is the run's computed lower bound on wall time: the largest of
	// Limits (see ComputeBound). Binding names the resource whose limit
	// binds: "cpu", "gpu", "disk", "net", or a configuration limit where
	// the configuration limited the run while the machine had room: "slots"
	// (the pipeline's Depth) or a stage's permits ("submits", "encoders",
	// "writes", "sends", "staging": the Limits field to raise).
	Bound   time.Duration
	Binding string
	// Limits is each resource's throughput limit, measured from the run.
	Limits []Limit
	// CPUTime is the process CPU time used during the run (every thread, an
	// in-process driver's included; 0 where the platform does not report
	// it), Cores the cores it had.
	CPUTime time.Duration
	Cores   int
	// HostCPUTime is the CPU time all the host's processes used during the
	// run (Linux; 0 where unknown): where it is well above CPUTime, other
	// processes shared the cores (see BoundInput.HostCPUTime).
	HostCPUTime time.Duration
	// SharedGPU says the GPU ran on the host CPU (see ShareGPU).
	SharedGPU bool
	// SlotTime is the sum of the frames' in-flight times, Depth the slots
	// (a Pipeline run).
	SlotTime time.Duration
	Depth    int
	// Permits is each bounded stage's use of its permits (a Pipeline run on
	// an Io that overlaps): where one binds, Binding names it.
	Permits []PermitUse
	// BlockingWall and Speedup (BlockingWall / Wall) are set by CompareTo,
	// from a Blocking run of the same work.
	BlockingWall time.Duration
	Speedup      float64
	// Stages is, per pipeline stage ("submit", "wait", "read", "encode",
	// "save", "send": the pprof label values), what its spans took; a
	// Pipeline run's only.
	Stages map[string]StageTime
	// Peak is the largest weight held at once of each limit.
	Peak map[string]int64
	// Errors lists the failures in the order they happened, first first: the
	// first MaxReportErrors of them (Failed counts them all), so that a long
	// run whose every frame or task fails still holds bounded memory.
	Errors []FrameError

	graph bool // a Graph's report: it counts tasks, not frames
}

// StageTime is what one pipeline stage took over a run.
type StageTime struct {
	Spans int           // how many spans (frames) ran the stage
	Time  time.Duration // the sum of their wall times
	// CPU is the sum of the thread CPU time they used, if Measured
	// (Pipeline.StageCPU, on a platform with a thread CPU clock).
	CPU      time.Duration
	Measured bool
}

// CPUShare is CPU / Time: about 1 for a stage that computed all its time,
// near 0 for one that waited (0 when not measured).
func (s StageTime) CPUShare() float64 {
	if !s.Measured || s.Time <= 0 {
		return 0
	}
	return float64(s.CPU) / float64(s.Time)
}

// MaxReportErrors bounds the failures a run lists in Report.Errors.
const MaxReportErrors = 1000

// FrameError is one failure in a Report.
type FrameError struct {
	Frame int    // the frame, or -1
	Task  string // the task, if any
	Err   string // its message
}

// CompareTo records blocking, a report of the same work run on a Blocking
// Io, as the baseline: it sets BlockingWall and Speedup.
func (r *Report) CompareTo(blocking Report) {
	r.BlockingWall = blocking.Wall
	if r.Wall > 0 {
		r.Speedup = float64(blocking.Wall) / float64(r.Wall)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// unit names what the report counts.
func (r Report) unit() string {
	if r.graph {
		return "tasks"
	}
	return "frames"
}

// MarshalJSON encodes the report with durations as float milliseconds
// ("wall_ms", "busy_ms", ...). A Pipeline's report counts "frames", a
// Graph's "tasks".
func (r Report) MarshalJSON() ([]byte, error) {
	busy := map[string]float64{}
	for k, v := range r.Busy {
		busy[k] = ms(v)
	}
	var limits map[string]float64
	if len(r.Limits) > 0 {
		limits = map[string]float64{}
		for _, l := range r.Limits {
			limits[l.Resource] = ms(l.Time)
		}
	}
	type out struct {
		Io             string                `json:"io,omitempty"`
		Frames         *int                  `json:"frames,omitempty"`
		Tasks          *int                  `json:"tasks,omitempty"`
		Failed         int                   `json:"failed"`
		Canceled       int                   `json:"canceled"`
		Bytes          int64                 `json:"bytes"`
		WallMS         float64               `json:"wall_ms"`
		BusyMS         map[string]float64    `json:"busy_ms"`
		GPUIdleMS      float64               `json:"gpu_idle_ms"`
		CopyBusyMS     float64               `json:"copy_busy_ms,omitempty"`
		CopyOverlapMS  float64               `json:"copy_overlap_ms,omitempty"`
		Efficiency     float64               `json:"overlap_efficiency"`
		Bottleneck     string                `json:"bottleneck,omitempty"`
		BoundMS        float64               `json:"bound_ms"`
		Binding        string                `json:"binding,omitempty"`
		LimitsMS       map[string]float64    `json:"limits_ms,omitempty"`
		CPUMS          float64               `json:"cpu_time_ms"`
		HostCPUMS      float64               `json:"host_cpu_time_ms,omitempty"`
		Cores          int                   `json:"cores,omitempty"`
		Permits        map[string]permitJSON `json:"permits,omitempty"`
		Stages         map[string]stageJSON  `json:"stages,omitempty"`
		SharedGPU      bool                  `json:"shared_gpu,omitempty"`
		BlockingWallMS float64               `json:"blocking_wall_ms,omitempty"`
		Speedup        float64               `json:"speedup,omitempty"`
		Peak           map[string]int64      `json:"peak,omitempty"`
		Errors         []FrameError          `json:"errors,omitempty"`
	}
	var permits map[string]permitJSON
	for _, p := range r.Permits {
		if permits == nil {
			permits = map[string]permitJSON{}
		}
		permits[p.Name] = permitJSON{p.Permits, ms(p.Held), ms(p.Waited)}
	}
	var stages map[string]stageJSON
	for name, st := range r.Stages {
		if stages == nil {
			stages = map[string]stageJSON{}
		}
		j := stageJSON{Spans: st.Spans, TimeMS: ms(st.Time)}
		if st.Measured {
			cpu, share := ms(st.CPU), st.CPUShare()
			j.CPUMS, j.CPUShare = &cpu, &share
		}
		stages[name] = j
	}
	frames, tasks := &r.Frames, (*int)(nil)
	if r.graph {
		frames, tasks = nil, &r.Tasks
	}
	return json.Marshal(out{r.Io, frames, tasks, r.Failed, r.Canceled, r.Bytes, ms(r.Wall), busy, ms(r.GPUIdle), ms(r.CopyBusy), ms(r.CopyOverlap),
		r.Efficiency, r.Bottleneck, ms(r.Bound), r.Binding, limits, ms(r.CPUTime), ms(r.HostCPUTime), r.Cores, permits, stages, r.SharedGPU, ms(r.BlockingWall), r.Speedup, r.Peak, r.Errors})
}

// permitJSON is a PermitUse in a report's JSON "permits" (by name).
type permitJSON struct {
	Permits  int     `json:"permits"`
	HeldMS   float64 `json:"held_ms"`
	WaitedMS float64 `json:"waited_ms"`
}

// stageJSON is a StageTime in a report's JSON "stages" (by name); cpu_ms
// and cpu_per_wall only where measured.
type stageJSON struct {
	Spans    int      `json:"spans"`
	TimeMS   float64  `json:"time_ms"`
	CPUMS    *float64 `json:"cpu_ms,omitempty"`
	CPUShare *float64 `json:"cpu_per_wall,omitempty"`
}

func (r Report) lines() []string {
	var l []string
	head := fmt.Sprintf("wall %.1f ms", ms(r.Wall))
	if r.Io != "" {
		head = r.Io + ": " + head
	}
	if done := r.Frames + r.Tasks; done > 0 || r.Failed > 0 || r.Canceled > 0 {
		head += fmt.Sprintf(", %d %s done, %d failed, %d canceled", done, r.unit(), r.Failed, r.Canceled)
	}
	l = append(l, head)
	keys := make([]string, 0, len(r.Busy))
	for k := range r.Busy {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return strings.Compare(order(a), order(b)) })
	var b []string
	for _, k := range keys {
		b = append(b, fmt.Sprintf("%s %.1f ms", k, ms(r.Busy[k])))
	}
	if len(b) > 0 {
		s := "busy: " + strings.Join(b, ", ") + fmt.Sprintf("; GPU idle %.1f ms", ms(r.GPUIdle))
		if r.CopyBusy > 0 {
			s += fmt.Sprintf("; read-back copies %.1f ms on the GPU, %.1f ms of it beside compute", ms(r.CopyBusy), ms(r.CopyOverlap))
		}
		l = append(l, s)
	}
	if r.Efficiency > 0 {
		s := fmt.Sprintf("bound %.1f ms, bound by %s (%s); overlap efficiency %.3f (wall / bound, 1.0 is perfect)",
			ms(r.Bound), r.Binding, r.LimitsText(), r.Efficiency)
		if r.Speedup > 0 {
			s += fmt.Sprintf("; speedup %.2fx over blocking (%.1f ms)", r.Speedup, ms(r.BlockingWall))
		}
		l = append(l, s)
	}
	if st := r.StagesText(); st != "" {
		l = append(l, "stages: "+st)
	}
	return l
}

// StagesText formats Stages in pipeline order as "encode 120.0 ms (cpu
// 118.0 ms, 0.98 of wall), save 30.0 ms, ..." (the CPU where measured).
func (r Report) StagesText() string {
	var b []string
	for _, name := range []string{"submit", "wait", "read", "encode", "save", "send"} {
		st, ok := r.Stages[name]
		if !ok {
			continue
		}
		s := fmt.Sprintf("%s %.1f ms", name, ms(st.Time))
		if st.Measured {
			s += fmt.Sprintf(" (cpu %.1f ms, %.2f of wall)", ms(st.CPU), st.CPUShare())
		}
		b = append(b, s)
	}
	return strings.Join(b, ", ")
}

// LimitsText formats Limits as "cpu 12.0 ms, gpu 8.0 ms, ...".
func (r Report) LimitsText() string {
	var b []string
	for _, l := range r.Limits {
		b = append(b, fmt.Sprintf("%s %.1f ms", l.Resource, ms(l.Time)))
	}
	return strings.Join(b, ", ")
}

func order(res string) string {
	for i, n := range resourceNames {
		if n == res {
			return string(rune('0' + i))
		}
	}
	return res
}

// String formats the report in a few lines of text.
func (r Report) String() string { return strings.Join(r.lines(), "\n") }
