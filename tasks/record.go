package tasks

import (
	"cmp"
	"encoding/json"
	stdio "io"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks/internal/trace"
)

// Resource is a class of resource that work occupies: a lane group in traces
// and a line in the overlap report.
type Resource uint8

// The resource classes.
const (
	CPU  Resource = iota // host CPU work (encode, read back, task bodies)
	GPU                  // GPU queue execution, from GPU timestamps
	Disk                 // file writes
	Net                  // network sends
	numResources
)

var resourceNames = [...]string{"cpu", "gpu", "disk", "net"}
var resourceClasses = [...]string{"CPU", "GPU", "Disk", "Network"}

// String returns "cpu", "gpu", "disk" or "net".
func (r Resource) String() string {
	if r < numResources {
		return resourceNames[r]
	}
	return "resource?"
}

// MarshalText encodes the resource by name.
func (r Resource) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Span is one recorded interval of work (or of waiting) on a resource.
type Span struct {
	Res   Resource
	Lane  string // the worker or queue it ran on ("submit", "slot 1", "queue 0"); "" lets the writer pack it
	Name  string
	Start time.Time
	End   time.Time
	Frame int    // frame number, or -1
	Flow  uint64 // spans with the same non-zero Flow are linked by arrows in time order
	// Wait marks time spent waiting (a fence wait, a blocked acquire): drawn
	// light, and not counted as busy time.
	Wait bool
	// CPU is the CPU time the span's thread used during it (0: not
	// measured; see Pipeline.StageCPU). A trace shows it as the span's
	// argument "cpu_ms".
	CPU time.Duration
}

// Recorder collects spans for a trace, a timeline and an overlap report.
// It is safe for concurrent use. A nil *Recorder records nothing and costs
// one nil check per call: recording is off.
//
// Memory: a span is kept as a fixed-size record of 48 bytes (times as
// nanoseconds from the trace's origin, lane and name as indices into a table
// of the distinct strings seen), in chunks of 4096 records, so a run of n
// frames of the Pipeline (6 spans a frame) holds about 288 bytes a frame,
// and writing the trace or the timeline needs 12 bytes a span more while it
// runs (trace.Layout), streaming the output. Spans, which returns []Span,
// and Report need a copy or a permutation of the records.
type Recorder struct {
	mu       sync.Mutex
	origin   time.Time
	chunks   [][]record // each of capacity recordChunk; only the last is not full
	n        int
	cchunks  [][]counterRec // counter samples, chunked like the spans
	nc       int
	cpuOwned bool              // a sampler records CoresBusy (one at a time)
	strs     []string          // interned lane, name and counter strings
	index    map[string]uint32 // strs[index[s]] == s
	meta     map[string]any
	report   *Report // SetReport: the caption of the timeline; nil: computed from the spans
}

// record is a Span in 48 bytes.
type record struct {
	start, end int64 // ns from origin
	flow       uint64
	cpu        int64  // ns, 0: not measured
	frame      int32  // -1: none (frames beyond MaxInt32 are recorded as MaxInt32)
	lane, name uint32 // indices into strs
	res        Resource
	wait       bool
}

// frame32 is a frame number as a record keeps it.
func frame32(k int) int32 {
	if k < 0 {
		return -1
	}
	return int32(min(k, math.MaxInt32))
}

const recordChunk = 4096

// NewRecorder returns a recorder whose trace starts now.
func NewRecorder() *Recorder {
	return &Recorder{origin: time.Now(), meta: map[string]any{}}
}

// Enabled reports whether r records (whether it is non-nil).
func (r *Recorder) Enabled() bool { return r != nil }

// Add records s.
func (r *Recorder) Add(s Span) {
	if r == nil {
		return
	}
	r.mu.Lock()
	rec := record{start: int64(s.Start.Sub(r.origin)), end: int64(s.End.Sub(r.origin)), flow: s.Flow, frame: frame32(s.Frame),
		cpu: int64(s.CPU), lane: r.intern(s.Lane), name: r.intern(s.Name), res: s.Res, wait: s.Wait}
	if len(r.chunks) == 0 || len(r.chunks[len(r.chunks)-1]) == recordChunk {
		r.chunks = append(r.chunks, make([]record, 0, recordChunk))
	}
	last := &r.chunks[len(r.chunks)-1]
	*last = append(*last, rec)
	r.n++
	r.mu.Unlock()
}

// intern returns the index of s in r.strs, adding it; r.mu is held.
func (r *Recorder) intern(s string) uint32 {
	if i, ok := r.index[s]; ok {
		return i
	}
	if r.index == nil {
		r.index = map[string]uint32{}
	}
	i := uint32(len(r.strs))
	r.strs = append(r.strs, s)
	r.index[s] = i
	return i
}

// SetMeta attaches a key and value to the trace's metadata ("otherData").
func (r *Recorder) SetMeta(key string, value any) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.meta[key] = value
	r.mu.Unlock()
}

// SetReport makes rep the timeline's caption (WriteTimelineSVG), in place
// of the report the recorder computes from its spans alone. A run that
// measured more than its spans show — the process CPU time, the host's,
// the permits of each stage — sets its own report here, so that the
// picture and the run's printed report agree.
func (r *Recorder) SetReport(rep Report) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.report = &rep
	r.mu.Unlock()
}

// snapshot is the spans recorded up to a moment, read without the lock:
// records are never changed once added, chunks never reallocated, and
// strs only appended to.
type snapshot struct {
	origin time.Time
	chunks [][]record
	n      int
	strs   []string
	// counter samples
	cchunks [][]counterRec
	nc      int
}

func (r *Recorder) snapshot() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return snapshot{origin: r.origin, chunks: slices.Clone(r.chunks), n: r.n, strs: r.strs,
		cchunks: slices.Clone(r.cchunks), nc: r.nc}
}

func (s *snapshot) rec(i int) *record { return &s.chunks[i/recordChunk][i%recordChunk] }

func (s *snapshot) span(i int) Span {
	c := s.rec(i)
	return Span{Res: c.res, Lane: s.strs[c.lane], Name: s.strs[c.name], Frame: int(c.frame), Flow: c.flow, Wait: c.wait, CPU: time.Duration(c.cpu),
		Start: s.origin.Add(time.Duration(c.start)), End: s.origin.Add(time.Duration(c.end))}
}

// Len and At make a snapshot a trace.Events.
func (s *snapshot) Len() int { return s.n }

func (s *snapshot) At(i int) trace.Event {
	c := s.rec(i)
	cat := c.res.String()
	if c.wait {
		cat = "wait"
	}
	class := "?"
	if c.res < numResources {
		class = resourceClasses[c.res]
	}
	frame := int(c.frame)
	if frame < 0 {
		frame = -1
	}
	return trace.Event{Class: class, Order: int(c.res), Lane: s.strs[c.lane], Name: s.strs[c.name], Cat: cat,
		Start: c.start, Dur: c.end - c.start, Flow: c.flow, Frame: frame, CPU: c.cpu}
}

// Region is a span being recorded; End finishes it. The zero Region (from a
// nil Recorder) does nothing.
type Region struct {
	r *Recorder
	s Span
}

// Begin starts a span on res now. With a nil recorder it does not even read
// the clock.
func (r *Recorder) Begin(res Resource, lane, name string, frame int) Region {
	if r == nil {
		return Region{}
	}
	return r.begin(res, lane, name, frame)
}

// begin is kept out of line so that Begin inlines: with recording off a span
// then costs a nil check at the call site.
//
//go:noinline
func (r *Recorder) begin(res Resource, lane, name string, frame int) Region {
	return Region{r: r, s: Span{Res: res, Lane: lane, Name: name, Frame: frame, Start: time.Now()}}
}

// Flow sets the region's flow id (see Span.Flow) and returns it.
func (g Region) Flow(id uint64) Region { g.s.Flow = id; return g }

// Waiting marks the region as waiting time (see Span.Wait).
func (g Region) Waiting() Region { g.s.Wait = true; return g }

// End finishes the span now and records it.
func (g Region) End() {
	if g.r == nil {
		return
	}
	g.end()
}

//go:noinline
func (g Region) end() {
	g.s.End = time.Now()
	g.r.Add(g.s)
}

// Spans returns a copy of the spans recorded so far.
func (r *Recorder) Spans() []Span {
	if r == nil {
		return nil
	}
	snap := r.snapshot()
	out := make([]Span, snap.n)
	for i := range out {
		out[i] = snap.span(i)
	}
	return out
}

// Reset forgets every span and sample and restarts the trace's clock.
func (r *Recorder) Reset() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.chunks, r.n = nil, 0
	r.cchunks, r.nc = nil, 0
	r.strs, r.index = nil, nil
	r.origin = time.Now()
	r.mu.Unlock()
}

func (r *Recorder) metaCopy() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	meta := map[string]any{}
	for k, v := range r.meta {
		meta[k] = v
	}
	return meta
}

// WriteTrace writes the spans as Chrome trace-event JSON, which opens in
// Perfetto (ui.perfetto.dev) and chrome://tracing: a process per resource
// class (CPU, GPU, Disk, Network), a thread per lane (spans that overlap on
// one lane are split onto extra lanes "name #2", ...), flow arrows between
// the spans of a frame, the counter samples (see Sample) as counter tracks of
// a process "Counters", displayTimeUnit "ms" and the metadata in otherData.
func (r *Recorder) WriteTrace(w stdio.Writer) error {
	if r == nil {
		return &Error{Op: "trace", Frame: -1, Err: errNoRecorder}
	}
	snap := r.snapshot()
	return trace.WriteChrome(w, &snap, counterView{&snap}, r.metaCopy())
}

// WriteTimelineSVG draws the spans as a self-contained SVG picture: lanes
// top to bottom, time left to right, frames linked by arrows, the counter
// samples as area charts under the lanes, with the overlap report as a
// caption.
func (r *Recorder) WriteTimelineSVG(w stdio.Writer) error {
	if r == nil {
		return &Error{Op: "timeline", Frame: -1, Err: errNoRecorder}
	}
	snap := r.snapshot()
	r.mu.Lock()
	set := r.report
	r.mu.Unlock()
	var rep Report
	if set != nil {
		rep = *set
	} else {
		rep = snap.report()
	}
	title := "vkio timeline"
	if v, ok := r.metaCopy()["title"].(string); ok {
		title = v
	}
	return trace.WriteSVG(w, &snap, trace.SVGOptions{Title: title, Lines: rep.lines(), Counters: counterView{&snap},
		CounterScale: map[string]float64{CoresBusy: float64(runtime.NumCPU())}})
}

var errNoRecorder = &jsonErr{"recording is off (nil *Recorder)"}

type jsonErr struct{ s string }

func (e *jsonErr) Error() string { return e.s }

// Report computes the overlap report of every span recorded so far (wall time
// from the first span's start to the last span's end).
func (r *Recorder) Report() Report {
	if r == nil {
		return Report{}
	}
	snap := r.snapshot()
	return snap.report()
}

func (s *snapshot) report() Report {
	var m meter
	var t0, t1 int64
	order := make([]int32, s.n)
	for i := range s.n {
		c := s.rec(i)
		if i == 0 || c.start < t0 {
			t0 = c.start
		}
		if i == 0 || c.end > t1 {
			t1 = c.end
		}
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(s.rec(int(a)).start, s.rec(int(b)).start) })
	for _, i := range order {
		m.add(s.span(int(i)))
	}
	rep := Report{}
	m.fill(&rep, time.Duration(t1-t0))
	if mean, _, n := s.counterStats(CoresBusy); n >= 2 && mean > 0 {
		// The sampled process CPU over the spans' wall: the CPU time.
		rep.setBound(BoundInput{CPUTime: time.Duration(mean * float64(rep.Wall))})
	}
	return rep
}

// meter measures busy time per resource as the length of the union of its
// (non-wait) spans, in bounded memory: it keeps the most recent intervals
// and folds older ones into a total. A span that starts before the folded
// horizon is counted only from the horizon on.
type meter struct {
	mu  sync.Mutex
	res [numResources]struct {
		folded  time.Duration
		horizon time.Time
		ivs     []interval // disjoint, sorted
	}
}

type interval struct{ s, e time.Time }

const meterKeep = 256

func (m *meter) add(sp Span) {
	if sp.Wait || sp.Res >= numResources || !sp.End.After(sp.Start) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &m.res[sp.Res]
	s, e := sp.Start, sp.End
	if !r.horizon.IsZero() && s.Before(r.horizon) {
		s = r.horizon
		if !e.After(s) {
			return
		}
	}
	// Insert and merge.
	i, _ := slices.BinarySearchFunc(r.ivs, s, func(iv interval, t time.Time) int { return iv.s.Compare(t) })
	if i > 0 && !r.ivs[i-1].e.Before(s) {
		i--
		s = r.ivs[i].s
	}
	j := i
	for j < len(r.ivs) && !r.ivs[j].s.After(e) {
		if r.ivs[j].e.After(e) {
			e = r.ivs[j].e
		}
		j++
	}
	r.ivs = slices.Replace(r.ivs, i, j, interval{s, e})
	if len(r.ivs) > meterKeep {
		n := meterKeep / 2
		for _, iv := range r.ivs[:n] {
			r.folded += iv.e.Sub(iv.s)
		}
		r.horizon = r.ivs[n-1].e
		r.ivs = slices.Delete(r.ivs, 0, n)
	}
}

func (m *meter) busy(res Resource) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &m.res[res]
	d := r.folded
	for _, iv := range r.ivs {
		d += iv.e.Sub(iv.s)
	}
	return d
}

// fill sets the busy times, GPU idle time and efficiency of rep for a run of
// the given wall time.
func (m *meter) fill(rep *Report, wall time.Duration) {
	rep.Wall = wall
	rep.Busy = map[string]time.Duration{}
	var top time.Duration
	for res := Resource(0); res < numResources; res++ {
		b := m.busy(res)
		if b == 0 {
			continue
		}
		rep.Busy[res.String()] = b
		if b > top {
			top = b
			rep.Bottleneck = res.String()
		}
	}
	if gb, ok := rep.Busy["gpu"]; ok {
		rep.GPUIdle = max(wall-gb, 0)
	}
	if top > 0 {
		rep.Efficiency = float64(wall) / float64(top)
	}
	rep.setBound(BoundInput{})
}

// MarshalJSON is implemented by Report; keep json imported for it.
var _ json.Marshaler = (*Report)(nil)

// ObserveOp records a finished Io operation (it makes *Recorder an
// io.Observer): file operations on the disk lanes, socket operations on the
// network lanes, both on lanes named "io". Sleeps are not recorded. Install it
// with x.WithObserver(rec) to see every operation a run makes, beside the
// pipeline's own stage spans.
func (r *Recorder) ObserveOp(op io.Op) {
	if r == nil {
		return
	}
	var res Resource
	switch op.Class {
	case "file":
		res = Disk
	case "net":
		res = Net
	default:
		return
	}
	name := op.Name
	if op.Path != "" {
		name += " " + op.Path
	}
	r.Add(Span{Res: res, Lane: "io", Name: name, Start: op.Start, End: op.End, Frame: -1})
}
