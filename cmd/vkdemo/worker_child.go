package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	stdio "io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/io"
)

func init() { register(newWorkerCmd) }

// workerCommand is the hidden command that runs a worker process of
// `vkdemo serve`; users never type it.
const workerCommand = "__worker"

// workerCrashEnv names a test-only environment variable read by the worker
// command: a job whose "seed" equals its value makes the worker die of
// SIGSEGV right after its first output frame, as a driver crash would; a
// job whose seed is one more, before its stream starts. Only the tests set
// it.
const workerCrashEnv = "VKDEMO_TEST_WORKER_CRASH"

// workerConfig is the command line of a worker.
type workerConfig struct {
	maxRequest int64
	outDir     string
	crashSeed  *uint64 // from workerCrashEnv
	// saveToParent: saves go back to the parent in save frames (a NATS
	// worker keeps them in the object store), not to --out.
	saveToParent bool
}

func newWorkerCmd(a *app) *cobra.Command {
	var cfg workerConfig
	cmd := &cobra.Command{
		Use:    workerCommand,
		Short:  "Run jobs of a vkdemo serve process in isolation (internal)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.maxRequest <= 0 {
				return usageErrorf("--max-request must be positive")
			}
			if v := os.Getenv(workerCrashEnv); v != "" {
				if n, err := strconv.ParseUint(v, 10, 64); err == nil {
					cfg.crashSeed = &n
				}
			}
			return a.worker(cfg)
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&cfg.maxRequest, "max-request", 32<<20, "largest request body, in bytes")
	fl.StringVar(&cfg.outDir, "out", "", "folder where jobs may save results")
	fl.BoolVar(&cfg.saveToParent, "save-to-parent", false, "send saves to the parent process in save frames instead of writing them under --out")
	return cmd
}

// worker runs jobs sent by a serve process on stdin, one at a time, on its
// own device, and answers on stdout (see worker_proto.go). It ends at EOF on
// stdin. Nothing else may write to stdout: the command's other output goes
// to stderr, which the server relays to its own.
func (a *app) worker(cfg workerConfig) error {
	proto := newFrameWriter(a.stdout)
	a.stdout = a.stderr
	fatal := func(err error) error {
		_ = proto.write(frameFatal, []byte(errorText(err)))
		return err
	}
	x, err := a.Io()
	if err != nil {
		return fatal(err)
	}
	s := &server{a: a, cfg: serveConfig{maxRequest: cfg.maxRequest, outDir: cfg.outDir, maxJobs: 1}, uploadsChecked: true, savesElsewhere: cfg.saveToParent}
	if cfg.outDir != "" {
		if s.out, err = openSaveRoot(x, cfg.outDir); err != nil {
			return fatal(err)
		}
		defer s.out.close(x)
	}
	if s.dev, err = a.Device(); err != nil {
		return fatal(err)
	}
	s.kern = newKernelCache(s.dev, 16)
	defer func() { err = errors.Join(err, s.kern.close()) }()
	s.gpu = batcher.New(s.dev, batcher.Options{Queue: 4, InFlight: 1, MaxBatch: 1})
	batchRun, err := io.Concurrent(x, func(bx io.Io) (struct{}, error) { return struct{}{}, s.gpu.Run(bx) })
	if err != nil {
		return fatal(fmt.Errorf("starting the GPU batcher: %w", err))
	}
	defer func() {
		s.gpu.Close()
		_, gerr := batchRun.Await(x.WithoutCancel())
		err = errors.Join(err, gerr)
	}()
	if err := a.gate.take(); err != nil {
		return fatal(err)
	}
	if err := proto.write(frameReady, []byte(s.dev.Info().Name)); err != nil {
		return err
	}
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	capFor := func(typ byte) int64 {
		if typ == frameJob {
			return 4 + maxControlFrame + cfg.maxRequest
		}
		return 0
	}
	for {
		_, p, err := readFrame(in, capFor)
		if errors.Is(err, stdio.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		end := s.workerJob(x, proto, p, cfg)
		if end == nil {
			continue // the stream's end went out
		}
		b, _ := json.Marshal(end)
		if err := proto.write(frameEnd, b); err != nil {
			return err
		}
	}
}

// workerJob runs one job frame; it returns the end frame to send, or nil
// when the job's stream already ended with its done line.
func (s *server) workerJob(x io.Io, proto *frameWriter, p []byte, cfg workerConfig) *workerEnd {
	head, body, err := splitPrefixed(p, maxControlFrame)
	var wj workerJob
	if err == nil {
		err = json.Unmarshal(head, &wj)
	}
	if err != nil {
		return &workerEnd{Status: 500, Error: "worker: bad job frame: " + err.Error()}
	}
	r := &request{req: &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {wj.ContentType}}}, body: body}
	j, herr := s.parseJob(r)
	if herr != nil {
		return &workerEnd{Status: herr.status, Error: herr.msg}
	}
	st := &pipeStream{w: proto, gate: &s.a.gate}
	if cfg.crashSeed != nil && j.spec.Seed != nil {
		switch *j.spec.Seed {
		case *cfg.crashSeed:
			st.crash = true
		case *cfg.crashSeed + 1:
			crashForTest()
		}
	}
	var stream jobStream = st
	if cfg.saveToParent {
		stream = savingPipe{st}
	}
	err = s.runJob(x, stream, j, wj.ID, time.Duration(wj.QueueNs))
	if err == nil {
		return nil
	}
	if st.ended {
		return nil // the pipe broke: the server is gone or killing us
	}
	status := 400
	if errors.Is(err, gpu.ErrOutOfMemory) || errors.Is(err, gpu.ErrDeviceLost) || errors.As(err, new(*validationError)) {
		status = 500
	}
	return &workerEnd{Status: status, Error: errorText(err)}
}

// pipeStream is a job's output stream in a worker: protocol frames.
type pipeStream struct {
	w      *frameWriter
	gate   *validationGate
	crash  bool // test only: crash after the first frame
	ended  bool // an end frame was sent (or could not be)
	frames int
}

func (p *pipeStream) startStream() error {
	if err := p.gate.take(); err != nil {
		return err
	}
	return p.w.write(frameStart)
}

func (p *pipeStream) frame(hdr frameHeader, data []byte) error {
	hb, _ := json.Marshal(hdr)
	if err := p.w.write(frameOut, lenPrefixed(hb), hb, data); err != nil {
		return err
	}
	p.frames++
	if p.crash {
		crashForTest()
	}
	return nil
}

// end sends the done line, unless the validation layer spoke during the
// job: then the job fails with its message.
func (p *pipeStream) end(v any) error {
	if err := p.gate.take(); err != nil {
		return err
	}
	done, ok := v.(jobDone)
	if !ok {
		return fmt.Errorf("worker: end of a stream with %T", v)
	}
	b, _ := json.Marshal(workerEnd{Done: &done})
	p.ended = true
	return p.w.write(frameEnd, b)
}

// savingPipe is a pipeStream that sends the job's saves to the parent in
// save frames (--save-to-parent).
type savingPipe struct{ *pipeStream }

func (p savingPipe) saveOutput(_ io.Io, path string, t dtype, data []byte) error {
	hb, _ := json.Marshal(workerSave{Path: path, Type: t.String()})
	return p.w.write(frameSave, lenPrefixed(hb), hb, data)
}
