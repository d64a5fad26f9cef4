//go:build linux

package io

import (
	"container/heap"
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vkio/vkio/io/internal/uring"
)

// timerQueue multiplexes every sleeping task of an Evented onto one
// IORING_OP_TIMEOUT request, armed for the earliest deadline, as an event loop
// does: a storm of sleeps costs a heap insertion each and one ring request per
// distinct wake-up, instead of one ring request (and one kernel timer) per sleep.
// A goroutine (started on the first sleep, ended by Close) arms the timeout,
// wakes the tasks whose deadlines have passed when it fires, and re-arms; a
// sleep earlier than the armed deadline cancels the timeout (through its own
// cancel state, so with IORING_OP_ASYNC_CANCEL) to re-arm it earlier.
// eventedSharedTimer selects the timer queue; false gives every sleep its own
// IORING_OP_TIMEOUT (a variable for benchmarks comparing both ways).
var eventedSharedTimer = true

type timerQueue struct {
	mu      sync.Mutex
	h       sleeperHeap
	arm     *task     // cancel state of the armed timeout; nil when none is armed
	armed   time.Time // its deadline
	kick    chan struct{}
	started bool
	closed  bool
	done    chan struct{} // closed when the goroutine has ended
}

type sleeper struct {
	deadline time.Time
	ch       chan struct{} // closed when the deadline has passed, or by Close
	idx      int           // index in the heap; -1 once out of it
	closed   bool          // woken by Close, not by its deadline
}

type sleeperHeap []*sleeper

func (h sleeperHeap) Len() int           { return len(h) }
func (h sleeperHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h sleeperHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *sleeperHeap) Push(x any) {
	s := x.(*sleeper)
	s.idx = len(*h)
	*h = append(*h, s)
}
func (h *sleeperHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.idx = -1
	return s
}

func (e *Evented) sleepUntil(t *task, deadline time.Time) error {
	if time.Until(deadline) <= 0 {
		return nil
	}
	if t.isCanceled() {
		return t.err()
	}
	if !eventedSharedTimer {
		return e.ringTimeout(t, time.Until(deadline))
	}
	q := &e.timers
	s := &sleeper{deadline: deadline, ch: make(chan struct{})}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if !q.started {
		q.started = true
		q.kick = make(chan struct{}, 1)
		q.done = make(chan struct{})
		go e.timerLoop()
	}
	heap.Push(&q.h, s)
	var rearm *task
	if q.h[0] == s {
		if q.arm != nil && deadline.Before(q.armed) {
			rearm, q.arm = q.arm, nil
		} else if q.arm == nil {
			select {
			case q.kick <- struct{}{}:
			default:
			}
		}
	}
	q.mu.Unlock()
	if rearm != nil {
		rearm.cancel()
	}
	select {
	case <-s.ch:
	case <-t.doneCh():
		q.mu.Lock()
		removed := s.idx >= 0
		if removed {
			heap.Remove(&q.h, s.idx)
		}
		q.mu.Unlock()
		if removed {
			return t.err()
		}
		<-s.ch // the deadline passed meanwhile: the loop is waking it
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// timerLoop wakes sleepers whose deadlines have passed and keeps one timeout
// armed for the next, until Close.
func (e *Evented) timerLoop() {
	q := &e.timers
	defer close(q.done)
	for {
		q.mu.Lock()
		now := time.Now()
		for len(q.h) > 0 && !q.h[0].deadline.After(now) {
			close(heap.Pop(&q.h).(*sleeper).ch)
		}
		if q.closed {
			for len(q.h) > 0 {
				s := heap.Pop(&q.h).(*sleeper)
				s.closed = true
				close(s.ch)
			}
			q.mu.Unlock()
			return
		}
		if len(q.h) == 0 {
			q.mu.Unlock()
			<-q.kick
			continue
		}
		next := q.h[0].deadline
		tk := new(task)
		q.arm, q.armed = tk, next
		q.mu.Unlock()

		err := e.ringTimeout(tk, time.Until(next))

		q.mu.Lock()
		if q.arm == tk {
			q.arm = nil
		}
		closed := q.closed
		q.mu.Unlock()
		if err != nil && !errors.Is(err, ErrCanceled) && !closed {
			// The ring refused the timeout (it should not): wait for the
			// deadline on the runtime's timer instead, rather than spin. It
			// is the wait for the deadline itself, not a poll, and an
			// earlier sleeper or Close (both kick) ends it at once.
			w := time.NewTimer(time.Until(next))
			select {
			case <-w.C:
			case <-q.kick:
			}
			w.Stop()
		}
	}
}

// ringTimeout waits d through one IORING_OP_TIMEOUT, or until tk is canceled.
func (e *Evented) ringTimeout(tk *task, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	o := ringOps.Get().(*ringOp)
	defer o.release()
	o.ts = unix.NsecToTimespec(d.Nanoseconds())
	o.pin.Pin(o)
	// The shared timeout does not lead: it is a long wait, and the loop must
	// get back to the sleepers as soon as it fires. A sleep of its own may.
	res, err := e.runOp(tk, o, uring.SQE{Opcode: uring.OpTimeout, Fd: -1, Addr: uring.Addr(&o.ts), Len: 1}, !eventedSharedTimer && eventedLead)
	if err != nil {
		return err
	}
	if res == -int32(unix.ETIME) || res >= 0 {
		return nil
	}
	return unix.Errno(-res)
}

// closeTimers wakes every sleeper with ErrClosed and ends the timer goroutine.
func (e *Evented) closeTimers() {
	q := &e.timers
	q.mu.Lock()
	q.closed = true
	arm := q.arm
	q.arm = nil
	started := q.started
	if started {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
	q.mu.Unlock()
	if arm != nil {
		arm.cancel()
	}
	if started {
		<-q.done
	}
}
