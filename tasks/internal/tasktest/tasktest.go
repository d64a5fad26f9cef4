// Package tasktest holds the checks that the tests of package tasks and of
// its GPU stage (tasks/gputask) share: the overlap of two resources' spans,
// and the validation of a Recorder's trace and timeline.
package tasktest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"slices"
	"testing"
	"time"

	"github.com/vkio/vkio/tasks"
)

// Overlap returns the total time spans of resources a and b overlap
// (waiting spans excluded).
func Overlap(spans []tasks.Span, a, b tasks.Resource) time.Duration {
	var d time.Duration
	for _, s := range spans {
		if s.Res != a || s.Wait {
			continue
		}
		for _, u := range spans {
			if u.Res != b || u.Wait {
				continue
			}
			lo, hi := s.Start, s.End
			if u.Start.After(lo) {
				lo = u.Start
			}
			if u.End.Before(hi) {
				hi = u.End
			}
			if hi.After(lo) {
				d += hi.Sub(lo)
			}
		}
	}
	return d
}

// CheckTrace validates rec's Chrome trace JSON (every event of a known
// phase, counters >= 0, no overlapping spans on a lane) and its SVG timeline
// (well-formed, a rect per span at least), and returns the number of spans
// per process name, flow events ("flow") and counter samples ("counter
// NAME").
func CheckTrace(t testing.TB, rec *tasks.Recorder) map[string]int {
	t.Helper()
	var buf bytes.Buffer
	if err := rec.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Ts   float64        `json:"ts"`
			Dur  float64        `json:"dur"`
			Pid  int            `json:"pid"`
			Tid  int            `json:"tid"`
			ID   string         `json:"id"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
		DisplayTimeUnit string `json:"displayTimeUnit"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	if doc.DisplayTimeUnit != "ms" {
		t.Errorf("displayTimeUnit %q", doc.DisplayTimeUnit)
	}
	procs := map[int]string{}
	counts := map[string]int{}
	type lane struct{ pid, tid int }
	byLane := map[lane][][2]float64{}
	for _, e := range doc.TraceEvents {
		switch e.Ph {
		case "M":
			if e.Name == "process_name" {
				procs[e.Pid] = e.Args["name"].(string)
			}
		case "X":
			byLane[lane{e.Pid, e.Tid}] = append(byLane[lane{e.Pid, e.Tid}], [2]float64{e.Ts, e.Ts + e.Dur})
		case "s", "t", "f":
			counts["flow"]++
		case "C":
			// A counter sample: a value >= 0 on the Counters process.
			if v, ok := e.Args["value"].(float64); !ok || v < 0 {
				t.Errorf("counter %q: args %v", e.Name, e.Args)
			}
			counts["counter "+e.Name]++
		default:
			t.Errorf("unexpected phase %q", e.Ph)
		}
	}
	for l, iv := range byLane {
		counts[procs[l.pid]] += len(iv)
		slices.SortFunc(iv, func(a, b [2]float64) int { return int(a[0] - b[0]) })
		for i := 1; i < len(iv); i++ {
			if iv[i][0] < iv[i-1][1]-0.001 {
				t.Fatalf("overlapping spans on lane %v: %v then %v", l, iv[i-1], iv[i])
			}
		}
	}
	buf.Reset()
	if err := rec.WriteTimelineSVG(&buf); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&buf)
	rects := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	if rects < len(rec.Spans()) {
		t.Errorf("SVG has %d rects for %d spans", rects, len(rec.Spans()))
	}
	return counts
}
