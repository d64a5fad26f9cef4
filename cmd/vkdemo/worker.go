package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/job"
)

// Isolation: jobs that run uploaded SPIR-V, and built-in jobs whose
// dispatches are heavier than inProcessMaxWork, run in a worker process
// (`vkdemo __worker`, see worker_child.go) with its own device, so that a
// module that crashes the driver, or a dispatch that does not end, takes
// down only that worker: the server kills it (SIGKILL: the driver's GPU
// work ends with the process) when --job-timeout passes, when the client
// goes away or when --grace ends at shutdown, and the next job gets a fresh
// worker. Light built-in jobs keep the in-process path, where their GPU
// work is bounded by inProcessMaxWork per dispatch.

// inProcessMaxWork caps the work of one dispatch of a built-in job that
// runs in the server process, in invocation-steps: invocations times the
// kernel's loop trips (julia: maxIter, reduce: ITEMS; saxpy and tiny: 1).
// A dispatch in the server process cannot be stopped once submitted, so
// this bounds how long --job-timeout or shutdown wait for one (a few
// seconds at most on lavapipe, far less on a GPU; the README's 512x512
// julia with maxIter 256 is 67M). Heavier built-in jobs run in a worker,
// like uploaded SPIR-V.
const inProcessMaxWork = 1 << 28

// workerStopWait is how long an idle worker may take to exit when the pool
// closes, and how long a worker whose pipe broke may take to exit before it
// is killed.
const workerStopWait = 2 * time.Second

// workerPool starts worker processes lazily and keeps idle ones for reuse.
// The server admits at most --max-jobs jobs at once and each holds at most
// one worker, so at most --max-jobs workers run.
type workerPool struct {
	exe    string   // the binary to run (os.Executable)
	args   []string // its arguments: global flags, "__worker", worker flags
	env    []string // its environment; nil: the server's
	stderr stdio.Writer

	mu      sync.Mutex
	started int64 // workers started, for their ids
	idle    []*worker
	all     map[*worker]struct{}
	closed  bool
}

func newWorkerPool(exe string, args, env []string, stderr stdio.Writer) *workerPool {
	return &workerPool{exe: exe, args: args, env: env, stderr: stderr, all: map[*worker]struct{}{}}
}

// worker is one worker process.
type worker struct {
	id   int64
	cmd  *exec.Cmd
	in   *os.File      // its stdin
	outF *os.File      // its stdout
	out  *bufio.Reader // over outF
	fw   *frameWriter  // over in
	tail *tailWriter   // the end of its stderr

	done   chan struct{} // closed once the process has been reaped
	state  *os.ProcessState
	relay  sync.WaitGroup // the stderr relay
	killMu sync.Mutex
	killed bool
}

// get returns an idle worker, or starts one and waits until its device is
// open. Canceling x kills a worker being started.
func (p *workerPool) get(x io.Io) (*worker, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("worker pool closed: %w", io.ErrCanceled)
	}
	for len(p.idle) > 0 {
		w := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		select {
		case <-w.done:
			delete(p.all, w) // died while idle
			go w.wait()      // closes its pipes
			continue
		default:
		}
		p.mu.Unlock()
		return w, nil
	}
	p.started++
	id := p.started
	p.mu.Unlock()
	w, err := p.start(x, id)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		w.kill()
		w.wait()
		return nil, fmt.Errorf("worker pool closed: %w", io.ErrCanceled)
	}
	p.all[w] = struct{}{}
	p.mu.Unlock()
	return w, nil
}

// start runs a worker process and waits for its ready frame.
func (p *workerPool) start(x io.Io, id int64) (*worker, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting a worker: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("starting a worker: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("starting a worker: %w", err)
	}
	cmd := exec.Command(p.exe, p.args...)
	cmd.Env = p.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	// Its own process group: a Ctrl-C on the terminal reaches the server,
	// which decides what happens to the jobs, not its workers. Killed if
	// the server dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting a worker (%s): %w", p.exe, err)
	}
	w := &worker{id: id, cmd: cmd, in: inW, outF: outR, out: bufio.NewReaderSize(outR, 64<<10),
		fw: newFrameWriter(inW), tail: &tailWriter{max: 512}, done: make(chan struct{})}
	w.relay.Add(1)
	go w.relayStderr(errR, p.stderr)
	go func() {
		_ = cmd.Wait()
		w.state = cmd.ProcessState
		close(w.done)
	}()
	stop := context.AfterFunc(x.Context(), w.kill)
	defer stop()
	typ, payload, err := readFrame(w.out, func(typ byte) int64 {
		if typ == frameReady || typ == frameFatal {
			return maxControlFrame
		}
		return 0
	})
	if err == nil && typ == frameReady {
		return w, nil
	}
	w.kill()
	w.wait()
	if cerr := x.CheckCancel(); cerr != nil {
		return nil, cerr
	}
	if err == nil {
		return nil, &httpError{status: 500, msg: "worker failed to start: " + truncate(string(payload), 300)}
	}
	return nil, &httpError{status: 500, msg: "worker failed to start: " + w.exitText()}
}

// put returns a healthy worker to the pool.
func (p *workerPool) put(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed && !w.isKilled() {
		p.idle = append(p.idle, w)
		return
	}
	delete(p.all, w)
	go func() {
		w.kill()
		w.wait()
	}()
}

// discard kills w and waits for it to exit.
func (p *workerPool) discard(w *worker) {
	w.kill()
	w.wait()
	p.mu.Lock()
	delete(p.all, w)
	p.mu.Unlock()
}

// close stops every worker: idle ones get EOF on their stdin and exit
// (closing their device), or are killed after workerStopWait; busy ones are
// killed at once. It returns once all have exited.
func (p *workerPool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	var busy []*worker
	for w := range p.all {
		busy = append(busy, w)
	}
	p.all = map[*worker]struct{}{}
	p.mu.Unlock()
	isIdle := map[*worker]bool{}
	for _, w := range idle {
		isIdle[w] = true
		_ = w.in.Close()
	}
	for _, w := range busy {
		if !isIdle[w] {
			w.kill()
		}
	}
	timer := time.NewTimer(workerStopWait)
	defer timer.Stop()
	for _, w := range busy {
		select {
		case <-w.done:
		case <-timer.C:
			w.kill()
		}
		w.wait()
	}
}

// live reports the workers running now.
func (p *workerPool) live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// kill sends SIGKILL to the worker (once).
func (w *worker) kill() {
	w.killMu.Lock()
	defer w.killMu.Unlock()
	if w.killed {
		return
	}
	w.killed = true
	select {
	case <-w.done:
	default:
		_ = w.cmd.Process.Kill()
	}
}

func (w *worker) isKilled() bool {
	w.killMu.Lock()
	defer w.killMu.Unlock()
	return w.killed
}

// wait waits until the worker has exited and its pipes are closed.
func (w *worker) wait() {
	<-w.done
	w.relay.Wait()
	_ = w.in.Close()
	_ = w.outF.Close()
}

// exited waits up to d for the worker to exit on its own (after its
// stdout ended), then kills it, and waits.
func (w *worker) exited(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		w.kill()
	}
	w.wait()
}

// exitText describes how an exited worker ended: "signal SIGSEGV", "exit
// status 2", with the first line of a crash report on its stderr ("LLVM
// ERROR: ...", "panic: ..."). A fatal signal that the Go runtime caught
// and reported (it then exits with status 2) is named as the signal:
// "signal SIGSEGV (segmentation violation, in a driver call)". Lines that
// name a path are left out: clients are not shown the server's files (its
// log has the worker's whole stderr).
func (w *worker) exitText() string {
	<-w.done
	var how string
	st := w.state
	ws, ok := st.Sys().(syscall.WaitStatus)
	switch {
	case w.isKilled() && ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		how = "killed"
	case ok && ws.Signaled():
		how = "signal " + unix.SignalName(ws.Signal())
	case ok && ws.Exited():
		how = fmt.Sprintf("exit status %d", ws.ExitStatus())
	default:
		how = st.String()
	}
	w.relay.Wait()
	head, inCgo := w.tail.crash()
	switch sig, what, _ := strings.Cut(head, ": "); {
	case head == "" || strings.Contains(head, "/"):
	case ok && ws.Exited() && ws.ExitStatus() == 2 && strings.HasPrefix(sig, "SIG") && !strings.Contains(sig, " "):
		how = "signal " + sig + " (" + truncate(what, 100)
		if inCgo {
			how += ", in a driver call"
		}
		how += ")"
	default:
		how += " (" + truncate(head, 200) + ")"
	}
	return how
}

// relayStderr copies the worker's stderr to the server's, each line
// prefixed, at most 256 KiB per worker (the rest is only counted), and
// keeps its last line for crash reports.
func (w *worker) relayStderr(r *os.File, to stdio.Writer) {
	defer w.relay.Done()
	defer r.Close()
	const maxRelay = 256 << 10
	br := bufio.NewReaderSize(r, 4096)
	relayed, dropped := 0, 0
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			w.tail.Write(line)
			if relayed < maxRelay && to != nil {
				relayed += len(line)
				fmt.Fprintf(to, "vkdemo serve: worker %d: %s", w.id, line)
				if line[len(line)-1] != '\n' {
					fmt.Fprintln(to)
				}
			} else {
				dropped += len(line)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			break
		}
	}
	if dropped > 0 && to != nil {
		fmt.Fprintf(to, "vkdemo serve: worker %d: %d more bytes of stderr not shown\n", w.id, dropped)
	}
}

// tailWriter watches a worker's stderr, line by line, for the first line
// of a crash report, or else keeps the last line.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	head  string // the first crash headline
	last  string // the last non-empty line
	inCgo bool   // "signal arrived during cgo execution"
}

// crashHeads start the first line of a crash report: the Go runtime's
// (a fatal signal, a fatal error, a panic) and LLVM's (llvmpipe).
var crashHeads = []string{"SIG", "fatal error: ", "panic: ", "LLVM ERROR: "}

// Write takes one line.
func (t *tailWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p[:min(len(p), t.max)]))
	t.mu.Lock()
	defer t.mu.Unlock()
	if line == "" {
		return len(p), nil
	}
	t.last = line
	if line == "signal arrived during cgo execution" {
		t.inCgo = true
	}
	if t.head == "" {
		for _, h := range crashHeads {
			if strings.HasPrefix(line, h) && (h != "SIG" || strings.Contains(line, ": ")) {
				t.head = line
			}
		}
	}
	return len(p), nil
}

// crash returns the crash headline (else the last line) and whether the
// crash was in a cgo call.
func (t *tailWriter) crash() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head != "" {
		return t.head, t.inCgo
	}
	return t.last, t.inCgo
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// jobStream is where a job's output goes: the HTTP response (respWriter)
// in the server, the protocol pipe (pipeStream) in a worker, a NATS result
// (natsStream) in `vkdemo worker --nats`.
type jobStream interface {
	startStream() error
	frame(hdr frameHeader, data []byte) error
	end(v any) error
}

// relayStream is a jobStream that a job run in a worker process is relayed
// to: it also says whether its stream (or an error response) has started.
type relayStream interface {
	jobStream
	isStarted() bool
}

// streamSaver is implemented by the streams that keep a job's saves
// themselves (a NATS job's go to the object store, keyed by its ID) instead
// of the server's --out folder.
type streamSaver interface {
	saveOutput(x io.Io, path string, t dtype, data []byte) error
}

// execJob runs an admitted job: in a worker when it runs uploaded SPIR-V
// or is heavier than inProcessMaxWork, else in this process; a gateway
// queues it for NATS workers.
func (s *server) execJob(x io.Io, rw relayStream, r *request, j *parsedJob, id uint64, queueWait time.Duration) error {
	if s.gateway != nil {
		return s.gateway.run(x, rw, r, j)
	}
	if s.workers != nil && (j.spec.Kernel == "" || jobWork(j, s.cfg.maxRequest) > inProcessMaxWork) {
		return s.runInWorker(x, rw, r, j, id, queueWait)
	}
	return s.runJobPlaced(x, rw, j, id, queueWait)
}

// runInWorker runs the job in a worker and relays its stream to the
// client. It kills the worker when x is canceled (--job-timeout, the client
// left, the end of --grace); a worker that dies otherwise becomes an error
// naming how it ended. *httpError results carry the status to answer with
// when the stream has not started.
func (s *server) runInWorker(x io.Io, rw relayStream, r *request, j *parsedJob, id uint64, queueWait time.Duration) (err error) {
	pool, placed, err := s.workerPoolFor(x)
	if err != nil {
		return err
	}
	defer func() { placed(err) }()
	w, err := pool.get(x)
	if err != nil {
		return err
	}
	// release hands the worker back (healthy: to the pool, before the last
	// line goes to the client, who may close the connection and so cancel
	// x as soon as it has it) or kills it.
	stop := context.AfterFunc(x.Context(), w.kill)
	released := false
	release := func(healthy bool) {
		if released {
			return
		}
		released = true
		if stop() && healthy {
			pool.put(w)
		} else {
			pool.discard(w)
		}
	}
	defer release(false)
	head, _ := json.Marshal(workerJob{ContentType: r.req.Header.Get("Content-Type"), ID: id, QueueNs: int64(queueWait)})
	if err := w.fw.write(frameJob, lenPrefixed(head), head, r.body); err != nil {
		return s.workerFailed(x, w, rw, err)
	}
	maxOut := s.cfg.maxRequest + maxControlFrame
	capFor := func(typ byte) int64 {
		switch typ {
		case frameStart, frameEnd:
			return maxControlFrame
		case frameOut:
			return maxOut
		case frameSave:
			if _, ok := rw.(streamSaver); ok {
				return maxOut
			}
		}
		return 0
	}
	for {
		typ, p, err := readFrame(w.out, capFor)
		if err != nil {
			return s.workerFailed(x, w, rw, err)
		}
		switch typ {
		case frameStart:
			if rw.isStarted() {
				return s.workerFailed(x, w, rw, errors.New("worker protocol: the stream started twice"))
			}
			if err := rw.startStream(); err != nil {
				return err
			}
		case frameOut:
			hb, data, err := splitPrefixed(p, maxControlFrame)
			var hdr frameHeader
			if err == nil {
				err = json.Unmarshal(hb, &hdr)
			}
			if err == nil && (hdr.Bytes != len(data) || !rw.isStarted()) {
				err = fmt.Errorf("worker protocol: output frame of %d bytes announces %d", len(data), hdr.Bytes)
			}
			if err != nil {
				return s.workerFailed(x, w, rw, err)
			}
			if err := rw.frame(hdr, data); err != nil {
				return err
			}
		case frameSave:
			hb, data, err := splitPrefixed(p, maxControlFrame)
			var sv workerSave
			if err == nil {
				err = json.Unmarshal(hb, &sv)
			}
			var t dtype
			if err == nil {
				t, err = job.ParseDType(sv.Type)
			}
			if err == nil {
				err = checkSavePath(sv.Path)
			}
			if err != nil {
				return s.workerFailed(x, w, rw, fmt.Errorf("worker protocol: bad save frame: %w", err))
			}
			if err := rw.(streamSaver).saveOutput(x, sv.Path, t, data); err != nil {
				return err
			}
		case frameEnd:
			var e workerEnd
			if err := json.Unmarshal(p, &e); err != nil || (e.Done == nil && e.Error == "") {
				return s.workerFailed(x, w, rw, fmt.Errorf("worker protocol: bad end frame %q", truncate(string(p), 100)))
			}
			switch {
			case e.Done != nil && rw.isStarted():
				s.metrics.addGPUTime(time.Duration(e.Done.GPUUs * 1e3))
				release(true)
				return rw.end(e.Done)
			case e.Done != nil:
				return s.workerFailed(x, w, rw, errors.New("worker protocol: done before the stream started"))
			}
			release(true)
			if rw.isStarted() {
				return errors.New(e.Error)
			}
			status := e.Status
			if status < 400 || status > 599 {
				status = 500
			}
			return &httpError{status: status, msg: e.Error}
		}
	}
}

// workerFailed turns a broken exchange with w into the job's error: the
// cancellation when x was canceled (the worker was killed for it), else
// how the worker ended ("worker crashed: signal SIGSEGV").
func (s *server) workerFailed(x io.Io, w *worker, rw relayStream, cause error) error {
	if err := x.CheckCancel(); err != nil {
		return err
	}
	if !errors.Is(cause, stdio.EOF) && !errors.Is(cause, stdio.ErrUnexpectedEOF) && !errors.Is(cause, syscall.EPIPE) {
		// A protocol error: the worker is alive but not to be trusted.
		w.kill()
		w.wait()
		s.logf("worker %d: %v", w.id, cause)
		return workerError(rw, "worker failed: "+cause.Error())
	}
	w.exited(workerStopWait)
	s.workersCrashed.Add(1)
	msg := "worker crashed: " + w.exitText()
	s.logf("worker %d: %s", w.id, msg)
	return workerError(rw, msg)
}

// workerError is msg as a 500 before the stream starts, as the stream's
// error line after.
func workerError(rw relayStream, msg string) error {
	if rw.isStarted() {
		return errors.New(msg)
	}
	return &httpError{status: 500, msg: msg}
}

// workerArgs are the arguments that start a worker of this server: the
// global flags of the server, then the hidden command and its flags.
func (s *server) workerArgs() []string { return s.workerArgsOn(s.a.deviceSpec) }

// workerArgsOn is workerArgs for a worker on the device named spec ("" for
// the automatic choice, or VKIO_DEVICE).
func (s *server) workerArgsOn(spec string) []string {
	var args []string
	if s.a.ioName != "" {
		args = append(args, "--io", s.a.ioName)
	}
	if spec != "" {
		args = append(args, "--device", spec)
	}
	args = append(args, workerCommand, "--max-request", fmt.Sprint(s.cfg.maxRequest))
	if s.savesElsewhere {
		args = append(args, "--save-to-parent")
	}
	if s.cfg.outDir != "" {
		args = append(args, "--out", s.cfg.outDir)
	}
	return args
}

// jobWork estimates the work of one dispatch of a parsed job in
// invocation-steps (see inProcessMaxWork), from its workgroups (or grid,
// or the default one invocation per element of the largest binding) and,
// for the built-in kernels with loops, their loop trip counts. maxBytes
// bounds a binding (the server's --max-request).
func jobWork(j *parsedJob, maxBytes int64) uint64 {
	refl, jb := j.prog.refl, j.job
	local := refl.LocalSize
	for d, id := range refl.LocalSizeSpec {
		if id < 0 {
			continue
		}
		if sa, ok := jb.Spec[uint32(id)]; ok {
			if v, err := job.ParseValue(u32, sa.Value); err == nil && v.U > 0 {
				local[d] = uint32(min(v.U, 1<<16))
			}
		}
	}
	perGroup := uint64(max(local[0], 1)) * uint64(max(local[1], 1)) * uint64(max(local[2], 1))
	var inv uint64
	switch {
	case jb.Groups != nil:
		g := *jb.Groups
		inv = uint64(g[0]) * uint64(g[1]) * uint64(g[2]) * perGroup // < 2^96 cannot overflow: each factor < 2^32, perGroup <= 2^48
	case jb.Grid != nil:
		g := *jb.Grid
		inv = 1
		for d := range g {
			inv *= (uint64(g[d]) + uint64(max(local[d], 1)) - 1) / uint64(max(local[d], 1)) * uint64(max(local[d], 1))
		}
	default:
		// One invocation per element: at most a binding's bytes.
		inv = uint64(max(maxBytes, 0))
		if n := largestBinding(j, maxBytes); n > 0 {
			inv = n
		}
		inv = (inv + perGroup - 1) / perGroup * perGroup
	}
	steps := uint64(1)
	switch j.spec.Kernel {
	case "julia":
		var push []byte
		for _, v := range jb.Push {
			push = v.AppendLE(push)
		}
		steps = 1 << 32 // unknown: as heavy as it can be
		if len(push) >= 36 {
			steps = uint64(binary.LittleEndian.Uint32(push[32:])) + 1
		}
	case "reduce":
		steps = 4
		if sa, ok := jb.Spec[0]; ok {
			if v, err := job.ParseValue(u32, sa.Value); err == nil {
				steps = max(v.U, 1)
			}
		}
	}
	if inv != 0 && steps > ^uint64(0)/inv {
		return ^uint64(0)
	}
	return inv * steps
}

// largestBinding returns the elements of the job's largest binding, as
// parseJob sized them (0 when unknown).
func largestBinding(j *parsedJob, maxBytes int64) uint64 {
	var best uint64
	for _, b := range j.job.Sizes(j.shader()) {
		n := min(b.Bytes/int64(b.Type.Size()), maxBytes)
		if n > 0 && uint64(n) > best {
			best = uint64(n)
		}
	}
	return best
}

// startedCount reports how many workers were started.
func (p *workerPool) startedCount() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}
