package io

import (
	"fmt"
	"sync"
)

// Queue is a bounded many-producer, many-consumer FIFO queue: the backpressure
// primitive. Put waits while the queue is full and Get while it is empty; both are
// cancel points. A queue of capacity 0 hands items directly from Put to Get.
//
// Put and Get move slices, with a minimum: they return as soon as at least min
// items have moved (min 0 never waits), and report how many did, so partial
// progress is never lost — not on cancellation, and not on Close.
//
// The capacity is a bound, not an allocation: the queue's storage grows (by
// doubling) with the items actually queued, up to the capacity, so a huge
// capacity costs nothing until it is used.
type Queue[T any] struct {
	mu      sync.Mutex
	ring    []T // grows up to cap; items are ring[head], ring[(head+1)%len(ring)], ...
	cap     int
	head    int
	count   int
	closed  bool
	getters []*queueWaiter[T]
	putters []*queueWaiter[T]
}

// queueWaiter is a Put or Get parked on the queue. items is the putter's
// remaining items or the getter's destination; n counts items moved since it parked.
type queueWaiter[T any] struct {
	items  []T
	n      int
	min    int
	done   chan struct{} // closed when n >= min or the queue closes
	closed bool
}

// queueInitial is the storage a queue starts with (or its capacity, if less).
const queueInitial = 16

// NewQueue returns an empty queue that holds up to capacity items (a negative
// capacity means 0). Storage is allocated as items arrive, not up front.
func NewQueue[T any](capacity int) *Queue[T] {
	if capacity < 0 {
		capacity = 0
	}
	return &Queue[T]{cap: capacity}
}

// Cap returns the queue's capacity.
func (q *Queue[T]) Cap() int { return q.cap }

// push appends v to the ring, growing it if full; q.count < q.cap.
func (q *Queue[T]) push(v T) {
	if q.count == len(q.ring) {
		n := min(max(2*len(q.ring), queueInitial), q.cap)
		ring := make([]T, n)
		for i := range q.count {
			ring[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = ring, 0
	}
	q.ring[(q.head+q.count)%len(q.ring)] = v
	q.count++
}

// Len returns the number of items waiting in the queue.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

// Close closes the queue. Later Puts fail with ErrClosed; Gets return the items
// still queued, then ErrClosed. Parked Puts and Gets return what they moved so far
// with ErrClosed if that was below their minimum. Close is idempotent.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	for _, w := range q.getters {
		w.closed = true
		close(w.done)
	}
	for _, w := range q.putters {
		w.closed = true
		close(w.done)
	}
	q.getters, q.putters = nil, nil
}

// Put adds items to the queue in order, waiting until at least min of them are in
// (min <= len(items)). It returns how many went in. On a closed queue it returns
// ErrClosed; if the caller's task is canceled while it waits, it returns the count
// so far and an error wrapping ErrCanceled.
func (q *Queue[T]) Put(x Io, items []T, min int) (int, error) {
	if min < 0 || min > len(items) {
		return 0, opErr("queue put", "", fmt.Errorf("%w: min %d with %d items", ErrInvalid, min, len(items)))
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, opErr("queue put", "", ErrClosed)
	}
	n := q.putLocked(items)
	if n >= min {
		q.mu.Unlock()
		return n, nil
	}
	if x.t.isCanceled() {
		q.mu.Unlock()
		return n, x.t.err()
	}
	w := &queueWaiter[T]{items: items[n:], min: min - n, done: make(chan struct{})}
	q.putters = append(q.putters, w)
	q.mu.Unlock()
	moved, closed, canceled := q.park(x, w, &q.putters)
	n += moved
	switch {
	case n >= min:
		return n, nil
	case closed:
		return n, opErr("queue put", "", ErrClosed)
	case canceled:
		return n, x.t.err()
	}
	return n, nil
}

// Get moves up to len(dst) items from the queue into dst, waiting until at least
// min have arrived (min <= len(dst)). It returns how many it moved. Once the queue
// is closed and drained, Get returns ErrClosed (with the count, if it moved fewer
// than min); if the caller's task is canceled while it waits, it returns the count
// so far and an error wrapping ErrCanceled.
func (q *Queue[T]) Get(x Io, dst []T, min int) (int, error) {
	if min < 0 || min > len(dst) {
		return 0, opErr("queue get", "", fmt.Errorf("%w: min %d with room for %d", ErrInvalid, min, len(dst)))
	}
	q.mu.Lock()
	n := q.getLocked(dst)
	if q.closed && (n < min || n == 0) {
		q.mu.Unlock()
		return n, opErr("queue get", "", ErrClosed)
	}
	if n >= min {
		q.mu.Unlock()
		return n, nil
	}
	if x.t.isCanceled() {
		q.mu.Unlock()
		return n, x.t.err()
	}
	w := &queueWaiter[T]{items: dst[n:], min: min - n, done: make(chan struct{})}
	q.getters = append(q.getters, w)
	q.mu.Unlock()
	moved, closed, canceled := q.park(x, w, &q.getters)
	n += moved
	switch {
	case n >= min:
		return n, nil
	case closed:
		return n, opErr("queue get", "", ErrClosed)
	case canceled:
		return n, x.t.err()
	}
	return n, nil
}

// PutOne adds one item, waiting for room.
func (q *Queue[T]) PutOne(x Io, item T) error {
	_, err := q.Put(x, []T{item}, 1)
	return err
}

// GetOne removes one item, waiting for one to arrive.
func (q *Queue[T]) GetOne(x Io) (T, error) {
	var buf [1]T
	_, err := q.Get(x, buf[:], 1)
	return buf[0], err
}

// park waits for w to be satisfied, the queue to close, or the caller to be
// canceled; on cancellation it unparks w. It returns what w moved.
func (q *Queue[T]) park(x Io, w *queueWaiter[T], list *[]*queueWaiter[T]) (moved int, closed, canceled bool) {
	select {
	case <-w.done:
	case <-x.t.doneCh():
		canceled = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-w.done:
	default:
		removeWaiter(list, w)
	}
	return w.n, w.closed, canceled
}

func removeWaiter[T any](list *[]*queueWaiter[T], w *queueWaiter[T]) {
	l := *list
	for i, v := range l {
		if v == w {
			copy(l[i:], l[i+1:])
			l[len(l)-1] = nil
			*list = l[:len(l)-1]
			return
		}
	}
}

// putLocked hands items to parked getters first (they only park on an empty
// queue), then into the ring; it returns how many it placed.
func (q *Queue[T]) putLocked(items []T) int {
	n := 0
	for n < len(items) && len(q.getters) > 0 {
		g := q.getters[0]
		k := copy(g.items[g.n:], items[n:])
		g.n += k
		n += k
		if g.n >= g.min || g.n == len(g.items) {
			close(g.done)
			q.getters[0] = nil
			q.getters = q.getters[1:]
		}
	}
	for n < len(items) && q.count < q.cap {
		q.push(items[n])
		n++
	}
	return n
}

// getLocked moves items into dst: from the ring, refilled from parked putters in
// order, and straight from putters when the ring has no capacity.
func (q *Queue[T]) getLocked(dst []T) int {
	var zero T
	n := 0
	for n < len(dst) {
		if q.count > 0 {
			dst[n] = q.ring[q.head]
			q.ring[q.head] = zero
			q.head = (q.head + 1) % len(q.ring)
			q.count--
			n++
			q.refillLocked()
			continue
		}
		if len(q.putters) == 0 {
			break
		}
		p := q.putters[0]
		k := copy(dst[n:], p.items[p.n:])
		p.n += k
		n += k
		if p.n >= p.min || p.n == len(p.items) {
			close(p.done)
			q.putters[0] = nil
			q.putters = q.putters[1:]
		}
	}
	return n
}

// refillLocked moves items of parked putters into free ring slots, in order,
// releasing each putter once its minimum is in.
func (q *Queue[T]) refillLocked() {
	for q.count < q.cap && len(q.putters) > 0 {
		p := q.putters[0]
		for p.n < len(p.items) && q.count < q.cap {
			q.push(p.items[p.n])
			p.n++
		}
		if p.n >= p.min || p.n == len(p.items) {
			close(p.done)
			q.putters[0] = nil
			q.putters = q.putters[1:]
		} else {
			return
		}
	}
}
