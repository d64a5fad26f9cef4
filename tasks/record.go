package tasks

import (
	"encoding/json"
	stdio "io"
	"slices"
	"sync"
	"time"

	"vkio/io"
	"vkio/tasks/internal/trace"
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
}

// Recorder collects spans for a trace, a timeline and an overlap report.
// It is safe for concurrent use. A nil *Recorder records nothing and costs
// one nil check per call: recording is off.
type Recorder struct {
	mu     sync.Mutex
	origin time.Time
	spans  []Span
	meta   map[string]any
}

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
	r.spans = append(r.spans, s)
	r.mu.Unlock()
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
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// Reset forgets every span and restarts the trace's clock.
func (r *Recorder) Reset() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.spans = r.spans[:0]
	r.origin = time.Now()
	r.mu.Unlock()
}

func (r *Recorder) events() ([]trace.Event, map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := make([]trace.Event, 0, len(r.spans))
	for _, s := range r.spans {
		cat := s.Res.String()
		if s.Wait {
			cat = "wait"
		}
		var args map[string]any
		if s.Frame >= 0 {
			args = map[string]any{"frame": s.Frame}
		}
		class := "?"
		if s.Res < numResources {
			class = resourceClasses[s.Res]
		}
		evs = append(evs, trace.Event{
			Class: class, Order: int(s.Res), Lane: s.Lane, Name: s.Name, Cat: cat,
			Start: int64(s.Start.Sub(r.origin)), Dur: int64(s.End.Sub(s.Start)),
			Flow: s.Flow, Args: args,
		})
	}
	meta := map[string]any{}
	for k, v := range r.meta {
		meta[k] = v
	}
	return evs, meta
}

// WriteTrace writes the spans as Chrome trace-event JSON, which opens in
// Perfetto (ui.perfetto.dev) and chrome://tracing: a process per resource
// class (CPU, GPU, Disk, Network), a thread per lane (spans that overlap on
// one lane are split onto extra lanes "name #2", ...), flow arrows between
// the spans of a frame, displayTimeUnit "ms" and the metadata in otherData.
func (r *Recorder) WriteTrace(w stdio.Writer) error {
	if r == nil {
		return &Error{Op: "trace", Frame: -1, Err: errNoRecorder}
	}
	evs, meta := r.events()
	return trace.WriteChrome(w, evs, meta)
}

// WriteTimelineSVG draws the spans as a self-contained SVG picture: lanes
// top to bottom, time left to right, frames linked by arrows, with the
// overlap report as a caption.
func (r *Recorder) WriteTimelineSVG(w stdio.Writer) error {
	if r == nil {
		return &Error{Op: "timeline", Frame: -1, Err: errNoRecorder}
	}
	evs, meta := r.events()
	rep := r.Report()
	title := "vkio timeline"
	if v, ok := meta["title"].(string); ok {
		title = v
	}
	return trace.WriteSVG(w, evs, trace.SVGOptions{Title: title, Lines: rep.lines()})
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
	spans := r.Spans()
	var m meter
	var t0, t1 time.Time
	for i, s := range spans {
		if i == 0 || s.Start.Before(t0) {
			t0 = s.Start
		}
		if i == 0 || s.End.After(t1) {
			t1 = s.End
		}
	}
	slices.SortFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	for _, s := range spans {
		m.add(s)
	}
	rep := Report{}
	m.fill(&rep, t1.Sub(t0))
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
