package tasks

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/io"
)

// Limit is the throughput limit of one resource in a run: the shortest wall
// time the run's work could take on that resource alone, measured from the
// run itself.
type Limit struct {
	// Resource is "cpu" (process CPU time over cores), "gpu" (the union of
	// the GPU's timestamped spans), "disk" and "net" (the unions of their
	// spans), "slots" (the frames' in-flight time, less their waits for
	// stage permits, over the depth) or a bounded stage's permits (see
	// PermitUse): "submits" (Limits.GPU), "staging" (Limits.StagingBytes),
	// "encoders", "writes" or "sends".
	Resource string
	// Time is the limit: the run cannot take less wall time than this.
	Time time.Duration
	// Config is true where the limit is the configuration, not the machine
	// ("slots": a deeper pipeline raises it; a stage's permits: more of
	// them raise it).
	Config bool
}

// The names of the configuration limits of a Pipeline (Limit.Resource): the
// frames in flight (Pipeline.Depth) and each bounded stage's permits.
const (
	LimitSlots    = "slots"    // Pipeline.Depth
	LimitSubmits  = "submits"  // Limits.GPU
	LimitStaging  = "staging"  // Limits.StagingBytes
	LimitEncoders = "encoders" // Limits.Encoders
	LimitWrites   = "writes"   // Limits.Writes
	LimitSends    = "sends"    // Limits.Sends
)

// PermitUse is how a run used one bounded stage's permits: Held is the sum
// over the frames of the time each held a permit, Waited the time they
// waited for one (while holding a slot), Permits how many there were (for
// Limits.StagingBytes: how many frames' read-backs it holds). Held /
// Permits is the stage's limit: the run cannot take less time with that
// many permits.
type PermitUse struct {
	Name    string // LimitSubmits, LimitStaging, LimitEncoders, LimitWrites or LimitSends
	Permits int
	Held    time.Duration
	Waited  time.Duration
}

// BoundInput holds the measurements a bound is computed from.
type BoundInput struct {
	Wall time.Duration
	// Busy is the union of each resource's spans (Report.Busy).
	Busy map[string]time.Duration
	// CPUTime is the process CPU time (user + system, every thread) used
	// during the run; 0 if the platform does not report it.
	CPUTime time.Duration
	// HostCPUTime is the CPU time every process on the host used during
	// the run (Linux: /proc/stat), 0 if unknown. Where other processes
	// kept the cores busy, the machine had no room though this process
	// used little of it: the cpu limit is the larger of the two over the
	// cores.
	HostCPUTime time.Duration
	// Cores is the number of cores the process can use (default NumCPU).
	Cores int
	// SlotTime is the sum over frames of the time each held a pipeline slot
	// (in flight); Depth is the number of slots. Zero for a Graph.
	SlotTime time.Duration
	Depth    int
	// Permits is each bounded stage's use of its permits (a Pipeline run
	// on an Io that overlaps; none for a Graph).
	Permits []PermitUse
	// SharedGPU says the GPU's work runs on the host CPU (a CPU device such
	// as lavapipe): its busy time is already inside CPUTime, so the GPU is
	// not a resource of its own.
	SharedGPU bool
}

// slotMargin is how far a configuration limit (the slots' or a stage's
// permits') must exceed every machine resource's for it to be named the
// binding limit: the pipeline was full while the machine had room.
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
// the one with the largest limit among cpu, gpu, disk and net, unless a
// configuration limit exceeds all of them by 10 %: then the configuration
// was the limit while the machine had room, and the largest configuration
// limit binds (the slots on a tie). Those are the slots (the frames'
// in-flight time less their waits for stage permits, over Depth: a frame
// that waits for an encoder is held up by the encoders, not the depth) and
// each stage's permits (PermitUse: the time they were held over their
// number), which name the Limits field to raise.
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
	if cpu := max(in.CPUTime, in.HostCPUTime); cpu > 0 {
		add("cpu", cpu/time.Duration(cores), false)
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
	var config time.Duration
	configName := ""
	addConfig := func(name string, d time.Duration) {
		d = clamp(d)
		limits = append(limits, Limit{Resource: name, Time: d, Config: true})
		if d > config {
			config, configName = d, name
		}
	}
	if in.Depth > 0 && in.SlotTime > 0 {
		busy := in.SlotTime
		for _, p := range in.Permits {
			busy -= p.Waited
		}
		addConfig(LimitSlots, max(busy, 0)/time.Duration(in.Depth))
	}
	for _, p := range in.Permits {
		if p.Permits > 0 && p.Held > 0 {
			addConfig(p.Name, p.Held/time.Duration(p.Permits))
		}
	}
	bound = max(bound, config)
	if configName != "" && float64(config) > slotMargin*float64(machine) {
		binding = configName
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
	r.CPUTime, r.HostCPUTime, r.Cores, r.SharedGPU = in.CPUTime, in.HostCPUTime, in.Cores, in.SharedGPU
	r.SlotTime, r.Depth, r.Permits = in.SlotTime, in.Depth, in.Permits
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
	r.setBound(BoundInput{CPUTime: r.CPUTime, HostCPUTime: r.HostCPUTime, Cores: r.Cores, SlotTime: r.SlotTime, Depth: r.Depth, Permits: r.Permits, SharedGPU: true})
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

// Limit returns the Limit of resource res, and false if the report has
// none.
func (r Report) Limit(res string) (Limit, bool) {
	for _, l := range r.Limits {
		if l.Resource == res {
			return l, true
		}
	}
	return Limit{}, false
}

// permitStage indexes pipeRun.use: the stages bounded by permits.
type permitStage int

const (
	useSubmits permitStage = iota
	useStaging
	useEncoders
	useWrites
	useSends
	numPermitStages
)

var permitNames = [numPermitStages]string{LimitSubmits, LimitStaging, LimitEncoders, LimitWrites, LimitSends}

// permitUse accumulates a stage's permit times, in nanoseconds.
type permitUse struct{ held, waited atomic.Int64 }

// acquire takes n of sem's weight for stage st, counting the wait, and
// returns when it got them (the start of the hold).
func (r *pipeRun) acquire(x io.Io, st permitStage, sem *Semaphore, n int64) (time.Time, error) {
	t0 := time.Now()
	err := sem.Acquire(x, n)
	t1 := time.Now()
	r.use[st].waited.Add(int64(t1.Sub(t0)))
	return t1, err
}

// release gives back n of sem's weight, held for stage st since t0.
func (r *pipeRun) release(st permitStage, sem *Semaphore, n int64, t0 time.Time) {
	r.use[st].held.Add(int64(time.Since(t0)))
	sem.Release(n)
}

// permits returns the stages' permit use (stages the run has: staging only
// with Limits.StagingBytes).
func (r *pipeRun) permits(lim Limits) []PermitUse {
	n := [numPermitStages]int{lim.GPU, 0, lim.Encoders, lim.Writes, lim.Sends}
	if r.staging != nil && r.p.FrameBytes > 0 {
		n[useStaging] = int(lim.StagingBytes / int64(r.p.FrameBytes))
	}
	var out []PermitUse
	for st := range numPermitStages {
		u := &r.use[st]
		if n[st] > 0 && (u.held.Load() > 0 || u.waited.Load() > 0) {
			out = append(out, PermitUse{Name: permitNames[st], Permits: n[st], Held: time.Duration(u.held.Load()), Waited: time.Duration(u.waited.Load())})
		}
	}
	return out
}

// slotDone adds the in-flight time of sl's frame, which is leaving its slot.
func (r *pipeRun) slotDone(sl *slot) {
	if !sl.t0.IsZero() {
		r.slotNS.Add(int64(time.Since(sl.t0)))
		sl.t0 = time.Time{}
	}
}

// setBound computes the bound of a pipeline run of depth slots and limits
// lim on x. On a Blocking Io neither the slots nor the stages' permits are
// a limit: the Io runs one frame at a time whatever they are, and that
// sequential run is what the efficiency shows.
func (r *pipeRun) setBound(rep *Report, x io.Io, depth int, lim Limits) {
	var cpu time.Duration
	if r.cpu0 > 0 {
		cpu = max(cpuNow()-r.cpu0, 0)
	}
	var host time.Duration
	if r.host0 > 0 {
		h, _ := hostCPU()
		host = max(h-r.host0, 0)
	}
	in := BoundInput{CPUTime: cpu, HostCPUTime: host, SlotTime: time.Duration(r.slotNS.Load()), Depth: depth, Permits: r.permits(lim)}
	if x.Kind() == io.KindBlocking {
		in.SlotTime, in.Permits = 0, nil
	}
	rep.setBound(in)
}
