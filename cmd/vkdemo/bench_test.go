package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkio/vkio/io"
)

// availableKinds returns the Io implementations io.New accepts here, in
// bench order, and the refused ones.
func availableKinds(t *testing.T) (ok, refused []string) {
	t.Helper()
	for _, k := range benchOrder {
		b, err := io.New(string(k))
		if err != nil {
			if !errors.Is(err, io.ErrUnsupported) {
				t.Fatalf("io.New(%q): %v", k, err)
			}
			refused = append(refused, string(k))
			continue
		}
		b.Close()
		ok = append(ok, string(k))
	}
	return ok, refused
}

// TestBenchJSON runs bench --json: a row per Io implementation in order,
// the available ones measured (blocking the baseline), the others skipped
// with a reason; the PNGs of each are correct; the timeline has a band per
// Io.
func TestBenchJSON(t *testing.T) {
	dir := t.TempDir()
	out := ok(t, dir, "bench", "--json", "--frames", "3", "--size", "32x24", "--iter", "50", "--out", "b")
	var rep struct {
		benchReport
		Rows []struct {
			benchRow
			Report json.RawMessage `json:"report"`
		} `json:"rows"`
	}
	if err := jsonDecoder(out).Decode(&rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	avail, refused := availableKinds(t)
	if rep.Frames != 3 || rep.Width != 32 || rep.Height != 24 || rep.MaxIter != 50 || rep.Runs != 1 || rep.Device != chosenDevice(t).Name ||
		rep.Timeline != filepath.Join("b", "bench-timeline.svg") || len(rep.Rows) != len(avail)+len(refused) {
		t.Fatalf("report: %s", out)
	}
	var bands []string
	for i, r := range rep.Rows {
		if r.Io != string(benchOrder[i]) {
			t.Errorf("row %d is %q, want %q", i, r.Io, benchOrder[i])
		}
		measured := r.Skipped == ""
		if want := !strings.Contains(strings.Join(refused, ","), r.Io); measured != want {
			t.Errorf("%s: skipped %q, but io.New says available=%v", r.Io, r.Skipped, want)
		}
		if !measured {
			continue
		}
		var inner struct {
			Frames int     `json:"frames"`
			WallMS float64 `json:"wall_ms"`
		}
		if err := json.Unmarshal(r.Report, &inner); err != nil {
			t.Fatal(err)
		}
		if r.WallMS <= 0 || r.Efficiency <= 0 || r.FramesPerSec <= 0 || r.PNGMBPerSec <= 0 || r.RawMBPerSec <= 0 ||
			r.Speedup <= 0 || inner.Frames != 3 || inner.WallMS != r.WallMS ||
			r.BoundMS <= 0 || r.BoundMS > r.WallMS || r.Binding == "" || r.Efficiency < 1 {
			t.Errorf("row %s: %+v %s", r.Io, r.benchRow, r.Report)
		}
		if r.Io == "blocking" && r.Speedup != 1 {
			t.Errorf("blocking speedup %v", r.Speedup)
		}
		checkFrames(t, filepath.Join(dir, "b", r.Io), 32, 24, 3, 50)
		bands = append(bands, r.Io+": ")
	}
	checkSVG(t, filepath.Join(dir, "b", "bench-timeline.svg"), append(bands, "blocking wall", "GPU: queue 0")...)
}

// TestBenchText checks the table, --ios and bench's usage errors.
func TestBenchText(t *testing.T) {
	dir := t.TempDir()
	out := ok(t, dir, "bench", "--ios", "threaded,blocking", "-n", "2", "-s", "16", "--runs", "2", "--timeline", "cmp.svg", "-o", "b")
	for _, want := range []string{"vkdemo bench: 2 frames of a 16x16", "2 run(s) per Io", "blocking  run 2/2", "threaded  run 2/2",
		"io", "wall", "speedup", "bound", "binding", "overlap eff.", "frames/s", "PNG MB/s", "1.00x", "timeline  cmp.svg"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "evented") {
		t.Errorf("--ios without evented ran it:\n%s", out)
	}
	checkSVG(t, filepath.Join(dir, "cmp.svg"), "blocking: ", "threaded: ")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"bench", "--ios", "fibers"}, `--ios "fibers": unknown Io implementation`},
		{[]string{"--io", "threaded", "bench"}, "use --ios, not --io"},
		{[]string{"bench", "--runs", "0"}, "--runs 0"},
		{[]string{"bench", "--frames", "0"}, "--frames 0"},
	} {
		r := vkdemo(t, dir, nil, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.msg) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", c.args, r.code, r.stderr)
		}
	}
}
