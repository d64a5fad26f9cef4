package tasks

import (
	"math"
	"sync"
	"time"

	"github.com/vkio/vkio/tasks/internal/trace"
)

// Sample is one value of a counter track: process CPU ("cores busy"), a
// pipeline's "frames in flight" and "gpu queue", a graph's "tasks running".
// In a trace it is a Chrome counter ("C") event, drawn by Perfetto as a
// counter track and by the SVG timeline as an area chart under the lanes.
type Sample struct {
	Name  string
	Time  time.Time // the value holds from Time until the counter's next sample
	Value float64
}

// Gauge is a value read at every tick of a sampler (see StartSampling). A
// Value that panics or returns NaN or an infinity gives no sample.
type Gauge struct {
	Name  string
	Value func() float64 // called from the sampler's goroutine
}

// DefaultSampleInterval is how often a Pipeline or Graph run with a Recorder
// samples its counters.
const DefaultSampleInterval = 10 * time.Millisecond

// CoresBusy is the name of the process CPU counter: process CPU time (user
// and system, every thread of the process, an in-process Vulkan driver such
// as lavapipe included) over wall time, in cores.
const CoresBusy = "cores busy"

// counterRec is a Sample in 24 bytes.
type counterRec struct {
	t     int64 // ns from origin
	value float64
	name  uint32
}

// AddSample records a counter value.
func (r *Recorder) AddSample(s Sample) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.addSample(r.intern(s.Name), s.Time, s.Value)
	r.mu.Unlock()
}

// addSample appends a record; r.mu is held.
func (r *Recorder) addSample(name uint32, t time.Time, v float64) {
	rec := counterRec{t: int64(t.Sub(r.origin)), value: v, name: name}
	if len(r.cchunks) == 0 || len(r.cchunks[len(r.cchunks)-1]) == recordChunk {
		r.cchunks = append(r.cchunks, make([]counterRec, 0, recordChunk))
	}
	last := &r.cchunks[len(r.cchunks)-1]
	*last = append(*last, rec)
	r.nc++
}

// Samples returns a copy of the counter samples recorded so far.
func (r *Recorder) Samples() []Sample {
	if r == nil {
		return nil
	}
	snap := r.snapshot()
	out := make([]Sample, snap.nc)
	for i := range out {
		c := snap.counter(i)
		out[i] = Sample{Name: snap.strs[c.name], Time: snap.origin.Add(time.Duration(c.t)), Value: c.value}
	}
	return out
}

func (s *snapshot) counter(i int) *counterRec { return &s.cchunks[i/recordChunk][i%recordChunk] }

// counterView makes a snapshot's samples a trace.Samples.
type counterView struct{ s *snapshot }

func (v counterView) Len() int { return v.s.nc }

func (v counterView) At(i int) trace.Sample {
	c := v.s.counter(i)
	return trace.Sample{Name: v.s.strs[c.name], T: c.t, Value: c.value}
}

// StartSampling starts a goroutine that records, every interval (at most
// DefaultSampleInterval if interval <= 0), the process CPU as CoresBusy (where
// the platform reports it) and the value of each gauge, until stop is called.
// stop takes a last sample, waits for the goroutine to end and may be called
// more than once. Memory grows by 24 bytes a sample. A nil Recorder starts
// nothing.
func (r *Recorder) StartSampling(interval time.Duration, gauges ...Gauge) (stop func()) {
	if r == nil {
		return func() {}
	}
	if interval <= 0 {
		interval = DefaultSampleInterval
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	// One sampler at a time records CoresBusy: runs that overlap on one
	// Recorder would otherwise write the same process's CPU twice.
	r.mu.Lock()
	ownCPU := !r.cpuOwned
	r.cpuOwned = true
	r.mu.Unlock()
	prevCPU, cpuOK := processCPU()
	cpuOK = cpuOK && ownCPU
	prevT := time.Now()
	tick := func(first bool) {
		vals := make([]float64, len(gauges))
		for i, g := range gauges {
			vals[i] = readGauge(g)
		}
		cpu, ok := processCPU()
		ok = ok && ownCPU
		now := time.Now() // with the CPU reading, not when the tick fired
		r.mu.Lock()
		// Names are interned at every tick: Reset may clear the table.
		// The value over (prevT, now], held from prevT on. The kernel
		// updates the CPU time of threads running on other cores about
		// once a scheduler tick, so a short window is mostly that error:
		// one shorter than half the interval is merged into the next.
		window := !first && now.Sub(prevT) >= interval/2
		if window && ok && cpuOK {
			r.addSample(r.intern(CoresBusy), prevT, float64(cpu-prevCPU)/float64(now.Sub(prevT)))
		}
		for i, g := range gauges {
			r.addSample(r.intern(g.Name), now, vals[i])
		}
		r.mu.Unlock()
		if first || window {
			prevCPU, cpuOK, prevT = cpu, ok, now
		}
	}
	tick(true) // the gauges' first values
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				tick(false)
				return
			case <-t.C:
				tick(false)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
			if ownCPU {
				r.mu.Lock()
				r.cpuOwned = false
				r.mu.Unlock()
			}
		})
		<-done
	}
}

// CounterStats summarizes the finite samples of the counter name: its peak and its
// time-weighted mean (each value held until the counter's next sample, from
// the first sample to the last), and how many samples it has. With fewer
// than two samples the mean is the value (or 0).
func (r *Recorder) CounterStats(name string) (mean, peak float64, n int) {
	if r == nil {
		return 0, 0, 0
	}
	snap := r.snapshot()
	return snap.counterStats(name)
}

// counterStats is CounterStats of a snapshot.
func (snap *snapshot) counterStats(name string) (mean, peak float64, n int) {
	var first, prevT int64
	var prevV, area float64
	for i := range snap.nc {
		c := snap.counter(i)
		if snap.strs[c.name] != name || math.IsNaN(c.value) || math.IsInf(c.value, 0) {
			continue
		}
		if n == 0 {
			first, peak = c.t, c.value
		} else {
			area += prevV * float64(c.t-prevT)
		}
		prevT, prevV = c.t, c.value
		peak = max(peak, c.value)
		n++
	}
	if prevT > first {
		return area / float64(prevT-first), peak, n
	}
	return prevV, peak, n
}

// readGauge reads g, NaN if it panics.
func readGauge(g Gauge) (v float64) {
	defer func() {
		if recover() != nil {
			v = math.NaN()
		}
	}()
	return g.Value()
}
