package io

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"time"
)

// sharedDeadline interrupts, on one direction of a socket that several
// tasks may use at once (two tasks reading datagrams from one socket), the
// operations of the tasks that are canceled: a cancel request moves the
// socket's deadline into the past, which wakes every operation parked on
// that direction. The deadline is cleared again when the last interrupted
// operation has returned — not before, so that one task's release does not
// undo another's interrupt — and an operation whose own task was not
// canceled goes back to waiting (see spurious).
type sharedDeadline struct {
	mu          sync.Mutex
	d           deadliner
	interrupted int    // guards whose cancel callback has run and that are not released yet
	shutdown    bool   // shut: the deadline stays in the past
	fire        func() // g.interrupt, taken once: a method value allocates each time
}

// deadlineFunc adapts a one-direction deadline setter (an *os.File's
// SetReadDeadline or SetWriteDeadline) to a sharedDeadline's deadliner.
type deadlineFunc func(time.Time) error

// SetDeadline calls f.
func (f deadlineFunc) SetDeadline(t time.Time) error { return f(t) }

// guarded is one operation watched by guard; release it when the operation
// has returned. A value, so that guarding allocates nothing.
type guarded struct {
	g     *sharedDeadline
	t     *task
	id    uint64
	fired bool // t was canceled before the operation began
}

// guard watches t's cancellation during one operation.
func (g *sharedDeadline) guard(t *task) guarded {
	if t == nil {
		return guarded{}
	}
	g.mu.Lock()
	if g.fire == nil {
		g.fire = g.interrupt
	}
	fire := g.fire
	g.mu.Unlock()
	id, ok := t.add(cancelCallback{fn: fire})
	if !ok {
		fire()
		return guarded{g: g, t: t, fired: true}
	}
	return guarded{g: g, t: t, id: id}
}

// shut moves the deadline into the past for good: every operation parked
// on this direction returns, and releases no longer clear it (the file is
// closing; no operation may wait on it again).
func (g *sharedDeadline) shut() {
	g.mu.Lock()
	g.shutdown = true
	_ = g.d.SetDeadline(longAgo)
	g.mu.Unlock()
}

// interrupt moves the deadline into the past: the cancel callback.
func (g *sharedDeadline) interrupt() {
	g.mu.Lock()
	g.interrupted++
	_ = g.d.SetDeadline(longAgo)
	g.mu.Unlock()
}

// release ends the operation: if its cancel callback ran (unregister waits
// until it has), the deadline is cleared once no other interrupted
// operation is still to return.
func (r guarded) release() {
	if r.g == nil || !r.fired && r.t.unregister(r.id) {
		return
	}
	g := r.g
	g.mu.Lock()
	g.interrupted--
	if g.interrupted == 0 && !g.shutdown {
		_ = g.d.SetDeadline(time.Time{})
	}
	g.mu.Unlock()
}

// spurious reports whether err is a past deadline that interrupted an
// operation of t, which was not canceled: another task's cancellation set
// it. The operation should then be made again; spurious yields first, so
// that the canceled task returns and clears the deadline. Sockets of the
// Io have no other deadlines (net.Conn and net.PacketConn adapters cancel
// child tasks instead).
func spurious(t *task, err error) bool {
	if err == nil || t.isCanceled() || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	runtime.Gosched()
	return true
}

// advance returns bufs without their first n bytes.
func advance(bufs [][]byte, n int64) [][]byte {
	for len(bufs) > 0 && n >= int64(len(bufs[0])) {
		n -= int64(len(bufs[0]))
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && n > 0 {
		bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
	}
	return bufs
}
