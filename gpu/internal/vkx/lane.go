//go:build linux && cgo

package vkx

/*
#include "shim.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"time"
)

// Lane is one ordered stream of submissions: a VkQueue and a timeline
// semaphore that each of the lane's submissions signals with the next
// value. A device has a compute lane (Lanes[0]) and, when asked for, a
// transfer lane (Lanes[1]): on the dedicated transfer family's queue, or,
// as a test seam on a device without one, on the compute queue itself with
// a timeline of its own.
type Lane struct {
	d *Device
	// Index is the lane's index in Device.Lanes.
	Index int
	// Mu serialises every use of the lane's VkQueue (Vulkan requires
	// external synchronisation); lanes on one VkQueue share it. It also
	// orders the lane's timeline values with its submissions.
	Mu *sync.Mutex
	// Family is the queue family of the lane's queue; command buffers
	// submitted to the lane are recorded for it (RecordOn).
	Family int
	// Transfer reports a transfer lane: its command buffers hold copies,
	// fills, barriers and timestamps only, with transfer-stage barriers,
	// and their timestamp queries are reset from the host.
	Transfer bool

	queue    C.uintptr_t // VkQueue
	timeline uint64      // VkSemaphore
	next     atomic.Uint64
}

// Last returns the last timeline value handed out on the lane (0: none).
func (l *Lane) Last() uint64 { return l.next.Load() }

// SubmitLocked submits cmds (nil: an empty submission) signalling the lane's
// timeline with the next value, which it returns. The caller holds Mu.
func (l *Lane) SubmitLocked(cmds *Commands) (uint64, error) {
	return l.SubmitWaitLocked(cmds, [MaxLanes]uint64{})
}

// MaxLanes is the most lanes a device has.
const MaxLanes = 2

// SubmitWaitLocked is SubmitLocked whose submission first waits, on the
// GPU, for each lane i of the device with waits[i] > 0 to reach that value
// on its timeline. The caller holds Mu.
func (l *Lane) SubmitWaitLocked(cmds *Commands, waits [MaxLanes]uint64) (uint64, error) {
	d := l.d
	if err := d.fault(FaultSubmit, "vkQueueSubmit"); err != nil {
		return 0, err
	}
	var cb C.uintptr_t
	if cmds != nil {
		cb = C.uintptr_t(h(cmds.cb))
		if cmds.hostReset {
			// A transfer queue cannot reset queries: the host does, now
			// that the previous submission of cmds has completed.
			C.vkio_reset_queries(d.fns, C.uint64_t(cmds.qp), C.uint32_t(cmds.Queries))
		}
	}
	v := l.next.Load() + 1
	var r C.VkResult
	var ws [MaxLanes]C.uint64_t
	var wv [MaxLanes]C.uint64_t
	n := 0
	for i, w := range waits {
		if w > 0 && i < len(d.Lanes) {
			ws[n], wv[n] = C.uint64_t(d.Lanes[i].timeline), C.uint64_t(w)
			n++
		}
	}
	if n == 0 {
		r = C.vkio_submit(d.fnsAddr(), l.queue, cb, C.uint64_t(l.timeline), C.uint64_t(v), 0)
	} else {
		r = C.vkio_submit_wait(d.fnsAddr(), l.queue, cb, C.uint64_t(l.timeline), C.uint64_t(v), ws[0], wv[0], ws[1], wv[1])
	}
	if err := checkC("vkQueueSubmit", r); err != nil {
		return 0, err
	}
	l.next.Store(v)
	return v, nil
}

// Submit is SubmitLocked under Mu.
func (l *Lane) Submit(cmds *Commands) (uint64, error) {
	l.Mu.Lock()
	defer l.Mu.Unlock()
	return l.SubmitLocked(cmds)
}

// Wait blocks the calling thread until the lane's timeline reaches value or
// the timeout passes (a *CallError with Code Timeout); Forever waits
// without a timeout.
func (l *Lane) Wait(value uint64, timeout time.Duration) error {
	d := l.d
	if err := d.fault(FaultWait, "vkWaitSemaphores"); err != nil {
		return err
	}
	r := C.vkio_wait_value(d.fnsAddr(), C.uint64_t(l.timeline), C.uint64_t(value), timeoutNs(timeout))
	if r == C.VK_TIMEOUT {
		return &CallError{Op: "vkWaitSemaphores", Code: Timeout}
	}
	return checkC("vkWaitSemaphores", r)
}

// WaitWake is WaitCounter that also returns, with a nil error, once the
// device's Wake has been called after ticket was taken (WakeTicket): the
// timeline's value then says whether it reached value too.
func (l *Lane) WaitWake(value, ticket uint64, timeout time.Duration) (uint64, error) {
	d := l.d
	if err := d.fault(FaultWait, "vkWaitSemaphores"); err != nil {
		return 0, err
	}
	res := C.vkio_wait_any(d.fnsAddr(), C.uint64_t(l.timeline), C.uint64_t(value), C.uint64_t(d.wake), C.uint64_t(ticket), timeoutNs(timeout))
	return counterResult(res)
}

// WaitCounter is Wait followed, on success, by Completed, in one cgo call:
// it returns the timeline's value once it has reached value.
func (l *Lane) WaitCounter(value uint64, timeout time.Duration) (uint64, error) {
	d := l.d
	if err := d.fault(FaultWait, "vkWaitSemaphores"); err != nil {
		return 0, err
	}
	res := C.vkio_wait_counter(d.fnsAddr(), C.uint64_t(l.timeline), C.uint64_t(value), timeoutNs(timeout))
	return counterResult(res)
}

// Completed returns the lane's timeline value: every submission of the
// lane with a value at or below it has finished.
func (l *Lane) Completed() (uint64, error) {
	res := C.vkio_read_counter(l.d.fnsAddr(), C.uint64_t(l.timeline))
	if err := checkC("vkGetSemaphoreCounterValue", res.r); err != nil {
		return 0, err
	}
	return uint64(res.value), nil
}

// WaitLanes waits until some lane i with values[i] > 0 reaches values[i]
// on its timeline, or Wake is called after ticket was taken (WakeTicket),
// or the timeout passes; it then returns every lane's timeline value (0 for
// a lane left out). One wait for the device's completion goroutine, however
// many lanes have work.
func (d *Device) WaitLanes(values [MaxLanes]uint64, ticket uint64, timeout time.Duration) ([MaxLanes]uint64, error) {
	var out [MaxLanes]uint64
	if err := d.fault(FaultWait, "vkWaitSemaphores"); err != nil {
		return out, err
	}
	var sems [MaxLanes]C.uint64_t
	for i, l := range d.Lanes {
		if values[i] > 0 {
			sems[i] = C.uint64_t(l.timeline)
		}
	}
	res := C.vkio_wait_lanes(d.fnsAddr(), sems[0], C.uint64_t(values[0]), sems[1], C.uint64_t(values[1]),
		C.uint64_t(d.wake), C.uint64_t(ticket), timeoutNs(timeout))
	if res.r == C.VK_TIMEOUT {
		return out, &CallError{Op: "vkWaitSemaphores", Code: Timeout}
	}
	if err := checkC("vkWaitSemaphores", res.r); err != nil {
		return out, err
	}
	out[0], out[1] = uint64(res.value0), uint64(res.value1)
	return out, nil
}

// LockQueues takes every lane's queue lock (each distinct lock once, in
// lane order); UnlockQueues releases them.
func (d *Device) LockQueues() {
	for i, l := range d.Lanes {
		if i == 0 || l.Mu != d.Lanes[0].Mu {
			l.Mu.Lock()
		}
	}
}

// UnlockQueues releases the locks LockQueues took.
func (d *Device) UnlockQueues() {
	for i := len(d.Lanes) - 1; i >= 0; i-- {
		if l := d.Lanes[i]; i == 0 || l.Mu != d.Lanes[0].Mu {
			l.Mu.Unlock()
		}
	}
}

// Concurrent reports that buffers are shared by two queue families
// (VK_SHARING_MODE_CONCURRENT): the device has a transfer lane on the
// dedicated transfer family.
func (d *Device) Concurrent() bool { return len(d.families) > 1 }

// SignalLocked hands out the lane's next timeline value and signals it from
// the host, as if an empty submission had completed at once; it returns the
// value. Tests use it to complete a lane's work while another lane is busy.
// The lane must have no submission in flight (its values must rise). The
// caller holds Mu.
func (l *Lane) SignalLocked() (uint64, error) {
	v := l.next.Load() + 1
	if err := checkC("vkSignalSemaphore", C.vkio_signal(l.d.fnsAddr(), C.uint64_t(l.timeline), C.uint64_t(v))); err != nil {
		return 0, err
	}
	l.next.Store(v)
	return v, nil
}
