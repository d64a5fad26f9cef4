package tasks

import (
	"runtime"
	"time"

	"github.com/vkio/vkio/io"
)

// Limit is the throughput limit of one resource in a run: the shortest wall
// time the run's work could take on that resource alone, measured from the
// run itself.
type Limit struct {
	// Resource is "cpu" (process CPU time over cores), "gpu" (the union of
	// the GPU's timestamped spans), "disk" and "net" (the unions of their
	// spans) or "slots" (the frames' in-flight time over the depth).
	Resource string
	// Time is the limit: the run cannot take less wall time than this.
	Time time.Duration
	// Config is true where the limit is the configuration, not the machine
	// ("slots": a deeper pipeline raises it).
	Config bool
}

// BoundInput holds the measurements a bound is computed from.
type BoundInput struct {
	Wall time.Duration
	// Busy is the union of each resource's spans (Report.Busy).
	Busy map[string]time.Duration
	// CPUTime is the process CPU time (user + system, every thread) used
	// during the run; 0 if the platform does not report it.
	CPUTime time.Duration
	// Cores is the number of cores the process can use (default NumCPU).
	Cores int
	// SlotTime is the sum over frames of the time each held a pipeline slot
	// (in flight); Depth is the number of slots. Zero for a Graph.
	SlotTime time.Duration
	Depth    int
	// SharedGPU says the GPU's work runs on the host CPU (a CPU device such
	// as lavapipe): its busy time is already inside CPUTime, so the GPU is
	// not a resource of its own.
	SharedGPU bool
}

// slotMargin is how far the slots' limit must exceed every machine
// resource's for the slots to be named the binding limit: the pipeline was
// full while the machine had room.
const slotMargin = 1.1

// ComputeBound computes each resource's limit from in, the bound (the
// largest limit) and the binding resource. Every limit is at most the wall
// time: a union of spans lies inside the run, CPU time is at most cores ×
// wall, and at most Depth frames are in flight at once. So Wall / bound is
// at least 1, and 1 means the run took as long as its limiting resource
// alone. Runs of the same work have the same CPU time, whatever their
// overlap, so a sequential run never scores better than a faster
// overlapped one where the CPU binds.
//
// Where the GPU shares the CPU (in.SharedGPU) the GPU's busy time is not a
// limit of its own: it is already in the CPU time. The binding resource is
// the one with the largest limit among cpu, gpu, disk and net, unless the
// slots' limit exceeds all of them by 10 %: then the frames in flight were
// the limit while the machine had room, and "slots" binds.
func ComputeBound(in BoundInput) (limits []Limit, bound time.Duration, binding string) {
	cores := in.Cores
	if cores <= 0 {
		cores = runtime.NumCPU()
	}
	clamp := func(d time.Duration) time.Duration {
		if in.Wall > 0 && d > in.Wall {
			return in.Wall
		}
		return max(d, 0)
	}
	add := func(res string, d time.Duration, config bool) {
		if d > 0 {
			limits = append(limits, Limit{Resource: res, Time: clamp(d), Config: config})
		}
	}
	if in.CPUTime > 0 {
		add("cpu", in.CPUTime/time.Duration(cores), false)
	} else {
		// No process CPU time: the union of the CPU spans is a lower bound.
		add("cpu", in.Busy["cpu"], false)
	}
	if !in.SharedGPU {
		add("gpu", in.Busy["gpu"], false)
	}
	add("disk", in.Busy["disk"], false)
	add("net", in.Busy["net"], false)
	var machine time.Duration
	for _, l := range limits {
		if l.Time > machine {
			machine, binding = l.Time, l.Resource
		}
	}
	bound = machine
	if in.Depth > 0 && in.SlotTime > 0 {
		slots := clamp(in.SlotTime / time.Duration(in.Depth))
		limits = append(limits, Limit{Resource: "slots", Time: slots, Config: true})
		if slots > bound {
			bound = slots
		}
		if float64(slots) > slotMargin*float64(machine) {
			binding = "slots"
		}
	}
	return limits, bound, binding
}

// setBound fills the report's CPUTime, Limits, Bound, Binding and
// Efficiency from in (in.Wall and in.Busy are taken from the report).
func (r *Report) setBound(in BoundInput) {
	in.Wall, in.Busy = r.Wall, r.Busy
	if in.Cores <= 0 {
		in.Cores = runtime.NumCPU()
	}
	r.CPUTime, r.Cores, r.SharedGPU = in.CPUTime, in.Cores, in.SharedGPU
	r.SlotTime, r.Depth = in.SlotTime, in.Depth
	r.Limits, r.Bound, r.Binding = ComputeBound(in)
	r.Efficiency = 0
	if r.Bound > 0 {
		r.Efficiency = max(float64(r.Wall)/float64(r.Bound), 1)
	}
}

// ShareGPU recomputes the bound for a run whose GPU ran on the host CPU (a
// CPU device): the GPU's busy time is then inside the process CPU time and
// is not counted as a resource of its own.
func (r *Report) ShareGPU() {
	r.setBound(BoundInput{CPUTime: r.CPUTime, Cores: r.Cores, SlotTime: r.SlotTime, Depth: r.Depth, SharedGPU: true})
}

// BindingLimit returns the binding resource's Limit, and false if the report
// has none.
func (r Report) BindingLimit() (Limit, bool) {
	for _, l := range r.Limits {
		if l.Resource == r.Binding {
			return l, true
		}
	}
	return Limit{}, false
}

// cpuNow returns the process CPU time, 0 where the platform does not report
// it.
func cpuNow() time.Duration {
	d, _ := processCPU()
	return d
}

// slotDone adds the in-flight time of sl's frame, which is leaving its slot.
func (r *pipeRun) slotDone(sl *slot) {
	if !sl.t0.IsZero() {
		r.slotNS.Add(int64(time.Since(sl.t0)))
		sl.t0 = time.Time{}
	}
}

// setBound computes the bound of a pipeline run of depth slots on x. On a
// Blocking Io the slots are no limit: the Io runs one frame at a time
// whatever the depth, and that sequential run is what the efficiency shows.
func (r *pipeRun) setBound(rep *Report, x io.Io, depth int) {
	var cpu time.Duration
	if r.cpu0 > 0 {
		cpu = max(cpuNow()-r.cpu0, 0)
	}
	in := BoundInput{CPUTime: cpu, SlotTime: time.Duration(r.slotNS.Load()), Depth: depth}
	if x.Kind() == io.KindBlocking {
		in.SlotTime = 0
	}
	rep.setBound(in)
}
