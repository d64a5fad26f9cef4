//go:build linux

package io

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vkio/vkio/io/internal/uring"
)

// Evented is the io_uring implementation. File operations (open, read, write and
// their positional and vectorized forms, fsync, ftruncate, statx, close, rename,
// unlink, mkdir) and sleeps are requests on one ring shared by all tasks. Sleeps
// share one IORING_OP_TIMEOUT, armed for the earliest deadline as in an event
// loop, so a storm of sleeps costs one ring request per distinct wake-up:
//
//   - Submission is batched: a task writes its request into the submission queue
//     and, unless another task is already in io_uring_enter, enters the kernel
//     for every request queued so far; requests queued meanwhile go in with the
//     flusher's next call, so many tasks' requests share one system call.
//   - Completions wake exactly the task that waits for each (a channel per
//     request). A submitting task first reaps opportunistically, which catches
//     requests the kernel completed inline. Then one waiting task at a time
//     leads: it waits in io_uring_enter itself and reaps everything that
//     arrives, so a lone waiter wakes straight from the kernel; the others park.
//     When no task leads, a reaper goroutine parked on an eventfd (through the
//     runtime's network poller, so it holds no OS thread) reaps instead. The
//     eventfd is muted (IORING_CQ_EVENTFD_DISABLED) while a task is in
//     io_uring_enter, which reaps by itself, so that an inline completion does
//     not also wake another thread for the reaper.
//   - Cancellation sends IORING_OP_ASYNC_CANCEL for the task's request and waits
//     for the request's own completion: its buffers stay pinned
//     (runtime.Pinner) from submission until that completion arrives, canceled or not.
//   - Interrupted (EINTR) and would-block (EAGAIN) results are retried; a full
//     submission queue or EBUSY from the kernel makes the task reap and retry;
//     completions that overflowed the completion queue are moved in by the reaper.
//   - A write is one request, and may be short (as the driver contract allows):
//     the callers (File.Write, WriteAt and WriteVec, Writer.Flush) resubmit the
//     rest, and a write that fails after some bytes landed reports them first.
//
// Kernel requirements: Linux 5.6 or later, for the opcode probe and the
// openat, close and statx requests; NewEvented refuses older kernels with an
// *EventedUnavailableError, so New("") picks Threaded there. Requests that
// newer kernels added are used where the probe reports them; without them
// truncate (IORING_OP_FTRUNCATE, Linux 6.9), rename and unlink (5.11) and mkdir
// (5.15) fall back to the blocking system call on the task's goroutine, as on
// Threaded. Kernels before 5.18 (no IORING_SETUP_SUBMIT_ALL) and 5.8 (no
// eventfd muting) work too, with the workarounds in package uring and mute.
//
// Symbolic and hard links (IORING_OP_SYMLINKAT, IORING_OP_LINKAT, 5.15) are
// ring requests where the kernel has them, with the same fallback; directory
// reads (getdents), readlink, access checks, chmod, utimensat, lseek, flock,
// copy_file_range and FICLONE have no request and are the system call on the
// task's goroutine (see dirDriver).
//
// Evented pays off when many requests are in flight at once and the kernel
// completes them without a thread per request: 4 KiB direct-I/O writes
// (CreateOptions.Direct) from 256 tasks ran 3.7 × faster than on Threaded,
// which blocks an OS thread per write. On file systems without non-blocking
// buffered writes (ext4 and tmpfs among them) the kernel hands every buffered
// write to an io-wq worker thread, which costs two thread wake-ups per write:
// small buffered writes are slower than Threaded's direct system calls there
// (figures in BENCHMARKS.md). Cached reads, opens, stats and timers complete
// inline or without a worker.
//
// Tasks are goroutines, with Threaded's limits. Sockets use the runtime's network
// poller, as in Threaded, with cancellation through deadlines: a loopback echo
// benchmark showed no gain from io_uring for them (see BENCHMARKS.md). External
// completions, such as GPU fence waits, park on a Promise as under Threaded: the
// device's completion thread resolves it and the awaiting goroutine wakes; no
// OS thread is held per wait.
type Evented struct {
	sysDriver // sockets; every file and time operation is overridden below

	asyncLimit, concurrentLimit int64
	async, concurrent           atomic.Int64
	logger                      *slog.Logger // EventedOptions.Logger; nil: none

	ring       *uring.Ring
	efd        *os.File // eventfd the kernel signals on completions
	reaperDone chan struct{}
	supported  [256]bool // opcodes the kernel's probe reported (see has)

	sqMu     sync.Mutex
	sqFree   sync.Cond // a flush ended: submission slots may be free
	flushing bool      // a task is in io_uring_enter for the queue
	closed   bool      // the ring takes no more requests (but Close's cancels)

	closing atomic.Bool // Close has begun: it cancels what is in flight
	timers  timerQueue  // sleeps, multiplexed onto one timeout request

	cqMu    sync.Mutex   // serialises reaping
	leading atomic.Bool  // a task waits in io_uring_enter and is the only reaper
	muters  atomic.Int32 // flushers and leaders at work: the eventfd is muted (see mute)

	// ops holds every request from its registration until its task has
	// stopped touching the ring (runOp returns), not just until its
	// completion: Close unmaps the ring only once it is empty.
	opsMu   sync.Mutex
	opsLeft sync.Cond // on opsMu: an entry left ops while Close waits (see Close)
	// reaperIdle (under opsMu) says the reaper saw ops empty and sleeps on
	// the eventfd without a deadline: the next request registered wakes it.
	reaperIdle bool
	ops        map[uint64]*ringOp
	nextID     uint64

	submitted, completed, canceled, overflows, flushes atomic.Uint64
}

// eventedLead enables lead (a variable for benchmarks comparing both ways).
var eventedLead = true

var (
	_ driver  = (*Evented)(nil)
	_ Backend = (*Evented)(nil)
)

// cancelID marks the completions of cancel requests, which nobody waits for.
const cancelID = 0

// eventedSetupHook, when set (by tests), runs first in NewEvented; an error from
// it is taken as the kernel's refusal of io_uring_setup.
var eventedSetupHook func() error

// eventedProbeHook, when set (by tests), filters the result of the opcode probe
// in NewEvented, to play an older kernel: it may hide opcodes or fail the probe.
var eventedProbeHook func(supported func(op uint8) bool, err error) (func(op uint8) bool, error)

// requiredOps are the requests Evented cannot work without: reads, writes,
// fsync, opens, stats and closes have no fallback that keeps Evented what it is
// (an implementation whose file operations are ring requests), sleeps share one
// timeout request, and cancellation (of tasks, and of stragglers in Close)
// needs async-cancel. The probe itself is Linux 5.6, as are openat, close and
// statx. The optional requests, each with a system-call fallback, are
// ftruncate, renameat, unlinkat and mkdirat (see has).
var requiredOps = []struct {
	op   uint8
	name string
}{
	{uring.OpReadv, "IORING_OP_READV"},
	{uring.OpWritev, "IORING_OP_WRITEV"},
	{uring.OpFsync, "IORING_OP_FSYNC"},
	{uring.OpTimeout, "IORING_OP_TIMEOUT"},
	{uring.OpAsyncCancel, "IORING_OP_ASYNC_CANCEL"},
	{uring.OpOpenat, "IORING_OP_OPENAT"},
	{uring.OpClose, "IORING_OP_CLOSE"},
	{uring.OpStatx, "IORING_OP_STATX"},
}

// optionalOps are the requests used where the kernel has them (see has).
var optionalOps = []uint8{uring.OpRenameat, uring.OpUnlinkat, uring.OpMkdirat, uring.OpFtruncate, uring.OpSymlinkat, uring.OpLinkat}

// probeOps runs the kernel's opcode probe and fills e.supported, or returns the
// reason Evented cannot run on this ring: the probe failed (before Linux 5.6),
// or a required request is missing.
func (e *Evented) probeOps() error {
	supported, err := e.ring.Supported()
	if eventedProbeHook != nil {
		supported, err = eventedProbeHook(supported, err)
	}
	if err != nil {
		return fmt.Errorf("opcode probe (Linux 5.6 or later needed): %w", err)
	}
	var missing []string
	for _, r := range requiredOps {
		if e.supported[r.op] = supported(r.op); !e.supported[r.op] {
			missing = append(missing, r.name)
		}
	}
	if missing != nil {
		return fmt.Errorf("kernel lacks io_uring requests %s (Linux 5.6 or later needed)", strings.Join(missing, ", "))
	}
	for _, op := range optionalOps {
		e.supported[op] = supported(op)
	}
	return nil
}

// has reports whether the kernel supports the request op. The optional
// requests (optionalOps) check it and fall back to sysDriver's blocking system
// call without it; the required ones (requiredOps) are always there, or
// NewEvented refused the kernel.
func (e *Evented) has(op uint8) bool { return e.supported[op] }

// NewEvented sets up an io_uring and returns the Evented implementation on it.
// Where the kernel refuses io_uring, or its io_uring lacks requests Evented
// needs (before Linux 5.6), the error is an *EventedUnavailableError.
// Close the implementation to release the ring.
func NewEvented(opts EventedOptions) (*Evented, error) {
	if eventedSetupHook != nil {
		if err := eventedSetupHook(); err != nil {
			return nil, &EventedUnavailableError{Err: err}
		}
	}
	entries := opts.Entries
	if entries <= 0 {
		entries = 256
	}
	cqEntries := opts.CQEntries
	if cqEntries <= 0 {
		cqEntries = 4 * entries
	}
	r, err := uring.New(uring.Options{Entries: uint32(entries), CQEntries: uint32(cqEntries)})
	if err != nil {
		return nil, &EventedUnavailableError{Err: err}
	}
	e := &Evented{
		asyncLimit:      int64(opts.AsyncLimit),
		concurrentLimit: int64(opts.ConcurrentLimit),
		logger:          opts.Logger,
		ring:            r,
		reaperDone:      make(chan struct{}),
		ops:             make(map[uint64]*ringOp),
		nextID:          cancelID + 1,
	}
	if err := e.probeOps(); err != nil {
		r.Close()
		return nil, &EventedUnavailableError{Err: err}
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("io: eventfd: %w", err)
	}
	if err := r.RegisterEventfd(efd); err != nil {
		unix.Close(efd)
		r.Close()
		return nil, &EventedUnavailableError{Err: err}
	}
	e.efd = os.NewFile(uintptr(efd), "io_uring-eventfd")
	if e.asyncLimit <= 0 {
		e.asyncLimit = int64(4 * runtime.GOMAXPROCS(0))
	}
	if e.concurrentLimit <= 0 {
		e.concurrentLimit = 10000
	}
	e.sqFree.L = &e.sqMu
	e.opsLeft.L = &e.opsMu
	go e.reaper()
	return e, nil
}

// Io returns the root Io.
func (e *Evented) Io() Io { return Io{d: e} }

// Kind returns KindEvented.
func (e *Evented) Kind() Kind { return KindEvented }

// Stats returns the ring's counters, for tests and profiling.
func (e *Evented) Stats() EventedStats {
	return EventedStats{
		Submitted: e.submitted.Load(),
		Completed: e.completed.Load(),
		Enters:    e.ring.Enters(),
		Flushes:   e.flushes.Load(),
		Canceled:  e.canceled.Load(),
		Overflows: e.overflows.Load(),
	}
}

// Close releases the ring. Tasks should have finished; requests still in flight
// are canceled and waited for first (those that do not complete meanwhile fail
// with ErrClosed). Later operations fail with ErrClosed, except closing files
// and directories, which still works (without the ring). A second Close returns
// an error wrapping ErrClosed.
func (e *Evented) Close() error {
	if !e.closing.CompareAndSwap(false, true) {
		return opErr("close", "io_uring", ErrClosed)
	}
	// The timer goroutine's timeout is canceled through the ring: before it
	// refuses requests.
	e.closeTimers()
	e.sqMu.Lock()
	e.closed = true // from here on, submit refuses new requests
	e.sqMu.Unlock()
	// Cancel stragglers and wait until their tasks are done with the ring (see
	// ops), so that no request can touch memory, and no task the ring, after
	// the ring is gone. One cancel per request is enough: every request in
	// ops was either published before closed was set (under sqMu, so it sits
	// ahead of its cancel in the submission queue and the kernel has it when
	// the cancel arrives: canceled, or already running to a completion of
	// its own), or its submit fails with ErrClosed and it leaves ops without
	// reaching the kernel. Each request's end signals opsLeft; no timer.
	cancelled := make(map[uint64]bool)
	e.opsMu.Lock()
	for len(e.ops) > 0 {
		var ids []uint64
		for id := range e.ops {
			if !cancelled[id] {
				cancelled[id] = true
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			e.opsLeft.Wait()
			continue
		}
		e.opsMu.Unlock()
		for _, id := range ids {
			_ = e.enqueue(cancelSQE(id), true)
		}
		e.opsMu.Lock()
	}
	e.opsMu.Unlock()
	e.sqMu.Lock()
	for e.flushing {
		e.sqFree.Wait()
	}
	e.sqMu.Unlock()
	err := e.efd.Close() // ends the reaper's read
	<-e.reaperDone
	if rerr := e.ring.Close(); err == nil {
		err = rerr
	}
	return err
}

func (e *Evented) kind() Kind { return KindEvented }

func (e *Evented) acquireAsync() bool { return acquire(&e.async, e.asyncLimit) }
func (e *Evented) releaseAsync()      { e.async.Add(-1) }
func (e *Evented) acquireConcurrent() bool {
	return acquire(&e.concurrent, e.concurrentLimit)
}
func (e *Evented) releaseConcurrent() { e.concurrent.Add(-1) }

// ringOp is one request in flight: the memory the kernel reads or writes for it
// (kept pinned until its completion) and where its result goes.
type ringOp struct {
	done chan struct{} // receives once per use, when res is set
	res  int32
	pin  runtime.Pinner
	iov  []unix.Iovec
	ts   unix.Timespec
	stx  unix.Statx_t
	sqe  uring.SQE // call's request, filled by its prep: here, not on the heap per call
}

var ringOps = sync.Pool{New: func() any { return &ringOp{done: make(chan struct{}, 1)} }}

// pinBytes pins b's memory in o and returns its address.
func (o *ringOp) pinBytes(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	o.pin.Pin(&b[0])
	return uring.BytesAddr(b)
}

// cString returns p as a pinned NUL-terminated string's address.
func (o *ringOp) cString(p string) (uint64, error) {
	b, err := unix.ByteSliceFromString(p)
	if err != nil {
		return 0, err
	}
	return o.pinBytes(b), nil
}

// iovecs fills o.iov from bufs (at most maxIovecs of them), pins everything,
// and returns the array's address and length.
func (o *ringOp) iovecs(bufs [][]byte) (uint64, uint32) {
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	o.iov = o.iov[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		o.pin.Pin(&b[0])
		o.iov = append(o.iov, unix.Iovec{Base: &b[0], Len: uint64(len(b))})
	}
	if len(o.iov) == 0 {
		return 0, 0
	}
	o.pin.Pin(&o.iov[0])
	return uring.Addr(&o.iov[0]), uint32(len(o.iov))
}

func (o *ringOp) release() {
	o.pin.Unpin()
	clear(o.iov)
	o.iov = o.iov[:0]
	ringOps.Put(o)
}

// submit writes one request into the submission queue and, unless another task
// is flushing, enters the kernel for everything queued. Once Close has begun
// draining, it fails with ErrClosed.
func (e *Evented) submit(req *uring.SQE) error { return e.enqueue(req, false) }

// enqueue is submit; draining lets Close's own cancel requests past the
// closed ring.
func (e *Evented) enqueue(req *uring.SQE, draining bool) error {
	e.sqMu.Lock()
	var sqe *uring.SQE
	for {
		if e.closed && !draining {
			e.sqMu.Unlock()
			return ErrClosed
		}
		if sqe = e.ring.GetSQE(); sqe != nil {
			break
		}
		if !e.flushing {
			e.flushLocked() // the queue is full of published requests: hand them over
			continue
		}
		e.sqFree.Wait()
	}
	*sqe = *req
	e.ring.Publish()
	e.submitted.Add(1)
	if !e.flushing {
		e.flushLocked()
	}
	e.sqMu.Unlock()
	return nil
}

// flushLocked enters the kernel until every published request is submitted.
// sqMu is held on entry and exit, and released around each system call.
func (e *Evented) flushLocked() {
	e.flushing = true
	for {
		n := e.ring.Unsubmitted()
		if n == 0 {
			break
		}
		e.sqMu.Unlock()
		e.flushes.Add(1)
		e.mute()
		_, err := e.ring.Enter(n, 0, 0)
		e.unmute()
		switch err {
		case nil, unix.EINTR:
		case unix.EAGAIN, unix.EBUSY:
			// The kernel is short of request memory or holds overflowed
			// completions: reap to make room, then retry. Not a poll on a
			// timer: reaping (here, or by the leader, which reaps on every
			// completion and whose io_uring_enter returns at once while the
			// queue holds any) is what clears EBUSY, and for EAGAIN the
			// kernel has no notification of freed request memory to wait
			// on; the yield lets the leader run.
			e.reap()
			runtime.Gosched()
		default:
			// Unexpected (the ring is broken): back off rather than spin; the
			// requests stay queued. Nothing signals a repaired ring, so
			// this is a back-off, not a wait for an event.
			if e.logger != nil {
				e.logger.Error("io: io_uring_enter failed", "err", err)
			}
			time.Sleep(time.Millisecond)
		}
		e.sqMu.Lock()
		e.sqFree.Broadcast()
	}
	e.flushing = false
	e.sqFree.Broadcast()
}

// reaper wakes on the eventfd and reaps, until Close closes the eventfd.
// While requests are in flight it also looks every reaperPoll: a safety net
// for a completion whose signal was skipped while the eventfd was muted (see
// mute) and that the unmuting task's look missed.
//
// Why the look is needed: unmute stores the IORING_CQ_EVENTFD_DISABLED flag
// cleared, then loads the completion tail (CQReady); the kernel stores the
// tail, then loads the flag to decide whether to signal. That is Dekker's
// pattern, which is only safe if both sides put a full barrier between
// their store and their load. Go's atomics give one on this side, but the
// kernel publishes the tail with a store-release and reads the flag with
// READ_ONCE, and a store followed by a load may be reordered (x86's store
// buffer does it): both sides can see the old value, so the kernel skips
// the signal and unmute sees no completion. No interface of io_uring closes
// that window without a thread in io_uring_enter (which the reaper avoids
// holding), so the reaper looks. It looks only while requests are in
// flight (and one reaperPoll after the last was registered) and sleeps on
// the eventfd alone when idle; the first request registered while it sleeps
// so wakes it (wakeReaper: one eventfd write per quiet period of at least
// reaperPoll, not per request), so a lost signal costs at most reaperPoll. TestEventedReaperFindsUnsignalledCompletion loses a
// signal on purpose and hangs without the look.
func (e *Evented) reaper() {
	defer close(e.reaperDone)
	var buf [8]byte
	polling := false
	lastID := uint64(0)
	for {
		e.reap()
		e.opsMu.Lock()
		// Busy while requests are in flight, and for one more reaperPoll
		// after the last one was registered: a stream of short requests
		// keeps it looking instead of waking it (wakeReaper) for each.
		busy := len(e.ops) > 0 || e.nextID != lastID
		lastID = e.nextID
		e.reaperIdle = !busy // from here on, the first request registered wakes it (see runOp)
		e.opsMu.Unlock()
		if busy {
			_ = e.efd.SetReadDeadline(time.Now().Add(reaperPoll))
			polling = true
		} else if polling {
			_ = e.efd.SetReadDeadline(time.Time{})
			polling = false
		}
		_, err := e.efd.Read(buf[:])
		e.opsMu.Lock()
		e.reaperIdle = false
		e.opsMu.Unlock()
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			e.reap()
			return
		}
	}
}

// wakeReaper adds 1 to the eventfd, which ends the reaper's read: for the
// first request registered while the reaper sleeps without a deadline, so
// that it starts looking every reaperPoll (see reaper).
func (e *Evented) wakeReaper() {
	var one [8]byte // the eventfd counter: a native-endian uint64
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = e.efd.Write(one[:])
}

// reaperPoll is how often the reaper looks at the completion queue while
// requests are in flight, eventfd or not (see reaper for why).
const reaperPoll = 50 * time.Millisecond

// mute stops the kernel's eventfd signals while a task is in io_uring_enter
// for the ring: a flusher reaps what completed inline right after its call,
// and a leader is woken by every completion, so waking the reaper as well
// (through the eventfd and the runtime's network poller: another OS thread)
// would only cost a context switch per completion. Calls nest across tasks;
// the last unmute restarts the signals and then reaps whatever arrived while
// they were off.
func (e *Evented) mute() {
	if e.muters.Add(1) == 1 {
		e.ring.MuteEventfd(true)
	}
}

// unmute ends a mute.
func (e *Evented) unmute() {
	if e.muters.Add(-1) == 0 {
		e.ring.MuteEventfd(false)
		if e.ring.CQReady() {
			e.reap()
		}
	}
}

// reap hands every completion in the queue to its waiting task, moving
// overflowed completions in first when there are any. While a leader waits in
// the kernel it is the only reaper (see lead), and reap does nothing.
func (e *Evented) reap() {
	e.cqMu.Lock()
	if !e.leading.Load() {
		e.reapLocked()
	}
	e.cqMu.Unlock()
}

func (e *Evented) reapLocked() {
	for {
		e.ring.Reap(e.complete)
		if !e.ring.CQOverflowPending() {
			return
		}
		e.overflows.Add(1)
		_, _ = e.ring.Enter(0, 0, uring.EnterGetEvents) // flushes the overflow list into the queue
	}
}

// tryReap reaps unless another goroutine is already doing so.
func (e *Evented) tryReap() {
	if e.cqMu.TryLock() {
		if !e.leading.Load() {
			e.reapLocked()
		}
		e.cqMu.Unlock()
	}
}

// lead waits for o's completion in io_uring_enter itself, reaping every
// completion that arrives meanwhile and waking the tasks they belong to. At most
// one task leads at a time, so at most one OS thread is blocked in the kernel;
// the others park on their channels. A completion wakes the leader directly,
// without the eventfd and the reaper goroutine: the fast path for a task that
// waits alone. Only the leader reaps while it leads, so no completion can be
// taken from under it between its last look and its next wait.
func (e *Evented) lead(t *task, o *ringOp, id uint64) (int32, error) {
	var canceled *atomic.Bool // nil on the root task: never canceled, nothing to allocate
	stop := func() bool { return true }
	if t != nil {
		canceled = new(atomic.Bool)
		stop = t.onCancel(func() {
			// Wakes the leader: the cancel request completes, and so does o.
			canceled.Store(true)
			e.canceled.Add(1)
			_ = e.submit(cancelSQE(id))
		})
	}
	for {
		e.cqMu.Lock()
		e.reapLocked()
		e.cqMu.Unlock()
		select {
		case <-o.done:
		default:
			_, _ = e.ring.Enter(0, 1, uring.EnterGetEvents) // EINTR: look again
			continue
		}
		break
	}
	e.leading.Store(false)
	e.reap() // completions that came after the last look, before leading ended
	stop()
	if canceled != nil && canceled.Load() && cutShort(o.res) {
		return o.res, t.err()
	}
	return e.result(o.res)
}

// cutShort reports whether a completion's result is what a canceled request
// ends with: ECANCELED, or EINTR for one the kernel had begun.
func cutShort(res int32) bool {
	return res == -int32(unix.ECANCELED) || res == -int32(unix.EINTR)
}

// complete hands c's result to the task that waits for it. The entry stays in
// ops until that task's runOp returns.
func (e *Evented) complete(c uring.CQE) {
	e.completed.Add(1)
	if c.UserData == cancelID {
		return
	}
	e.opsMu.Lock()
	o := e.ops[c.UserData]
	e.opsMu.Unlock()
	if o != nil {
		o.res = c.Res
		o.done <- struct{}{}
	}
}

func cancelSQE(id uint64) *uring.SQE {
	return &uring.SQE{Opcode: uring.OpAsyncCancel, Fd: -1, Addr: id, UserData: cancelID}
}

// run submits the request sqe (every field but UserData filled in) and waits
// for its completion. If t is canceled meanwhile, it asks the kernel to cancel
// the request and still waits for the request's own completion before it
// returns: until then the kernel may use o's memory. It returns the
// completion's result; a request that ended with ECANCELED or EINTR because of
// the cancellation returns ErrCanceled. The caller releases o.
func (e *Evented) run(t *task, o *ringOp, sqe uring.SQE) (int32, error) {
	return e.runOp(t, o, sqe, eventedLead)
}

// runOp is run; mayLead false keeps the caller from leading (see lead), for
// long waits such as the timer queue's, which would hold the leader's thread.
func (e *Evented) runOp(t *task, o *ringOp, sqe uring.SQE, mayLead bool) (int32, error) {
	e.opsMu.Lock()
	id := e.nextID
	e.nextID++
	e.ops[id] = o
	wake := e.reaperIdle
	e.reaperIdle = false
	e.opsMu.Unlock()
	if wake {
		e.wakeReaper()
	}
	// Deferred first, so it runs last: after the leader's tail and unmute, the
	// last touches of the ring. Until then Close must not unmap it.
	defer func() {
		e.opsMu.Lock()
		delete(e.ops, id)
		if e.closing.Load() {
			e.opsLeft.Broadcast()
		}
		e.opsMu.Unlock()
	}()
	sqe.UserData = id
	if err := e.submit(&sqe); err != nil {
		return 0, err
	}
	select {
	case <-o.done:
	default:
		e.tryReap() // the kernel often completes a request inline, during submission
		if mayLead && e.leading.CompareAndSwap(false, true) {
			e.mute()
			defer e.unmute()
			return e.lead(t, o, id)
		}
		select {
		case <-o.done:
		case <-t.doneCh():
			e.canceled.Add(1)
			_ = e.submit(cancelSQE(id))
			<-o.done
			if cutShort(o.res) {
				return o.res, t.err()
			}
		}
	}
	return e.result(o.res)
}

// result maps a completion's result: a request canceled by Close (not by its
// task), with ECANCELED or EINTR, reports ErrClosed rather than being retried.
func (e *Evented) result(res int32) (int32, error) {
	if cutShort(res) && e.closing.Load() {
		return res, ErrClosed
	}
	return res, nil
}

// call runs the request that prep fills in (pinning in o what the kernel will
// use) and retries it while it is interrupted or would block; it returns the
// non-negative result or the error. after, if given, reads what the kernel
// wrote into o before o is released.
func (e *Evented) call(t *task, prep func(o *ringOp, sqe *uring.SQE) error, after ...func(o *ringOp)) (int32, error) {
	for attempt := 0; ; attempt++ {
		if t.isCanceled() {
			return 0, t.err()
		}
		o := ringOps.Get().(*ringOp)
		o.sqe = uring.SQE{}
		if err := prep(o, &o.sqe); err != nil {
			o.release()
			return 0, err
		}
		res, err := e.run(t, o, o.sqe)
		if err == nil && res >= 0 {
			for _, f := range after {
				f(o)
			}
		}
		o.release()
		if err != nil {
			return 0, err
		}
		if res >= 0 {
			return res, nil
		}
		errno := unix.Errno(-res)
		if (errno == unix.EINTR || errno == unix.EAGAIN) && attempt < 1000 {
			if errno == unix.EAGAIN {
				// The kernel arms a poll for a request that would block
				// and completes it when it can; EAGAIN reaches here from
				// a descriptor opened O_NONBLOCK (io_uring then returns
				// it as the system call would) or one it cannot poll:
				// the caller asked not to wait, so retry a bounded number
				// of times rather than park.
				runtime.Gosched()
			}
			continue
		}
		return 0, errno
	}
}

// pathCall runs a request on a path relative to the directory dir: openat,
// unlinkat, mkdirat. length and opFlags fill the request's len and per-opcode
// flags fields.
func (e *Evented) pathCall(t *task, op uint8, dir int, path string, length, opFlags uint32) (int32, error) {
	return e.call(t, func(o *ringOp, sqe *uring.SQE) error {
		p, err := o.cString(path)
		if err != nil {
			return err
		}
		sqe.Opcode = op
		sqe.Fd = int32(dir)
		sqe.Addr = p
		sqe.Len = length
		sqe.OpFlags = opFlags
		return nil
	})
}

func (e *Evented) openat(t *task, dir int, path string, flags int, perm uint32) (int, error) {
	fd, err := e.pathCall(t, uring.OpOpenat, dir, path, perm, uint32(flags|unix.O_CLOEXEC))
	if err != nil {
		return -1, err
	}
	return int(fd), nil
}

// errNoData is rw's prep telling call that bufs hold no bytes: nothing is
// submitted, and rw reports 0.
var errNoData = errors.New("io: no data")

// rw submits one readv or writev (retried by call while interrupted or would
// block). The offset -1 means the file position.
func (e *Evented) rw(t *task, opcode uint8, fd int, bufs [][]byte, off int64) (int, error) {
	res, err := e.call(t, func(o *ringOp, sqe *uring.SQE) error {
		addr, n := o.iovecs(bufs)
		if n == 0 {
			return errNoData
		}
		*sqe = uring.SQE{Opcode: opcode, Fd: int32(fd), Addr: addr, Len: n, Off: uint64(off)}
		return nil
	})
	if err == errNoData {
		return 0, nil
	}
	return int(res), err
}

func (e *Evented) readv(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if off < 0 {
		off = -1
	}
	return e.rw(t, uring.OpReadv, fd, bufs, off)
}

func (e *Evented) read(t *task, fd int, p []byte, off int64) (int, error) {
	return e.readv(t, fd, [][]byte{p}, off)
}

func (e *Evented) write(t *task, fd int, p []byte, off int64) (int, error) {
	return e.writev(t, fd, [][]byte{p}, off)
}

// writev submits one writev; a short write is returned as it is, and the
// callers resubmit the rest (see driver).
func (e *Evented) writev(t *task, fd int, bufs [][]byte, off int64) (int, error) {
	if off >= 0 {
		return e.rw(t, uring.OpWritev, fd, bufs, off)
	}
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs] // as rw sends: iovLen below must count the same bytes
	}
	// The file position: see fixPosition. lseek fails (ESPIPE) on pipes and
	// sockets, which have no position to fix.
	start, serr := unix.Seek(fd, 0, unix.SEEK_CUR)
	n, err := e.rw(t, uring.OpWritev, fd, bufs, -1)
	if serr == nil && n > 0 && n < iovLen(bufs) {
		fixPosition(fd, start, n)
	}
	return n, err
}

// fixPosition works around a kernel quirk (seen on Linux 6.18): when a write at
// the file position (offset -1) to a regular file is cut short — the kernel
// retries the rest itself, and the retry fails with, say, ENOSPC — the
// completion reports the bytes written but the file position is not advanced,
// so the next write would overwrite them. If the position is still where the
// write started, it is moved past the bytes written; a kernel that advanced it
// is left alone.
func fixPosition(fd int, start int64, n int) {
	if cur, err := unix.Seek(fd, 0, unix.SEEK_CUR); err == nil && cur == start {
		_, _ = unix.Seek(fd, start+int64(n), unix.SEEK_SET)
	}
}

func iovLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

func (e *Evented) fsync(t *task, fd int) error {
	_, err := e.call(t, func(o *ringOp, sqe *uring.SQE) error {
		sqe.Opcode = uring.OpFsync
		sqe.Fd = int32(fd)
		return nil
	})
	return err
}

func (e *Evented) ftruncate(t *task, fd int, size int64) error {
	if !e.has(uring.OpFtruncate) { // before Linux 6.9: a blocking call on this goroutine
		return e.sysDriver.ftruncate(t, fd, size)
	}
	_, err := e.call(t, func(o *ringOp, sqe *uring.SQE) error {
		sqe.Opcode = uring.OpFtruncate
		sqe.Fd = int32(fd)
		sqe.Off = uint64(size)
		return nil
	})
	return err
}

func (e *Evented) statx(t *task, dir int, path string, flags int) (FileInfo, error) {
	var st unix.Stat_t
	_, err := e.call(t, func(o *ringOp, sqe *uring.SQE) error {
		p, err := o.cString(path)
		if err != nil {
			return err
		}
		o.pin.Pin(o)
		sqe.Opcode = uring.OpStatx
		sqe.Fd = int32(dir)
		sqe.Addr = p
		sqe.Len = unix.STATX_BASIC_STATS
		sqe.OpFlags = uint32(flags)
		sqe.Off = uring.Addr(&o.stx)
		return nil
	}, func(o *ringOp) {
		x := &o.stx
		st = unix.Stat_t{
			Mode: uint32(x.Mode),
			Size: int64(x.Size),
			Ino:  x.Ino,
			Dev:  unix.Mkdev(x.Dev_major, x.Dev_minor),
			Mtim: unix.Timespec{Sec: x.Mtime.Sec, Nsec: int64(x.Mtime.Nsec)},
		}
	})
	if err != nil {
		return FileInfo{}, err
	}
	return fileInfoFromStat(&st), nil
}

func (e *Evented) fstat(t *task, fd int) (FileInfo, error) {
	return e.statx(t, fd, "", unix.AT_EMPTY_PATH)
}

func (e *Evented) fstatat(t *task, dir int, path string, follow bool) (FileInfo, error) {
	if !follow {
		return e.statx(t, dir, path, unix.AT_SYMLINK_NOFOLLOW)
	}
	return e.statx(t, dir, path, 0)
}

// closeFd is never a cancel point: a descriptor must always be releasable. A
// close is not retried: the descriptor is gone whatever the result.
func (e *Evented) closeFd(t *task, fd int) error {
	o := ringOps.Get().(*ringOp)
	defer o.release()
	res, err := e.run(nil, o, uring.SQE{Opcode: uring.OpClose, Fd: int32(fd)})
	if err == ErrClosed {
		if res == -int32(unix.EINTR) {
			return nil // the close ran, and released the descriptor whatever the result
		}
		return e.sysDriver.closeFd(t, fd) // the ring is gone, but descriptors stay releasable
	}
	if err != nil {
		return err
	}
	if res < 0 {
		return unix.Errno(-res)
	}
	return nil
}

func (e *Evented) renameat(t *task, oldDir int, oldPath string, newDir int, newPath string) error {
	if !e.has(uring.OpRenameat) { // before Linux 5.11
		return e.sysDriver.renameat(t, oldDir, oldPath, newDir, newPath)
	}
	return e.twoPaths(t, uring.OpRenameat, oldDir, oldPath, newDir, newPath)
}

// twoPaths submits a request on two directory-relative paths (renameat,
// linkat), laid out alike: old dir and path in fd and addr, new dir and
// path in len and off. A cancellation returns t.err().
func (e *Evented) twoPaths(t *task, opcode uint8, oldDir int, oldPath string, newDir int, newPath string) error {
	_, err := e.call(t, func(o *ringOp, sqe *uring.SQE) error {
		op, err := o.cString(oldPath)
		if err != nil {
			return err
		}
		np, err := o.cString(newPath)
		if err != nil {
			return err
		}
		sqe.Opcode = opcode
		sqe.Fd = int32(oldDir)
		sqe.Addr = op
		sqe.Len = uint32(int32(newDir))
		sqe.Off = np
		return nil
	})
	return err
}

func (e *Evented) unlinkat(t *task, dir int, path string, removeDir bool) error {
	if !e.has(uring.OpUnlinkat) { // before Linux 5.11
		return e.sysDriver.unlinkat(t, dir, path, removeDir)
	}
	var flags uint32
	if removeDir {
		flags = unix.AT_REMOVEDIR
	}
	_, err := e.pathCall(t, uring.OpUnlinkat, dir, path, 0, flags)
	return err
}

func (e *Evented) mkdirat(t *task, dir int, path string, perm uint32) error {
	if !e.has(uring.OpMkdirat) { // before Linux 5.15
		return e.sysDriver.mkdirat(t, dir, path, perm)
	}
	_, err := e.pathCall(t, uring.OpMkdirat, dir, path, perm, 0)
	return err
}

// fallbackLog records, once per process, why the default Io is Threaded
// (see FallbackReason). Tests replace it.
var fallbackLog = func(err error) { fallbackReason.Store(&err) }

var fallbackOnce sync.Once

// newAuto returns the best available implementation: Evented, or Threaded
// when the kernel refuses io_uring (the reason kept for FallbackReason).
func newAuto() Backend {
	e, err := NewEvented(EventedOptions{})
	if err == nil {
		return e
	}
	if !errors.As(err, new(*EventedUnavailableError)) {
		err = &EventedUnavailableError{Err: err}
	}
	fallbackOnce.Do(func() { fallbackLog(err) })
	return NewThreaded(ThreadedOptions{})
}
