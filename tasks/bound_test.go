package tasks_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

const msec = time.Millisecond

func limitOf(ls []tasks.Limit, res string) (time.Duration, bool) {
	for _, l := range ls {
		if l.Resource == res {
			return l.Time, true
		}
	}
	return 0, false
}

func TestComputeBound(t *testing.T) {
	cases := []struct {
		name    string
		in      tasks.BoundInput
		bound   time.Duration
		binding string
		noGPU   bool
	}{
		{"gpu binds", tasks.BoundInput{Wall: 120 * msec, Busy: map[string]time.Duration{"gpu": 100 * msec, "cpu": 60 * msec, "disk": 30 * msec},
			CPUTime: 80 * msec, Cores: 2, SlotTime: 200 * msec, Depth: 3}, 100 * msec, "gpu", false},
		{"cpu binds", tasks.BoundInput{Wall: 120 * msec, Busy: map[string]time.Duration{"gpu": 50 * msec, "disk": 30 * msec},
			CPUTime: 220 * msec, Cores: 2, SlotTime: 200 * msec, Depth: 3}, 110 * msec, "cpu", false},
		// The shared GPU's 100 ms are inside the CPU time: only cpu counts.
		{"shared", tasks.BoundInput{Wall: 120 * msec, Busy: map[string]time.Duration{"gpu": 100 * msec, "disk": 30 * msec},
			CPUTime: 160 * msec, Cores: 2, SharedGPU: true}, 80 * msec, "cpu", true},
		// Full slots while the machine had room: the configuration binds.
		{"slots", tasks.BoundInput{Wall: 100 * msec, Busy: map[string]time.Duration{"gpu": 40 * msec, "disk": 30 * msec},
			CPUTime: 100 * msec, Cores: 4, SlotTime: 190 * msec, Depth: 2}, 95 * msec, "slots", false},
		// Slots near a machine limit: the machine binds.
		{"slots near cpu", tasks.BoundInput{Wall: 100 * msec, Busy: map[string]time.Duration{"gpu": 40 * msec},
			CPUTime: 180 * msec, Cores: 2, SlotTime: 190 * msec, Depth: 2}, 95 * msec, "cpu", false},
		// No process CPU time: the union of the CPU spans stands in.
		{"no cpu time", tasks.BoundInput{Wall: 100 * msec, Busy: map[string]time.Duration{"cpu": 70 * msec, "gpu": 40 * msec}, Cores: 2},
			70 * msec, "cpu", false},
		// Frames in flight waited for the one encoder most of their time:
		// the encoders bind, not the slots they waited in.
		{"encoders", tasks.BoundInput{Wall: 100 * msec, Busy: map[string]time.Duration{"gpu": 20 * msec}, CPUTime: 40 * msec, Cores: 2,
			SlotTime: 380 * msec, Depth: 4, Permits: []tasks.PermitUse{
				{Name: "encoders", Permits: 1, Held: 90 * msec, Waited: 250 * msec},
				{Name: "submits", Permits: 4, Held: 40 * msec}}}, 90 * msec, "encoders", false},
		// The same waits but a permit limit near the slots': the slots
		// win the tie.
		{"slots tie", tasks.BoundInput{Wall: 100 * msec, Busy: map[string]time.Duration{"gpu": 20 * msec}, CPUTime: 40 * msec, Cores: 2,
			SlotTime: 200 * msec, Depth: 2, Permits: []tasks.PermitUse{{Name: "submits", Permits: 2, Held: 200 * msec}}}, 100 * msec, "slots", false},
		// Permits near a machine limit: the machine binds.
		{"encoders near cpu", tasks.BoundInput{Wall: 100 * msec, CPUTime: 190 * msec, Cores: 2,
			Permits: []tasks.PermitUse{{Name: "encoders", Permits: 2, Held: 190 * msec}}}, 95 * msec, "cpu", true},
		// Slots full while this process used little CPU, but other
		// processes kept the host's cores busy: the machine had no room,
		// the cpu binds.
		{"host busy", tasks.BoundInput{Wall: 100 * msec, Busy: map[string]time.Duration{"gpu": 40 * msec}, CPUTime: 60 * msec, HostCPUTime: 196 * msec, Cores: 2,
			SlotTime: 190 * msec, Depth: 2}, 98 * msec, "cpu", false},
		// A limit never exceeds the wall.
		{"clamped", tasks.BoundInput{Wall: 100 * msec, Busy: map[string]time.Duration{"gpu": 40 * msec}, CPUTime: 500 * msec, Cores: 1},
			100 * msec, "cpu", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ls, bound, binding := tasks.ComputeBound(c.in)
			if bound != c.bound || binding != c.binding {
				t.Fatalf("bound %v binding %q, want %v %q (limits %+v)", bound, binding, c.bound, c.binding, ls)
			}
			if _, ok := limitOf(ls, "gpu"); ok == c.noGPU {
				t.Fatalf("gpu limit present %v, shared %v: %+v", ok, c.in.SharedGPU, ls)
			}
			for _, l := range ls {
				if l.Time > c.in.Wall || l.Time <= 0 {
					t.Fatalf("limit %+v outside (0, wall %v]", l, c.in.Wall)
				}
				if l.Config != (l.Resource == "slots" || l.Resource == "encoders" || l.Resource == "submits") {
					t.Fatalf("limit %+v: Config only for slots and stage permits", l)
				}
			}
		})
	}
}

// TestBoundSharedBlockingVsOverlapped is the lavapipe case of the issue: the
// overlapped run is faster, but contention stretches its GPU spans; with the
// GPU counted apart the sequential run scored better. Sharing the CPU, the
// same work's CPU time bounds both, and the faster run scores better.
func TestBoundSharedBlockingVsOverlapped(t *testing.T) {
	// The same work: about the same CPU time in both runs. Blocking: the
	// GPU (on every core) most of the wall; overlapped: GPU spans cut short
	// of the wall by the encoders' contention.
	blocking := tasks.BoundInput{Wall: 300 * msec, Busy: map[string]time.Duration{"gpu": 280 * msec, "cpu": 20 * msec},
		CPUTime: 400 * msec, Cores: 2, SlotTime: 300 * msec, Depth: 2, SharedGPU: true}
	overlapped := tasks.BoundInput{Wall: 230 * msec, Busy: map[string]time.Duration{"gpu": 200 * msec, "cpu": 200 * msec},
		CPUTime: 410 * msec, Cores: 2, SlotTime: 400 * msec, Depth: 2, SharedGPU: true}
	eff := func(in tasks.BoundInput) float64 {
		_, b, _ := tasks.ComputeBound(in)
		return float64(in.Wall) / float64(b)
	}
	if eb, eo := eff(blocking), eff(overlapped); eb <= eo {
		t.Fatalf("shared: blocking efficiency %.3f <= overlapped %.3f, though the overlapped run is faster", eb, eo)
	}
	// Counting the GPU apart misranks them: this is why SharedGPU exists.
	blocking.SharedGPU, overlapped.SharedGPU = false, false
	if eb, eo := eff(blocking), eff(overlapped); eb >= eo {
		t.Fatalf("not shared: blocking %.3f >= overlapped %.3f; the example no longer shows the double count", eb, eo)
	}
}

// spinEncoder burns the CPU for cost per frame.
func spinEncoder(cost time.Duration) tasks.Encoder {
	return tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
		for t0 := time.Now(); time.Since(t0) < cost; {
		}
		return append(dst, raw...), nil
	})
}

// runBoundPipeline runs the synthetic stages as if this process had the
// host alone (tasks.IgnoreHostCPU): the tests check the bound of the
// process's own work, and other tests' CPU would make the cpu bind.
func runBoundPipeline(t *testing.T, kind string, depth int) tasks.Report {
	t.Helper()
	tasks.IgnoreHostCPU(t)
	b, err := io.New(kind)
	if err != nil {
		t.Skipf("io.New(%q): %v", kind, err)
	}
	defer b.Close()
	const frames = 40
	p := &tasks.Pipeline{Frames: frames, Depth: depth, Dispatcher: newFakeGPU(msec, 64), Encoder: spinEncoder(msec),
		Sinks: []tasks.Sink{newMemSink(msec)}, FrameBytes: 64}
	rep, err := p.Run(b.Io())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound <= 0 || rep.Bound > rep.Wall || rep.Efficiency < 1 || rep.Binding == "" {
		t.Fatalf("%s: bound %v wall %v efficiency %.3f binding %q", kind, rep.Bound, rep.Wall, rep.Efficiency, rep.Binding)
	}
	if lim, ok := rep.BindingLimit(); !ok || lim.Time > rep.Bound {
		t.Fatalf("%s: binding limit %+v %v, bound %v", kind, lim, ok, rep.Bound)
	}
	for _, res := range []string{"cpu", "gpu", "disk", "slots"} {
		_, ok := limitOf(rep.Limits, res)
		if want := res != "slots" || kind != "blocking"; ok != want {
			t.Fatalf("%s: %s limit present %v, want %v: %+v", kind, res, ok, want, rep.Limits)
		}
	}
	return rep
}

// TestBoundBlockingNeverBeatsFasterOverlapped runs synthetic stages of known
// cost (GPU 1 ms on a timer queue, encode 1 ms of CPU spin, save 1 ms) on
// Blocking and Threaded Ios.
func TestBoundBlockingNeverBeatsFasterOverlapped(t *testing.T) {
	bl := runBoundPipeline(t, "blocking", 3)
	th := runBoundPipeline(t, "threaded", 3)
	t.Logf("blocking: %v", bl)
	t.Logf("threaded: %v", th)
	check := func(what string, bl, th tasks.Report) {
		if th.Wall < bl.Wall && bl.Efficiency < th.Efficiency {
			t.Fatalf("%s: blocking (wall %v) efficiency %.3f better than threaded (wall %v) %.3f",
				what, bl.Wall, bl.Efficiency, th.Wall, th.Efficiency)
		}
	}
	check("separate GPU", bl, th)
	// A sequential run of three stages takes the sum of its stages: its
	// wall is well above its bound.
	if bl.Efficiency <= 1.2 {
		t.Fatalf("blocking efficiency %.3f for three sequential stages", bl.Efficiency)
	}
	// Shared: as if the GPU ran on the CPU.
	bl.ShareGPU()
	th.ShareGPU()
	if _, ok := limitOf(bl.Limits, "gpu"); ok || !bl.SharedGPU {
		t.Fatalf("shared: gpu still a limit: %+v", bl.Limits)
	}
	check("shared GPU", bl, th)
	// Depth 1: the overlapped run is bound by its one slot, the Blocking
	// run by its Io, which no depth changes; it still scores worse.
	bl1 := runBoundPipeline(t, "blocking", 1)
	th1 := runBoundPipeline(t, "threaded", 1)
	check("depth 1", bl1, th1)
	if bl1.Binding == "slots" {
		t.Fatalf("blocking bound by slots: %v", bl1)
	}
}

// TestBoundSlotsBind: one frame in flight on a Threaded Io leaves the
// machine room; the report names the slots, a configuration limit.
func TestBoundSlotsBind(t *testing.T) {
	rep := runBoundPipeline(t, "threaded", 1)
	lim, ok := rep.BindingLimit()
	if rep.Binding != "slots" || !ok || !lim.Config {
		t.Fatalf("depth 1: binding %q (%+v), want slots; report %v", rep.Binding, lim, rep)
	}
}

func TestBoundJSON(t *testing.T) {
	rep := runBoundPipeline(t, "threaded", 2)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		BoundMS  float64            `json:"bound_ms"`
		Binding  string             `json:"binding"`
		LimitsMS map[string]float64 `json:"limits_ms"`
		CPUMS    float64            `json:"cpu_time_ms"`
		Cores    int                `json:"cores"`
		WallMS   float64            `json:"wall_ms"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.BoundMS <= 0 || out.BoundMS > out.WallMS || out.Binding != rep.Binding || out.LimitsMS[out.Binding] > out.BoundMS || maxOf(out.LimitsMS) != out.BoundMS ||
		out.Cores < 1 || (out.CPUMS <= 0) != (rep.CPUTime <= 0) {
		t.Fatalf("json %s", b)
	}
}

func maxOf(m map[string]float64) float64 {
	var top float64
	for _, v := range m {
		top = max(top, v)
	}
	return top
}

// sleepEncoder takes cost per frame without using the CPU (a stage whose
// time is latency).
func sleepEncoder(cost time.Duration) tasks.Encoder {
	return tasks.EncoderFunc(func(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
		if err := x.Sleep(cost); err != nil {
			return dst, err
		}
		return append(dst, raw...), nil
	})
}

// TestBoundEachLimitBinds runs synthetic stages of known cost on a Threaded
// Io, one configuration limit narrow in turn (6 ms a frame where the others
// take 1 ms; timer stages use no CPU, so the machine has room): the report
// names that limit as binding, by its Limits field. A narrow sink is the
// exception: its 6 ms spans keep the disk busy all the run, so the disk
// binds, with the writes' limit beside it (vkdemo's hint names --saves).
func TestBoundEachLimitBinds(t *testing.T) {
	tasks.IgnoreHostCPU(t) // see runBoundPipeline
	b, err := io.New("threaded")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const wide, narrow, frames = msec, 6 * msec, 20
	cases := []struct {
		name    string
		depth   int
		lim     tasks.Limits
		notify  time.Duration // completion notice's delay
		encode  time.Duration
		save    time.Duration
		binding string
	}{
		{"slots", 1, tasks.Limits{}, 0, 2 * msec, 2 * msec, tasks.LimitSlots},
		{"encoders", 6, tasks.Limits{Encoders: 1, GPU: 6, Writes: 6}, 0, narrow, wide, tasks.LimitEncoders},
		{"submits", 6, tasks.Limits{GPU: 1, Writes: 6}, narrow, wide, wide, tasks.LimitSubmits},
		{"staging", 6, tasks.Limits{StagingBytes: 64, GPU: 6, Writes: 6}, 0, narrow, wide, tasks.LimitStaging},
		{"writes", 6, tasks.Limits{Writes: 1, GPU: 6}, 0, wide, narrow, "disk"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newFakeGPU(wide, 64)
			g.notifyDelay = c.notify
			p := &tasks.Pipeline{Frames: frames, Depth: c.depth, Dispatcher: g, Encoder: sleepEncoder(c.encode),
				Sinks: []tasks.Sink{newMemSink(c.save)}, FrameBytes: 64, Limits: c.lim}
			rep, err := p.Run(b.Io())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Binding != c.binding {
				t.Fatalf("binding %q, want %q: limits %s; permits %+v", rep.Binding, c.binding, rep.LimitsText(), rep.Permits)
			}
			if lim, ok := rep.BindingLimit(); !ok || lim.Config != (c.binding != "disk") {
				t.Fatalf("binding limit %+v %v", lim, ok)
			}
			if c.binding == "disk" {
				disk, _ := rep.Limit("disk")
				writes, ok := rep.Limit(tasks.LimitWrites)
				if !ok || float64(writes.Time) < 0.9*float64(disk.Time) {
					t.Fatalf("writes limit %v (%v), disk %v: the one write permit was not held all the disk's time", writes.Time, ok, disk.Time)
				}
			}
		})
	}
}
