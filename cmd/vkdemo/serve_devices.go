package main

// serve --devices: the server's GPUs as lanes. Without --devices there is
// one lane, on the device --device names, as before; with it, one lane per
// member of a gpu/devset.Set, each with its own batcher, kernel cache and
// worker processes (run with --device set to the member's entry).
// In-process jobs go to the least-loaded member (devset.Do) and run there
// again when it is lost before their output began; jobs for workers go to
// the pool of the least-loaded member.

import (
	"errors"
	"fmt"
	"time"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/gpu/batcher"
	"github.com/vkio/vkio/gpu/devset"
	"github.com/vkio/vkio/io"
)

// serveLane is one device of the server: the GPU scheduler of its
// in-process jobs, their kernel cache, and its worker processes.
type serveLane struct {
	dev     *gpu.Device
	gpu     *batcher.Batcher
	kern    *kernelCache
	workers *workerPool
	run     *io.Future[struct{}] // the batcher's Run
}

// openLanes opens the server's devices: the --devices set, or the one
// device of --device. s.dev, s.gpu, s.kern and s.workers are the first
// lane's (the device whose limits and SPIR-V environment requests are
// checked against: the set's members are alike in the common case of one
// kind of GPU). Close them with closeLanes.
func (s *server) openLanes(root io.Io, exe string) error {
	a, cfg := s.a, s.cfg
	var devs []*gpu.Device
	var specs, lanes []string // lanes: each batcher's trace lane ("" for the default, "queue 0")
	if cfg.devs.given() {
		set, err := a.openSet(cfg.devs)
		if err != nil {
			return err
		}
		s.set = set
		for _, m := range set.Members() {
			devs, specs = append(devs, m.Device()), append(specs, m.Spec())
			lanes = append(lanes, fmt.Sprintf("device %d", m.Index()))
		}
	} else {
		if err := cfg.devs.alone(); err != nil {
			return err
		}
		d, err := a.Device()
		if err != nil {
			return err
		}
		devs, specs, lanes = []*gpu.Device{d}, []string{a.deviceSpec}, []string{""}
	}
	for i, d := range devs {
		l := &serveLane{dev: d, kern: newKernelCache(d, 64),
			gpu:     batcher.New(d, batcher.Options{Queue: cfg.maxJobs * 2, InFlight: cfg.gpuInflight, MaxBatch: cfg.maxBatch, Recorder: s.rec, Lane: lanes[i]}),
			workers: newWorkerPool(exe, s.workerArgsOn(specs[i]), nil, a.stderr)}
		s.lanes = append(s.lanes, l)
		run, err := io.Concurrent(root, func(x io.Io) (struct{}, error) { return struct{}{}, l.gpu.Run(x) })
		if err != nil {
			return fmt.Errorf("serve: starting the GPU batcher: %w", err)
		}
		l.run = run
	}
	l := s.lanes[0]
	s.dev, s.gpu, s.kern, s.workers = l.dev, l.gpu, l.kern, l.workers
	return nil
}

// stopWorkers stops every lane's worker processes.
func (s *server) stopWorkers() {
	for _, l := range s.lanes {
		l.workers.close()
	}
}

// stopGPU closes every lane's batcher and waits for its Run.
func (s *server) stopGPU(x io.Io) error {
	var errs []error
	for _, l := range s.lanes {
		l.gpu.Close()
	}
	for _, l := range s.lanes {
		if l.run != nil {
			_, err := l.run.Await(x)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// closeLanes stops the workers and the batchers (if not done yet), closes
// the kernel caches and the device set.
func (s *server) closeLanes(x io.Io) error {
	s.stopWorkers()
	errs := []error{s.stopGPU(x)}
	for _, l := range s.lanes {
		errs = append(errs, l.kern.close())
	}
	if s.set != nil {
		errs = append(errs, s.set.Close())
	}
	return errors.Join(errs...)
}

// gpuCounts sums the lanes' batcher counters: submissions, dispatches, and
// submissions in flight.
func (s *server) gpuCounts() (subs, disps, inFlight int64) {
	if s.lanes == nil && s.gpu != nil { // a worker process
		return s.gpu.Submissions(), s.gpu.Dispatches(), s.gpu.InFlight()
	}
	for _, l := range s.lanes {
		subs += l.gpu.Submissions()
		disps += l.gpu.Dispatches()
		inFlight += l.gpu.InFlight()
	}
	return subs, disps, inFlight
}

// workerCounts sums the lanes' worker counts: live and started.
func (s *server) workerCounts() (live int, started int64) {
	for _, l := range s.lanes {
		live += l.workers.live()
		started += l.workers.startedCount()
	}
	return live, started
}

// deviceNames names the server's devices for its first line: "device
// NAME", or "N devices (NAMES)".
func (s *server) deviceNames() string {
	if s.set != nil {
		return setNames(s.set)
	}
	return "device " + s.dev.Info().Name
}

// runJobPlaced runs an in-process job: on the one device, or on the
// least-loaded member of the set, again on another member if the one it
// ran on was lost before the job's output began (after that, the loss is
// the job's error: its client has part of the output).
func (s *server) runJobPlaced(x io.Io, rw jobStream, j *parsedJob, id uint64, queueWait time.Duration) error {
	if s.set == nil {
		return s.runJob(x, rw, j, id, queueWait)
	}
	sink := &streamSink{rw: rw}
	_, err := devset.Do(x, s.set, func(x io.Io, m *devset.Member) (struct{}, error) {
		l := s.lanes[m.Index()]
		err := s.runJobOn(x, rw, sink, l, j, id, queueWait)
		if err != nil && sink.frames > 0 && errors.Is(err, gpu.ErrDeviceLost) {
			// Not again here: the client has this run's first frames.
			err = &lostMidOutput{msg: fmt.Sprintf("%s lost after the job's output began: %v", m, err)}
		}
		return struct{}{}, err
	})
	return err
}

// workerPoolFor picks the worker pool of the least-loaded member for a
// job (counted on the member until release), or the one pool.
func (s *server) workerPoolFor(x io.Io) (pool *workerPool, release func(error), err error) {
	if s.set == nil {
		return s.workers, func(error) {}, nil
	}
	m, err := s.set.Acquire(x)
	if err != nil {
		return nil, nil, err
	}
	return s.lanes[m.Index()].workers, func(err error) { m.Release(err) }, nil
}

// memberJSON is a member of the --devices set in GET /healthz.
type memberJSON struct {
	Member   int    `json:"member"`
	Device   string `json:"device"`
	InFlight int    `json:"in_flight"`
	Done     int64  `json:"done"`
	Failed   int64  `json:"failed"`
	Lost     string `json:"lost,omitempty"` // why it was taken out
}

// devicesJSON lists the set's members with their counters for GET
// /healthz; nil without --devices.
func (s *server) devicesJSON() []memberJSON {
	if s.set == nil {
		return nil
	}
	var out []memberJSON
	for _, m := range s.set.Members() {
		st := m.Stats()
		j := memberJSON{Member: m.Index(), Device: m.Info().String(), InFlight: st.InFlight, Done: st.Done, Failed: st.Failed}
		if st.Lost != nil {
			j.Lost = st.Lost.Error()
		}
		out = append(out, j)
	}
	return out
}

// setLimits returns the limits every member of set meets: each the
// smallest of the members'.
func setLimits(set *devset.Set) gpu.Limits {
	ms := set.Members()
	lim := ms[0].Info().Limits
	for _, m := range ms[1:] {
		l := m.Info().Limits
		for i := range 3 {
			lim.MaxWorkGroupCount[i] = min(lim.MaxWorkGroupCount[i], l.MaxWorkGroupCount[i])
			lim.MaxWorkGroupSize[i] = min(lim.MaxWorkGroupSize[i], l.MaxWorkGroupSize[i])
		}
		lim.MaxWorkGroupInvocations = min(lim.MaxWorkGroupInvocations, l.MaxWorkGroupInvocations)
		lim.MaxPushConstantsSize = min(lim.MaxPushConstantsSize, l.MaxPushConstantsSize)
		lim.MaxStorageBufferRange = min(lim.MaxStorageBufferRange, l.MaxStorageBufferRange)
		lim.MaxUniformBufferRange = min(lim.MaxUniformBufferRange, l.MaxUniformBufferRange)
		lim.MaxSharedMemorySize = min(lim.MaxSharedMemorySize, l.MaxSharedMemorySize)
	}
	return lim
}

// lostMidOutput is a job whose device was lost after its output began: the
// server does not run it again on another device (its client has part of
// the output), but a queue worker may hand it back to the queue. It does not
// unwrap to gpu.ErrDeviceLost, so devset.Do does not retry it.
type lostMidOutput struct{ msg string }

func (e *lostMidOutput) Error() string { return e.msg }
