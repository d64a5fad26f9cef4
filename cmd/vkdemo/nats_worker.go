package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/cluster"
	"github.com/vkio/vkio/io"
)

func init() { register(newNATSWorkerCmd) }

// natsWorkerConfig is the command line of `vkdemo worker`.
type natsWorkerConfig struct {
	nats        natsFlags
	name        string
	jobs        int
	maxRequest  int64
	jobTimeout  time.Duration
	grace       time.Duration
	gpuInflight int
	maxBatch    int
	verbose     bool
	devs        devicesFlag // --devices
}

const natsWorkerLong = `Pull jobs from a NATS JetStream queue and run them on this machine's
device, until SIGINT or SIGTERM: then no more jobs are taken, the running
ones finish (up to --grace, after which they are canceled and go back to
the queue for another worker) and are acknowledged, and the worker exits 0.

A job is exactly what 'vkdemo serve' takes on POST /jobs (the JSON, or a
multipart body with spirv and bindingN parts), sent with 'vkdemo submit'
or through a gateway ('vkdemo serve --nats'). It runs with serve's code
and limits: --max-request, --job-timeout, the device's limits, and the
same isolation: a job with its own SPIR-V, or a built-in one heavier than
2^28 invocation-steps, runs in a worker child process, so a module that
crashes the driver takes down only that child; the job is then retried
(on this or another worker) until --max-deliver, then dead-lettered.

While it runs, a job's output is published live (the bytes serve would
stream to an HTTP client); its result (the done line, the outputs of its
last iteration) is stored durably, and its saves go to the queue's object
store under the job's ID, not to a folder. A job is acknowledged only after
its result is stored; a worker that dies (kill -9, a lost machine) stops
sending signs of life and the job is delivered to another worker after
--ack-wait. A job run twice keeps one result per job ID and one object
per save (the losing run's objects are deleted).

Several GPUs: --devices (e.g. "all", "0,1") opens each of them, with a GPU
batcher and worker child processes of its own; a job runs on the device
with the fewest jobs in flight, and a device lost mid-run is taken out: its
jobs run again on another device, or go back to the queue. --jobs is the
whole worker's count (give about 2 per device).`

const natsWorkerExample = `  nats-server -js -sd /var/lib/nats &          # or: go run github.com/nats-io/nats-server/v2@v2.15.3 -js -sd DIR
  vkdemo worker --nats nats://127.0.0.1:4222 --name gpu1 --jobs 4
  vkdemo submit --nats nats://127.0.0.1:4222 --wait job.json`

func newNATSWorkerCmd(a *app) *cobra.Command {
	var cfg natsWorkerConfig
	var maxRequest string
	cmd := &cobra.Command{
		Use:     "worker --nats URL [flags]",
		Short:   "Run jobs from a NATS JetStream queue on this machine's device",
		Long:    natsWorkerLong,
		Example: natsWorkerExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			sz, err := parseSize(maxRequest)
			if err != nil {
				return usageErrorf("--max-request: %v", err)
			}
			cfg.maxRequest = sz.n
			if err := cfg.nats.check(); err != nil {
				return err
			}
			switch {
			case cfg.jobs < 1 || cfg.gpuInflight < 1 || cfg.maxBatch < 1:
				return usageErrorf("--jobs, --gpu-inflight and --max-batch must be at least 1")
			case cfg.jobTimeout <= 0 || cfg.grace < 0 || cfg.maxRequest <= 0:
				return usageErrorf("--job-timeout and --max-request must be positive, --grace not negative")
			case len(cfg.name) > 128:
				return usageErrorf("--name: at most 128 bytes")
			}
			return a.natsWorker(cfg)
		},
	}
	fl := cmd.Flags()
	cfg.devs.add(cmd)
	cfg.nats.add(fl, os.Getenv(natsURLEnv))
	host, _ := os.Hostname()
	fl.StringVar(&cfg.name, "name", fmt.Sprintf("%s-%d", host, os.Getpid()), "this worker's name in results and dead-letter records")
	fl.IntVar(&cfg.jobs, "jobs", 2, "jobs running at once (the worker fetches only as many as it has free slots)")
	fl.StringVar(&maxRequest, "max-request", "32MiB", "largest job body and largest total of a job's buffers (units B KiB MiB GiB)")
	fl.DurationVar(&cfg.jobTimeout, "job-timeout", 60*time.Second, "longest a job may run (then it fails, not retried)")
	fl.DurationVar(&cfg.grace, "grace", 30*time.Second, "on SIGINT/SIGTERM, how long running jobs may go on before they are canceled and handed back to the queue")
	fl.IntVar(&cfg.gpuInflight, "gpu-inflight", 2, "GPU submissions in flight at once")
	fl.IntVar(&cfg.maxBatch, "max-batch", 32, "most dispatches recorded into one GPU submission")
	fl.BoolVarP(&cfg.verbose, "verbose", "v", false, "log each job and the queue's events to stderr")
	return cmd
}

// natsWorker runs `vkdemo worker`.
func (a *app) natsWorker(cfg natsWorkerConfig) (err error) {
	sigx, err := a.Io()
	if err != nil {
		return err
	}
	if sigx.Kind() == io.KindBlocking {
		return usageErrorf("worker: --io blocking cannot run jobs at once (no Concurrent); use threaded or evented")
	}
	// Jobs are not canceled by the signal: the queue's worker lets them
	// finish, up to --grace (it cancels their contexts then).
	root := sigx.WithoutCancel()
	s := &server{a: a, valid: &moduleSet{}, savesElsewhere: true, cfg: serveConfig{
		maxRequest: cfg.maxRequest, maxJobs: cfg.jobs, jobTimeout: cfg.jobTimeout,
		gpuInflight: cfg.gpuInflight, maxBatch: cfg.maxBatch, verbose: cfg.verbose,
	}}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("worker: finding the vkdemo binary to run worker processes: %w", err)
	}
	// The device (or the --devices set: each job on the least-loaded
	// member, run again on another if its member is lost before its output
	// began), with a GPU batcher and worker processes for each.
	s.cfg.devs = &cfg.devs
	defer func() { err = errors.Join(err, s.closeLanes(root)) }()
	if err := s.openLanes(root, exe); err != nil {
		return err
	}

	nc, err := cfg.nats.connect(sigx.Context(), cfg.name, a.stderrf)
	if err != nil {
		return err
	}
	defer nc.Close()
	h := &natsHandler{root: root, r: &natsRunner{s: s, hold: parseNATSHold(os.Getenv(natsHoldEnv))}}
	w, err := cluster.NewWorker(sigx.Context(), nc, cfg.nats.config(natsLogger(cfg.verbose, a.stderr)), cluster.WorkerOptions{
		Name: cfg.name, Concurrency: cfg.jobs, Handler: h, Grace: cfg.grace,
	})
	if err != nil {
		if sigx.Canceled() {
			return nil
		}
		return fmt.Errorf("worker: %w", err)
	}
	fmt.Fprintf(a.stdout, "vkdemo worker: %s pulling jobs from %s (%s, %d at once; Ctrl-C to stop)\n", w.Name(), nc.ConnectedUrlRedacted(), s.deviceNames(), cfg.jobs)
	stopping := context.AfterFunc(sigx.Context(), func() {
		fmt.Fprintf(a.stdout, "vkdemo worker: stopping: no more jobs taken; %d running, up to %s to finish\n", s.running.Load(), cfg.grace)
	})
	defer stopping()
	err = w.Run(sigx.Context())
	st := w.Stats()
	_, started := s.workerCounts()
	fmt.Fprintf(a.stdout, "vkdemo worker: stopped: %d job(s) run, %d ok, %d failed, %d retried, %d dead-lettered, %d skipped (already done); %d worker process(es) started, %d crashed\n",
		st.Runs, st.OK, st.Failed, st.Retried, st.DeadLettered, st.Skipped, started, s.workersCrashed.Load())
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

// natsHandler is the cluster.Handler of `vkdemo worker`: it runs a job with
// serve's code (natsRunner) on the worker's device.
type natsHandler struct {
	root io.Io // the worker's Io, not canceled by the signal
	r    *natsRunner
}

// Run runs one job. A job that cannot succeed (a bad request, a timeout) is
// a permanent failure; one whose worker child crashed, or that was canceled
// by a shutdown, is retried (and dead-lettered after --max-deliver).
func (h *natsHandler) Run(ctx context.Context, jb *cluster.Job, out *cluster.Output) ([]byte, error) {
	x, cancel := h.root.WithContext(ctx)
	defer cancel()
	res, err := h.r.runJob(x, jb.ID, jb.ContentType, jb.Body, clusterOut{out: out})
	if err != nil {
		var je *natsJobError
		switch {
		case errors.Is(err, cluster.ErrAlreadyDone):
			return nil, cluster.ErrAlreadyDone // another run of the job finished first
		case errors.As(err, &je) && !je.retry:
			return nil, cluster.Permanent(err)
		}
		return nil, err
	}
	return json.Marshal(res)
}

// clusterOut is a natsOut on a running job's cluster.Output.
type clusterOut struct{ out *cluster.Output }

// chunk publishes p as live output. Live output is best effort (a watcher
// that misses it gets the durable result): a publish that fails while the
// server restarts must not fail the job, so its error is dropped.
func (c clusterOut) chunk(_ io.Io, p []byte) error {
	_, _ = c.out.Write(p)
	return nil
}

func (c clusterOut) putObject(x io.Io, name string, parts ...[]byte) error {
	// The parts (a .npy header, then the values) stream one after the
	// other: the values are not copied into one buffer first.
	rs := make([]stdio.Reader, len(parts))
	for i, p := range parts {
		rs[i] = bytes.NewReader(p)
	}
	_, err := c.out.Put(x.Context(), name, stdio.MultiReader(rs...))
	if err != nil && !errors.Is(err, cluster.ErrTooLarge) && !errors.Is(err, cluster.ErrAlreadyDone) {
		// The queue's trouble (a timeout, a restarting server), not the
		// job's: worth another run.
		return &queueTrouble{err: err}
	}
	return err
}

// queueTrouble is a failure of the queue's server while a job stored its
// outputs: the job is retried, not failed.
type queueTrouble struct{ err error }

func (e *queueTrouble) Error() string { return "the job queue: " + e.err.Error() }
func (e *queueTrouble) Unwrap() error { return e.err }
