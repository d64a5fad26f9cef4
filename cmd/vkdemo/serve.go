package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
)

func init() { register(newServeCmd) }

// serveConfig is the parsed command line of `vkdemo serve`.
type serveConfig struct {
	listen       string
	port         int
	outDir       string
	maxRequest   int64
	maxJobs      int
	maxQueue     int
	maxConns     int
	jobTimeout   time.Duration
	readTimeout  time.Duration
	writeTimeout time.Duration
	grace        time.Duration
	gpuInflight  int
	maxBatch     int
	trace        string
	verbose      bool
	devs         *devicesFlag // --devices
	// nats: with a URL, serve is a gateway to a NATS JetStream queue
	// (nats_gateway.go): jobs are queued for `vkdemo worker` processes.
	nats natsFlags
}

const serveLong = `Serve compute jobs over HTTP/1.1 on a TCP socket of the Io: net/http's
server runs on the Io's listener and connections (io.Listener.NetListener),
so the Io does all the network I/O. Jobs from all clients share one GPU
batcher (package gpu/batcher) that records the dispatches of several jobs
into one batch and submission.

Protocol: HTTP/1.1 — chosen over a custom framed protocol so that curl is a
client, with a JSON job description and binary data as multipart parts.

  POST /jobs   a job: multipart/form-data with a part "job" (the JSON),
               optionally "spirv" (a SPIR-V module to run instead of a
               built-in kernel) and "bindingN" parts (the raw little-endian
               bytes, or a .npy file, of binding N); with any other
               Content-Type (application/json, curl -d's default) the body
               is the job JSON alone.
  GET /kernels the built-in kernels and their interfaces (JSON).
  GET /healthz server counters (JSON); with --devices, "devices" lists
               each device's jobs in flight, done, failed, and why it
               was taken out ("lost").
  GET /metrics the same and more in the Prometheus text format (below).
  GET /results/PATH  a result a job saved at PATH under --out (raw bytes,
               sent from the page cache with sendfile; 404 if none).

The job (every field optional except the kernel, or a spirv part):

  {"kernel": "saxpy",                  built-in: saxpy, reduce, julia, tiny
   "bind": {"0": "rand:1M", "1": "iota"},  generated inputs, as run --bind
                                       (zeros ones iota rand fill:V; no file:)
   "push": "f32:2,u32:1048576",        push constants, as run --push
   "spec": {"0": 64},                  specialization constants, as run --spec
   "groups": [4096,1,1] | "grid": [..] workgroups (default: 1-D, one
                                       invocation per element of the largest binding)
   "size": "1M", "types": {"1": "u32"}, "seed": 1,
   "iterations": 1,                    dispatch this many times on the same buffers,
                                       streaming the outputs after each
   "outputs": [1],                     bindings to stream (default: the writable ones)
   "save": {"1": "runs/y.npy"}}        save binding B after the last iteration, under
                                       --out (.npy with dtype and shape, else raw)

The response to a job is 200 with a chunked body streamed as the GPU
produces it: for each iteration and output binding, one JSON line
  {"iter":0,"binding":1,"type":"f32","count":4096,"bytes":16384}
followed by exactly "bytes" bytes of little-endian data; then a final line,
  {"done":true,...}  or  {"error":"..."}  when the job failed after the stream
started. Errors before the stream starts are a status code with a JSON body
{"error":"..."}: 400 bad job or malformed request, 404/405 unknown path or
method, 408 request not received within --read-timeout, 413 request over
--max-request (also a job whose buffers would exceed it), 431 headers over
64 KiB, 503 busy or shutting down (with Retry-After), 504 --job-timeout
passed before the stream started. Every response closes the connection.

Limits and policy:
  - --max-jobs jobs run at once (a tasks.Semaphore); up to --max-queue more
    wait for a slot, in order; beyond that a job gets 503 at once.
  - --max-conns connections at once; more are answered 503 and closed.
  - A request's line and headers must arrive within --read-timeout, and its
    body within --read-timeout once the server reads it (when the body
    budget has room, see below); each write to a
    client must complete within --write-timeout, otherwise the job is
    canceled and the connection closed. A client that closes its connection
    (or its write side) cancels its job. So a slow or vanished client holds
    one connection slot and its own job's memory, for a bounded time.
  - --job-timeout bounds a job from the moment it gets its slot (a job
    that is too late gets 504 before its stream starts, an {"error":...}
    line after). A save in progress is abandoned: no partial file.

Isolation: a job that sends its own SPIR-V runs in a worker process
(vkdemo re-run as a hidden worker command, with its own Vulkan device, one
job at a time; up to --max-jobs of them, started when first needed and
reused). A module that crashes the driver, or a dispatch that does not
end, takes only its worker down: the server kills the worker (SIGKILL; the
driver's GPU work ends with the process) when --job-timeout passes, when
the client goes away, or when --grace ends at shutdown, and starts a fresh
one for the next job. A worker that crashes answers its job with 500 or an
{"error":"worker crashed: signal SIGSEGV"} line; the server goes on.
Built-in kernels run in the server process (no process hop), as long as
one dispatch is at most 2^28 invocation-steps (invocations times the
kernel's loop trips: julia's maxIter, reduce's ITEMS; a few seconds at most
on lavapipe): a running dispatch cannot be stopped, so this bounds how long a
timeout or shutdown waits for one; between dispatches, a canceled job stops
at once (queued GPU work is dropped). Heavier built-in jobs run in a worker
like uploaded SPIR-V.
  - Saves are atomic (temporary file, fsync, rename, fsync dir), confined to
    --out: absolute paths, ".." and symbolic links are rejected. Without
    --out, jobs that ask to save get 400.

Several devices: --devices (e.g. "0,1", "all", or "0,0" for two logical
devices on device 0) gives each device its own GPU batcher, kernel cache
and worker processes; a job runs on the device with the fewest jobs in
flight. A device lost mid-run is taken out (a line on stderr): jobs that
failed on it before sending any output run again on another device, those
that had begun streaming end with an {"error":...} line.

Gateway: with --nats URL, serve runs no job itself and opens no device:
each admitted job (the same checks, caps and answers as above) is queued on
that NATS JetStream server for 'vkdemo worker --nats URL' processes on any
number of machines, and its response streams the worker's output in the
format above. A request may name its job with the header X-Vkio-Job-Id (a
retried request then runs nothing twice); the response carries it. Saves
go to the queue's object store (vkdemo submit --id ID --out DIR fetches
them), so --out is refused; --max-jobs bounds the jobs waiting on workers.
Without --nats, serve runs everything on this machine: no server needed.

Shutdown: SIGINT or SIGTERM stops accepting, answers waiting jobs 503, lets
running jobs finish for up to --grace, then cancels them (their clients get
an {"error":...} line) and kills their workers, waits for the in-process
GPU work (at most one bounded dispatch per job), writes --trace and exits 0:
within --grace plus a few seconds. A second signal ends the process at
once (status 130).

` + serveLimitsHelp + "\n\n" + serveMetricsHelp

const serveExample = `  vkdemo serve --port 8420 --out results &
  curl -sS http://127.0.0.1:8420/jobs -H 'Content-Type: application/json' \
    -d '{"kernel":"saxpy","bind":{"0":"iota:8","1":"ones"},"push":"f32:2,u32:8","save":{"1":"y.npy"}}'

  # Your own data and shader: binding0.bin and binding1.bin hold float32 values
  curl -sS http://127.0.0.1:8420/jobs -F 'job={"push":"f32:0.5,u32:4096"}' \
    -F spirv=@shaders/saxpy.spv -F binding0=@x.bin -F binding1=@y.bin -o out.stream

  # Anywhere on the network (prints a warning), with a Perfetto trace at exit
  vkdemo serve --listen 0.0.0.0 --port 0 --trace serve.json

  # A gateway to the vkdemo workers of a NATS JetStream queue
  vkdemo serve --nats nats://nats.example:4222`

func newServeCmd(a *app) *cobra.Command {
	var cfg serveConfig
	var maxRequest string
	var devs devicesFlag
	cfg.devs = &devs
	cmd := &cobra.Command{
		Use:     "serve [flags]",
		Short:   "Serve compute jobs to HTTP clients, streaming their results",
		Long:    serveLong,
		Example: serveExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			sz, err := parseSize(maxRequest)
			if err != nil {
				return usageErrorf("--max-request: %v", err)
			}
			cfg.maxRequest = sz.n
			switch {
			case cfg.port < 0 || cfg.port > 65535:
				return usageErrorf("--port %d: want 0 to 65535", cfg.port)
			case cfg.maxJobs < 1, cfg.maxConns < 1, cfg.gpuInflight < 1, cfg.maxBatch < 1, cfg.maxQueue < 0:
				return usageErrorf("--max-jobs, --max-conns, --gpu-inflight and --max-batch must be at least 1, --max-queue at least 0")
			case cfg.jobTimeout <= 0 || cfg.readTimeout <= 0 || cfg.writeTimeout <= 0 || cfg.grace < 0:
				return usageErrorf("--job-timeout, --read-timeout and --write-timeout must be positive, --grace not negative")
			}
			if flagChanged(cmd.Flags(), "nats") || flagChanged(cmd.Flags(), "nats-prefix") || flagChanged(cmd.Flags(), "ack-wait") || flagChanged(cmd.Flags(), "max-deliver") {
				if err := cfg.nats.check(); err != nil {
					return err
				}
				if cfg.outDir != "" {
					return usageErrorf("--out with --nats: the workers keep jobs' saves in the queue's object store (vkdemo submit --out fetches them)")
				}
			}
			return a.serve(cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.listen, "listen", "127.0.0.1", "address to listen on; anything but loopback is reachable from other machines (a warning is printed)")
	fl.IntVarP(&cfg.port, "port", "p", 8420, "TCP port; 0 picks a free one (printed)")
	fl.StringVarP(&cfg.outDir, "out", "o", "", "folder where jobs may save results (created if missing); without it, saving is refused")
	fl.StringVar(&maxRequest, "max-request", "32MiB", "largest request (headers excluded) and largest total of a job's buffers, in bytes (units B KiB MiB GiB)")
	fl.IntVar(&cfg.maxJobs, "max-jobs", 4, "jobs running at once")
	fl.IntVar(&cfg.maxQueue, "max-queue", 64, "jobs waiting for a slot; more get 503")
	fl.IntVar(&cfg.maxConns, "max-conns", 64, "connections open at once; more get 503")
	fl.DurationVar(&cfg.jobTimeout, "job-timeout", 60*time.Second, "longest a job may run once it has a slot")
	fl.DurationVar(&cfg.readTimeout, "read-timeout", 30*time.Second, "longest a client may take to send its request")
	fl.DurationVar(&cfg.writeTimeout, "write-timeout", 10*time.Second, "longest one write to a client may take")
	fl.DurationVar(&cfg.grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, how long running jobs may go on before they are canceled")
	fl.IntVar(&cfg.gpuInflight, "gpu-inflight", 2, "GPU submissions in flight at once (per device with --devices)")
	devs.add(cmd)
	fl.IntVar(&cfg.maxBatch, "max-batch", 32, "most dispatches recorded into one GPU submission")
	fl.StringVar(&cfg.trace, "trace", "", "write a Chrome/Perfetto trace of network, GPU and disk spans to FILE at exit")
	fl.BoolVarP(&cfg.verbose, "verbose", "v", false, "log one line per request to stderr")
	cfg.nats.add(fl, "")
	fl.Lookup("nats").Usage = "be a gateway: queue jobs on this NATS JetStream server (nats://host:4222) for vkdemo worker processes, and stream their results back; no device is used here"
	return cmd
}

// server is a running `vkdemo serve`.
type server struct {
	a    *app
	cfg  serveConfig
	dev  *gpu.Device
	rec  *tasks.Recorder
	out  *saveRoot        // nil without --out
	gpu  *batcher.Batcher // the GPU work of in-process jobs
	kern *kernelCache
	// valid remembers the uploaded modules that passed validation, so that
	// a module sent with every job is validated once (nil: none kept).
	valid *moduleSet
	// uploadsChecked is set in a worker process: its server validated the
	// job's module before sending it, and NewKernel validates it again
	// before the driver, once per module for the worker's kernel cache.
	uploadsChecked bool
	// savesElsewhere: jobs' saves are kept by their stream (streamSaver:
	// a NATS worker's object store, a worker child's parent), not under
	// --out; a gateway accepts them for its workers.
	savesElsewhere bool
	// gateway queues the jobs for NATS workers (serve --nats); nil
	// otherwise.
	gateway *natsGateway
	// workers run the jobs with uploaded SPIR-V and the heavy built-in
	// ones (worker.go); nil in a worker process itself.
	workers        *workerPool
	workersCrashed atomic.Int64
	// set is the --devices set (nil without it); lanes are the server's
	// devices, one per member or the one device (serve_devices.go).
	set   *devset.Set
	lanes []*serveLane
	// metrics are served on GET /metrics; nil in a worker process.
	metrics *serveMetrics

	// jobsIo is the root of the requests' tasks: canceled at the end of
	// --grace. The sockets' Io (sockIo) outlives it, so that canceled jobs
	// still send their last line.
	jobsIo io.Io
	// connsOpen counts the accepted connections not yet closed, those
	// being answered 503, and the running handlers.
	connsOpen sync.WaitGroup

	jobs      *tasks.Semaphore // running jobs
	bodies    *tasks.Semaphore // bytes of request bodies in memory (bodyBudget)
	conns     *tasks.Semaphore // open connections
	rejecters *tasks.Semaphore // connections being answered 503 (reject)

	// drainCtx is canceled when shutdown starts: jobs waiting for a slot
	// give up then.
	drainCtx context.Context
	draining atomic.Bool

	seq                              atomic.Uint64 // job and connection ids
	waiting, running                 atomic.Int64
	jobsDone, jobsFailed, rejected   atomic.Int64
	bytesIn, bytesOut, connsAccepted atomic.Int64
}

// serve runs the server until SIGINT/SIGTERM.
func (a *app) serve(cfg serveConfig) (err error) {
	sigx, err := a.Io()
	if err != nil {
		return err
	}
	if sigx.Kind() == io.KindBlocking {
		return usageErrorf("serve: --io blocking cannot serve several clients at once (no Concurrent); use threaded or evented")
	}
	if ip := net.ParseIP(cfg.listen); ip == nil && cfg.listen != "localhost" {
		return usageErrorf("--listen %q: want an IP address (127.0.0.1, ::1, 0.0.0.0)", cfg.listen)
	} else if ip != nil && !ip.IsLoopback() {
		a.stderrf("vkdemo serve: warning: listening on %s, reachable from other machines: any client there can run jobs on this GPU and save files under --out\n", cfg.listen)
	}
	// The root of the server's tasks is not canceled by the signal: shutdown
	// is graceful, driven from here.
	root, cancelRoot := sigx.WithoutCancel().WithCancel()
	defer cancelRoot()

	s := &server{a: a, cfg: cfg, valid: &moduleSet{}}
	if cfg.trace != "" {
		s.rec = tasks.NewRecorder()
		s.rec.SetMeta("command", "vkdemo serve")
	}
	if cfg.outDir != "" {
		if s.out, err = openSaveRoot(root, cfg.outDir); err != nil {
			return err
		}
		defer s.out.close(root)
		if n := s.out.staleNote(); n != "" {
			a.stderrf("vkdemo serve: %s\n", n)
		}
	}
	gateway := cfg.nats.url != ""
	if gateway {
		// Jobs run on the workers: no device here, no batcher, no worker
		// processes.
		if cfg.devs.given() {
			return usageErrorf("--devices with --nats: the gateway runs no job itself (start each worker on its device)")
		}
		s.savesElsewhere = true
		if s.gateway, err = newNATSGateway(a, root, cfg); err != nil {
			return err
		}
		defer s.gateway.close()
	}
	s.jobs = tasks.NewSemaphore("jobs", int64(cfg.maxJobs))
	s.bodies = tasks.NewSemaphore("request bodies", bodyBudget(cfg))
	s.conns = tasks.NewSemaphore("connections", int64(cfg.maxConns))
	s.rejecters = tasks.NewSemaphore("rejected connections", maxRejecters)
	drainCtx, stopWaiting := context.WithCancel(context.Background())
	defer stopWaiting()
	s.drainCtx = drainCtx
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("serve: finding the vkdemo binary to run worker processes: %w", err)
	}
	// The device (or the --devices set), with a GPU batcher and worker
	// processes for each.
	if !gateway {
		defer func() { err = errors.Join(err, s.closeLanes(root)) }()
		if err := s.openLanes(root, exe); err != nil {
			return err
		}
	}
	s.metrics = newServeMetrics(s)

	addr := net.JoinHostPort(cfg.listen, strconv.Itoa(cfg.port))
	ln, err := io.Listen(root, "tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer ln.Close(root)
	if gateway {
		fmt.Fprintf(a.stdout, "vkdemo serve: listening on http://%s (gateway to the NATS queue %s at %s, io %s; Ctrl-C to stop)\n", ln.Addr(), cfg.nats.prefix, s.gateway.nc.ConnectedUrlRedacted(), sigx)
	} else {
		fmt.Fprintf(a.stdout, "vkdemo serve: listening on http://%s (%s, io %s; Ctrl-C to stop)\n", ln.Addr(), s.deviceNames(), sigx)
	}

	// net/http serves the Io's sockets (sockIo) until the signal; the
	// requests' tasks (jobsIo) are canceled at the end of --grace.
	sockIo, cancelSock := root.WithCancel()
	defer cancelSock()
	jobsIo, cancelJobs := root.WithCancel()
	defer cancelJobs()
	s.jobsIo = jobsIo
	srv := s.newHTTPServer(s)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newFrontListener(s, sockIo, ln)) }()
	var acceptErr error
	select {
	case <-sigx.Context().Done():
	case acceptErr = <-served:
	}
	// Shutdown: no new connections, waiting jobs get 503, running jobs have
	// --grace to finish, then they are canceled and send their last line
	// (each write within --write-timeout); then the sockets are closed.
	s.draining.Store(true)
	stopWaiting()
	if s.running.Load() > 0 {
		fmt.Fprintf(a.stdout, "vkdemo serve: shutting down: %d job(s) running, up to %s to finish\n", s.running.Load(), cfg.grace)
	}
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), cfg.grace)
	_ = srv.Shutdown(graceCtx) // closes the listener, waits for the connections up to --grace
	cancelGrace()
	cancelJobs() // cancels the jobs (killing their workers)
	lastCtx, cancelLast := context.WithTimeout(context.Background(), min(cfg.writeTimeout, 2*time.Second))
	_ = srv.Shutdown(lastCtx) // the last lines
	cancelLast()
	cancelSock()
	_ = srv.Close()
	s.connsOpen.Wait()
	if acceptErr == nil {
		acceptErr = <-served
	}
	if errors.Is(acceptErr, http.ErrServerClosed) || errors.Is(acceptErr, io.ErrCanceled) || errors.Is(acceptErr, io.ErrClosed) {
		acceptErr = nil
	}
	s.stopWorkers()
	gerr := s.stopGPU(root)
	subs, disps, _ := s.gpuCounts()
	_, started := s.workerCounts()
	fmt.Fprintf(a.stdout, "vkdemo serve: stopped: %d job(s) done, %d failed, %d rejected; %d GPU submission(s) for %d dispatch(es); %d worker(s) started, %d crashed\n",
		s.jobsDone.Load(), s.jobsFailed.Load(), s.rejected.Load(), subs, disps, started, s.workersCrashed.Load())
	err = errors.Join(acceptErr, gerr)
	if s.rec != nil {
		if terr := s.writeTrace(root); terr != nil {
			err = errors.Join(err, terr)
		}
	}
	return err
}

// writeTrace writes the recorder's trace to --trace, atomically.
func (s *server) writeTrace(x io.Io) error {
	f, err := io.Cwd().CreateAtomic(x, s.cfg.trace, 0o644)
	if err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	defer f.Close(x)
	w := f.Writer(x, make([]byte, 64<<10))
	if err := s.rec.WriteTrace(w); err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	if err := f.Commit(x); err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	fmt.Fprintf(s.a.stdout, "vkdemo serve: wrote trace %s\n", s.cfg.trace)
	return nil
}

// logf logs a line to stderr with -v.
func (s *server) logf(format string, args ...any) {
	if s.cfg.verbose {
		s.a.stderrf("vkdemo serve: "+format+"\n", args...)
	}
}
