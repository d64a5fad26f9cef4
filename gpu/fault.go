package gpu

import (
	"sync"
	"sync/atomic"

	"github.com/vkio/vkio/gpu/internal/vkx"
)

// Fault is a failure that Device.InjectFault makes happen at a submission,
// for tests and fault drills of code built on a device: a scheduler that
// must take a failed device out of a set and retry its work elsewhere, a
// server that must survive a device's loss.
type Fault int

const (
	// FaultDeviceLost makes a submission fail with VK_ERROR_DEVICE_LOST,
	// as a driver reports a hung or reset GPU: from then on the device is
	// lost (Lost reports it), every later submission, allocation and wait
	// fails with ErrDeviceLost, and waits on work already submitted end
	// with it too. Close still works.
	FaultDeviceLost Fault = iota + 1
	// FaultOutOfMemory makes one submission fail with
	// VK_ERROR_OUT_OF_DEVICE_MEMORY (ErrOutOfMemory); the device stays
	// usable.
	FaultOutOfMemory
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case FaultDeviceLost:
		return "device-lost"
	case FaultOutOfMemory:
		return "out-of-memory"
	}
	return "unknown fault"
}

// faultPlan is a fault armed by InjectFault: it strikes the submission
// after the next `after` ones.
type faultPlan struct {
	armed atomic.Bool // the hot path checks only this
	mu    sync.Mutex
	kind  Fault
	after int
}

// InjectFault arms f to strike the device's submission after the next
// `after` ones (0: the next submission). Arming again replaces a fault not
// yet struck. While nothing is armed it costs a submission one atomic
// load. It fails with ErrInvalid for an unknown fault or a negative count.
func (d *Device) InjectFault(f Fault, after int) error {
	if f != FaultDeviceLost && f != FaultOutOfMemory {
		return errf("inject fault", ErrInvalid, "unknown fault %d", int(f))
	}
	if after < 0 {
		return errf("inject fault", ErrInvalid, "after %d: want 0 or more submissions", after)
	}
	d.faults.mu.Lock()
	d.faults.kind, d.faults.after = f, after
	d.faults.armed.Store(true)
	d.faults.mu.Unlock()
	return nil
}

// strikeLocked arms the internal layer's submit seam when the armed fault is
// due at this submission. The caller holds the queue lock.
func (d *Device) strikeLocked() {
	p := &d.faults
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kind == 0 {
		return
	}
	if p.after > 0 {
		p.after--
		return
	}
	code := vkx.ErrorDeviceLost
	if p.kind == FaultOutOfMemory {
		code = vkx.ErrorOutOfDeviceMemory
	}
	d.vd.InjectFault(vkx.FaultSubmit, code, 1)
	p.kind = 0
	p.armed.Store(false)
}

// Lost returns the error the device was lost with (errors.Is it
// ErrDeviceLost), or nil while it is usable. A lost device stays lost:
// close it and open another.
func (d *Device) Lost() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lost
}
