package io

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// task is the cancel state of one task. A nil *task is the root: never canceled.
type task struct {
	canceled atomic.Bool

	mu     sync.Mutex
	done   chan struct{} // made on first use; closed when canceled
	cbs    []cancelCallback
	hook   func() // Promise.OnCancel's callback: run before cbs, without a slice or a stop function
	nextID uint64
	firing sync.WaitGroup // held while cancel runs callbacks

	// ext holds t's cause and deadline; nil (the common case: no deadline,
	// a plain cancel) for neither. One pointer, replaced whole (copy on
	// write), keeps a task (embedded in every Future) one word larger only.
	ext atomic.Pointer[taskExt]
}

// taskExt is what a task with a deadline or a cause has in addition.
type taskExt struct {
	// cause is what err returns once the task is canceled (nil:
	// ErrCanceled). It is set once, by the first cancel, before canceled,
	// so whoever has seen canceled (or done closed) sees it.
	cause error
	// deadline is the nearest deadline of the task and its ancestors, if
	// hasDeadline. It is set before the task runs and only ever lowered.
	deadline    time.Time
	hasDeadline bool
}

type cancelCallback struct {
	id    uint64
	fn    func() // run on cancel, or
	child *task  // canceled on cancel (see addChild): no closure to allocate
}

// closedChan is a channel that is always closed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *task) isCanceled() bool { return t != nil && t.canceled.Load() }

// err is the error a cancel point of t returns once t is canceled: every
// cancel point returns t.err() rather than ErrCanceled itself, so that a
// cancellation with a cause reaches the caller with that cause: ErrCanceled
// for a plain cancel, ErrDeadlineExceeded for an expired deadline, a
// *causeError for WithCancelCause (or a context's cause). Every one of them
// matches ErrCanceled under errors.Is. Called on a task not canceled (or on
// the root), it returns ErrCanceled.
func (t *task) err() error {
	if t != nil && t.canceled.Load() {
		if c := t.cause(); c != nil {
			return c
		}
	}
	return ErrCanceled
}

// cause returns the cause t was canceled with, nil for a plain cancel (or
// none yet).
func (t *task) cause() error {
	if e := t.ext.Load(); e != nil {
		return e.cause
	}
	return nil
}

// deadlineTime returns the nearest deadline of t and its ancestors.
func (t *task) deadlineTime() (time.Time, bool) {
	if t == nil {
		return time.Time{}, false
	}
	if e := t.ext.Load(); e != nil && e.hasDeadline {
		return e.deadline, true
	}
	return time.Time{}, false
}

// lowerDeadline makes d t's deadline if t has none or a later one, and
// reports whether it did.
func (t *task) lowerDeadline(d time.Time) bool {
	for {
		cur := t.ext.Load()
		next := &taskExt{deadline: d, hasDeadline: true}
		if cur != nil {
			if cur.hasDeadline && !d.Before(cur.deadline) {
				return false
			}
			next.cause = cur.cause
		}
		if t.ext.CompareAndSwap(cur, next) {
			return true
		}
	}
}

// setCause records cause (see taskExt.cause); t.mu is held and t not yet
// canceled.
func (t *task) setCause(cause error) {
	for {
		cur := t.ext.Load()
		next := &taskExt{cause: cause}
		if cur != nil {
			next.deadline, next.hasDeadline = cur.deadline, cur.hasDeadline
		}
		if t.ext.CompareAndSwap(cur, next) {
			return
		}
	}
}

// doneCh returns a channel closed when t is canceled; nil (never ready) for the root.
func (t *task) doneCh() <-chan struct{} {
	if t == nil {
		return nil
	}
	if t.canceled.Load() {
		return closedChan
	}
	t.mu.Lock()
	if t.done == nil {
		t.done = make(chan struct{})
	}
	ch := t.done
	t.mu.Unlock()
	return ch
}

// cancel requests cancellation. It runs the registered callbacks before it
// returns; it is idempotent.
func (t *task) cancel() { t.cancelWith(nil) }

// cancelWith requests cancellation with cause, the error t's cancel points
// return from now on (nil: ErrCanceled; otherwise an error matching
// ErrCanceled). The first cancellation wins: a later one changes nothing.
// Child tasks (addChild) are canceled with the same cause.
func (t *task) cancelWith(cause error) {
	t.mu.Lock()
	if t.canceled.Load() {
		t.mu.Unlock()
		return
	}
	if cause != nil && cause != ErrCanceled {
		t.setCause(cause)
	}
	t.canceled.Store(true)
	if t.done != nil {
		close(t.done)
	} else {
		t.done = closedChan
	}
	cbs, hook := t.cbs, t.hook
	t.cbs, t.hook = nil, nil
	if len(cbs) > 0 {
		t.firing.Add(1)
	}
	t.mu.Unlock()
	if hook != nil {
		hook()
	}
	if len(cbs) > 0 {
		defer t.firing.Done()
		for _, cb := range cbs {
			if cb.child != nil {
				cb.child.cancelWith(t.cause())
			} else {
				cb.fn()
			}
		}
	}
}

// onCancel arranges for fn to run when t is canceled (at once if it already is).
// The returned stop function unregisters fn; it reports true if fn will never run,
// and otherwise waits until fn has returned and reports false. fn must not call
// stop functions of the same task.
func (t *task) onCancel(fn func()) (stop func() bool) {
	if t == nil {
		return func() bool { return true }
	}
	id, ok := t.add(cancelCallback{fn: fn})
	if !ok {
		fn()
		return func() bool { return false }
	}
	return func() bool { return t.unregister(id) }
}

// add registers cb under a new id and reports true, unless t is already
// canceled: then it registers nothing and reports false, and the caller
// delivers the cancellation itself.
func (t *task) add(cb cancelCallback) (id uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.canceled.Load() {
		return 0, false
	}
	t.nextID++
	cb.id = t.nextID
	t.cbs = append(t.cbs, cb)
	return cb.id, true
}

// unregister removes the callback registered as id. It reports true if the
// callback will never run; otherwise cancel has taken it, and unregister
// waits until cancel has run it, then reports false.
func (t *task) unregister(id uint64) bool {
	t.mu.Lock()
	i := slices.IndexFunc(t.cbs, func(cb cancelCallback) bool { return cb.id == id })
	if i >= 0 {
		// slices.Delete zeroes the vacated last element, so the backing
		// array keeps no finished child task or callback alive.
		t.cbs = slices.Delete(t.cbs, i, i+1)
		t.mu.Unlock()
		return true
	}
	t.mu.Unlock()
	t.firing.Wait()
	return false
}

// setHook arranges for fn to run when t is canceled (at once if it already
// is), like onCancel but for a callback that is never withdrawn: it takes t's
// one hook slot when free, so the common case allocates nothing.
func (t *task) setHook(fn func()) {
	t.mu.Lock()
	if t.canceled.Load() {
		t.mu.Unlock()
		fn()
		return
	}
	if t.hook == nil {
		t.hook = fn
	} else {
		t.nextID++
		t.cbs = append(t.cbs, cancelCallback{id: t.nextID, fn: fn})
	}
	t.mu.Unlock()
}

// addChild makes a cancellation of t cancel child too, with the same cause,
// until removeChild(id) (when child has finished): cancellation flows down the
// tree of tasks, as it does down a tree of contexts. child inherits t's
// deadline (when it has none or a later one). It is onCancel without the
// closures, for the hot path of starting a task. id 0 means there is nothing
// to remove.
func (t *task) addChild(child *task) (id uint64) {
	if t == nil || t == child {
		return 0
	}
	if e := t.ext.Load(); e != nil && e.hasDeadline {
		child.lowerDeadline(e.deadline)
	}
	id, ok := t.add(cancelCallback{child: child})
	if !ok {
		child.cancelWith(t.cause())
	}
	return id
}

// removeChild ends what addChild began; if the cancellation is already being
// delivered, it waits until it has been.
func (t *task) removeChild(id uint64) {
	if id == 0 {
		return
	}
	t.unregister(id)
}

// Context returns a context.Context that is done when the current task is
// canceled, for handing to libraries that take one. For the root Io, which is never
// canceled, it is context.Background. FromContext recovers x from it.
//
// It follows the task: Deadline reports the task's deadline (Io.Deadline),
// Err reports context.DeadlineExceeded once a deadline has canceled the task
// and context.Canceled after any other cancellation, and context.Cause
// returns the cause given to WithCancelCause or WithDeadlineCause (or
// context.DeadlineExceeded for a deadline without one, context.Canceled for
// a plain cancel), as for the context package's own contexts.
func (x Io) Context() context.Context {
	if x.t == nil {
		return context.WithValue(context.Background(), ioKey{}, x)
	}
	return taskContext{x: x}
}

type ioKey struct{}

// FromContext returns the Io that ctx was made from by Io.Context, if any.
func FromContext(ctx context.Context) (Io, bool) {
	x, ok := ctx.Value(ioKey{}).(Io)
	return x, ok
}

// taskContext adapts a task's cancel state to context.Context without a goroutine.
type taskContext struct{ x Io }

// AfterFunc arranges for f to run when the task is canceled. The context
// package uses it for contexts derived from this one (context.WithCancel,
// WithTimeout, AfterFunc), which then need no goroutine each to watch Done.
// f runs in its own goroutine when the task is already canceled: context
// calls AfterFunc with the derived context's lock held, and f takes it.
func (c taskContext) AfterFunc(f func()) (stop func() bool) {
	t := c.x.t
	id, ok := t.add(cancelCallback{fn: f})
	if !ok {
		go f()
		return func() bool { return false }
	}
	return func() bool { return t.unregister(id) }
}

func (c taskContext) Deadline() (time.Time, bool) { return c.x.t.deadlineTime() }
func (c taskContext) Done() <-chan struct{}       { return c.x.t.doneCh() }
func (c taskContext) Err() error {
	t := c.x.t
	if !t.isCanceled() {
		return nil
	}
	if isDeadline(t.err()) {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// Value returns the Io for FromContext's key. Other keys are looked up in a
// context of the context package that holds the task's cause, made once the
// task is canceled: context.Cause finds a cause only in a context of its own
// package, through Value. Before that, no context holds a cause and there is
// none to find: Cause then falls back to Err, which is nil.
func (c taskContext) Value(key any) any {
	if key == (ioKey{}) {
		return c.x
	}
	if ctx := c.x.t.causeContext(); ctx != nil {
		return ctx.Value(key)
	}
	return nil
}

// causeContext returns a canceled context whose context.Cause is t's cause,
// or nil while t is not canceled. It makes a new one each time: it is
// needed after a cancellation only, by context.Cause and by a context
// derived from the task's (which asks once), and keeping one would make
// every task larger.
func (t *task) causeContext() context.Context {
	if !t.isCanceled() {
		return nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(contextCause(t.cause()))
	return ctx
}

// netContext is the context that sockets of the runtime's poller get for
// dial and listen: done when the task is canceled, but without its deadline,
// which the task's own timer enforces. A poller timeout of its own would
// race with the timer and surface as a bare os.ErrDeadlineExceeded.
type netContext struct{ taskContext }

func (netContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (netContext) Value(any) any               { return nil }

// WithContext returns an Io for a new task that is canceled when ctx is done, when
// the current task is canceled, or when the returned cancel function is called —
// whichever comes first. Call cancel when the work is done to release the link.
// The task takes ctx's deadline when it is earlier than the current task's,
// and ctx's cause: if ctx expires, the task's cancel points fail with an
// error matching ErrDeadlineExceeded; if ctx is canceled with a cause
// (context.WithCancelCause), their error matches that cause too.
func (x Io) WithContext(ctx context.Context) (Io, context.CancelFunc) {
	child := new(task)
	id := x.t.addChild(child)
	if d, ok := ctx.Deadline(); ok {
		child.lowerDeadline(d)
	}
	stopCtx := func() bool { return true }
	if ctx.Err() != nil {
		child.cancelWith(contextErr(ctx))
	} else {
		stopCtx = context.AfterFunc(ctx, func() { child.cancelWith(contextErr(ctx)) })
	}
	return Io{d: x.d, t: child, o: x.o}, func() {
		stopCtx()
		x.t.removeChild(id)
		child.cancel()
	}
}

// WithCancel returns an Io for a new task that is canceled when the current task
// is, or when the returned cancel function is called.
func (x Io) WithCancel() (Io, context.CancelFunc) {
	child := new(task)
	id := x.t.addChild(child)
	return Io{d: x.d, t: child, o: x.o}, func() {
		x.t.removeChild(id)
		child.cancel()
	}
}
