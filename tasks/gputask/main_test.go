package gputask_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/gputest"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

func TestMain(m *testing.M) { gputest.Main(m) }

// openGPU opens a device with validation on; see gputest.Open.
func openGPU(t testing.TB) *gpu.Device { return gputest.Open(t, gpu.Options{}) }

// ios runs fn on Blocking and Threaded Ios (and Evented, where io.New knows it).
func ios(t *testing.T, fn func(t *testing.T, x io.Io)) {
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		t.Run(kind, func(t *testing.T) {
			b, err := io.New(kind)
			if err != nil {
				t.Skipf("io.New(%q): %v", kind, err)
			}
			defer b.Close()
			fn(t, b.Io())
		})
	}
}

// benchIos lists the Io implementations io.New knows.
func benchIos(b *testing.B, fn func(b *testing.B, x io.Io)) {
	for _, kind := range []string{"blocking", "threaded", "evented"} {
		b.Run(kind, func(b *testing.B) {
			be, err := io.New(kind)
			if err != nil {
				b.Skipf("io.New(%q): %v", kind, err)
			}
			defer be.Close()
			fn(b, be.Io())
		})
	}
}

func reportPipeline(b *testing.B, reps []tasks.Report, frames int) {
	var eff, wall, gpuB, disk float64
	for _, r := range reps {
		eff += r.Efficiency
		wall += float64(r.Wall)
		gpuB += float64(r.Busy["gpu"])
		disk += float64(r.Busy["disk"])
	}
	n := float64(len(reps))
	b.ReportMetric(eff/n, "overlap-eff")
	b.ReportMetric(wall/n/1e6, "wall-ms")
	b.ReportMetric(gpuB/n/1e6/float64(frames), "gpu-ms/frame")
	b.ReportMetric(disk/n/1e6/float64(frames), "save-ms/frame")
}

// openBenchGPU opens the device without validation (benchmarks measure
// speed; tests run with the layer on).
func openBenchGPU(b *testing.B) *gpu.Device {
	d, err := gpu.Open(gpu.Options{})
	if err != nil {
		b.Skipf("no Vulkan device: %v", err)
	}
	return d
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapBytes() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}

// sampleHeap records into peak the largest live heap above base until stop:
// every 10 ms it forces a collection and reads the heap, so the figure is
// retained memory, not garbage waiting for the collector.
func sampleHeap(peak *uint64, base uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			runtime.GC()
			if v := heapBytes(); v > base && v-base > *peak {
				*peak = v - base
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// overlap returns the total time spans of a and b overlap.
func overlap(spans []tasks.Span, a, b tasks.Resource) time.Duration {
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

// checkTrace validates the Chrome trace JSON and the SVG of rec.
func checkTrace(t *testing.T, rec *tasks.Recorder) map[string]int {
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
