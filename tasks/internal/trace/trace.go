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
	"cmp"
	"encoding/json"
	"fmt"
	stdio "io"
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
	Args  map[string]any
}

// Placed is an event with the drawn lane it was packed into.
type Placed struct {
	Event
	Pid, Tid int
	Row      int // global row index for drawing, top to bottom
}

// Lane is a drawn row: one sub-lane of a class's lane.
type Lane struct {
	Pid, Tid int
	Class    string
	Name     string
	Row      int
}

// Layout packs events into non-overlapping drawn lanes. The result is sorted
// by row, then start.
func Layout(evs []Event) ([]Placed, []Lane) {
	type key struct {
		order int
		class string
		lane  string
	}
	groups := map[key][]int{}
	var keys []key
	for i, e := range evs {
		k := key{e.Order, e.Class, e.Lane}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
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
	var placed []Placed
	var lanes []Lane
	tids := map[int]int{}
	for _, k := range keys {
		idx := groups[k]
		slices.SortStableFunc(idx, func(a, b int) int {
			if c := cmp.Compare(evs[a].Start, evs[b].Start); c != 0 {
				return c
			}
			return cmp.Compare(evs[b].Dur, evs[a].Dur)
		})
		var ends []int64 // per sub-lane, end of its last span
		first := len(lanes)
		for _, i := range idx {
			e := evs[i]
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
			l := lanes[first+sub]
			placed = append(placed, Placed{Event: e, Pid: l.Pid, Tid: l.Tid, Row: l.Row})
		}
	}
	slices.SortStableFunc(placed, func(a, b Placed) int {
		if c := cmp.Compare(a.Row, b.Row); c != 0 {
			return c
		}
		return cmp.Compare(a.Start, b.Start)
	})
	return placed, lanes
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
	Name string         `json:"name,omitempty"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   json.Number    `json:"ts"`
	Dur  *json.Number   `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   string         `json:"id,omitempty"`
	Bp   string         `json:"bp,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

func micros(ns int64) json.Number {
	return json.Number(strconv.FormatFloat(float64(ns)/1e3, 'f', 3, 64))
}

// WriteChrome writes evs as a Chrome trace-event JSON object: complete ("X")
// events on packed lanes, process and thread names and sort orders, and flow
// events ("s", "t", "f", bound to their enclosing slices) linking the spans
// that share a Flow id in time order. meta goes to "otherData".
func WriteChrome(w stdio.Writer, evs []Event, meta map[string]any) error {
	placed, lanes := Layout(evs)
	out := make([]chromeEvent, 0, len(placed)+2*len(lanes)+8)
	seenPid := map[int]bool{}
	for _, l := range lanes {
		if !seenPid[l.Pid] {
			seenPid[l.Pid] = true
			out = append(out,
				chromeEvent{Name: "process_name", Ph: "M", Ts: "0", Pid: l.Pid, Args: map[string]any{"name": l.Class}},
				chromeEvent{Name: "process_sort_index", Ph: "M", Ts: "0", Pid: l.Pid, Args: map[string]any{"sort_index": l.Pid}})
		}
		out = append(out,
			chromeEvent{Name: "thread_name", Ph: "M", Ts: "0", Pid: l.Pid, Tid: l.Tid, Args: map[string]any{"name": l.Name}},
			chromeEvent{Name: "thread_sort_index", Ph: "M", Ts: "0", Pid: l.Pid, Tid: l.Tid, Args: map[string]any{"sort_index": l.Tid}})
	}
	flows := map[uint64][]int{}
	for i, p := range placed {
		d := micros(max(p.Dur, 0))
		out = append(out, chromeEvent{Name: p.Name, Cat: p.Cat, Ph: "X", Ts: micros(p.Start), Dur: &d, Pid: p.Pid, Tid: p.Tid, Args: p.Args})
		if p.Flow != 0 {
			flows[p.Flow] = append(flows[p.Flow], i)
		}
	}
	ids := make([]uint64, 0, len(flows))
	for id := range flows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		idx := flows[id]
		if len(idx) < 2 {
			continue
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(placed[a].Start, placed[b].Start) })
		for j, i := range idx {
			p := placed[i]
			ph := "t"
			switch j {
			case 0:
				ph = "s"
			case len(idx) - 1:
				ph = "f"
			}
			// A point inside the slice, so it binds to it.
			out = append(out, chromeEvent{Name: "frame", Cat: "flow", Ph: ph, Ts: micros(p.Start + max(p.Dur, 0)/2),
				Pid: p.Pid, Tid: p.Tid, ID: strconv.FormatUint(id, 10), Bp: "e"})
		}
	}
	doc := struct {
		TraceEvents     []chromeEvent  `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData,omitempty"`
	}{out, "ms", meta}
	enc := json.NewEncoder(w)
	return enc.Encode(doc)
}
