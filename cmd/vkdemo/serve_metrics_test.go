package main

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vkio/vkio/shaders"
)

// scrape gets /metrics from a server and parses it with the Prometheus
// text parser.
func scrape(t testing.TB, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := httpClient.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: parsing: %v", err)
	}
	return fams
}

// metricValue is the value of the series of family name with the given
// label (label "" for a family without labels): a counter's or gauge's
// value, a histogram's sample count.
func metricValue(t testing.TB, fams map[string]*dto.MetricFamily, name, label, value string) float64 {
	t.Helper()
	fam := fams[name]
	if fam == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	for _, m := range fam.Metric {
		match := label == ""
		for _, lp := range m.Label {
			if lp.GetName() == label && lp.GetValue() == value {
				match = true
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("/metrics: no %s{%s=%q}", name, label, value)
	return 0
}

// TestServeMetrics runs a built-in job (in process), an uploaded one (in a
// worker), a bad job and one whose worker crashes, and checks that
// /metrics, parsed with the Prometheus text parser, moved by exactly what
// they did.
func TestServeMetrics(t *testing.T) {
	srv := startServe(t, []string{workerCrashEnv + "=666"})
	before := scrape(t, srv.addr)
	val := func(fams map[string]*dto.MetricFamily, name string, lv ...string) float64 {
		t.Helper()
		if len(lv) == 2 {
			return metricValue(t, fams, "vkdemo_serve_"+name, lv[0], lv[1])
		}
		return metricValue(t, fams, "vkdemo_serve_"+name, "", "")
	}
	for _, o := range []string{"done", "failed", "timeout", "canceled", "rejected"} {
		if v := val(before, "jobs_total", "outcome", o); v != 0 {
			t.Errorf("before any job: jobs_total{outcome=%q} = %g", o, v)
		}
	}
	if v := val(before, "gpu_dispatches_total"); v != 0 {
		t.Errorf("before any job: gpu_dispatches_total = %g", v)
	}
	if fams := before["go_goroutines"]; fams == nil {
		t.Errorf("/metrics has no Go runtime metrics (go_goroutines)")
	}

	r := rand.New(rand.NewPCG(21, 22))
	sentIn, streamed := 0, 0
	gpuUs := 0.0
	// A built-in job, 3 iterations: 3 dispatches through the batcher.
	job, parts, a, x, y := saxpyJob(r, 2048, 3)
	res := postJob(t, srv.addr, job, parts)
	if res.status != 200 || res.err != "" || len(res.frames) != 3 {
		t.Fatalf("built-in saxpy: %+v", res)
	}
	checkSaxpy(t, "built-in saxpy", a, x, y, 3, f32s(res.frames[2].data))
	sentIn += len(job) + len(parts["binding0"]) + len(parts["binding1"])
	for _, f := range res.frames {
		streamed += len(f.data)
	}
	gpuUs += res.done["gpu_us"].(float64)
	// An uploaded job, in a worker.
	job, parts, a, x, y = saxpyJob(r, 1000, 1)
	job = strings.Replace(job, `"kernel":"saxpy",`, "", 1)
	parts["spirv"] = shaders.SAXPY()
	res = postJob(t, srv.addr, job, parts)
	if res.status != 200 || res.err != "" || len(res.frames) != 1 {
		t.Fatalf("uploaded saxpy: %+v", res)
	}
	checkSaxpy(t, "uploaded saxpy", a, x, y, 1, f32s(res.frames[0].data))
	sentIn += len(job) + len(parts["binding0"]) + len(parts["binding1"]) + len(parts["spirv"])
	streamed += len(res.frames[0].data)
	gpuUs += res.done["gpu_us"].(float64)
	// A bad job: rejected before it runs.
	bad := `{"kernel":"nope"}`
	if res := postJob(t, srv.addr, bad, nil); res.status != 400 {
		t.Fatalf("bad job: status %d, want 400", res.status)
	}
	sentIn += len(bad)
	// A job whose worker crashes after its first frame: failed.
	job, parts, _, _, _ = saxpyJob(r, 512, 3)
	job = strings.Replace(job, `"kernel":"saxpy",`, `"seed":666,`, 1)
	parts["spirv"] = shaders.SAXPY()
	res = postJob(t, srv.addr, job, parts)
	if res.status != 200 || res.err != "worker crashed: signal SIGSEGV" {
		t.Fatalf("crashing job: status %d, error %q", res.status, res.err)
	}
	sentIn += len(job) + len(parts["binding0"]) + len(parts["binding1"]) + len(parts["spirv"])
	// POST /metrics is not allowed.
	if resp, err := httpClient.Post("http://"+srv.addr+"/metrics", "text/plain", nil); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: status %d, want 405", resp.StatusCode)
	}

	// A client reads a job's last line a moment before the server's handler
	// counts the job done: scrape once the server says nothing runs.
	after := scrape(t, srv.addr)
	for deadline := time.Now().Add(30 * time.Second); val(after, "jobs_running") != 0 || val(after, "jobs_waiting") != 0; after = scrape(t, srv.addr) {
		if time.Now().After(deadline) {
			break // the checks below say what is wrong
		}
		time.Sleep(20 * time.Millisecond)
	}
	delta := func(name string, lv ...string) float64 {
		t.Helper()
		return val(after, name, lv...) - val(before, name, lv...)
	}
	for o, want := range map[string]float64{"done": 2, "failed": 1, "rejected": 1, "timeout": 0, "canceled": 0} {
		if got := delta("jobs_total", "outcome", o); got != want {
			t.Errorf("jobs_total{outcome=%q} moved by %g, want %g", o, got, want)
		}
	}
	if got := delta("rejected_total"); got != 1 {
		t.Errorf("rejected_total moved by %g, want 1", got)
	}
	// Histograms count the admitted jobs: 2 done, 1 failed.
	for _, h := range []string{"job_queue_wait_seconds", "job_duration_seconds"} {
		if got := delta(h); got != 3 {
			t.Errorf("%s counted %g jobs, want 3", h, got)
		}
	}
	if got := delta("gpu_dispatches_total"); got != 3 {
		t.Errorf("gpu_dispatches_total moved by %g, want 3 (the built-in job's iterations)", got)
	}
	if got := delta("gpu_submissions_total"); got < 1 || got > 3 {
		t.Errorf("gpu_submissions_total moved by %g, want 1 to 3", got)
	}
	for _, g := range []string{"jobs_running", "jobs_waiting", "gpu_submissions_in_flight"} {
		if v := val(after, g); v != 0 {
			t.Errorf("%s = %g after the jobs, want 0", g, v)
		}
	}
	if got := delta("gpu_busy_seconds_total"); gpuUs <= 0 || math.Abs(got-gpuUs/1e6) > 1e-6+1e-6*gpuUs/1e6 {
		t.Errorf("gpu_busy_seconds_total moved by %g s, want the jobs' gpu_us: %g µs", got, gpuUs)
	}
	// Request bodies: the job JSON and parts, plus the multipart framing
	// (well under 1 KiB a job).
	if got := delta("received_bytes_total"); got < float64(sentIn) || got > float64(sentIn+3*1024) {
		t.Errorf("received_bytes_total moved by %g, want %d plus multipart framing", got, sentIn)
	}
	if got := delta("sent_bytes_total"); got < float64(streamed) {
		t.Errorf("sent_bytes_total moved by %g, want at least the %d bytes streamed", got, streamed)
	}
	if got := delta("workers_started_total"); got < 1 {
		t.Errorf("workers_started_total moved by %g, want at least 1", got)
	}
	if got := delta("workers_crashed_total"); got != 1 {
		t.Errorf("workers_crashed_total moved by %g, want 1", got)
	}
	if got := delta("connections_accepted_total"); got < 6 {
		t.Errorf("connections_accepted_total moved by %g, want at least 6 (4 jobs, POST and GET /metrics)", got)
	}
	srv.stop(t)
}

// TestServeMetricsTimeout: a job that runs past --job-timeout counts as
// timeout, not failed, and its killed worker not as a crash.
func TestServeMetricsTimeout(t *testing.T) {
	srv := startServe(t, nil, "--job-timeout", "1s")
	before := scrape(t, srv.addr)
	job, parts := runawayJob(t)
	if res := postJob(t, srv.addr, job, parts); !strings.Contains(res.err, "--job-timeout") {
		t.Fatalf("runaway job: status %d, error %q; want the --job-timeout", res.status, res.err)
	}
	after := scrape(t, srv.addr)
	for name, want := range map[string]float64{"timeout": 1, "failed": 0, "done": 0} {
		if got := metricValue(t, after, "vkdemo_serve_jobs_total", "outcome", name) - metricValue(t, before, "vkdemo_serve_jobs_total", "outcome", name); got != want {
			t.Errorf("jobs_total{outcome=%q} moved by %g, want %g", name, got, want)
		}
	}
	if got := metricValue(t, after, "vkdemo_serve_workers_crashed_total", "", ""); got != 0 {
		t.Errorf("workers_crashed_total = %g after a timeout, want 0", got)
	}
	srv.stop(t)
}
