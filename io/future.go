package io

import (
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Future is the result of a task started with Async or Concurrent, or of an
// operation completed from outside the Io (see Promise). Await and Cancel may be
// called any number of times, from any goroutine; every call returns the same result.
//
// A panic in the task is raised again by Await and Cancel (see PanicError).
// Await and Cancel on the zero Future fail with ErrZeroFuture, and from
// inside the future's own task with ErrSelfAwait, rather than wait forever.
type Future[T any] struct {
	task               // the cancel state handed to the task
	done chan struct{} // closed once val and err are set
	val  T
	err  error
	pan  *PanicError // the task's panic, raised again by Await and Cancel
}

// check reports why f cannot be waited for by the task of x, if it cannot.
func (f *Future[T]) check(x Io, op string) error {
	if f == nil || f.done == nil {
		return opErr(op, "", ErrZeroFuture)
	}
	if x.t == &f.task && !f.Done() {
		return opErr(op, "", ErrSelfAwait)
	}
	return nil
}

// result returns the task's result, or raises its panic again.
func (f *Future[T]) result() (T, error) {
	if f.pan != nil {
		panic(f.pan)
	}
	return f.val, f.err
}

// Await waits for the task to finish and returns its result. If the caller's own
// task is canceled meanwhile, the cancellation is passed on to this task (as
// Cancel does) and Await still waits for, and returns, its result: a task started
// by the caller never outlives the caller's wait for it.
func (f *Future[T]) Await(x Io) (T, error) {
	if err := f.check(x, "await"); err != nil {
		var zero T
		return zero, err
	}
	select {
	case <-f.done:
	default:
		if x.t == nil { // the root task is never canceled: a plain receive
			<-f.done
			break
		}
		select {
		case <-f.done:
		case <-x.t.doneCh():
			f.task.cancelWith(x.t.err())
			<-f.done
		}
	}
	return f.result()
}

// Cancel requests cancellation of the task, waits for it to finish, and returns
// its result: a task that finished first returns its real result, so that whatever
// it produced can still be released. Cancel is not itself a cancel point.
// Called from inside the future's own task, it requests the cancellation (the
// task's next cancel point fails) and returns ErrSelfAwait without waiting.
func (f *Future[T]) Cancel(x Io) (T, error) {
	if f == nil || f.done == nil {
		var zero T
		return zero, opErr("cancel", "", ErrZeroFuture)
	}
	f.task.cancel()
	if err := f.check(x, "cancel"); err != nil {
		var zero T
		return zero, err
	}
	<-f.done
	return f.result()
}

// Done reports whether the result is ready, without waiting. It is false
// for the zero Future, which never finishes.
func (f *Future[T]) Done() bool {
	if f == nil || f.done == nil {
		return false
	}
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

func (f *Future[T]) selectChan() <-chan struct{} { return f.done }

func (f *Future[T]) valid() bool { return f != nil && f.done != nil }

func (f *Future[T]) requestCancel() {
	if f.valid() {
		f.task.cancel()
	}
}

// cancelAndWait cancels f and waits for it (nothing for a zero Future), and
// raises its panic again if it panicked.
func (f *Future[T]) cancelAndWait() {
	if !f.valid() {
		return
	}
	f.task.cancel()
	<-f.done
	if f.pan != nil {
		panic(f.pan)
	}
}

// run runs fn as the future's task on the current goroutine, unlinks it from its
// parent, and publishes the result. A panic in fn is kept for Await, on every
// implementation alike: neither the pool goroutine nor (when fn runs inline)
// the caller of Async sees it.
func (f *Future[T]) run(x Io, fn func(Io) (T, error), child uint64) {
	returned := false
	defer func() {
		if !returned {
			f.pan, f.err = recovered(recover())
		}
		x.t.removeChild(child)
		close(f.done)
	}()
	f.val, f.err = fn(Io{d: x.d, t: &f.task, o: x.o})
	returned = true
}

// recovered turns what recover returned, in a task that did not return, into
// the task's panic or, for runtime.Goexit (recover returns nil: since Go 1.21
// panic(nil) panics with a *runtime.PanicNilError), its error. It must run in
// the deferred function, while the panicking stack is still there.
func recovered(r any) (*PanicError, error) {
	if r == nil {
		return nil, errGoexit
	}
	return &PanicError{Value: r, Stack: debug.Stack()}, nil
}

// Async starts fn as a new task and returns its future. fn may run before Async
// returns — under Blocking it always does, and under Threaded it does when the pool
// is saturated — or at the same time as the caller: correct code works either way.
// fn receives the Io of its own task; cancel it through the future. Like a
// context, the task is also canceled when the caller's task is.
//
// A panic in fn does not end the program where fn runs: it is raised again,
// as a *PanicError holding the value and fn's stack, by Await or Cancel (see
// PanicError), the same way under every implementation.
func Async[T any](x Io, fn func(Io) (T, error)) *Future[T] {
	f := &Future[T]{done: make(chan struct{})}
	if x.drv().acquireAsync() {
		child := x.t.addChild(&f.task)
		go func() {
			defer x.drv().releaseAsync()
			f.run(x, fn, child)
		}()
		return f
	}
	f.run(x, fn, x.t.addChild(&f.task))
	return f
}

// Concurrent starts fn as a new task that is guaranteed to run at the same time as
// the caller, or fails with ErrConcurrencyUnavailable (always under Blocking; under
// Threaded when its concurrency limit is reached). Use it when progress needs two
// things at once, such as a server's accept and a client's connect.
func Concurrent[T any](x Io, fn func(Io) (T, error)) (*Future[T], error) {
	if !x.drv().acquireConcurrent() {
		return nil, ErrConcurrencyUnavailable
	}
	f := &Future[T]{done: make(chan struct{})}
	child := x.t.addChild(&f.task)
	go func() {
		defer x.drv().releaseConcurrent()
		f.run(x, fn, child)
	}()
	return f, nil
}

// Promise is the producing side of a Future completed from outside the Io, such as
// a GPU fence signaled on a device's completion thread: a task awaiting the future
// parks until Resolve is called, without holding an OS thread. The zero Promise
// is ready to use, like one from NewPromise.
type Promise[T any] struct {
	f        Future[T]
	once     sync.Once // makes f.done, for the zero Promise
	resolved atomic.Bool
}

// NewPromise returns an unresolved promise.
func NewPromise[T any]() *Promise[T] {
	p := &Promise[T]{}
	p.init()
	return p
}

func (p *Promise[T]) init() {
	p.once.Do(func() {
		if p.f.done == nil {
			p.f.done = make(chan struct{})
		}
	})
}

// Future returns the future that Resolve completes.
func (p *Promise[T]) Future() *Future[T] {
	p.init()
	return &p.f
}

// Resolve completes the future with v and err. Only the first call has an
// effect; it reports whether this call was it.
func (p *Promise[T]) Resolve(v T, err error) bool {
	p.init()
	if !p.resolved.CompareAndSwap(false, true) {
		return false
	}
	p.f.val, p.f.err = v, err
	close(p.f.done)
	return true
}

// OnCancel registers fn to run once when the future's consumer requests
// cancellation (Future.Cancel, or an Await whose own task is canceled). Cancel
// waits for the future to be resolved, so fn should make that happen promptly —
// typically by resolving with Cause (an error wrapping ErrCanceled) while the
// producer goes on tracking the underlying work.
func (p *Promise[T]) OnCancel(fn func()) { p.f.task.setHook(fn) }

// Canceled reports whether the consumer has requested cancellation.
func (p *Promise[T]) Canceled() bool { return p.f.task.isCanceled() }

// Cause returns the error that the consumer's cancellation carries, or nil
// before one: ErrCanceled for a plain Cancel, an error matching
// ErrDeadlineExceeded when an awaiter's deadline passed, one matching the
// cause given to WithCancelCause when an awaiter was canceled with it. A
// producer that resolves a canceled promise (typically in OnCancel)
// resolves with Cause, or an error wrapping it, so the awaiter learns why.
func (p *Promise[T]) Cause() error {
	if !p.f.task.isCanceled() {
		return nil
	}
	return p.f.task.err()
}

// Selectable is a future that Select can wait on: any *Future[T].
type Selectable interface {
	valid() bool
	selectChan() <-chan struct{}
	requestCancel()
	cancelAndWait()
}

// Select waits until at least one of fs has finished and returns the lowest index
// of those that have; collect its result with Await, and Cancel the others you no
// longer need. Select is a cancel point: if the caller's task is canceled first, it
// returns -1 and an error wrapping ErrCanceled, leaving fs running. A zero or nil
// future in fs, which would never finish, is an error wrapping ErrZeroFuture.
func Select(x Io, fs ...Selectable) (int, error) {
	if len(fs) == 0 {
		return -1, opErr("select", "", ErrInvalid)
	}
	for _, f := range fs {
		if f == nil || !f.valid() {
			return -1, opErr("select", "", ErrZeroFuture)
		}
	}
	for i, f := range fs {
		select {
		case <-f.selectChan():
			return i, nil
		default:
		}
	}
	if x.t.isCanceled() {
		return -1, x.t.err()
	}
	cases := make([]reflect.SelectCase, 0, len(fs)+1)
	for _, f := range fs {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(f.selectChan())})
	}
	if ch := x.t.doneCh(); ch != nil {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	if chosen == len(fs) {
		return -1, x.t.err()
	}
	// Report the lowest finished index, so ties resolve deterministically.
	for i := 0; i < chosen; i++ {
		select {
		case <-fs[i].selectChan():
			return i, nil
		default:
		}
	}
	return chosen, nil
}

// Race waits for the first of fs to finish, cancels the others and waits for
// them (draining them, so none outlives the call), and returns the index and
// result of the first. If the caller's task is canceled first, every future is
// canceled and drained, and Race returns -1 and an error wrapping ErrCanceled.
// A panic in any of them is raised again once all have finished (see PanicError).
func Race[T any](x Io, fs ...*Future[T]) (int, T, error) {
	sel := make([]Selectable, len(fs))
	for i, f := range fs {
		sel[i] = f
	}
	i, err := Select(x, sel...)
	losers := make([]Selectable, 0, len(fs))
	for j, f := range fs {
		if j != i {
			losers = append(losers, f)
		}
	}
	CancelAll(losers...)
	if err != nil {
		var zero T
		return -1, zero, err
	}
	v, err := fs[i].Await(x)
	return i, v, err
}

// CancelAll cancels every future in fs and waits for all of them to finish
// (zero futures are skipped). If one of them panicked, CancelAll raises the
// first such panic again once all have finished (see PanicError).
func CancelAll(fs ...Selectable) {
	for _, f := range fs {
		f.requestCancel()
	}
	var first any
	for _, f := range fs {
		func() {
			defer func() {
				if r := recover(); r != nil && first == nil {
					first = r
				}
			}()
			f.cancelAndWait()
		}()
	}
	if first != nil {
		panic(first)
	}
}
