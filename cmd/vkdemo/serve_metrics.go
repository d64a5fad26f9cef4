package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveMetricsHelp is the part of serve --help on GET /metrics.
const serveMetricsHelp = `Metrics: GET /metrics answers in the Prometheus text format (on the same
listener as /jobs, so loopback unless --listen says otherwise). Metrics
(all prefixed vkdemo_serve_):
  jobs_total{outcome}            jobs ended: done, failed (an error while
                                 running), timeout (--job-timeout), canceled
                                 (client left, shutdown), rejected (503 busy
                                 or shutting down, bad or too large request)
  jobs_waiting, jobs_running     jobs in the queue, jobs holding a slot
  job_queue_wait_seconds         histogram: arrival to slot, admitted jobs
  job_duration_seconds           histogram: arrival to last byte, admitted jobs
  gpu_submissions_in_flight      in-process GPU submissions recording or on
                                 the GPU (at most --gpu-inflight)
  gpu_submissions_total, gpu_dispatches_total   of the in-process batcher
  gpu_busy_seconds_total         GPU time of the jobs' dispatches (timestamps),
                                 in-process and in workers
  received_bytes_total, sent_bytes_total        request bodies in, all bytes out
  connections_open, connections_accepted_total, rejected_total (requests and
  connections refused, as /healthz "rejected")
  workers_live, workers_started_total, workers_crashed_total
and the Go runtime's and the process's own (go_*, process_*).`

// Job outcomes, the values of the outcome label of jobs_total.
const (
	outcomeDone     = "done"
	outcomeFailed   = "failed"
	outcomeTimeout  = "timeout"
	outcomeCanceled = "canceled"
	outcomeRejected = "rejected"
)

// serveMetrics are the server's Prometheus metrics, in a registry of their
// own (not the process-wide default one).
type serveMetrics struct {
	reg       *prometheus.Registry
	jobs      *prometheus.CounterVec
	queueWait prometheus.Histogram
	duration  prometheus.Histogram
	gpuBusy   prometheus.Counter
	handler   http.Handler
}

// latencyBuckets are the buckets of the latency histograms, in seconds:
// 1 ms to about 4 minutes, ×4 apart.
var latencyBuckets = prometheus.ExponentialBuckets(0.001, 4, 10)

// newServeMetrics returns s's metrics: counters and histograms updated by
// the handlers, and gauges and counters read from s's own counters at each
// scrape.
func newServeMetrics(s *server) *serveMetrics {
	const ns, sub = "vkdemo", "serve"
	m := &serveMetrics{reg: prometheus.NewRegistry()}
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "jobs_total",
		Help: "Jobs ended, by outcome: done, failed, timeout (--job-timeout), canceled (client left or shutdown), rejected (before running)."},
		[]string{"outcome"})
	for _, o := range []string{outcomeDone, outcomeFailed, outcomeTimeout, outcomeCanceled, outcomeRejected} {
		m.jobs.WithLabelValues(o) // present from the start, at 0
	}
	m.queueWait = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "job_queue_wait_seconds",
		Help: "Time from a job's arrival in the queue to its slot, for admitted jobs.", Buckets: latencyBuckets})
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "job_duration_seconds",
		Help: "Time from a job's arrival in the queue to the end of its response, for admitted jobs.", Buckets: latencyBuckets})
	m.gpuBusy = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "gpu_busy_seconds_total",
		Help: "Sum of the GPU time of the jobs' dispatches (GPU timestamps), in-process and in workers."})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		m.jobs, m.queueWait, m.duration, m.gpuBusy,
		gauge("jobs_waiting", "Jobs in the queue, waiting for room for their body or for a slot.", func() float64 { return float64(s.waiting.Load()) }),
		gauge("jobs_running", "Jobs holding a slot (--max-jobs).", func() float64 { return float64(s.running.Load()) }),
		gauge("gpu_submissions_in_flight", "In-process GPU submissions being recorded or on the GPU (--gpu-inflight).", func() float64 { _, _, n := s.gpuCounts(); return float64(n) }),
		counter("gpu_submissions_total", "GPU submissions made by the in-process batcher.", func() float64 { n, _, _ := s.gpuCounts(); return float64(n) }),
		counter("gpu_dispatches_total", "Dispatches submitted by the in-process batcher.", func() float64 { _, n, _ := s.gpuCounts(); return float64(n) }),
		counter("received_bytes_total", "Bytes of request bodies read.", func() float64 { return float64(s.bytesIn.Load()) }),
		counter("sent_bytes_total", "Bytes written to clients (responses, streams and errors).", func() float64 { return float64(s.bytesOut.Load()) }),
		gauge("connections_open", "Connections open (--max-conns).", func() float64 { return float64(s.conns.InUse()) }),
		counter("connections_accepted_total", "Connections accepted.", func() float64 { return float64(s.connsAccepted.Load()) }),
		counter("rejected_total", "Requests and connections refused (503, 4xx before running), as /healthz's rejected.", func() float64 { return float64(s.rejected.Load()) }),
		gauge("workers_live", "Worker processes running.", func() float64 { n, _ := s.workerCounts(); return float64(n) }),
		counter("workers_started_total", "Worker processes started.", func() float64 { _, n := s.workerCounts(); return float64(n) }),
		counter("workers_crashed_total", "Worker processes that crashed under a job.", func() float64 { return float64(s.workersCrashed.Load()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// jobEnded counts a job's outcome.
func (m *serveMetrics) jobEnded(outcome string) {
	if m != nil {
		m.jobs.WithLabelValues(outcome).Inc()
	}
}

// admitted records how long an admitted job waited for its slot.
func (m *serveMetrics) admitted(wait time.Duration) {
	if m != nil {
		m.queueWait.Observe(wait.Seconds())
	}
}

// finished records the latency of an admitted job, from its arrival.
func (m *serveMetrics) finished(total time.Duration) {
	if m != nil {
		m.duration.Observe(total.Seconds())
	}
}

// addGPUTime adds a dispatch's GPU time to the busy seconds.
func (m *serveMetrics) addGPUTime(d time.Duration) {
	if m != nil && d > 0 {
		m.gpuBusy.Add(d.Seconds())
	}
}

// serveMetricsPage answers GET /metrics; it returns the status.
func (s *server) serveMetricsPage(rw *respWriter, r *request) int {
	rw.deadline()
	rw.started = true
	rw.w.Header().Set("Connection", "close")
	sw := &statusWriter{ResponseWriter: rw.w, status: 200}
	s.metrics.handler.ServeHTTP(sw, r.req)
	return sw.status
}

// statusWriter notes the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
