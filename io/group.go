package io

import (
	"errors"
	"sync"
)

// Group runs many tasks that finish together: one Wait, one Cancel. Members share
// one cancel state. The zero Group is ready to use; after Wait or Cancel returns,
// the group is empty and may be used again.
//
// Unlike errgroup, a member's error does not cancel the others; call Cancel for
// that. Wait and Cancel return the first error a member returned, leaving out the
// cancellation errors that the group's own Cancel caused.
//
// Panics: a member that panics does not end the program on the goroutine that
// ran it (nor, when it ran inline, in the caller of Async). As with errgroup
// and conc, the panic is kept and the others run on; once every member has
// finished, Wait (or Cancel) raises the first member panic again in its own
// goroutine, with a *PanicError holding the value and the member's stack.
// Futures do the same in Await (see PanicError). Wait and Cancel called from
// inside a member of the same group (with the Io it was handed) would wait
// for themselves: they return ErrSelfAwait instead (Cancel still cancels).
type Group struct {
	mu       sync.Mutex
	t        *task         // members' cancel state; nil when the group is empty
	n        int           // running members
	idle     chan struct{} // closed when n drops to 0; nil if nobody waits
	err      error         // first member error
	canceled bool          // Cancel (or a canceled Wait) was requested for t
	pan      *PanicError   // first member panic
}

func (g *Group) start() *task {
	g.mu.Lock()
	if g.t == nil {
		g.t = new(task)
		g.canceled = false
	}
	t := g.t
	g.n++
	g.mu.Unlock()
	return t
}

func (g *Group) finish(err error, pan *PanicError) {
	g.mu.Lock()
	if pan != nil && g.pan == nil {
		g.pan = pan
	}
	if err != nil && g.err == nil && !(g.canceled && errors.Is(err, ErrCanceled)) {
		g.err = err
	}
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// Async starts fn as a member of the group. Like the package-level Async, fn may
// run inline before Async returns.
func (g *Group) Async(x Io, fn func(Io) error) {
	t := g.start()
	child := x.t.addChild(t)
	if x.drv().acquireAsync() {
		go func() {
			defer x.drv().releaseAsync()
			g.run(x, t, child, fn)
		}()
		return
	}
	g.run(x, t, child, fn)
}

// run runs fn as a member with cancel state t on the current goroutine,
// keeping a panic for Wait, then unlinks it and counts it finished.
func (g *Group) run(x Io, t *task, child uint64, fn func(Io) error) {
	var err error
	var pan *PanicError
	returned := false
	defer func() {
		if !returned {
			pan, err = recovered(recover())
		}
		x.t.removeChild(child)
		g.finish(err, pan)
	}()
	err = fn(Io{d: x.d, t: t, o: x.o})
	returned = true
}

// Concurrent starts fn as a member of the group that runs at the same time as the
// caller, or returns ErrConcurrencyUnavailable without starting it.
func (g *Group) Concurrent(x Io, fn func(Io) error) error {
	if !x.drv().acquireConcurrent() {
		return ErrConcurrencyUnavailable
	}
	t := g.start()
	child := x.t.addChild(t)
	go func() {
		defer x.drv().releaseConcurrent()
		g.run(x, t, child, fn)
	}()
	return nil
}

// Wait waits until every member has finished and returns the first error one of
// them returned. If the caller's task is canceled meanwhile, Wait cancels the
// members, still waits for all of them, and returns an error wrapping ErrCanceled
// unless a member failed otherwise first. If a member panicked, Wait raises
// that panic again once all have finished (see Group).
func (g *Group) Wait(x Io) error {
	callerCanceled := false
	for {
		g.mu.Lock()
		if g.n == 0 {
			err, pan := g.err, g.pan
			g.reset()
			g.mu.Unlock()
			if pan != nil {
				panic(pan)
			}
			if err == nil && callerCanceled {
				err = x.t.err()
			}
			return err
		}
		if x.t != nil && x.t == g.t {
			g.mu.Unlock()
			return opErr("group wait", "", ErrSelfAwait)
		}
		if g.idle == nil {
			g.idle = make(chan struct{})
		}
		idle, t := g.idle, g.t
		g.mu.Unlock()
		select {
		case <-idle:
		case <-x.t.doneCh():
			callerCanceled = true
			g.cancelTask(t, x.t.err())
			<-idle
		}
	}
}

// Cancel requests cancellation of every member, waits until all have finished, and
// returns the first error one of them returned other than the cancellation itself.
func (g *Group) Cancel(x Io) error {
	g.mu.Lock()
	t := g.t
	g.mu.Unlock()
	if t != nil {
		g.cancelTask(t, nil)
		if x.t == t {
			return opErr("group cancel", "", ErrSelfAwait)
		}
	}
	return g.Wait(x.WithoutCancel())
}

// cancelTask cancels the members' task t with cause (see task.cancelWith).
func (g *Group) cancelTask(t *task, cause error) {
	g.mu.Lock()
	if g.t == t {
		g.canceled = true
	}
	g.mu.Unlock()
	t.cancelWith(cause)
}

// reset empties the group for reuse; g.mu is held and no member runs.
func (g *Group) reset() {
	g.t = nil
	g.err = nil
	g.pan = nil
	g.canceled = false
}
