package tasks

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/io"
)

// GPUTime says when a submission ran, on the host's monotonic clock. Zero
// times are unknown.
type GPUTime struct {
	Queue      string    // the GPU lane it ran on, e.g. "queue 0"
	Submitted  time.Time // just before the submission reached the driver
	Start, End time.Time // the GPU timestamps around the work
	Completed  time.Time // when the host saw it complete
	// Copy is the frame's read-back copy where it ran as GPU work of its
	// own (a staging copy into host-visible memory, submitted after the
	// compute; on a transfer queue where the device has one); zero where
	// the output was read in place.
	Copy GPUCopy
}

// GPUCopy says when a frame's read-back copy ran on the GPU, on the host's
// monotonic clock. The pipeline draws it as a "copy" span on the GPU lane
// Queue: the frame's own lane (GPUTime.Queue) where the copy ran on the
// compute queue, another ("transfer", "device 1 transfer") where it ran
// on a transfer queue beside the kernels.
type GPUCopy struct {
	Queue      string    // the GPU lane it ran on
	Start, End time.Time // the GPU timestamps around the copy
}

// Dispatcher starts the GPU part of a frame. The pipeline calls Submit from
// one task at a time, in frame order.
type Dispatcher interface {
	// Submit starts computing frame into output slot (0 <= slot < Depth).
	// A slot is reused only after the Submission that last used it was
	// closed.
	Submit(x io.Io, frame, slot int) (Submission, error)
}

// Submission is one frame's GPU work in flight.
type Submission interface {
	// Wait waits until the GPU has finished (a cancel point) and reports
	// when the work ran.
	Wait(x io.Io) (GPUTime, error)
	// Read appends the frame's result to dst and returns it (the read-back).
	// It is called only after Wait succeeded.
	Read(x io.Io, dst []byte) ([]byte, error)
	// Close releases the submission, first waiting for the GPU if it is
	// still running (after a canceled Wait): it is not a cancel point.
	// The pipeline calls it exactly once.
	Close(x io.Io) error
}

// Encoder is the CPU stage of a frame, e.g. PNG encoding.
type Encoder interface {
	// Encode appends the encoding of raw (frame's read-back) to dst and
	// returns it. raw is valid only during the call.
	Encode(x io.Io, frame int, raw, dst []byte) ([]byte, error)
}

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(x io.Io, frame int, raw, dst []byte) ([]byte, error)

// Encode calls f.
func (f EncoderFunc) Encode(x io.Io, frame int, raw, dst []byte) ([]byte, error) {
	return f(x, frame, raw, dst)
}

// Sink is where a finished frame goes: a file, a socket. A sink that has a
// method Resource() Resource is traced on that resource (default Disk).
type Sink interface {
	// Save stores data as frame. It is called concurrently for different
	// frames (up to the pipeline's write limit); data is valid only during
	// the call. A canceled Save must leave nothing partial behind.
	Save(x io.Io, frame int, data []byte) error
}

// Limits bound the resources a pipeline uses at once. Zero fields take their
// defaults.
type Limits struct {
	// GPU bounds submissions in flight (queued or running on the GPU):
	// a submission holds one from Submit until its Wait returns.
	// Default: Depth.
	GPU int
	// StagingBytes bounds the bytes of read-back data held at once; each
	// frame counts Pipeline.FrameBytes from its read-back until it is
	// encoded. Default 0: no bound beyond Depth.
	StagingBytes int64
	// Encoders bounds concurrent Encode calls. Default: GOMAXPROCS.
	Encoders int
	// Writes bounds concurrent Save calls on Disk sinks, Sends on Net sinks.
	// Default: Depth.
	Writes, Sends int
}

// DepthForBudget returns how many frames a pipeline may keep in flight when
// each holds perFrame bytes (its GPU output, read-back and encode buffers) and
// all of them together at most budget bytes: budget/perFrame, at most maxDepth
// (0: no cap). Frames in flight are then limited by memory rather than by a
// constant. It is an ErrLimit error when not even one frame fits, and an
// ErrInvalid one for a negative or zero perFrame or a negative budget.
func DepthForBudget(budget, perFrame int64, maxDepth int) (int, error) {
	if perFrame <= 0 || budget < 0 || maxDepth < 0 {
		return 0, &Error{Op: "pipeline", Frame: -1, Err: fmt.Errorf("%w: budget %d bytes, %d bytes per frame, cap %d", ErrInvalid, budget, perFrame, maxDepth)}
	}
	n := budget / perFrame
	if n < 1 {
		return 0, &Error{Op: "pipeline", Frame: -1, Err: fmt.Errorf("%w: a frame needs %d bytes, over the %d-byte budget", ErrLimit, perFrame, budget)}
	}
	if maxDepth > 0 && n > int64(maxDepth) {
		n = int64(maxDepth)
	}
	return int(n), nil
}

// FrameEvent reports a finished frame to Pipeline.OnFrame.
type FrameEvent struct {
	Frame    int           // the frame number
	Err      error         // nil if it was saved
	Bytes    int           // bytes saved (per sink)
	Done     int           // frames saved so far, this one included
	Failed   int           // frames failed so far
	Total    int           // Pipeline.Frames
	Elapsed  time.Duration // since Run started
	GPU      GPUTime       // when its GPU work ran
	Canceled bool          // it stopped because the run was canceled
}

// Pipeline runs frames through GPU compute → read back → CPU stage → sinks,
// Depth frames in flight: frame k+1 computes while frame k is encoded and
// saved. Memory is bounded by Depth (each slot keeps its read-back and
// encode buffers for reuse), however many frames run: the report's busy
// times are streaming statistics, and Report.Errors keeps at most
// MaxReportErrors failures. Only a Recorder grows with the frames, by its
// compact records (see Recorder).
//
// Under a Blocking Io every frame runs to completion before the next one is
// submitted; under Threaded and Evented Ios the stages overlap.
type Pipeline struct {
	Frames int // frames 0 .. Frames-1
	// Depth is the frames in flight (slots holding a frame between its
	// stages); default 2. DepthForBudget derives it from a byte budget.
	// Each stage is bounded apart from it, by Limits.
	Depth      int
	Dispatcher Dispatcher // the GPU stage (required)
	Encoder    Encoder    // the CPU stage; nil saves the read-back as is
	Sinks      []Sink     // where frames go, in order; none: frames are dropped
	Limits     Limits
	Policy     Policy // CancelAll (default) or CancelDependents (a failed frame fails alone)
	// FrameBytes is the expected read-back size: buffers start at this
	// capacity, and Limits.StagingBytes counts it per frame.
	FrameBytes int
	// Recorder, if set, receives the spans of every stage.
	Recorder *Recorder
	// StageCPU, if true, measures the CPU time of the stages that compute
	// on their own goroutine (submit, read back, encode): the thread CPU
	// clock (CLOCK_THREAD_CPUTIME_ID, where the platform has one) read
	// around each span with the goroutine locked to its OS thread for the
	// span's duration. Report.Stages then gives those stages' CPU time, and
	// their spans carry it (Span.CPU). Fence waits and saves are not
	// measured: their work runs on other threads (the GPU's, the Io's). It
	// costs two clock reads a span (see BenchmarkRecordingCost), and a
	// thread handoff where an Encoder blocks.
	StageCPU bool
	// EncodeNice, if > 0, runs each Encode at a lower OS scheduling
	// priority: on an OS thread of its own whose nice value is raised by
	// EncodeNice (to at most 19), a thread that ends with the encode (an
	// unprivileged process may not lower a nice value again). Linux only;
	// elsewhere Encode runs as without it. Where the GPU's work runs on the
	// host's cores (lavapipe), the GPU's threads, the delivery of
	// completions and the next submission then preempt encoding, so that
	// the GPU queue does not drain while encoders hold the cores, and
	// encoding fills the cores the GPU leaves. It costs an OS thread's start
	// per frame (tens of microseconds).
	EncodeNice int
	// OnFrame, if set, is called once per frame that was submitted, when it
	// has finished (saved, failed or canceled), one call at a time, from the
	// pipeline's tasks. It should return quickly.
	OnFrame func(FrameEvent)
}

var flowIDs atomic.Uint64

type slot struct {
	idx  int
	t0   time.Time // when its frame went in flight
	gpu  time.Time // when its frame took its GPU permit
	lane string
	raw  []byte
	enc  []byte
}

type pipeRun struct {
	p        *Pipeline
	start    time.Time
	px       io.Io
	stop     context.CancelFunc
	free     *io.Queue[*slot]
	gpu      *Semaphore
	staging  *Semaphore
	cpu      *Semaphore
	writes   *Semaphore
	sends    *Semaphore
	m        meter
	flowBase uint64
	pol      *failures

	// copies meters the frames' read-back copies (GPUTime.Copy), for
	// Report.CopyBusy; byLane meters, per compute lane (GPUTime.Queue:
	// one per device), the compute, the copies and both of the frames
	// computed there, for Report.CopyOverlap.
	copies meter
	laneMu sync.Mutex
	byLane map[string]*laneMeters

	cpu0   time.Duration // process CPU time at the start
	host0  time.Duration // the host's CPU time at the start (hostCPU)
	slotNS atomic.Int64  // the frames' in-flight time so far (for the bound)
	use    [numPermitStages]permitUse
	stages [numStageKinds]stageAcc

	mu    sync.Mutex // orders progress: done, bytes and the OnFrame calls
	done  int
	bytes int64
}

// RunContext is Run with the run also canceled when ctx is done.
func (p *Pipeline) RunContext(ctx context.Context, x io.Io) (Report, error) {
	cx, cancel := x.WithContext(ctx)
	defer cancel()
	return p.Run(cx)
}

// Run runs the pipeline through x and returns its overlap report.
//
// Errors: with CancelAll, the first failure stops submitting and cancels the
// frames in flight; with CancelDependents only the failed frame's later
// stages are skipped. Either way frames already saved stay saved and
// complete, a canceled save leaves no partial file (sinks write
// atomically), and Run returns only after the GPU has finished every
// submission it made and every task has ended. The error is an *Error for
// the first failure (Frame says which), or, when x is canceled, an *Error
// wrapping io.ErrCanceled; Report.Errors lists every failure.
func (p *Pipeline) Run(x io.Io) (Report, error) {
	if p.Dispatcher == nil || p.Frames < 0 || p.Depth < 0 || p.FrameBytes < 0 {
		return Report{}, &Error{Op: "pipeline", Frame: -1, Err: fmt.Errorf("%w: need a Dispatcher, Frames >= 0, Depth >= 0", ErrInvalid)}
	}
	depth := p.Depth
	if depth == 0 {
		depth = 2
	}
	lim := p.Limits
	if lim.GPU <= 0 {
		lim.GPU = depth
	}
	if lim.Encoders <= 0 {
		lim.Encoders = runtime.GOMAXPROCS(0)
	}
	if lim.Writes <= 0 {
		lim.Writes = depth
	}
	if lim.Sends <= 0 {
		lim.Sends = depth
	}
	host0, _ := hostCPU()
	r := &pipeRun{p: p, cpu0: cpuNow(), host0: host0, start: time.Now(), free: io.NewQueue[*slot](depth),
		gpu: NewSemaphore("gpu", int64(lim.GPU)), cpu: NewSemaphore("cpu", int64(lim.Encoders)),
		writes: NewSemaphore("disk", int64(lim.Writes)), sends: NewSemaphore("net", int64(lim.Sends)),
		flowBase: flowIDs.Add(uint64(p.Frames)+1) - uint64(p.Frames)}
	if lim.StagingBytes > 0 {
		if int64(p.FrameBytes) > lim.StagingBytes || p.FrameBytes == 0 {
			return Report{}, &Error{Op: "pipeline", Frame: -1, Err: fmt.Errorf("%w: FrameBytes %d with StagingBytes %d", ErrLimit, p.FrameBytes, lim.StagingBytes)}
		}
		r.staging = NewSemaphore("staging", lim.StagingBytes)
	}
	r.px, r.stop = x.WithCancel()
	defer r.stop()
	r.pol = &failures{policy: p.Policy, run: r.px, stop: r.stop}
	for i := range depth {
		sl := &slot{idx: i, lane: fmt.Sprintf("slot %d", i)}
		if p.FrameBytes > 0 {
			sl.raw = make([]byte, 0, p.FrameBytes)
		}
		_ = r.free.PutOne(x.WithoutCancel(), sl)
	}
	p.Recorder.SetMeta("io", x.String())
	stopSampling := p.Recorder.StartSampling(DefaultSampleInterval,
		Gauge{"frames in flight", func() float64 { return float64(depth - r.free.Len()) }},
		Gauge{"gpu queue", func() float64 { return float64(r.gpu.InUse()) }},
		Gauge{"encoders busy", func() float64 { return float64(r.cpu.InUse()) }},
	)
	defer stopSampling()

	var grp io.Group
	for k := 0; k < p.Frames; k++ {
		sl, err := r.free.GetOne(r.px)
		if err != nil {
			break
		}
		sl.t0 = time.Now()
		t0, err := r.acquire(r.px, useSubmits, r.gpu, 1)
		if err != nil {
			r.slotDone(sl)
			_ = r.free.PutOne(x.WithoutCancel(), sl)
			break
		}
		sl.gpu = t0
		var sub Submission
		r.stage(stSubmit, Span{Res: CPU, Lane: "submit", Name: "submit", Frame: k, Flow: r.flowBase + uint64(k)}, func() {
			err = protect(func() (e error) { sub, e = p.Dispatcher.Submit(r.px, k, sl.idx); return e })
		})
		if err == nil && sub == nil {
			err = fmt.Errorf("%w: Submit returned no Submission", ErrInvalid)
		}
		if err != nil {
			r.release(useSubmits, r.gpu, 1, sl.gpu)
			r.slotDone(sl)
			_ = r.free.PutOne(x.WithoutCancel(), sl)
			if r.fail(k, "submit", err, GPUTime{}) != failedAlone {
				break
			}
			continue
		}
		grp.Async(r.px, func(fx io.Io) error {
			r.frame(fx, k, sl, sub)
			return nil
		})
	}
	_ = grp.Wait(x.WithoutCancel())
	stopSampling()

	rep := Report{Io: x.String()}
	first, errs, failed := r.pol.result()
	r.mu.Lock()
	rep.Frames, rep.Failed, rep.Bytes, rep.Errors = r.done, failed, r.bytes, errs
	rep.Canceled = p.Frames - r.done - failed
	r.mu.Unlock()
	r.m.fill(&rep, time.Since(r.start))
	if cb := r.copies.busy(GPU); cb > 0 {
		rep.CopyBusy = cb
		rep.CopyOverlap = r.copyOverlap()
	}
	r.setBound(&rep, x, depth, lim)
	rep.Stages = r.stageTimes()
	rep.Peak = map[string]int64{"gpu": r.gpu.Peak(), "cpu": r.cpu.Peak(), "disk": r.writes.Peak(), "net": r.sends.Peak(), "frames": int64(depth)}
	if r.staging != nil {
		rep.Peak["staging"] = r.staging.Peak()
	}
	if first != nil {
		return rep, first
	}
	if rep.Canceled > 0 || x.Canceled() {
		return rep, &Error{Op: "pipeline", Frame: -1, Err: io.ErrCanceled}
	}
	return rep, nil
}

func (r *pipeRun) span(s Span) {
	r.m.add(s)
	r.p.Recorder.Add(s)
}

// fail records frame k's failure (or cancellation) under the failure
// policy and reports it. err is an *Error of frame k already, or a cause
// that op wraps.
func (r *pipeRun) fail(k int, op string, err error, gt GPUTime) verdict {
	e, ok := err.(*Error)
	if !ok || e.Frame != k {
		e = &Error{Op: op, Frame: k, Err: err}
	}
	v := r.pol.add(e, k, "")
	r.progress(FrameEvent{Frame: k, Err: e, GPU: gt, Canceled: v == canceledRun})
	return v
}

// progress counts a saved frame (ev.Err == nil and not canceled) and calls
// OnFrame, under one lock so that the counts it reports are in order.
func (r *pipeRun) progress(ev FrameEvent) {
	r.mu.Lock()
	if ev.Err == nil && !ev.Canceled {
		r.done++
		r.bytes += int64(ev.Bytes)
	}
	if r.p.OnFrame == nil {
		r.mu.Unlock()
		return
	}
	_, _, failed := r.pol.result()
	ev.Done, ev.Failed, ev.Total, ev.Elapsed = r.done, failed, r.p.Frames, time.Since(r.start)
	err := protect(func() error { r.p.OnFrame(ev); return nil })
	r.mu.Unlock()
	if err != nil {
		// A panicking progress hook stops the run, whatever the policy.
		r.pol.hookFailed(&Error{Op: "progress", Frame: ev.Frame, Err: err}, ev.Frame, "")
	}
}

func sinkResource(s Sink) Resource {
	if rs, ok := s.(interface{ Resource() Resource }); ok {
		return rs.Resource()
	}
	return Disk
}

// frame runs frame k's stages after its submission: wait, read back, encode,
// save. It always closes sub, releases what it holds and returns the slot.
func (r *pipeRun) frame(x io.Io, k int, sl *slot, sub Submission) {
	p := r.p
	flow := r.flowBase + uint64(k)
	wx := x.WithoutCancel()
	subClosed, gpuHeld, stagingHeld := false, true, false
	var stagingT0 time.Time
	var gt GPUTime
	var saved int
	closeSub := func() error {
		if subClosed {
			return nil
		}
		subClosed = true
		err := protect(func() error { return sub.Close(wx) })
		if gpuHeld {
			gpuHeld = false
			r.release(useSubmits, r.gpu, 1, sl.gpu)
		}
		return err
	}
	err := protect(func() error {
		defer func() {
			if stagingHeld {
				r.release(useStaging, r.staging, int64(p.FrameBytes), stagingT0)
			}
		}()
		var err error
		r.stage(stWait, Span{Res: CPU, Lane: sl.lane, Name: "fence wait", Frame: k, Flow: flow, Wait: true}, func() { gt, err = sub.Wait(x) })
		if err != nil {
			return &Error{Op: "wait", Frame: k, Err: err}
		}
		// The GPU has finished the frame: the next submission may go while
		// this one's result is read back (its buffers belong to the slot).
		gpuHeld = false
		r.release(useSubmits, r.gpu, 1, sl.gpu)
		if !gt.Start.IsZero() && !gt.End.IsZero() {
			q := gt.Queue
			if q == "" {
				q = "queue 0"
			}
			sp := Span{Res: GPU, Lane: q, Name: "compute", Start: gt.Start, End: gt.End, Frame: k, Flow: flow}
			r.span(sp)
			r.lane(q).add(sp, false)
		}
		if c := gt.Copy; !c.Start.IsZero() && !c.End.IsZero() {
			q := c.Queue
			if q == "" {
				q = "queue 0"
			}
			sp := Span{Res: GPU, Lane: q, Name: "copy", Start: c.Start, End: c.End, Frame: k, Flow: flow}
			r.span(sp)
			r.copies.add(sp)
			if !gt.Start.IsZero() && !gt.End.IsZero() {
				r.lane(gt.Queue).add(sp, true)
			}
		}
		if r.staging != nil {
			if stagingT0, err = r.acquire(x, useStaging, r.staging, int64(p.FrameBytes)); err != nil {
				return &Error{Op: "read", Frame: k, Err: err}
			}
			stagingHeld = true
		}
		var raw []byte
		r.stage(stRead, Span{Res: CPU, Lane: sl.lane, Name: "read back", Frame: k, Flow: flow}, func() { raw, err = sub.Read(x, sl.raw[:0]) })
		if err != nil {
			return &Error{Op: "read", Frame: k, Err: err}
		}
		sl.raw = raw
		if err := closeSub(); err != nil {
			return &Error{Op: "close", Frame: k, Err: err}
		}
		data := raw
		if p.Encoder != nil {
			enc, err := r.encode(x, k, sl, raw, flow)
			if err != nil {
				return &Error{Op: "encode", Frame: k, Err: err}
			}
			sl.enc = enc
			data = enc
		}
		if stagingHeld {
			stagingHeld = false
			r.release(useStaging, r.staging, int64(p.FrameBytes), stagingT0)
		}
		for _, s := range p.Sinks {
			if err := r.save(x, k, s, data, flow); err != nil {
				return err
			}
		}
		saved = len(data)
		return nil
	})
	if cerr := closeSub(); cerr != nil && err == nil {
		err = &Error{Op: "close", Frame: k, Err: cerr}
	}
	if err != nil {
		r.fail(k, "frame", err, gt)
	} else {
		r.progress(FrameEvent{Frame: k, Bytes: saved, GPU: gt})
	}
	r.slotDone(sl)
	_ = r.free.PutOne(wx, sl)
}

// laneMeters meter the GPU spans of the frames computed on one compute
// lane: their compute, their read-back copies, and both together.
type laneMeters struct{ kernels, copies, both meter }

func (l *laneMeters) add(sp Span, isCopy bool) {
	if isCopy {
		l.copies.add(sp)
	} else {
		l.kernels.add(sp)
	}
	l.both.add(sp)
}

// lane returns the meters of compute lane q ("" is "queue 0").
func (r *pipeRun) lane(q string) *laneMeters {
	if q == "" {
		q = "queue 0"
	}
	r.laneMu.Lock()
	defer r.laneMu.Unlock()
	if r.byLane == nil {
		r.byLane = map[string]*laneMeters{}
	}
	l := r.byLane[q]
	if l == nil {
		l = &laneMeters{}
		r.byLane[q] = l
	}
	return l
}

// copyOverlap is the copies' GPU time that ran while a kernel ran on
// their frames' compute lane (the same device): per lane, compute plus
// copies minus their union.
func (r *pipeRun) copyOverlap() time.Duration {
	r.laneMu.Lock()
	defer r.laneMu.Unlock()
	var d time.Duration
	for _, l := range r.byLane {
		d += max(l.kernels.busy(GPU)+l.copies.busy(GPU)-l.both.busy(GPU), 0)
	}
	return d
}

// encode runs frame k's CPU stage under one Encoders permit. The permit is
// released however Encode ends, a panic included (frame recovers it): a
// leaked permit would block every later frame under CancelDependents.
func (r *pipeRun) encode(x io.Io, k int, sl *slot, raw []byte, flow uint64) ([]byte, error) {
	t0, err := r.acquire(x, useEncoders, r.cpu, 1)
	if err != nil {
		return nil, err
	}
	defer r.release(useEncoders, r.cpu, 1, t0)
	var enc []byte
	r.stage(stEncode, Span{Res: CPU, Lane: sl.lane, Name: "encode", Frame: k, Flow: flow}, func() { enc, err = r.p.Encoder.Encode(x, k, raw, sl.enc[:0]) })
	return enc, err
}

// save stores frame k's data in sink s under one Writes (Disk) or Sends
// (Net) permit, released however Save ends, a panic included. Its error is an
// *Error of frame k.
func (r *pipeRun) save(x io.Io, k int, s Sink, data []byte, flow uint64) error {
	res := sinkResource(s)
	sem, st, op, name, kind := r.writes, useWrites, "save", "save", stSave
	if res == Net {
		sem, st, op, name, kind = r.sends, useSends, "send", "send", stSend
	}
	t0, err := r.acquire(x, st, sem, 1)
	if err != nil {
		return &Error{Op: op, Frame: k, Err: err}
	}
	defer r.release(st, sem, 1, t0)
	r.stage(kind, Span{Res: res, Lane: "", Name: name, Frame: k, Flow: flow}, func() { err = s.Save(x, k, data) })
	if err != nil {
		return &Error{Op: op, Frame: k, Err: err}
	}
	return nil
}

// stageKind names a pipeline stage: its pprof label and its key in
// Report.Stages.
type stageKind int

const (
	stSubmit stageKind = iota
	stWait
	stRead
	stEncode
	stSave
	stSend
	numStageKinds
)

// threadCPUOK says whether the platform has a thread CPU clock.
var _, threadCPUOK = threadCPU()

var stageNames = [numStageKinds]string{"submit", "wait", "read", "encode", "save", "send"}

// stageComputes says which stages run their work on their own goroutine's
// thread, so that StageCPU measures them: submit, read and encode. A fence
// wait and a sink's save or send wait for work done elsewhere (the GPU, the
// Io's threads, the kernel), and a goroutine locked to its thread that
// blocks costs a thread handoff: about 10 % more process CPU on
// BenchmarkRecordingCost's 1 ms stages when they were measured too.
var stageComputes = [numStageKinds]bool{stSubmit: true, stRead: true, stEncode: true}

// stageAcc sums a stage's spans, in nanoseconds.
type stageAcc struct{ n, wall, cpu atomic.Int64 }

// stage runs f as stage st of sp.Frame under the stage's pprof labels (see
// LabelStage) and records sp with its start, end and (with StageCPU) the
// thread CPU time f used, adding them to the stage's totals. It records
// the span however f ends, a panic included.
func (r *pipeRun) stage(st stageKind, sp Span, f func()) {
	// The CPU clock is read inside the wall clock's window: a span's CPU
	// time is at most its wall time, but for the clocks' granularity.
	sp.Start = time.Now()
	defer r.endStage(st, &sp)
	if st == stEncode && r.p.EncodeNice > 0 && niceOK {
		// f runs on a thread of its own (runNiced), which measures it.
		withStage(stageNames[st], frameLabel(sp.Frame), func() {
			sp.CPU = runNiced(r.p.EncodeNice, r.p.StageCPU, f)
		})
		return
	}
	if r.p.StageCPU && stageComputes[st] {
		runtime.LockOSThread()
		if c0, ok := threadCPU(); ok {
			defer func() { // before endStage
				c1, _ := threadCPU()
				runtime.UnlockOSThread()
				sp.CPU = max(c1-c0, 0)
			}()
		} else {
			runtime.UnlockOSThread()
		}
	}
	withStage(stageNames[st], frameLabel(sp.Frame), f)
}

// endStage records the span of a stage that has ended (a panic included)
// and adds it to its stage's totals.
func (r *pipeRun) endStage(st stageKind, sp *Span) {
	sp.End = time.Now()
	a := &r.stages[st]
	a.n.Add(1)
	a.wall.Add(int64(sp.End.Sub(sp.Start)))
	a.cpu.Add(int64(sp.CPU))
	r.span(*sp)
}

// stageTimes returns the stages' totals for the report: the stages that
// ran.
func (r *pipeRun) stageTimes() map[string]StageTime {
	out := map[string]StageTime{}
	for st := range numStageKinds {
		a := &r.stages[st]
		if n := a.n.Load(); n > 0 {
			out[stageNames[st]] = StageTime{Spans: int(n), Time: time.Duration(a.wall.Load()), CPU: time.Duration(a.cpu.Load()), Measured: r.p.StageCPU && threadCPUOK && stageComputes[st]}
		}
	}
	return out
}
