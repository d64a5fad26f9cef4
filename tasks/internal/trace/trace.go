// Package trace writes recorded spans as Chrome trace-event JSON (for
// Perfetto and chrome://tracing) and as a self-contained SVG timeline.
//
// Spans are grouped into processes (one per resource class: CPU, GPU, disk,
// network) and lanes (threads). A lane's spans are packed into as many
// sub-lanes as needed so that no two spans on one drawn lane overlap: the
// trace viewers require complete ("X") events on one thread to nest, and
// overlapping spans drawn on one row are unreadable.
package trace

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	stdio "io"
	"math"
	"slices"
	"strconv"
)

// Event is one span, with times in nanoseconds from the trace's origin.
type Event struct {
	Class string // process: "CPU", "GPU", "Disk", "Network"
	Order int    // sort key of the class (its pid)
	Lane  string // lane (thread) name hint within the class
	Name  string
	Cat   string
	Start int64 // ns from origin
	Dur   int64 // ns
	Flow  uint64
	Frame int   // >= 0: the frame, written as args {"frame": n}; < 0: none
	CPU   int64 // > 0: the CPU time (ns) the span used, written as args {"cpu_ms": x}
}

// Events is a list of events read by index, so that a recorder can keep
// them in a compact form and the writers need only a few bytes per event
// beyond it (Layout's 12), never all of them as Event values at once.
type Events interface {
	Len() int
	At(i int) Event
}

// Sample is one value of a counter (cores busy, frames in flight) at a
// time in nanoseconds from the trace's origin.
type Sample struct {
	Name  string
	T     int64 // ns from origin
	Value float64
}

// Samples is a list of counter samples read by index, in time order within
// each counter.
type Samples interface {
	Len() int
	At(i int) Sample
}

// CounterPid is the process id under which WriteChrome puts the counter
// tracks (a process named "Counters", sorted after the resource classes).
const CounterPid = 100

// counterNames returns the distinct counter names in order of appearance.
func counterNames(ss Samples) []string {
	var names []string
	seen := map[string]bool{}
	for i := range ss.Len() {
		n := ss.At(i).Name
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

// Slice is an Events held as a slice.
type Slice []Event

// Len returns len(s).
func (s Slice) Len() int { return len(s) }

// At returns s[i].
func (s Slice) At(i int) Event { return s[i] }

// Lane is a drawn row: one sub-lane of a class's lane.
type Lane struct {
	Pid, Tid int
	Class    string
	Name     string
	Row      int
}

// Placement is where Layout put the events: Order lists the event indices
// sorted by row, then start; Row is each event's drawn row (an index into
// the lanes).
type Placement struct {
	Order []int32
	Row   []int32
}

// Layout packs events into non-overlapping drawn lanes. It holds 12 bytes
// per event: the group lists (reused as Order) and Row.
func Layout(evs Events) (Placement, []Lane) {
	type key struct {
		order int
		class string
		lane  string
	}
	n := evs.Len()
	groups := map[key][]int32{}
	var keys []key
	for i := range n {
		e := evs.At(i)
		k := key{e.Order, e.Class, e.Lane}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], int32(i))
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.order, b.order); c != 0 {
			return c
		}
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		return compareNatural(a.lane, b.lane)
	})
	pl := Placement{Order: make([]int32, 0, n), Row: make([]int32, n)}
	var lanes []Lane
	tids := map[int]int{}
	for _, k := range keys {
		idx := groups[k]
		delete(groups, k)
		slices.SortStableFunc(idx, func(a, b int32) int {
			ea, eb := evs.At(int(a)), evs.At(int(b))
			if c := cmp.Compare(ea.Start, eb.Start); c != 0 {
				return c
			}
			return cmp.Compare(eb.Dur, ea.Dur)
		})
		var ends []int64 // per sub-lane, end of its last span
		first := len(lanes)
		for _, i := range idx {
			e := evs.At(int(i))
			sub := -1
			for s, end := range ends {
				if end <= e.Start {
					sub = s
					break
				}
			}
			if sub < 0 {
				sub = len(ends)
				ends = append(ends, 0)
				pid := k.order + 1
				tids[pid]++
				name := k.lane
				if name == "" {
					name = k.class
				}
				if sub > 0 {
					name = fmt.Sprintf("%s #%d", name, sub+1)
				}
				lanes = append(lanes, Lane{Pid: pid, Tid: tids[pid], Class: k.class, Name: name, Row: len(lanes)})
			}
			ends[sub] = e.Start + max(e.Dur, 0)
			pl.Row[i] = int32(first + sub)
		}
		// By row, then start: idx is sorted by start already.
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(pl.Row[a], pl.Row[b]) })
		pl.Order = append(pl.Order, idx...)
	}
	return pl, lanes
}

// flowOrder returns the indices of the events that have a Flow, grouped by
// flow id (ascending) and in time order within a flow, ties in placed order.
func flowOrder(evs Events, pl Placement) []int32 {
	var fl []int32
	for _, i := range pl.Order {
		if evs.At(int(i)).Flow != 0 {
			fl = append(fl, i)
		}
	}
	slices.SortStableFunc(fl, func(a, b int32) int {
		ea, eb := evs.At(int(a)), evs.At(int(b))
		if c := cmp.Compare(ea.Flow, eb.Flow); c != 0 {
			return c
		}
		return cmp.Compare(ea.Start, eb.Start)
	})
	return fl
}

// compareNatural orders "slot 2" before "slot 10".
func compareNatural(a, b string) int {
	na, sa := trailingNumber(a)
	nb, sb := trailingNumber(b)
	if sa == sb && na >= 0 && nb >= 0 {
		return cmp.Compare(na, nb)
	}
	return cmp.Compare(a, b)
}

func trailingNumber(s string) (int, string) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return -1, s
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return -1, s
	}
	return n, s[:i]
}

type chromeEvent struct {
	Name string       `json:"name,omitempty"`
	Cat  string       `json:"cat,omitempty"`
	Ph   string       `json:"ph"`
	Ts   json.Number  `json:"ts"`
	Dur  *json.Number `json:"dur,omitempty"`
	Pid  int          `json:"pid"`
	Tid  int          `json:"tid"`
	ID   string       `json:"id,omitempty"`
	Bp   string       `json:"bp,omitempty"`
	Args any          `json:"args,omitempty"`
}

type counterArgs struct {
	Value json.Number `json:"value"`
}

// spanArgs are a span's arguments: its frame and the CPU time it used.
type spanArgs struct {
	Frame *int        `json:"frame,omitempty"`
	CPUMS json.Number `json:"cpu_ms,omitempty"`
}

func micros(ns int64) json.Number {
	return json.Number(strconv.FormatFloat(float64(ns)/1e3, 'f', 3, 64))
}

// WriteChrome writes evs as a Chrome trace-event JSON object: complete ("X")
// events on packed lanes, process and thread names and sort orders, flow
// events ("s", "t", "f", bound to their enclosing slices) linking the spans
// that share a Flow id in time order, and the samples (may be nil) as
// counter ("C") events of a process "Counters" (pid CounterPid), one track
// per counter name in Perfetto. meta goes to "otherData". Events are written
// one at a time as they are produced (through a bufio.Writer): the memory it
// needs beyond evs is Layout's.
func WriteChrome(w stdio.Writer, evs Events, samples Samples, meta map[string]any) error {
	pl, lanes := Layout(evs)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	n := 0
	put := func(ev chromeEvent) error {
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		return enc.Encode(ev)
	}
	bw.WriteString(`{"traceEvents":[`)
	seenPid := map[int]bool{}
	for _, l := range lanes {
		if !seenPid[l.Pid] {
			seenPid[l.Pid] = true
			if err := put(chromeEvent{Name: "process_name", Ph: "M", Ts: "0", Pid: l.Pid, Args: map[string]any{"name": l.Class}}); err != nil {
				return err
			}
			if err := put(chromeEvent{Name: "process_sort_index", Ph: "M", Ts: "0", Pid: l.Pid, Args: map[string]any{"sort_index": l.Pid}}); err != nil {
				return err
			}
		}
		if err := put(chromeEvent{Name: "thread_name", Ph: "M", Ts: "0", Pid: l.Pid, Tid: l.Tid, Args: map[string]any{"name": l.Name}}); err != nil {
			return err
		}
		if err := put(chromeEvent{Name: "thread_sort_index", Ph: "M", Ts: "0", Pid: l.Pid, Tid: l.Tid, Args: map[string]any{"sort_index": l.Tid}}); err != nil {
			return err
		}
	}
	for _, i := range pl.Order {
		e := evs.At(int(i))
		l := lanes[pl.Row[i]]
		d := micros(max(e.Dur, 0))
		ev := chromeEvent{Name: e.Name, Cat: e.Cat, Ph: "X", Ts: micros(e.Start), Dur: &d, Pid: l.Pid, Tid: l.Tid}
		if e.Frame >= 0 || e.CPU > 0 {
			var a spanArgs
			if e.Frame >= 0 {
				a.Frame = &e.Frame
			}
			if e.CPU > 0 {
				a.CPUMS = json.Number(strconv.FormatFloat(float64(e.CPU)/1e6, 'f', 3, 64))
			}
			ev.Args = a
		}
		if err := put(ev); err != nil {
			return err
		}
	}
	fl := flowOrder(evs, pl)
	for j := 0; j < len(fl); {
		id := evs.At(int(fl[j])).Flow
		k := j
		for k < len(fl) && evs.At(int(fl[k])).Flow == id {
			k++
		}
		if k-j >= 2 {
			for m := j; m < k; m++ {
				e := evs.At(int(fl[m]))
				l := lanes[pl.Row[fl[m]]]
				ph := "t"
				switch m {
				case j:
					ph = "s"
				case k - 1:
					ph = "f"
				}
				// A point inside the slice, so it binds to it.
				if err := put(chromeEvent{Name: "frame", Cat: "flow", Ph: ph, Ts: micros(e.Start + max(e.Dur, 0)/2),
					Pid: l.Pid, Tid: l.Tid, ID: strconv.FormatUint(id, 10), Bp: "e"}); err != nil {
					return err
				}
			}
		}
		j = k
	}
	if samples != nil && samples.Len() > 0 {
		if err := put(chromeEvent{Name: "process_name", Ph: "M", Ts: "0", Pid: CounterPid, Args: map[string]any{"name": "Counters"}}); err != nil {
			return err
		}
		if err := put(chromeEvent{Name: "process_sort_index", Ph: "M", Ts: "0", Pid: CounterPid, Args: map[string]any{"sort_index": CounterPid}}); err != nil {
			return err
		}
		for i := range samples.Len() {
			c := samples.At(i)
			v := c.Value
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if err := put(chromeEvent{Name: c.Name, Cat: "counter", Ph: "C", Ts: micros(c.T), Pid: CounterPid,
				Args: counterArgs{json.Number(strconv.FormatFloat(v, 'g', 6, 64))}}); err != nil {
				return err
			}
		}
	}
	bw.WriteString(`],"displayTimeUnit":"ms"`)
	if len(meta) > 0 {
		bw.WriteString(`,"otherData":`)
		if err := enc.Encode(meta); err != nil {
			return err
		}
	}
	bw.WriteString("}\n")
	return bw.Flush()
}
