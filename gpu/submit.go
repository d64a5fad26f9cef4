package gpu

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkio/vkio/gpu/internal/vkx"
	"github.com/vkio/vkio/io"
)

// Completion is the result of a submission.
type Completion struct {
	// Value is the submission's value on its lane's timeline semaphore.
	Value uint64
	// Queue names the lane the submission ran on: "compute", or
	// "transfer" for a transfer batch on a device with a transfer lane
	// (Options.TransferQueue). A trace draws each lane on its own row.
	Queue string
	// Submitted and Completed are host times: just before vkQueueSubmit was
	// called, and when vkio saw the work complete.
	Submitted, Completed time.Time
	// Stamps are the batch's timestamps, in order, on the host clock.
	Stamps []Stamp
}

// Stamp is one GPU timestamp placed on the host's monotonic clock (see
// Device.Calibration for the error bound).
type Stamp struct {
	Label string
	At    time.Time
}

// Span returns the time between the first stamps labelled from and to.
func (c *Completion) Span(from, to string) (time.Duration, bool) {
	var a, b *Stamp
	for i := range c.Stamps {
		s := &c.Stamps[i]
		if a == nil && s.Label == from {
			a = s
		}
		if b == nil && s.Label == to {
			b = s
		}
	}
	if a == nil || b == nil {
		return 0, false
	}
	return b.At.Sub(a.At), true
}

// pending is a submission tracked until the GPU has finished it, even after
// its waiter gave up (cancel, timeout): only then are its batch and buffers
// released. The Completion handed to the waiter is allocated with it (one
// allocation per submission instead of two).
//
// A submission made by Run on an Io that waits inline (io.Io.External: a
// single thread of control, Blocking) has no promise: its result is left in
// res and err for the goroutine that waits inline (see result), and
// delivered is done once they are set.
type pending struct {
	value     uint64
	lane      *lane // the lane it was submitted to
	batch     *Batch
	promise   *io.Promise[*Completion] // nil: an inline Run
	settled   atomic.Bool              // the result has been claimed (by anyone)
	delivered sync.WaitGroup           // an inline Run's: Done once res and err are set
	res       *Completion
	err       error
	expired   bool      // its deadline passed and the completion goroutine dealt with it (d.mu)
	deadline  time.Time // submitted + Options.WaitTimeout; zero: none
	submitted time.Time
	release   func(ok bool) // run after the GPU finished; ok: results are wanted
	comp      Completion    // the result, filled in by finish
}

func (p *pending) resolve(c *Completion, err error) bool {
	if p.settled.CompareAndSwap(false, true) {
		p.deliver(c, err)
		return true
	}
	return false
}

// deliver hands the result to the waiter; the caller has claimed it.
func (p *pending) deliver(c *Completion, err error) {
	if p.promise != nil {
		p.promise.Resolve(c, err)
		return
	}
	p.res, p.err = c, err
	p.delivered.Done()
}

// result returns an inline Run's result once waitInline has returned. By
// then it has usually been delivered, by the waiter itself; otherwise it has
// been claimed, or will be, by another goroutine (one that reaped p, found
// the device lost, or drains it in Device.Close, which waits for the GPU to
// go idle), and result blocks until that goroutine delivers it.
func (p *pending) result() (*Completion, error) {
	p.delivered.Wait()
	return p.res, p.err
}

// cancel is registered with the promise (async submissions): a canceled
// wait resolves at once while the submission stays tracked.
// The error carries the awaiter's cause: a passed deadline gives
// deadlineError (ErrTimeout and context.DeadlineExceeded), a cause given to
// WithCancelCause stays visible to errors.Is.
func (p *pending) cancel() {
	var cause error
	if p.promise != nil {
		cause = p.promise.Cause()
	}
	switch {
	case cause == nil || cause == io.ErrCanceled:
		p.resolve(nil, canceled("wait"))
	case errors.Is(cause, io.ErrDeadlineExceeded):
		p.resolve(nil, deadlineError(""))
	default:
		p.resolve(nil, &Error{Op: "wait", Detail: "wait canceled; the GPU work is still tracked to completion", Err: cause})
	}
}

// Submit submits batch to the device's queue and returns a future that
// completes when the GPU has finished it. Submission and its wait are Io
// operations, an io.Io.External operation named "gpu.submit":
//
//   - on an Io with a single thread of control (Blocking), the submission
//     is waited for inline, on the calling goroutine, before Submit
//     returns; the wait ends at the task's deadline
//     (x.Deadline()) with an error matching both ErrTimeout and
//     context.DeadlineExceeded, so that a hung device is detected by the
//     deadline;
//   - on Threaded and Evented Ios the device's single completion
//     goroutine (one OS thread per device while it waits on the device's
//     timeline semaphore) resolves the future; no OS thread blocks per wait.
//
// An Io that refuses the operation (a canceled task, Failing, FailingWith
// failing "gpu.submit") makes Submit submit nothing and fail with an *Error
// wrapping the Io's error.
//
// The driver itself may hold vkQueueSubmit: NVIDIA's (580.159.04, H200)
// held the submission of a 5376-dispatch batch for 206 ms, until the batch
// ahead of it was done. Keep batches to what the GPU runs in a few
// milliseconds where Submit must return at once.
//
// Awaiting the future is a cancel point: a canceled wait returns an error
// matching io.ErrCanceled at once, while the device keeps tracking the
// GPU work until it completes (the batch stays busy until then). Errors are
// *Error values matching ErrDeviceLost, ErrOutOfMemory, ErrTimeout, ErrBusy,
// ErrClosed, ...
func (d *Device) Submit(x io.Io, batch *Batch) *io.Future[*Completion] {
	return d.submit(x, batch, nil)
}

// Run submits batch and awaits it: Submit(x, batch).Await(x). On an Io
// that waits inline (Blocking) it makes no future: the calling goroutine
// submits, waits inline and takes the result (one allocation per call, the
// Completion).
func (d *Device) Run(x io.Io, batch *Batch) (*Completion, error) {
	inline, err := external(x)
	if err != nil {
		return nil, err
	}
	if !inline {
		return d.submitAs(x, batch, nil, false).Await(x)
	}
	p, err := d.enqueue(batch, nil, nil, false)
	if err != nil {
		return nil, err
	}
	d.waitInline(x, p)
	return p.result()
}

// external asks x how a submission is waited for (io.Io.External), and
// turns its refusal into an *Error.
func external(x io.Io) (inline bool, err error) {
	inline, err = x.External("gpu.submit")
	if err != nil {
		return false, &Error{Op: "submit", Detail: "the Io refused the submission", Err: err}
	}
	return inline, nil
}

func (d *Device) checkOpen(op string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.openLocked(op)
}

// openLocked is checkOpen with d.mu held.
func (d *Device) openLocked(op string) error {
	if d.closed {
		return errf(op, ErrClosed, "device is closed")
	}
	if d.lost != nil {
		return &Error{Op: op, Detail: "device was lost earlier", Err: ErrDeviceLost}
	}
	return nil
}

// submit is the hot path of every submission made through a future. Per
// call it allocates the promise (and its channel, inside package io) and one
// pending record that also holds the Completion; the Threaded path adds the
// cancel callback.
func (d *Device) submit(x io.Io, b *Batch, release func(ok bool)) *io.Future[*Completion] {
	inline, err := external(x)
	if err != nil {
		if release != nil {
			release(false)
		}
		pr := io.NewPromise[*Completion]()
		pr.Resolve(nil, err)
		return pr.Future()
	}
	return d.submitAs(x, b, release, inline)
}

// submitAs is submit once x has said whether it waits inline.
func (d *Device) submitAs(x io.Io, b *Batch, release func(ok bool), inline bool) *io.Future[*Completion] {
	pr := io.NewPromise[*Completion]()
	p, err := d.enqueue(b, release, pr, !inline)
	if err != nil {
		pr.Resolve(nil, err)
		return pr.Future()
	}
	if !inline {
		pr.OnCancel(p.cancel)
		return pr.Future()
	}
	d.waitInline(x, p)
	return pr.Future()
}

// enqueue checks and submits b and returns its pending record, tracked by
// the device (and, if async, by its completion goroutine: the Io does not
// wait inline). pr is the record's promise; nil for an inline Run. On an
// error nothing was submitted and release (if any) has run. The Io has
// agreed to the submission (external).
func (d *Device) enqueue(b *Batch, release func(ok bool), pr *io.Promise[*Completion], async bool) (*pending, error) {
	const op = "submit"
	fail := func(err error) (*pending, error) {
		if release != nil {
			release(false)
		}
		return nil, err
	}
	if b == nil || b.d != d {
		return fail(errf(op, ErrInvalid, "batch is nil or belongs to another device"))
	}
	// Leftovers of canceled or timed-out blocking waits are reaped here;
	// while the completion goroutine runs, it does that itself.
	reap, err := d.mustReap(op)
	if err != nil {
		return fail(err)
	}
	if reap {
		d.reapDone()
	}
	cmds, waits, err := d.prepare(op, b)
	if err != nil {
		return fail(err)
	}
	if h := d.testHooks.enqueued; h != nil {
		h(b)
	}

	p := &pending{batch: b, lane: b.lane, promise: pr, release: release}
	if pr == nil {
		p.delivered.Add(1)
	}
	sub := waits
	if len(d.lanes) > 1 {
		sub = d.laneWaits(b, sub)
	}
	if err := d.queue(op, p, cmds, sub, async); err != nil {
		d.undoSubmit(b, waits)
		if errors.Is(err, ErrDeviceLost) {
			d.markLost(err)
		}
		return fail(err)
	}
	return p, nil
}

// prepare claims b for a submission: it marks it in flight, takes a use of
// each of its buffers and records it (the first time), and returns its
// command buffer and the timeline values it must wait for (After), which it
// takes off b. On an error b is as it was.
func (d *Device) prepare(op string, b *Batch) (*vkx.Commands, waitSet, error) {
	cmds, waits, err := d.tryPrepare(op, b, true)
	if err == errInflight {
		// The previous submission may have finished without being reaped
		// yet (the completion goroutine is about to): reap, then look again.
		d.reapDone()
		cmds, waits, err = d.tryPrepare(op, b, false)
	}
	return cmds, waits, err
}

// waitSet holds, per lane index, the timeline value a submission waits for
// on the GPU (0: none).
type waitSet = [vkx.MaxLanes]uint64

// errInflight is tryPrepare's answer, on a first try, for a batch in flight.
var errInflight = errors.New("in flight")

// tryPrepare is one try of prepare; on the first, a batch in flight fails
// with errInflight.
func (d *Device) tryPrepare(op string, b *Batch, first bool) (*vkx.Commands, waitSet, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, waitSet{}, errf(op, ErrClosed, "batch is closed")
	case b.inflight && first:
		return nil, waitSet{}, errInflight
	case b.inflight:
		return nil, waitSet{}, errf(op, ErrBusy, "the batch's previous submission is still running")
	}
	// Taking a use of each buffer is what checks that it is open: from
	// here on its Close fails with ErrBusy until the submission is released
	// (finish or undoSubmit).
	if !acquire(b.bufs) {
		return nil, waitSet{}, errf(op, ErrClosed, "a buffer of the batch is closed")
	}
	ok := false
	defer func() {
		if !ok {
			releaseAll(b.bufs)
		}
	}()
	if b.cmds == nil {
		// Recording uses the device: Close waits for it.
		if err := d.enter(op); err != nil {
			return nil, waitSet{}, err
		}
		defer d.leave()
		if err := b.record(); err != nil {
			return nil, waitSet{}, err
		}
	}
	b.inflight = true
	ok = true
	waits := b.waits
	b.waits = waitSet{}
	return b.cmds, waits, nil
}

// queue submits cmds for p to p's lane under the lane's queue lock, first
// waiting on the GPU for waits (After), unless the device was closed or lost
// meanwhile, and tracks p (async: by the completion goroutine too).
func (d *Device) queue(op string, p *pending, cmds *vkx.Commands, waits waitSet, async bool) error {
	l := p.lane
	l.vl.Mu.Lock()
	defer l.vl.Mu.Unlock()
	if err := d.checkOpen(op); err != nil {
		return err
	}
	if d.faults.armed.Load() {
		d.strikeLocked()
	}
	submitted := time.Now()
	var v uint64
	var err error
	if waits == (waitSet{}) {
		v, err = l.vl.SubmitLocked(cmds)
	} else {
		v, err = l.vl.SubmitWaitLocked(cmds, waits)
	}
	if err != nil {
		return wrap(op, err)
	}
	p.value = v
	p.submitted = submitted
	p.batch.last.Store(v)
	if len(d.lanes) > 1 {
		p.batch.noteLane(l.vl.Index, v)
		if h := d.testHooks.submitted; h != nil {
			h(p.batch, l.vl.Index, v, waits)
		}
	}
	if d.opts.WaitTimeout > 0 {
		// Set under the lane's queue lock, from the submission time:
		// deadlines are in the order of the lane's pending list, which the
		// completion goroutine relies on.
		p.deadline = submitted.Add(d.opts.WaitTimeout)
	}
	if d.addPending(p, async) {
		// The completion goroutine waits on the other lane only: wake it,
		// so that its next wait covers this one too.
		d.wake()
	}
	return nil
}

// laneWaits adds to w (per lane, the timeline value b's submission waits
// for on the GPU) what makes b's commands see, on a device with two lanes,
// the buffer accesses of submissions made before it on the other lane, as
// one queue would: for each buffer b uses, the other lane's last
// submission that writes it and, if b writes it, the last that reads it.
//
// Vulkan makes one queue's writes visible to another queue's commands only
// through such a dependency (a semaphore wait in the submission): a wait on
// the host for the write's submission is not enough, so the wait is added
// even when the value has been reached (it then costs the GPU nothing).
// Within a lane every batch starts with a full barrier, which orders it
// after the lane's earlier submissions. The values were stored by those
// submissions (noteLane) before their Submit returned, so a submission
// ordered after them by the program sees them.
func (d *Device) laneWaits(b *Batch, w waitSet) waitSet {
	own := b.lane.vl.Index
	acc := *b.acc
	for i, x := range b.bufs {
		write := acc[i]&accWrite != 0
		for m := range d.lanes {
			if m == own {
				continue
			}
			v := x.lanes.wrote[m].Load()
			if write {
				v = max(v, x.lanes.read[m].Load())
			}
			w[m] = max(w[m], v)
		}
	}
	return w
}

// noteLane records on each buffer b uses that b's submission on lane
// `lane`, with timeline value v, reads or writes it (see laneWaits). The
// caller holds the lane's queue lock, so the values stored for a lane rise.
func (b *Batch) noteLane(lane int, v uint64) {
	acc := *b.acc
	for i, x := range b.bufs {
		if acc[i]&accWrite != 0 {
			x.lanes.wrote[lane].Store(v)
		}
		if acc[i]&accRead != 0 {
			x.lanes.read[lane].Store(v)
		}
	}
}

// wake signals the device's wake semaphore (vkx.Device.Wake), ending the
// completion goroutine's wait and every wait with a ticket taken before.
// If the signal fails (out of host memory), those waits would go on until
// work they cover completes (the completion goroutine's: a long kernel on
// the other lane; a canceled inline wait: its own work), so a goroutine
// retries the signal every waitRetry until one succeeds or the device is
// destroyed (Close waits for it).
func (d *Device) wake() {
	if d.vd.Wake() == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.wakeDone {
		return // destroyed: nobody waits
	}
	d.wakeOwed = true
	if !d.wakeRetrying {
		d.wakeRetrying = true
		d.wakers.Add(1)
		go d.retryWake()
	}
}

// retryWake is wake's retrying goroutine: it signals the wake semaphore
// every waitRetry until a signal succeeds with no failed one after it.
// Each failed wake sets wakeOwed under d.mu, so the signal that ends the
// loop comes after every failure and reaches the tickets of their waits.
func (d *Device) retryWake() {
	defer d.wakers.Done()
	for {
		time.Sleep(waitRetry)
		d.mu.Lock()
		if !d.wakeOwed {
			d.wakeRetrying = false
			d.mu.Unlock()
			return
		}
		d.wakeOwed = false
		d.mu.Unlock()
		if d.vd.Wake() != nil {
			d.mu.Lock()
			d.wakeOwed = true
			d.mu.Unlock()
		}
	}
}

// addPending adds p to its lane's pending list and, if async, makes sure the
// completion goroutine runs; wake reports that its current wait does not
// cover p's lane.
func (d *Device) addPending(p *pending, async bool) (wake bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := p.lane
	l.pending = append(l.pending, p)
	if async {
		d.startLocked()
		d.cond.Signal()
		return d.compWaiting && d.compMask&l.bit == 0
	}
	return false
}

// mustReap checks that the device is open and reports whether enqueue must
// reap (the completion goroutine does not run, and work is pending).
func (d *Device) mustReap(op string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.openLocked(op); err != nil {
		return false, err
	}
	return !d.running && d.anyPendingLocked(), nil
}

// anyPendingLocked reports whether some lane has pending submissions; the
// caller holds d.mu.
func (d *Device) anyPendingLocked() bool {
	for _, l := range d.lanes {
		if len(l.pending) > 0 {
			return true
		}
	}
	return false
}

// undoSubmit releases what a submission that never reached the queue took,
// and gives b back the waits it took.
func (d *Device) undoSubmit(b *Batch, waits waitSet) {
	releaseAll(b.bufs)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflight = false
	for i, v := range waits {
		b.waits[i] = max(b.waits[i], v)
	}
}

// idle marks the batch's submission over.
func (b *Batch) idle() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inflight = false
}

// waitRetry is how long the completion goroutine pauses before retrying a
// wait that failed with an error that does not mean the device is lost
// (such as VK_ERROR_OUT_OF_HOST_MEMORY).
//
// It is a timer because nothing signals the end of such a condition: the
// only way to learn that the GPU work finished is to wait for it again, and
// the wait is what fails. Retrying at once would spin a CPU for as long as
// the failure lasts (TestWaitRetryPaces fails without the pause); giving up
// would leave the submissions behind the front without a completion
// goroutine, and their waiters blocked until Close.
const waitRetry = time.Millisecond

// capTimeout bounds a wait's timeout by what is left until deadline (zero:
// no deadline); a deadline that has passed gives 0.
func capTimeout(timeout time.Duration, deadline time.Time) time.Duration {
	if !deadline.IsZero() {
		if left := time.Until(deadline); left < timeout {
			timeout = max(left, 0)
		}
	}
	return timeout
}

// passed reports whether deadline (zero: none) is at or before now.
func passed(deadline, now time.Time) bool {
	return !deadline.IsZero() && !now.Before(deadline)
}

// timeoutError is the error of a submission whose wait passed its deadline
// (or had a timeout injected); ce is the wait that timed out.
func timeoutError(ce *vkx.CallError) error {
	return &Error{Op: "wait", Call: ce.Op, Result: int32(ce.Code), Detail: "the submission is still tracked", Err: ErrTimeout}
}

// deadlineExceeded is the cause of a wait ended by the waiting task's
// deadline: it matches ErrTimeout, context.DeadlineExceeded and
// os.ErrDeadlineExceeded.
type deadlineExceeded struct{}

func (deadlineExceeded) Error() string { return "deadline exceeded" }

// Is reports whether target is one of the errors a deadline matches.
func (deadlineExceeded) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded || target == os.ErrDeadlineExceeded ||
		target == io.ErrDeadlineExceeded || target == io.ErrCanceled
}

// deadlineError is the error of a submission whose inline wait (call, if
// it was the call that timed out) reached the waiting task's deadline.
func deadlineError(call string) error {
	e := &Error{Op: "wait", Call: call, Detail: "the task's deadline passed; the submission is still tracked", Err: deadlineExceeded{}}
	if call != "" {
		e.Result = int32(vkx.Timeout)
	}
	return e
}

// waitInline waits for p on the calling goroutine (an Io that waits
// inline, io.Io.External). A task that can be canceled waits for the
// timeline or the device's wake semaphore, which its cancellation signals
// from the host; the root task, which nothing cancels, waits for the
// timeline alone. Either waits without a timeout (as a plain C program
// does: a driver's timed wait arms a timer, which costs measurably on
// lavapipe in a VM) unless a deadline bounds it: Options.WaitTimeout, or the
// task's own (x.Deadline()), whose wait fails with an error
// matching ErrTimeout and context.DeadlineExceeded (see deadlineError).
// There is no safety-net slice: the wake ticket is taken before each check
// of the cancellation, so a cancel is never missed (see
// vkx.Device.WakeTicket). If signalling the wake semaphore itself fails
// (out of host memory), the signal is retried every waitRetry (see wake).
//
// A wait that fails resolves p with the error; unless the device is lost,
// p stays tracked (in d.pending) and a later reap or Close releases it.
func (d *Device) waitInline(x io.Io, p *pending) {
	// Counted, so that Close does not destroy the device under this wait;
	// once Close has begun no wait starts (Close's drain completes p).
	d.inline.Add(1)
	defer d.inlineDone()
	if d.closing.Load() {
		return
	}
	if !x.Cancelable() {
		// The root task: never canceled, and without a deadline.
		d.waitLoop(p, time.Time{}, func(timeout time.Duration) (waitResult, error) {
			return waitReached, p.lane.vl.Wait(p.value, timeout)
		})
		return
	}
	taskDeadline, _ := x.Deadline()
	d.waitCancelable(x, x.Context(), p, taskDeadline)
}

// waitCancelable is waitInline's wait for a task that can be canceled
// (through ctx, x's context) and may have a deadline (zero: none).
func (d *Device) waitCancelable(x io.Io, ctx context.Context, p *pending, taskDeadline time.Time) {
	// A cancelable wait also waits on the device's wake semaphore, which
	// the task's cancellation signals: cancel ends the wait at once. (It
	// used to be noticed between 20 ms slices; on an H200 a whole heavy
	// batch fits in one, and the canceled wait ended in success.)
	stop := context.AfterFunc(ctx, d.wake)
	defer stop()
	d.waitLoop(p, taskDeadline, func(timeout time.Duration) (waitResult, error) {
		// The ticket first, then the check: the task's Wake follows its
		// cancellation, so a cancel the check misses has a Wake that
		// reaches this ticket and ends the wait.
		ticket := d.vd.WakeTicket()
		if x.Canceled() {
			return waitCanceled, nil
		}
		c, err := p.lane.vl.WaitWake(p.value, ticket, timeout)
		switch {
		case err != nil:
			return waitReached, err
		case c >= p.value:
			return waitReached, nil
		}
		return waitAgain, nil // woken: by this task's cancel or another's
	})
}

// waitResult is how one wait of waitLoop ended without an error.
type waitResult int

const (
	waitReached  waitResult = iota // the timeline reached the value
	waitCanceled                   // the waiting task was canceled
	waitAgain                      // woken for another waiter: wait again
)

// waitLoop waits for p through wait, without a timeout unless p has a
// deadline (Options.WaitTimeout) or the waiting task has one (taskDeadline;
// zero: none), and resolves p unless the device is lost.
func (d *Device) waitLoop(p *pending, taskDeadline time.Time, wait func(time.Duration) (waitResult, error)) {
	deadline := p.deadline
	if !taskDeadline.IsZero() && (deadline.IsZero() || taskDeadline.Before(deadline)) {
		deadline = taskDeadline
	}
	for {
		r, err := wait(capTimeout(vkx.Forever, deadline))
		switch {
		case err == nil && r == waitReached:
			d.reap(p.lane, p.value)
			return
		case err == nil && r == waitCanceled:
			// A task whose deadline has passed is canceled by it: report
			// the deadline, not a plain cancellation.
			if passed(taskDeadline, time.Now()) {
				p.resolve(nil, deadlineError(""))
			} else {
				p.resolve(nil, canceled("wait"))
			}
			return
		case err == nil:
			continue
		}
		if ce, ok := err.(*vkx.CallError); ok && ce.Code == vkx.Timeout {
			now := time.Now()
			switch {
			case !ce.Injected && passed(taskDeadline, now):
				p.resolve(nil, deadlineError(ce.Op))
				return
			case ce.Injected || passed(p.deadline, now):
				p.resolve(nil, timeoutError(ce))
				return
			}
			continue
		}
		err = wrap("wait", err)
		if errors.Is(err, ErrDeviceLost) {
			d.markLost(err)
			return
		}
		p.resolve(nil, err)
		return
	}
}

// markLost records a lost device and fails every pending submission's
// waiter. The submissions stay tracked: Close waits for the device to go
// idle before releasing them.
func (d *Device) markLost(err error) {
	for _, p := range d.lostLocked(err) {
		p.resolve(nil, err)
	}
}

// lostLocked records a lost device, wakes the completion goroutine and
// returns a copy of the pending submissions.
func (d *Device) lostLocked(err error) []*pending {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lost == nil {
		d.lost = err
		d.lostFlag.Store(true)
	}
	d.cond.Broadcast()
	var ps []*pending
	for _, l := range d.lanes {
		ps = append(ps, l.pending...)
	}
	return ps
}

// reapDone completes every pending submission the timeline has passed,
// without waiting.
func (d *Device) reapDone() {
	if d.enterReap() {
		func() {
			defer d.leave()
			for _, l := range d.lanes {
				if v, err := l.vl.Completed(); err == nil {
					d.reap(l, v)
				}
			}
		}()
	}
	// Another goroutine (the completer) may have taken a finished
	// submission off the list and still be finishing it: wait, so that what
	// the timeline has passed is released when reapDone returns.
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.finishing > 0 {
		d.cond.Wait()
	}
}

// enterReap makes reapDone a user of the device if there is something to
// reap and the timeline can be read (not lost, not destroyed by Close).
func (d *Device) enterReap() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.anyPendingLocked() || d.lost != nil || d.gone {
		return false
	}
	d.users++
	return true
}

// reap completes lane l's pending submissions with values up to done. It
// takes them off the list one at a time, so that it allocates nothing.
func (d *Device) reap(l *lane, done uint64) int {
	n := 0
	for d.reapOne(l, done) {
		n++
	}
	return n
}

// reapOne completes l's oldest pending submission if its timeline has
// passed it (done), and reports whether it did.
func (d *Device) reapOne(l *lane, done uint64) bool {
	p := d.popDone(l, done)
	if p == nil {
		return false
	}
	defer d.finished()
	d.finish(p, nil)
	return true
}

// popDone takes l's oldest pending submission off its list, counting it as
// finishing, if l's timeline has passed it (done); nil otherwise.
func (d *Device) popDone(l *lane, done uint64) *pending {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(l.pending) == 0 || l.pending[0].value > done {
		return nil
	}
	p := l.pending[0]
	copy(l.pending, l.pending[1:])
	l.pending[len(l.pending)-1] = nil
	l.pending = l.pending[:len(l.pending)-1]
	d.finishing++
	return p
}

// finished ends the finishing count popDone took, waking reapDone.
func (d *Device) finished() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.finishing--; d.finishing == 0 {
		d.cond.Broadcast()
	}
}

// finish releases what p held and resolves its promise (unless its waiter
// already gave up). gpuErr, if not nil, is why the GPU work cannot be
// relied on (a lost device): the waiter gets it instead of a Completion.
func (d *Device) finish(p *pending, gpuErr error) {
	now := time.Now()
	var c *Completion
	var err error
	b := p.batch
	if gpuErr == nil && !p.settled.Load() {
		c = &p.comp
		*c = Completion{Value: p.value, Queue: p.lane.name, Submitted: p.submitted, Completed: now}
		if n := len(b.labels); n > 0 {
			raw := make([]uint64, n)
			if e := b.cmds.Timestamps(raw); e != nil {
				err = wrap("timestamps", e)
			} else {
				c.Stamps = make([]Stamp, n)
				for i, t := range raw {
					c.Stamps[i] = Stamp{Label: b.labels[i], At: d.clock.toTime(t)}
				}
			}
		}
	}
	releaseAll(b.bufs)
	b.idle()
	// release runs while reap counts this submission as finishing, so it must
	// not wait in reapDone: the batch and buffers are marked idle above, so
	// their Close (all a release does) does not.
	//
	// Claim the promise before release, so that release knows whether the
	// waiter still wants results (a staged download copies them out).
	claimed := p.settled.CompareAndSwap(false, true)
	if p.release != nil {
		p.release(claimed && gpuErr == nil && err == nil)
	}
	if claimed {
		if gpuErr != nil {
			err = gpuErr
		}
		if err != nil {
			c = nil
		}
		p.deliver(c, err)
	}
}

func (d *Device) startLocked() {
	if d.running {
		return
	}
	d.running = true
	d.stopped = make(chan struct{})
	go d.completer()
}

// completer is the device's completion goroutine: it waits on the
// timeline semaphores for the oldest pending submission of each lane and
// completes every submission the timelines have passed. While it waits it
// occupies one OS thread (a goroutine blocked in a cgo call), however many
// submissions and lanes are pending; it exits when the device is closed
// and nothing is pending.
//
// With one lane it waits on that lane's timeline alone: a submission made
// meanwhile is behind the one waited for. With two (a transfer lane) it
// waits for either lane's oldest submission or the device's wake
// semaphore, which a submission to a lane the wait does not cover signals.
//
// It is deliberately not locked to its OS thread: after resolving futures
// it yields (runtime.Gosched), so that the goroutines it woke run at once
// on the same thread, before it blocks in the driver again. With a locked
// thread, or without the yield, each completion costs OS thread hand-offs
// (and, at GOMAXPROCS=1, the woken goroutine waits for sysmon to retake the
// P from the blocked wait).
func (d *Device) completer() {
	defer close(d.stopped)
	var due []*pending // claimed by this goroutine, to resolve with an error
	for {
		w, ok := d.nextWait()
		if !ok {
			return
		}
		var done waitSet
		var err error
		if len(d.lanes) == 1 {
			done[0], err = d.lanes[0].vl.WaitCounter(w.fronts[0].value, w.timeout)
		} else {
			var values waitSet
			for i, f := range w.fronts {
				if f != nil {
					values[i] = f.value
				}
			}
			done, err = d.vd.WaitLanes(values, w.ticket, w.timeout)
			d.waitDone()
		}
		ce, _ := err.(*vkx.CallError) // vkx returns its errors unwrapped
		switch {
		case err == nil:
			n := 0
			for i, l := range d.lanes {
				n += d.reap(l, done[i])
			}
			if n > 0 {
				runtime.Gosched()
			}
		case ce != nil && ce.Code == vkx.Timeout:
			due = d.expire(due, &w.fronts, ce.Injected, time.Now())
			deliverErr(due, timeoutError(ce))
			due = due[:0]
		default:
			err = wrap("wait", err)
			if errors.Is(err, ErrDeviceLost) {
				d.markLost(err)
				break
			}
			// Not a lost device (out of memory, say): the fronts' waiters
			// get the error; the submissions stay tracked, and their wait
			// is retried after a pause. Meanwhile what the timelines have
			// passed is reaped, so that failing waits do not hold up Close.
			due = d.claimFronts(due, &w.fronts)
			deliverErr(due, err)
			due = due[:0]
			time.Sleep(waitRetry) // see waitRetry: nothing else can say when to retry
			for _, l := range d.lanes {
				if v, err := l.vl.Completed(); err == nil {
					d.reap(l, v)
				}
			}
		}
	}
}

// nextWaitInfo is what the completion goroutine waits for next: the oldest
// pending submission of each lane (nil: none), the wait's timeout, and its
// wake ticket (two lanes).
type nextWaitInfo struct {
	fronts  [vkx.MaxLanes]*pending
	timeout time.Duration
	ticket  uint64
}

// nextWait waits until a submission is pending and returns what to wait
// for; ok is false when the goroutine is to exit (closed with nothing
// pending, or lost). With two lanes it marks the completion goroutine as
// waiting on the lanes it returns fronts of (waitDone ends that).
func (d *Device) nextWait() (w nextWaitInfo, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for (!d.anyPendingLocked() || d.lost != nil) && !d.closed {
		d.cond.Wait()
	}
	if !d.anyPendingLocked() || d.lost != nil {
		return w, false
	}
	// Nothing but a front's completion (or a deadline) needs this wait to
	// end: a canceled waiter is resolved through its promise, and Close
	// waits for the pending work to finish anyway. So, like a plain C
	// program, wait without a timeout unless there are deadlines.
	// Deadlines are in the order of each lane's pending list: the wait
	// ends at the first one not yet expired, whichever submission it is.
	// With every submission expired, it ends after WaitTimeout, before the
	// deadline of any submission made meanwhile.
	w.timeout = vkx.Forever
	wt := d.opts.WaitTimeout
	if wt > 0 {
		w.timeout = wt
	}
	var mask uint8
	for i, l := range d.lanes {
		if len(l.pending) == 0 {
			continue
		}
		w.fronts[i] = l.pending[0]
		mask |= l.bit
		if wt > 0 {
			for _, p := range l.pending {
				if !p.expired {
					w.timeout = min(w.timeout, capTimeout(wt, p.deadline))
					break
				}
			}
		}
	}
	if len(d.lanes) > 1 {
		// The ticket is taken under d.mu, before a submission to a lane
		// outside mask can look at compMask: its Wake reaches the ticket.
		w.ticket = d.vd.WakeTicket()
		d.compMask, d.compWaiting = mask, true
	}
	return w, true
}

// waitDone ends the completion goroutine's wait begun by nextWait.
func (d *Device) waitDone() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.compWaiting = false
}

// expire marks every submission whose deadline has passed at now (and the
// fronts, on an injected timeout) expired, and appends to due those whose
// result it claimed. Claiming them under d.mu, while they are still
// pending, keeps a concurrent reap from delivering their results too.
func (d *Device) expire(due []*pending, fronts *[vkx.MaxLanes]*pending, injected bool, now time.Time) []*pending {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, l := range d.lanes {
		for _, p := range l.pending {
			if p.expired {
				continue
			}
			if !passed(p.deadline, now) && !(injected && p == fronts[i]) {
				break // the deadlines after it are later still
			}
			p.expired = true
			if p.settled.CompareAndSwap(false, true) {
				due = append(due, p)
			}
		}
	}
	return due
}

// claimFronts appends to due each of fronts that is still its lane's oldest
// pending submission and whose result was not claimed yet.
func (d *Device) claimFronts(due []*pending, fronts *[vkx.MaxLanes]*pending) []*pending {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, l := range d.lanes {
		front := fronts[i]
		if front != nil && len(l.pending) > 0 && l.pending[0] == front && front.settled.CompareAndSwap(false, true) {
			due = append(due, front)
		}
	}
	return due
}

// deliverErr hands err to the waiters of ps, which the caller has claimed,
// and clears ps.
func deliverErr(ps []*pending, err error) {
	for i, p := range ps {
		p.deliver(nil, err)
		ps[i] = nil
	}
}

// drainInline completes everything still pending at Close: it waits for
// the device to go idle (a lost device returns at once) and releases.
func (d *Device) drainInline() {
	n, lost := d.pendingCount()
	if n == 0 {
		return
	}
	var gpuErr error
	if werr := d.vd.WaitIdle(); werr != nil && !lost {
		gpuErr = wrap("close", werr)
		if errors.Is(gpuErr, ErrDeviceLost) {
			d.markLost(gpuErr)
		}
	}
	ps, lostErr := d.takePending()
	if lostErr != nil {
		gpuErr = lostErr
	}
	for _, p := range ps {
		d.finish(p, gpuErr)
	}
}

// pendingCount returns how many submissions are pending and whether the
// device is lost.
func (d *Device) pendingCount() (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, l := range d.lanes {
		n += len(l.pending)
	}
	return n, d.lost != nil
}

// takePending takes every pending submission off the lists; lost is why the
// device was lost, if it was.
func (d *Device) takePending() (ps []*pending, lost error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lanes {
		ps = append(ps, l.pending...)
		l.pending = nil
	}
	return ps, d.lost
}
