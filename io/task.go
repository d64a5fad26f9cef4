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
}

type cancelCallback struct {
	id    uint64
	fn    func() // run on cancel, or
	child *task  // canceled on cancel (see addChild): no closure to allocate
}

// closedChan is a channel that is always closed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *task) isCanceled() bool { return t != nil && t.canceled.Load() }

// err is the error a cancel point of t returns once t is canceled: every new
// cancel point returns t.err() rather than ErrCanceled itself, so that a
// cancellation with a cause (a deadline, WithCancelCause) reaches the caller
// with that cause. Today it is ErrCanceled.
func (t *task) err() error { return ErrCanceled }

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
func (t *task) cancel() {
	t.mu.Lock()
	if t.canceled.Load() {
		t.mu.Unlock()
		return
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
				cb.child.cancel()
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

// addChild makes a cancellation of t cancel child too, until removeChild(id)
// (when child has finished): cancellation flows down the tree of tasks, as it
// does down a tree of contexts. It is onCancel without the closures, for the
// hot path of starting a task. id 0 means there is nothing to remove.
func (t *task) addChild(child *task) (id uint64) {
	if t == nil || t == child {
		return 0
	}
	id, ok := t.add(cancelCallback{child: child})
	if !ok {
		child.cancel()
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

func (c taskContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c taskContext) Done() <-chan struct{}       { return c.x.t.doneCh() }
func (c taskContext) Err() error {
	if c.x.t.isCanceled() {
		return context.Canceled
	}
	return nil
}
func (c taskContext) Value(key any) any {
	if key == (ioKey{}) {
		return c.x
	}
	return nil
}

// WithContext returns an Io for a new task that is canceled when ctx is done, when
// the current task is canceled, or when the returned cancel function is called —
// whichever comes first. Call cancel when the work is done to release the link.
func (x Io) WithContext(ctx context.Context) (Io, context.CancelFunc) {
	child := new(task)
	stopCtx := context.AfterFunc(ctx, child.cancel)
	stopParent := x.t.onCancel(child.cancel)
	return Io{d: x.d, t: child, o: x.o}, func() {
		stopCtx()
		stopParent()
		child.cancel()
	}
}

// WithCancel returns an Io for a new task that is canceled when the current task
// is, or when the returned cancel function is called.
func (x Io) WithCancel() (Io, context.CancelFunc) {
	child := new(task)
	stopParent := x.t.onCancel(child.cancel)
	return Io{d: x.d, t: child, o: x.o}, func() {
		stopParent()
		child.cancel()
	}
}
