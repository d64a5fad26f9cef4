package tasks_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vkio/vkio/tasks"
)

// A run's own report, set on the recorder, is the timeline's caption: the
// picture says what the run printed, not what the spans alone suggest.
func TestSetReportCaptionsTheTimeline(t *testing.T) {
	rec := tasks.NewRecorder()
	t0 := time.Now()
	rec.Add(tasks.Span{Res: tasks.CPU, Lane: "slot 0", Name: "encode", Start: t0, End: t0.Add(10 * time.Millisecond), Frame: 0})
	var before bytes.Buffer
	if err := rec.WriteTimelineSVG(&before); err != nil {
		t.Fatal(err)
	}
	rep := rec.Report()
	rep.Bound = 7654321 * time.Nanosecond
	rep.Binding = "encoders"
	rep.Efficiency = 1.234
	rec.SetReport(rep)
	var after bytes.Buffer
	if err := rec.WriteTimelineSVG(&after); err != nil {
		t.Fatal(err)
	}
	want := "bound 7.7 ms, bound by encoders"
	if strings.Contains(before.String(), want) {
		t.Fatalf("the computed caption already says %q", want)
	}
	if !strings.Contains(after.String(), want) || !strings.Contains(after.String(), "overlap efficiency 1.234") {
		t.Fatalf("timeline after SetReport lacks %q and the efficiency", want)
	}
}
